package p2k

import (
	"bytes"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// hotPath sets up a file to read, stat and look up, as the hot-path tests
// and benchmarks use it.
func hotPath(t testing.TB) (b *Bridge, f fuse.EntryOut, lookupIn fuse.InHeader, readIn fuse.ReadIn, getattrIn fuse.GetAttrIn) {
	b, _ = testBridge(t, DefaultOptions())
	f = create(t, b, 1, "file", bytes.Repeat([]byte("0123456789abcdef"), 1<<16))
	lookupIn = hdr(1)
	readIn = fuse.ReadIn{InHeader: hdr(f.NodeId), Offset: 4096, Size: 128 << 10}
	getattrIn = fuse.GetAttrIn{InHeader: hdr(f.NodeId)}
	return
}

// TestNoAllocsOnHotPaths asserts that steady-state GETATTR, READ and a
// LOOKUP of a known node allocate nothing in p2k (or below it in the
// rumpfs root).
func TestNoAllocsOnHotPaths(t *testing.T) {
	b, f, lh, rin, gin := hotPath(t)
	var ao fuse.AttrOut
	var eo fuse.EntryOut
	buf := make([]byte, 128<<10)
	cases := []struct {
		name string
		fn   func()
	}{
		{"GetAttr", func() {
			if st := b.GetAttr(nil, &gin, &ao); st != fuse.OK {
				t.Fatal(st)
			}
		}},
		{"Read", func() {
			r, st := b.Read(nil, &rin, buf)
			if st != fuse.OK || r.Size() != len(buf) {
				t.Fatal(st)
			}
			r.Done()
		}},
		{"Lookup", func() {
			if st := b.Lookup(nil, &lh, "file", &eo); st != fuse.OK || eo.NodeId != f.NodeId {
				t.Fatal(st)
			}
		}},
	}
	for _, c := range cases {
		c.fn() // warm the pools and caches
		if n := testing.AllocsPerRun(1000, c.fn); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", c.name, n)
		}
	}
}

func BenchmarkGetAttr(bm *testing.B) {
	b, _, _, _, gin := hotPath(bm)
	var ao fuse.AttrOut
	bm.ReportAllocs()
	for bm.Loop() {
		b.GetAttr(nil, &gin, &ao)
	}
}

func BenchmarkLookup(bm *testing.B) {
	b, f, lh, _, _ := hotPath(bm)
	var eo fuse.EntryOut
	bm.ReportAllocs()
	n := uint64(0)
	for bm.Loop() {
		b.Lookup(nil, &lh, "file", &eo)
		n++
	}
	b.Forget(f.NodeId, n)
}

func BenchmarkRead(bm *testing.B) {
	b, _, _, rin, _ := hotPath(bm)
	buf := make([]byte, rin.Size)
	bm.SetBytes(int64(rin.Size))
	bm.ReportAllocs()
	for bm.Loop() {
		r, _ := b.Read(nil, &rin, buf)
		r.Done()
	}
}

func BenchmarkGetAttrParallel(bm *testing.B) {
	b, _, _, _, gin := hotPath(bm)
	bm.ReportAllocs()
	bm.RunParallel(func(pb *testing.PB) {
		var ao fuse.AttrOut
		in := gin
		for pb.Next() {
			b.GetAttr(nil, &in, &ao)
		}
	})
}

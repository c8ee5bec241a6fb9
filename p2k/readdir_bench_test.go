package p2k

import (
	"fmt"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// readdirSetup makes a directory of n empty files and returns its node id.
func readdirSetup(t testing.TB, n int) (*Bridge, uint64) {
	b, _ := testBridge(t, DefaultOptions())
	var eo fuse.EntryOut
	h := hdr(1)
	mustOK(t, "mkdir", b.Mkdir(nil, &fuse.MkdirIn{InHeader: h, Mode: 0o755}, "d", &eo))
	for i := range n {
		create(t, b, eo.NodeId, fmt.Sprintf("file-%04d", i), nil)
	}
	return b, eo.NodeId
}

// readWholeDir reads dir from the start with READDIR or READDIRPLUS into
// replies of len(buf) bytes, through out (reset for each request, as
// go-fuse makes one per request), and returns the requests made.
func readWholeDir(t testing.TB, b *Bridge, dir uint64, out *fuse.DirEntryList, buf []byte, plus bool) int {
	n := 0
	var off uint64
	in := &fuse.ReadIn{InHeader: hdr(dir), Size: uint32(len(buf))}
	for {
		*out = *fuse.NewDirEntryList(buf, off)
		in.Offset = off
		var st fuse.Status
		if plus {
			st = b.ReadDirPlus(nil, in, out)
		} else {
			st = b.ReadDir(nil, in, out)
		}
		if st != fuse.OK {
			t.Fatal(st)
		}
		if out.Offset == off {
			return n
		}
		n++
		off = out.Offset
	}
}

// TestNoAllocsReadDir: a warm READDIR and READDIRPLUS of a directory
// allocate nothing in p2k or the rumpfs root.
func TestNoAllocsReadDir(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under the race detector")
	}
	b, dir := readdirSetup(t, 100)
	buf := make([]byte, 4096)
	for _, plus := range []bool{false, true} {
		out := fuse.NewDirEntryList(buf, 0)
		fn := func() { readWholeDir(t, b, dir, out, buf, plus) }
		fn()
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("readdir (plus %v): %v allocations per directory, want 0", plus, n)
		}
	}
}

func benchReadDir(bm *testing.B, plus bool) {
	b, dir := readdirSetup(bm, 1000)
	buf := make([]byte, 64<<10)
	out := fuse.NewDirEntryList(buf, 0)
	bm.ReportAllocs()
	bm.ResetTimer()
	for bm.Loop() {
		readWholeDir(bm, b, dir, out, buf, plus)
	}
}

func BenchmarkReadDir(bm *testing.B)     { benchReadDir(bm, false) }
func BenchmarkReadDirPlus(bm *testing.B) { benchReadDir(bm, true) }

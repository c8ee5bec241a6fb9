package p2k

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestMemory100kEntries serves a tree of 100,000 files whose every entry
// the host has looked up (as after "find" or "ls -lR"), and checks that
// the server's memory beyond the tree itself (p2k's node table and the
// kernel's vnodes pinned by it) stays under 64 MiB.
func TestMemory100kEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 files")
	}
	b, v := testBridge(t, DefaultOptions())
	l, err := v.Kernel().Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Kernel().ReleaseLWP(l)
	const dirs, files = 100, 1000
	for d := range dirs {
		dir := fmt.Sprintf("/d%03d", d)
		if e := vfs.Mkdir(l, dir, 0o755); e != 0 {
			t.Fatal(e)
		}
		for f := range files {
			fd, e := vfs.Open(l, fmt.Sprintf("%s/file-%04d", dir, f), unix.O_CREAT|unix.O_WRONLY, 0o644)
			if e != 0 {
				t.Fatal(e)
			}
			vfs.Close(l, fd)
		}
	}
	names := make([]string, files)
	for f := range names {
		names[f] = fmt.Sprintf("file-%04d", f)
	}
	before := heapInUse()
	var eo fuse.EntryOut
	for d := range dirs {
		h := hdr(1)
		mustOK(t, "lookup dir", b.Lookup(nil, &h, fmt.Sprintf("d%03d", d), &eo))
		h = hdr(eo.NodeId)
		for _, name := range names {
			mustOK(t, "lookup", b.Lookup(nil, &h, name, &eo))
		}
	}
	after := heapInUse()
	nodes := b.Stats().Nodes
	if nodes != dirs*files+dirs+1 {
		t.Fatalf("%d nodes, want %d", nodes, dirs*files+dirs+1)
	}
	grew := int64(after) - int64(before)
	t.Logf("%d nodes: heap grew %.1f MiB, %d bytes per node (node table and pinned vnodes)",
		nodes, float64(grew)/(1<<20), grew/int64(nodes))
	if grew > 64<<20 {
		t.Errorf("serving %d looked-up entries took %.1f MiB beyond the tree, want under 64 MiB", nodes, float64(grew)/(1<<20))
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

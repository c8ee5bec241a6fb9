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

// TestReadOnlyNodesByNumber: a read-only bridge over a read-only mount
// names files by number and pins no vnodes, so looking up more files than
// the vnode cache holds leaves the cache at its bound and the node table
// empty, and every id still reaches its own file after its vnode was
// reclaimed.
func TestReadOnlyNodesByNumber(t *testing.T) {
	const maxVnodes, files = 64, 500
	k, err := kernel.Boot(kernel.Config{NoThreads: true, MaxVnodes: maxVnodes})
	if err != nil {
		t.Fatal(err)
	}
	v := vfs.Of(k)
	l := k.LWP0()
	for f := range files {
		fd, e := vfs.Open(l, fmt.Sprintf("/f%03d", f), unix.O_CREAT|unix.O_WRONLY, 0o644)
		if e != 0 {
			t.Fatal(e)
		}
		if _, e := vfs.Write(l, fd, make([]byte, f)); e != 0 {
			t.Fatal(e)
		}
		vfs.Close(l, fd)
	}
	root := v.Root()
	root.Mount.SetReadOnly()
	vfs.Vref(root)
	b, err := New(k, root, Options{ReadOnly: true, UID: -1, GID: -1, Umask: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		b.Close()
		if err := k.Reboot(nil, kernel.RB_HALT); err != nil {
			t.Errorf("reboot: %v", err)
		}
	}()
	ids := make([]uint64, files)
	for f := range files {
		ids[f] = lookup(t, b, 1, fmt.Sprintf("f%03d", f)).NodeId
	}
	if n := b.Stats().Nodes; n != 1 {
		t.Errorf("%d nodes in the table after %d lookups, want the root alone", n, files)
	}
	if total, _ := v.NumVnodes(); total > maxVnodes+2 {
		t.Errorf("%d vnodes cached, want at most the bound %d", total, maxVnodes)
	}
	for f, id := range ids {
		var ao fuse.AttrOut
		mustOK(t, "getattr", b.GetAttr(nil, &fuse.GetAttrIn{InHeader: hdr(id)}, &ao))
		if ao.Size != uint64(f) {
			t.Fatalf("node of f%03d has size %d, want %d", f, ao.Size, f)
		}
		if again := lookup(t, b, 1, fmt.Sprintf("f%03d", f)).NodeId; again != id {
			t.Fatalf("f%03d looked up again: node %#x, was %#x", f, again, id)
		}
	}
	b.Forget(ids[0], 1) // nothing to release
}

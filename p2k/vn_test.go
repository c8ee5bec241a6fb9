package p2k

import (
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestLookupCrossesMounts: LOOKUP goes through the vn layer, so it
// crosses into a file system mounted on a directory, ".." at that file
// system's root leads out of it, ".." at the bridge's root stays there,
// and names no directory can hold are refused before the driver.
func TestLookupCrossesMounts(t *testing.T) {
	b, v := testBridge(t, DefaultOptions())
	l, err := v.Kernel().Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	mkdir(t, b, 1, "m")
	if e := vfs.MountPath(l, "rumpfs", "none", "/m", 0, nil); e != 0 {
		t.Fatal(e)
	}
	m := lookup(t, b, 1, "m")
	inner := create(t, b, m.NodeId, "inside", nil)
	if got := lookup(t, b, m.NodeId, "inside"); got.NodeId != inner.NodeId {
		t.Fatalf("inside the mount: node %d, want %d", got.NodeId, inner.NodeId)
	}
	if up := lookup(t, b, m.NodeId, ".."); up.NodeId != 1 {
		t.Errorf(`".." at the mounted root: node %d, want the root (1)`, up.NodeId)
	}
	if up := lookup(t, b, 1, ".."); up.NodeId != 1 {
		t.Errorf(`".." at the bridge's root: node %d, want 1`, up.NodeId)
	}
	for name, want := range map[string]fuse.Status{
		"a/b":                     fuse.Status(unix.EINVAL),
		string(make([]byte, 256)): fuse.Status(unix.ENAMETOOLONG),
	} {
		h := hdr(1)
		var out fuse.EntryOut
		if st := b.Lookup(nil, &h, name, &out); st != want {
			t.Errorf("LOOKUP %q: %v, want %v", name, st, want)
		}
	}
}

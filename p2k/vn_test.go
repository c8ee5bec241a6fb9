package p2k

import (
	"runtime"
	"strings"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
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

// bridgeNames is vfstest.NameClient through the bridge, called as the
// host calls it: a directory is a node found by LOOKUP from the root, the
// caller's uid and gid come in the header (from a process the host says
// nothing about, so no other groups).
type bridgeNames struct {
	t testing.TB
	b *Bridge
}

func (c bridgeNames) hdr(uid uint32, dir string) fuse.InHeader {
	h := fuse.InHeader{NodeId: c.node(dir), Caller: fuse.Caller{Owner: fuse.Owner{Uid: uid, Gid: uid}, Pid: 1<<22 - 1}}
	h.Opcode = 45 // RENAME2, for Rename
	return h
}

// node looks dir (an absolute kernel path) up one name at a time.
func (c bridgeNames) node(dir string) uint64 {
	id := uint64(1)
	for _, name := range strings.Split(dir, "/") {
		if name != "" {
			id = lookup(c.t, c.b, id, name).NodeId
		}
	}
	return id
}

func (c bridgeNames) Mkdir(uid uint32, dir, name string, mode uint32) unix.Errno {
	var out fuse.EntryOut
	return unix.Errno(c.b.Mkdir(nil, &fuse.MkdirIn{InHeader: c.hdr(uid, dir), Mode: mode}, name, &out))
}

func (c bridgeNames) Mknod(uid uint32, dir, name string, mode uint32, dev uint64) unix.Errno {
	var out fuse.EntryOut
	return unix.Errno(c.b.Mknod(nil, &fuse.MknodIn{InHeader: c.hdr(uid, dir), Mode: mode, Rdev: uint32(dev)}, name, &out))
}

func (c bridgeNames) Symlink(uid uint32, target, dir, name string) unix.Errno {
	var out fuse.EntryOut
	h := c.hdr(uid, dir)
	return unix.Errno(c.b.Symlink(nil, &h, target, name, &out))
}

func (c bridgeNames) Link(uid uint32, oldpath, dir, name string) unix.Errno {
	var out fuse.EntryOut
	in := fuse.LinkIn{InHeader: c.hdr(uid, dir), Oldnodeid: c.node(oldpath)}
	return unix.Errno(c.b.Link(nil, &in, name, &out))
}

func (c bridgeNames) Unlink(uid uint32, dir, name string) unix.Errno {
	h := c.hdr(uid, dir)
	return unix.Errno(c.b.Unlink(nil, &h, name))
}

func (c bridgeNames) Rmdir(uid uint32, dir, name string) unix.Errno {
	h := c.hdr(uid, dir)
	return unix.Errno(c.b.Rmdir(nil, &h, name))
}

func (c bridgeNames) Rename(uid uint32, fdir, fname, tdir, tname string, flags int) unix.Errno {
	in := fuse.RenameIn{InHeader: c.hdr(uid, fdir), Newdir: c.node(tdir), Flags: uint32(flags)}
	return unix.Errno(c.b.Rename(nil, &in, fname, tname))
}

// TestVnNames runs the vn layer's name table through the bridge, as the
// system call layer runs it in package vfs: both answer alike.
func TestVnNames(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the table's rename flags are Linux's (macOS FUSE has no whiteout)")
	}
	// Without default_permissions, so the bridge checks search
	// permission itself, as the system calls do.
	b, v := testBridge(t, DefaultOptions())
	l, err := v.Kernel().Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	vfstest.RunNames(t, l, "/names", bridgeNames{t: t, b: b})
}

// TestReadOnlyBridgeNames: a read-only bridge answers EROFS where a
// read-only mount does, after the checks Linux makes first, for names,
// access(2) and open(2) alike.
func TestReadOnlyBridgeNames(t *testing.T) {
	b, v := testBridge(t, Options{ReadOnly: true, UID: -1, GID: -1, Umask: -1})
	l := v.Kernel().LWP0()
	if e := vfs.Mkdir(l, "/d", 0o755); e != 0 {
		t.Fatal(e)
	}
	c := bridgeNames{t: t, b: b}
	for _, r := range []struct {
		what string
		got  unix.Errno
		want unix.Errno
	}{
		{"unlink a missing name", c.Unlink(0, "/", "nope"), unix.EROFS},
		{"unlink .", c.Unlink(0, "/", "."), unix.EISDIR},
		{"rmdir .", c.Rmdir(0, "/", "."), unix.EINVAL},
		{"rmdir", c.Rmdir(0, "/", "d"), unix.EROFS},
		{"mkdir an existing name", c.Mkdir(0, "/", "d", 0o755), unix.EEXIST},
		{"mkdir", c.Mkdir(0, "/", "new", 0o755), unix.EROFS},
		{"symlink", c.Symlink(0, "d", "/", "new"), unix.EROFS},
		{"link", c.Link(0, "/d", "/", "new"), unix.EROFS},
		{"rename", c.Rename(0, "/", "d", "/", "e", 0), unix.EROFS},
		{"rename .", c.Rename(0, "/", ".", "/", "e", 0), unix.EBUSY},
		{"access for writing", unix.Errno(b.Access(nil, &fuse.AccessIn{InHeader: hdr(c.node("/d")), Mask: fuse.W_OK})), unix.EROFS},
		{"access for reading", unix.Errno(b.Access(nil, &fuse.AccessIn{InHeader: hdr(c.node("/d")), Mask: fuse.R_OK})), 0},
		{"open of a directory for writing", unix.Errno(b.Open(nil, &fuse.OpenIn{InHeader: hdr(c.node("/d")), Flags: unix.O_WRONLY}, &fuse.OpenOut{})), unix.EISDIR},
	} {
		if r.got != r.want {
			t.Errorf("%s: %v, want %v", r.what, r.got, r.want)
		}
	}
}

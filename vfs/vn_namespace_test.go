package vfs_test

import (
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
	"golang.org/x/sys/unix"
)

// syscallNames is vfstest.NameClient through the system call layer: a
// directory and a name become a path, a uid an LWP with that cred.
type syscallNames struct{ root, user *kernel.LWP }

func (c syscallNames) lwp(uid uint32) *kernel.LWP {
	if uid == 0 {
		return c.root
	}
	return c.user
}

func (c syscallNames) Mkdir(uid uint32, dir, name string, mode uint32) unix.Errno {
	return vfs.Mkdir(c.lwp(uid), dir+"/"+name, mode)
}

func (c syscallNames) Mknod(uid uint32, dir, name string, mode uint32, dev uint64) unix.Errno {
	return vfs.Mknod(c.lwp(uid), dir+"/"+name, mode, dev)
}

func (c syscallNames) Symlink(uid uint32, target, dir, name string) unix.Errno {
	return vfs.Symlink(c.lwp(uid), target, dir+"/"+name)
}

func (c syscallNames) Link(uid uint32, oldpath, dir, name string) unix.Errno {
	return vfs.Link(c.lwp(uid), oldpath, dir+"/"+name)
}

func (c syscallNames) Unlink(uid uint32, dir, name string) unix.Errno {
	return vfs.Unlink(c.lwp(uid), dir+"/"+name)
}

func (c syscallNames) Rmdir(uid uint32, dir, name string) unix.Errno {
	return vfs.Rmdir(c.lwp(uid), dir+"/"+name)
}

func (c syscallNames) Rename(uid uint32, fdir, fname, tdir, tname string, flags int) unix.Errno {
	return vfs.Rename2(c.lwp(uid), fdir+"/"+fname, tdir+"/"+tname, flags)
}

func namesEnv(t *testing.T) (*kernel.LWP, syscallNames) {
	k, l := boot(t, kernel.Config{})
	user, err := k.Rfork(l, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	user.Proc().SetCred(kernel.CredCreate(vfstest.User, vfstest.User, nil))
	return l, syscallNames{root: l, user: user}
}

// TestVnNames runs the vn layer's name table through the system calls;
// p2k runs the same table through its bridge.
func TestVnNames(t *testing.T) {
	l, c := namesEnv(t)
	vfstest.RunNames(t, l, "/names", c)
}

// TestVnNamesPaths: what only a path can say, a trailing slash or a
// name at the end of a symlink, answered as Linux does.
func TestVnNamesPaths(t *testing.T) {
	l, _ := namesEnv(t)
	for i, c := range []struct {
		what string
		op   func(d string) unix.Errno
		want unix.Errno
	}{
		{"unlink file/", func(d string) unix.Errno { return vfs.Unlink(l, d+"/f/") }, unix.ENOTDIR},
		{"unlink dir/", func(d string) unix.Errno { return vfs.Unlink(l, d+"/d/") }, unix.EISDIR},
		{"unlink missing/", func(d string) unix.Errno { return vfs.Unlink(l, d+"/nope/") }, unix.ENOENT},
		{"unlink symlink/", func(d string) unix.Errno { return vfs.Unlink(l, d+"/ln/") }, unix.ENOTDIR},
		{"rmdir dir/", func(d string) unix.Errno { return vfs.Rmdir(l, d+"/d/") }, 0},
		{"rmdir file/", func(d string) unix.Errno { return vfs.Rmdir(l, d+"/f/") }, unix.ENOTDIR},
		{"rmdir dir/.", func(d string) unix.Errno { return vfs.Rmdir(l, d+"/d/.") }, unix.EINVAL},
		{"rmdir /", func(d string) unix.Errno { return vfs.Rmdir(l, "/") }, unix.EBUSY},
		{"mkdir new/", func(d string) unix.Errno { return vfs.Mkdir(l, d+"/new/", 0o755) }, 0},
		{"mkdir file/", func(d string) unix.Errno { return vfs.Mkdir(l, d+"/f/", 0o755) }, unix.EEXIST},
		{"mkdir in a file", func(d string) unix.Errno { return vfs.Mkdir(l, d+"/f/x", 0o755) }, unix.ENOTDIR},
		{"mknod new/", func(d string) unix.Errno { return vfs.Mknod(l, d+"/new/", unix.S_IFIFO|0o644, 0) }, unix.ENOENT},
		{"mknod a directory on a missing path", func(d string) unix.Errno { return vfs.Mknod(l, d+"/nope/x", unix.S_IFDIR|0o755, 0) }, unix.EPERM},
		{"symlink to new/", func(d string) unix.Errno { return vfs.Symlink(l, "f", d+"/new/") }, unix.ENOENT},
		{"link to new/", func(d string) unix.Errno { return vfs.Link(l, d+"/f", d+"/new/") }, unix.ENOENT},
		{"link a symlink", func(d string) unix.Errno { return vfs.Link(l, d+"/ln", d+"/g") }, 0},
		{"rename file/", func(d string) unix.Errno { return vfs.Rename(l, d+"/f/", d+"/g") }, unix.ENOTDIR},
		{"rename to new/", func(d string) unix.Errno { return vfs.Rename(l, d+"/f", d+"/g/") }, unix.ENOTDIR},
		{"rename dir to new/", func(d string) unix.Errno { return vfs.Rename(l, d+"/d/", d+"/g/") }, 0},
		{"exchange a file with dir/", func(d string) unix.Errno { return vfs.Rename2(l, d+"/f", d+"/d/", vfs.RenameExchange) }, 0},
		{"exchange dir with file/", func(d string) unix.Errno { return vfs.Rename2(l, d+"/d", d+"/f/", vfs.RenameExchange) }, unix.ENOTDIR},
		{"rename a symlink, not its target", func(d string) unix.Errno { return vfs.Rename(l, d+"/ln", d+"/d/ln") }, 0},
		{"rename /", func(d string) unix.Errno { return vfs.Rename(l, "/", d+"/g") }, unix.EBUSY},
	} {
		d := "/paths" + string(rune('a'+i))
		vfstest.MakeNameTree(t, l, d)
		if got := c.op(d); got != c.want {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
	// The symlink, not the file, went.
	d := "/paths-ln"
	vfstest.MakeNameTree(t, l, d)
	must(t, vfs.Unlink(l, d+"/ln"), "unlink ln")
	var va vfs.Vattr
	must(t, vfs.Stat(l, d+"/f", &va), "stat f after unlinking ln")
}

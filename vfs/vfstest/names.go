package vfstest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// The name checks of the vn layer (vfs.VnMake, VnLink, VnRemove,
// VnRename) as one table that every client runs the same way: the system
// call layer in package vfs, p2k's bridge in package p2k. A client
// addresses a name as a directory (a kernel path) and a name in it, as
// FUSE does; the caller is a uid (gid the same, no other groups).

// NameClient is a client of the vn layer's name operations.
type NameClient interface {
	Mkdir(uid uint32, dir, name string, mode uint32) unix.Errno
	Mknod(uid uint32, dir, name string, mode uint32, dev uint64) unix.Errno
	Symlink(uid uint32, target, dir, name string) unix.Errno
	Link(uid uint32, oldpath, dir, name string) unix.Errno
	Unlink(uid uint32, dir, name string) unix.Errno
	Rmdir(uid uint32, dir, name string) unix.Errno
	Rename(uid uint32, fdir, fname, tdir, tname string, flags int) unix.Errno
}

// NameCase is one row: op runs in a fresh tree under dir (see
// MakeNameTree) and must answer want.
type NameCase struct {
	What string
	Op   func(c NameClient, dir string) unix.Errno
	Want unix.Errno
}

// User is the uid of the unprivileged caller in NameCases.
const User = 1000

// MakeNameTree makes, as root through the system call layer, the tree
// NameCases run in: under dir a file f, an empty directory d, a directory
// full holding x, a symlink ln to f, a sticky 01777 directory sticky
// holding root's file rootf, a 0700 directory priv holding x, a 0777
// directory open, and two rumpfs mounts: m (read-write, holding x) and ro
// (read-only, empty).
func MakeNameTree(t testing.TB, l *kernel.LWP, dir string) {
	t.Helper()
	must := func(e unix.Errno, what string) {
		t.Helper()
		if e != 0 {
			t.Fatalf("name tree: %s: %v", what, e)
		}
	}
	file := func(p string) {
		t.Helper()
		fd, e := vfs.Open(l, p, unix.O_CREAT|unix.O_WRONLY, 0o644)
		must(e, "create "+p)
		must(vfs.Close(l, fd), "close")
	}
	mkdir := func(p string, mode uint32) {
		t.Helper()
		must(vfs.Mkdir(l, p, mode), "mkdir "+p)
		must(vfs.Chmod(l, p, mode), "chmod "+p)
	}
	mkdir(dir, 0o755)
	file(dir + "/f")
	mkdir(dir+"/d", 0o755)
	mkdir(dir+"/full", 0o755)
	file(dir + "/full/x")
	must(vfs.Symlink(l, "f", dir+"/ln"), "symlink")
	mkdir(dir+"/sticky", 0o1777)
	file(dir + "/sticky/rootf")
	mkdir(dir+"/priv", 0o700)
	file(dir + "/priv/x")
	mkdir(dir+"/open", 0o777)
	mkdir(dir+"/m", 0o755)
	must(vfs.MountPath(l, "rumpfs", "none", dir+"/m", 0, nil), "mount m")
	file(dir + "/m/x")
	mkdir(dir+"/ro", 0o755)
	must(vfs.MountPath(l, "rumpfs", "none", dir+"/ro", vfs.MNT_RDONLY, nil), "mount ro")
}

// NameCases are the rows, each answered as Linux 6.18 answers it on
// tmpfs (checked on the host with the same tree), but for a whiteout,
// which rumpfs's file systems cannot leave (EINVAL).
var NameCases = []NameCase{
	// unlink
	{"unlink a file", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d, "f") }, 0},
	{"unlink a symlink", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d, "ln") }, 0},
	{"unlink a directory", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d, "d") }, unix.EISDIR},
	{"unlink .", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d, ".") }, unix.EISDIR},
	{"unlink ..", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d, "..") }, unix.EISDIR},
	{"unlink a missing name", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d, "nope") }, unix.ENOENT},
	{"unlink a mount point", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d, "m") }, unix.EISDIR},
	{"unlink a missing name on a read-only mount", func(c NameClient, d string) unix.Errno { return c.Unlink(0, d+"/ro", "nope") }, unix.EROFS},
	{"unlink root's file in a sticky directory", func(c NameClient, d string) unix.Errno { return c.Unlink(User, d+"/sticky", "rootf") }, unix.EPERM},
	{"unlink a directory without write permission", func(c NameClient, d string) unix.Errno { return c.Unlink(User, d, "d") }, unix.EACCES},
	{"unlink . without search permission", func(c NameClient, d string) unix.Errno { return c.Unlink(User, d+"/priv", ".") }, unix.EACCES},
	{"unlink a missing name without search permission", func(c NameClient, d string) unix.Errno { return c.Unlink(User, d+"/priv", "nope") }, unix.EACCES},
	// rmdir
	{"rmdir an empty directory", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d, "d") }, 0},
	{"rmdir a full directory", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d, "full") }, unix.ENOTEMPTY},
	{"rmdir a file", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d, "f") }, unix.ENOTDIR},
	{"rmdir a symlink", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d, "ln") }, unix.ENOTDIR},
	{"rmdir .", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d, ".") }, unix.EINVAL},
	{"rmdir ..", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d, "..") }, unix.ENOTEMPTY},
	{"rmdir . on a read-only mount", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d+"/ro", ".") }, unix.EINVAL},
	{"rmdir a missing name on a read-only mount", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d+"/ro", "nope") }, unix.EROFS},
	{"rmdir a mount point", func(c NameClient, d string) unix.Errno { return c.Rmdir(0, d, "m") }, unix.EBUSY},
	{"rmdir a directory without write permission", func(c NameClient, d string) unix.Errno { return c.Rmdir(User, d, "d") }, unix.EACCES},
	// mkdir, mknod, symlink
	{"mkdir", func(c NameClient, d string) unix.Errno { return c.Mkdir(0, d, "new", 0o755) }, 0},
	{"mkdir an existing name", func(c NameClient, d string) unix.Errno { return c.Mkdir(0, d, "f", 0o755) }, unix.EEXIST},
	{"mkdir over a symlink", func(c NameClient, d string) unix.Errno { return c.Mkdir(0, d, "ln", 0o755) }, unix.EEXIST},
	{"mkdir .", func(c NameClient, d string) unix.Errno { return c.Mkdir(0, d, ".", 0o755) }, unix.EEXIST},
	{"mkdir a long name", func(c NameClient, d string) unix.Errno { return c.Mkdir(0, d, strings.Repeat("n", 256), 0o755) }, unix.ENAMETOOLONG},
	{"mkdir on a read-only mount", func(c NameClient, d string) unix.Errno { return c.Mkdir(0, d+"/ro", "new", 0o755) }, unix.EROFS},
	{"mkdir . on a read-only mount", func(c NameClient, d string) unix.Errno { return c.Mkdir(0, d+"/ro", ".", 0o755) }, unix.EEXIST},
	{"mkdir without write permission", func(c NameClient, d string) unix.Errno { return c.Mkdir(User, d, "new", 0o755) }, unix.EACCES},
	{"mkdir without search permission", func(c NameClient, d string) unix.Errno { return c.Mkdir(User, d+"/priv", "x", 0o755) }, unix.EACCES},
	{"mknod a FIFO", func(c NameClient, d string) unix.Errno { return c.Mknod(0, d, "fifo", unix.S_IFIFO|0o644, 0) }, 0},
	{"mknod a device", func(c NameClient, d string) unix.Errno { return c.Mknod(0, d, "chr", unix.S_IFCHR|0o600, 0x0103) }, 0},
	{"mknod a directory", func(c NameClient, d string) unix.Errno { return c.Mknod(0, d, "x", unix.S_IFDIR|0o755, 0) }, unix.EPERM},
	{"mknod a symlink", func(c NameClient, d string) unix.Errno { return c.Mknod(0, d, "x", unix.S_IFLNK|0o777, 0) }, unix.EINVAL},
	{"mknod a device as a user", func(c NameClient, d string) unix.Errno { return c.Mknod(User, d+"/open", "x", unix.S_IFCHR|0o600, 1) }, unix.EPERM},
	{"mknod a device without write permission", func(c NameClient, d string) unix.Errno { return c.Mknod(User, d, "x", unix.S_IFCHR|0o600, 1) }, unix.EACCES},
	{"mknod a FIFO as a user", func(c NameClient, d string) unix.Errno { return c.Mknod(User, d+"/open", "x", unix.S_IFIFO|0o600, 0) }, 0},
	{"symlink", func(c NameClient, d string) unix.Errno { return c.Symlink(0, "f", d, "new") }, 0},
	{"symlink with an empty target", func(c NameClient, d string) unix.Errno { return c.Symlink(0, "", d, "new") }, unix.ENOENT},
	{"symlink over a file", func(c NameClient, d string) unix.Errno { return c.Symlink(0, "f", d, "f") }, unix.EEXIST},
	// link
	{"link", func(c NameClient, d string) unix.Errno { return c.Link(0, d+"/f", d, "g") }, 0},
	{"link a directory", func(c NameClient, d string) unix.Errno { return c.Link(0, d+"/d", d, "g") }, unix.EPERM},
	{"link over a name", func(c NameClient, d string) unix.Errno { return c.Link(0, d+"/f", d, "d") }, unix.EEXIST},
	{"link to .", func(c NameClient, d string) unix.Errno { return c.Link(0, d+"/f", d, ".") }, unix.EEXIST},
	{"link into another mount", func(c NameClient, d string) unix.Errno { return c.Link(0, d+"/f", d+"/m", "g") }, unix.EXDEV},
	{"link into a read-only mount", func(c NameClient, d string) unix.Errno { return c.Link(0, d+"/f", d+"/ro", "g") }, unix.EROFS},
	{"link a directory where a user may write", func(c NameClient, d string) unix.Errno { return c.Link(User, d+"/d", d+"/open", "g") }, unix.EPERM},
	// rename
	{"rename", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "g", 0) }, 0},
	{"rename over a file", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "ln", d, "f", 0) }, 0},
	{"rename a file over a directory", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "d", 0) }, unix.EISDIR},
	{"rename a directory over a file", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "d", d, "f", 0) }, unix.ENOTDIR},
	{"rename a directory over a full one", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "d", d, "full", 0) }, unix.ENOTEMPTY},
	{"rename a directory into itself", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "d", d+"/d", "sub", 0) }, unix.EINVAL},
	{"rename a missing name", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "nope", d, "g", 0) }, unix.ENOENT},
	{"rename .", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, ".", d, "g", 0) }, unix.EBUSY},
	{"rename onto ..", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "..", 0) }, unix.EBUSY},
	{"rename onto .. without replacing", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "..", vfs.RenameNoReplace) }, unix.EEXIST},
	{"rename without replacing", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "d", vfs.RenameNoReplace) }, unix.EEXIST},
	{"rename to a free name without replacing", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "g", vfs.RenameNoReplace) }, 0},
	{"exchange", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "d", vfs.RenameExchange) }, 0},
	{"exchange with a missing name", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "nope", vfs.RenameExchange) }, unix.ENOENT},
	{"exchange without replacing", func(c NameClient, d string) unix.Errno {
		return c.Rename(0, d, "f", d, "d", vfs.RenameExchange|vfs.RenameNoReplace)
	}, unix.EINVAL},
	{"rename with an unknown flag", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "g", 1<<5) }, unix.EINVAL},
	{"rename with a whiteout", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d, "g", vfs.RenameWhiteout) }, unix.EINVAL},
	{"rename a missing name with a whiteout as a user", func(c NameClient, d string) unix.Errno {
		return c.Rename(User, d+"/open", "nope", d+"/open", "g", vfs.RenameWhiteout)
	}, unix.ENOENT},
	{"rename a mount point", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "m", d, "g", 0) }, unix.EBUSY},
	{"rename over a mount point", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "d", d, "m", 0) }, unix.EBUSY},
	{"rename into another mount", func(c NameClient, d string) unix.Errno { return c.Rename(0, d, "f", d+"/m", "f", 0) }, unix.EXDEV},
	{"rename a missing name on a read-only mount", func(c NameClient, d string) unix.Errno { return c.Rename(0, d+"/ro", "nope", d+"/ro", "g", 0) }, unix.EROFS},
	{"rename . on a read-only mount", func(c NameClient, d string) unix.Errno { return c.Rename(0, d+"/ro", ".", d+"/ro", "g", 0) }, unix.EBUSY},
	{"rename root's file out of a sticky directory", func(c NameClient, d string) unix.Errno {
		return c.Rename(User, d+"/sticky", "rootf", d+"/open", "g", 0)
	}, unix.EPERM},
	{"rename without search permission", func(c NameClient, d string) unix.Errno { return c.Rename(User, d+"/priv", "x", d+"/open", "g", 0) }, unix.EACCES},
}

// RunNames runs NameCases through c, each in a fresh tree under base, a
// directory it makes with l (root).
func RunNames(t *testing.T, l *kernel.LWP, base string, c NameClient) {
	if e := vfs.Mkdir(l, base, 0o755); e != 0 {
		t.Fatalf("mkdir %s: %v", base, e)
	}
	for i, nc := range NameCases {
		dir := fmt.Sprintf("%s/n%d", base, i)
		MakeNameTree(t, l, dir)
		if got := nc.Op(c, dir); got != nc.Want {
			t.Errorf("%s: %v (%d), want %v (%d)", nc.What, got, int(got), nc.Want, int(nc.Want))
		}
	}
}

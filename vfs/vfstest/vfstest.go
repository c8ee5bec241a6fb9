// Package vfstest is the POSIX behaviour suite every file system driver
// runs through the system call layer (NetBSD's tests/fs pattern: one test
// body, one row per file system). A driver adds itself as one FS value and
// calls Run from its own test.
package vfstest

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"golang.org/x/sys/unix"
)

// FS is one row of the suite: a writable file system and how to reach it.
type FS struct {
	Name string
	// Mount gets a freshly booted kernel and a root LWP and returns the
	// kernel path of an empty directory on the file system under test.
	Mount func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string
	// Check, when set, runs after the kernel halted (everything synced
	// and unmounted): an fsck of the image, say.
	Check func(t testing.TB)
	// Remount, when set, mounts the image the last Mount made again (in
	// a new kernel) and returns the same directory: the model test checks
	// that everything survived.
	Remount func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string
	// Features the file system lacks; cases needing them are skipped.
	NoSymlinks, NoHardLinks, NoSpecial, NoXattr, NoOwners, NoNanoseconds bool
}

// Env is what a case gets: the kernel, a root LWP, an unprivileged LWP
// (uid 1000, gid 1000) and the directory to work in.
type Env struct {
	T    *testing.T
	K    *kernel.Kernel
	L    *kernel.LWP
	User *kernel.LWP
	Dir  string
	FS   FS
}

// P joins names under the test directory.
func (e *Env) P(names ...string) string { return path.Join(append([]string{e.Dir}, names...)...) }

// Must fails the test on a non-zero errno.
func (e *Env) Must(err unix.Errno, what string) {
	e.T.Helper()
	if err != 0 {
		e.T.Fatalf("%s: %v", what, err)
	}
}

// Want fails the test when err is not want.
func (e *Env) Want(err, want unix.Errno, what string) {
	e.T.Helper()
	if err != want {
		e.T.Fatalf("%s: got %v (%d), want %v (%d)", what, err, int(err), want, int(want))
	}
}

// WriteFile creates name with data.
func (e *Env) WriteFile(name string, data []byte, mode uint32) {
	e.T.Helper()
	fd, err := vfs.Open(e.L, name, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, mode)
	e.Must(err, "create "+name)
	if len(data) > 0 {
		n, err := vfs.Write(e.L, fd, data)
		e.Must(err, "write "+name)
		if n != len(data) {
			e.T.Fatalf("short write %d of %d", n, len(data))
		}
	}
	e.Must(vfs.Close(e.L, fd), "close")
}

// ReadFile returns name's contents as l.
func (e *Env) ReadFile(l *kernel.LWP, name string) ([]byte, unix.Errno) {
	fd, err := vfs.Open(l, name, unix.O_RDONLY, 0)
	if err != 0 {
		return nil, err
	}
	defer vfs.Close(l, fd)
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := vfs.Read(l, fd, buf)
		if err != 0 {
			return out, err
		}
		if n == 0 {
			return out, 0
		}
		out = append(out, buf[:n]...)
	}
}

// Stat returns name's attributes or fails.
func (e *Env) Stat(name string) vfs.Vattr {
	e.T.Helper()
	var va vfs.Vattr
	e.Must(vfs.Lstat(e.L, name, &va), "stat "+name)
	return va
}

// Names lists a directory without "." and "..".
func (e *Env) Names(dir string) []string {
	e.T.Helper()
	ents, err := vfs.ReadDir(e.L, dir)
	e.Must(err, "readdir "+dir)
	var out []string
	for _, d := range ents {
		if d.Name != "." && d.Name != ".." {
			out = append(out, d.Name)
		}
	}
	return out
}

// Case is one behaviour check.
type Case struct {
	Name string
	Need func(FS) bool // nil: always runs
	Run  func(e *Env)
}

// Run runs every case against fs, each on a freshly booted kernel.
func Run(t *testing.T, fs FS) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Need != nil && !c.Need(fs) {
				t.Skipf("%s lacks what this case needs", fs.Name)
			}
			k, l := drivertest.Boot(t)
			dir := fs.Mount(t, k, l)
			user := drivertest.As(t, k, l, 1000, 1000)
			e := &Env{T: t, K: k, L: l, User: user, Dir: dir, FS: fs}
			c.Run(e)
			if err := k.Reboot(l, kernel.RB_HALT); err != nil {
				t.Errorf("halt: %v\n%s", err, k.Dmesg())
			}
			if fs.Check != nil {
				fs.Check(t)
			}
		})
	}
}

func needSymlinks(f FS) bool  { return !f.NoSymlinks }
func needHardLinks(f FS) bool { return !f.NoHardLinks }
func needSpecial(f FS) bool   { return !f.NoSpecial }
func needOwners(f FS) bool    { return !f.NoOwners }
func needXattr(f FS) bool     { return !f.NoXattr }

// Cases is the suite.
var Cases = []Case{
	{"CreateExcl", nil, func(e *Env) {
		f := e.P("f")
		fd, err := vfs.Open(e.L, f, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o644)
		e.Must(err, "first create")
		vfs.Close(e.L, fd)
		_, err = vfs.Open(e.L, f, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o644)
		e.Want(err, unix.EEXIST, "second O_EXCL create")
		fd, err = vfs.Open(e.L, f, unix.O_CREAT|unix.O_RDWR, 0o644)
		e.Must(err, "O_CREAT of an existing file")
		vfs.Close(e.L, fd)
		if va := e.Stat(f); va.Type != vfs.VREG || va.Mode != 0o644&^0o022 || va.Nlink != 1 {
			e.T.Fatalf("new file attrs %+v", va)
		}
	}},
	{"Trunc", nil, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, []byte("0123456789"), 0o644)
		fd, err := vfs.Open(e.L, f, unix.O_WRONLY|unix.O_TRUNC, 0)
		e.Must(err, "open O_TRUNC")
		vfs.Close(e.L, fd)
		if va := e.Stat(f); va.Size != 0 {
			e.T.Fatalf("size after O_TRUNC %d", va.Size)
		}
	}},
	{"Append", nil, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, []byte("abc"), 0o644)
		fd, err := vfs.Open(e.L, f, unix.O_WRONLY|unix.O_APPEND, 0)
		e.Must(err, "open O_APPEND")
		vfs.Lseek(e.L, fd, 0, unix.SEEK_SET)
		vfs.Write(e.L, fd, []byte("def"))
		vfs.Close(e.L, fd)
		if b, _ := e.ReadFile(e.L, f); string(b) != "abcdef" {
			e.T.Fatalf("after append: %q", b)
		}
	}},
	{"OpenFlags", needSymlinks, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, nil, 0o644)
		_, err := vfs.Open(e.L, f, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		e.Want(err, unix.ENOTDIR, "O_DIRECTORY on a file")
		e.Must(vfs.Symlink(e.L, "f", e.P("s")), "symlink")
		_, err = vfs.Open(e.L, e.P("s"), unix.O_RDONLY|unix.O_NOFOLLOW, 0)
		e.Want(err, unix.ELOOP, "O_NOFOLLOW on a symlink")
		_, err = vfs.Open(e.L, e.Dir, unix.O_WRONLY, 0)
		e.Want(err, unix.EISDIR, "directory opened for writing")
		_, err = vfs.Open(e.L, e.P("none"), unix.O_RDONLY, 0)
		e.Want(err, unix.ENOENT, "missing file")
		_, err = vfs.Open(e.L, e.P("f", "x"), unix.O_RDONLY, 0)
		e.Want(err, unix.ENOTDIR, "file as a directory")
	}},
	{"BadArguments", nil, func(e *Env) {
		_, err := vfs.Read(e.L, 99, make([]byte, 1))
		e.Want(err, unix.EBADF, "read of a bad descriptor")
		e.Want(vfs.Close(e.L, -1), unix.EBADF, "close -1")
		_, err = vfs.Open(e.L, e.P("a\x00b"), unix.O_RDONLY, 0)
		e.Want(err, unix.EINVAL, "path with NUL")
		_, err = vfs.Open(e.L, "", unix.O_RDONLY, 0)
		e.Want(err, unix.ENOENT, "empty path")
		e.Want(vfs.Mkdir(e.L, e.P(strings.Repeat("n", 256)), 0o755), unix.ENAMETOOLONG, "256-byte component")
		e.Must(vfs.Mkdir(e.L, e.P(strings.Repeat("n", 255)), 0o755), "255-byte component")
		long := e.Dir + strings.Repeat("/x", vfs.PathMax/2)
		var va vfs.Vattr
		e.Want(vfs.Stat(e.L, long[:vfs.PathMax], &va), unix.ENAMETOOLONG, "path of PATH_MAX bytes")
		e.Want(vfs.Stat(e.L, long[:vfs.PathMax-1], &va), unix.ENOENT, "path of PATH_MAX-1 bytes")
		fd, err := vfs.Open(e.L, e.Dir, unix.O_RDONLY, 0)
		e.Must(err, "open dir")
		_, err = vfs.Write(e.L, fd, []byte("x"))
		e.Want(err, unix.EBADF, "write to a read-only descriptor")
		_, err = vfs.Read(e.L, fd, make([]byte, 10))
		e.Want(err, unix.EISDIR, "read of a directory")
		_, err = vfs.Lseek(e.L, fd, -1, unix.SEEK_SET)
		e.Want(err, unix.EINVAL, "negative seek")
		vfs.Close(e.L, fd)
	}},
	{"UnlinkOpenFile", nil, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, []byte("still here"), 0o644)
		fd, err := vfs.Open(e.L, f, unix.O_RDWR, 0)
		e.Must(err, "open")
		e.Must(vfs.Unlink(e.L, f), "unlink")
		var va vfs.Vattr
		e.Want(vfs.Stat(e.L, f, &va), unix.ENOENT, "stat after unlink")
		e.Must(vfs.Fstat(e.L, fd, &va), "fstat")
		if va.Nlink != 0 {
			e.T.Fatalf("nlink of an unlinked open file: %d", va.Nlink)
		}
		vfs.Pwrite(e.L, fd, []byte("!"), 10)
		buf := make([]byte, 20)
		n, _ := vfs.Pread(e.L, fd, buf, 0)
		if string(buf[:n]) != "still here!" {
			e.T.Fatalf("data of an unlinked open file: %q", buf[:n])
		}
		e.Must(vfs.Close(e.L, fd), "close")
		e.Want(vfs.Unlink(e.L, f), unix.ENOENT, "second unlink")
		e.Want(vfs.Unlink(e.L, e.Dir), unix.EISDIR, "unlink of a directory") // Linux's answer
	}},
	{"Rename", nil, func(e *Env) {
		a, b := e.P("a"), e.P("b")
		e.WriteFile(a, []byte("A"), 0o644)
		e.WriteFile(b, []byte("B"), 0o644)
		e.Must(vfs.Rename(e.L, a, b), "rename over a file")
		if got, _ := e.ReadFile(e.L, b); string(got) != "A" {
			e.T.Fatalf("target holds %q", got)
		}
		var va vfs.Vattr
		e.Want(vfs.Stat(e.L, a, &va), unix.ENOENT, "source after rename")
		d1, d2 := e.P("d1"), e.P("d2")
		e.Must(vfs.Mkdir(e.L, d1, 0o755), "mkdir")
		e.Must(vfs.Mkdir(e.L, d2, 0o755), "mkdir")
		e.WriteFile(e.P("d1", "inner"), nil, 0o644)
		e.Want(vfs.Rename(e.L, b, d2), unix.EISDIR, "file over a directory")
		e.Want(vfs.Rename(e.L, d2, b), unix.ENOTDIR, "directory over a file")
		e.Must(vfs.Rename(e.L, d1, d2), "directory over an empty directory")
		if names := e.Names(d2); len(names) != 1 || names[0] != "inner" {
			e.T.Fatalf("moved directory holds %v", names)
		}
		e.Must(vfs.Mkdir(e.L, d1, 0o755), "mkdir")
		e.WriteFile(e.P("d1", "x"), nil, 0o644)
		e.Want(vfs.Rename(e.L, d2, d1), unix.ENOTEMPTY, "directory over a non-empty one")
		e.Must(vfs.Mkdir(e.L, e.P("d2", "sub"), 0o755), "mkdir")
		e.Want(vfs.Rename(e.L, d2, e.P("d2", "sub", "x")), unix.EINVAL, "directory into its own subtree")
		e.Want(vfs.Rename(e.L, e.P("nothing"), e.P("x")), unix.ENOENT, "missing source")
		// Across directories, fixing ".." and link counts.
		before := e.Stat(e.Dir).Nlink
		e.Must(vfs.Rename(e.L, e.P("d2", "sub"), e.P("sub")), "directory to another parent")
		if got := e.Stat(e.Dir).Nlink; got != before+1 {
			e.T.Fatalf("parent nlink %d, want %d", got, before+1)
		}
		var dotdot, dir vfs.Vattr
		e.Must(vfs.Stat(e.L, e.P("sub", ".."), &dotdot), "stat sub/..")
		e.Must(vfs.Stat(e.L, e.Dir, &dir), "stat dir")
		if dotdot.Fileid != dir.Fileid {
			e.T.Fatal("'..' of a moved directory not updated")
		}
		e.Must(vfs.Rename(e.L, e.P("b"), e.P("b")), "rename onto itself")
	}},
	{"Exchange", nil, func(e *Env) {
		x := func(l *kernel.LWP, from, to string) unix.Errno {
			return vfs.Rename2(l, e.P(from), e.P(to), vfs.RenameExchange)
		}
		e.WriteFile(e.P("a"), []byte("A"), 0o644)
		e.WriteFile(e.P("b"), []byte("B"), 0o644)
		ia, ib := e.Stat(e.P("a")).Fileid, e.Stat(e.P("b")).Fileid
		e.Must(x(e.L, "a", "b"), "exchange two files")
		if got, _ := e.ReadFile(e.L, e.P("a")); string(got) != "B" || e.Stat(e.P("a")).Fileid != ib || e.Stat(e.P("b")).Fileid != ia {
			e.T.Fatalf("after exchange a holds %q", got)
		}
		// Directories in different parents: ".." follows, counts stay.
		for _, d := range []string{"p1", "p2", "p1/d1", "p2/d2"} {
			e.Must(vfs.Mkdir(e.L, e.P(d), 0o755), "mkdir "+d)
		}
		e.WriteFile(e.P("p2", "d2", "inner"), nil, 0o644)
		n1, n2 := e.Stat(e.P("p1")).Nlink, e.Stat(e.P("p2")).Nlink
		e.Must(x(e.L, "p1/d1", "p2/d2"), "exchange directories in different parents")
		if names := e.Names(e.P("p1", "d1")); len(names) != 1 || names[0] != "inner" {
			e.T.Fatalf("p1/d1 holds %v after the exchange", names)
		}
		dotdot := func(dir, parent string) {
			e.T.Helper()
			var va vfs.Vattr
			e.Must(vfs.Stat(e.L, e.P(dir, ".."), &va), "stat "+dir+"/..")
			if va.Fileid != e.Stat(e.P(parent)).Fileid {
				e.T.Fatalf("%s/.. is inode %d, not %s", dir, va.Fileid, parent)
			}
		}
		dotdot("p1/d1", "p1")
		dotdot("p2/d2", "p2")
		if g1, g2 := e.Stat(e.P("p1")).Nlink, e.Stat(e.P("p2")).Nlink; g1 != n1 || g2 != n2 {
			e.T.Fatalf("parent link counts %d %d, want %d %d", g1, g2, n1, n2)
		}
		// A file and a directory in different parents: the counts move.
		top := e.Stat(e.Dir).Nlink
		e.Must(x(e.L, "a", "p2/d2"), "exchange a file and a directory")
		if va := e.Stat(e.P("a")); va.Type != vfs.VDIR {
			e.T.Fatalf("a is %v after the exchange, want a directory", va.Type)
		}
		if got, _ := e.ReadFile(e.L, e.P("p2", "d2")); string(got) != "B" {
			e.T.Fatalf("p2/d2 holds %q, want the file", got)
		}
		dotdot("a", ".")
		if g, g2 := e.Stat(e.Dir).Nlink, e.Stat(e.P("p2")).Nlink; g != top+1 || g2 != n2-1 {
			e.T.Fatalf("link counts %d %d after moving a directory up, want %d %d", g, g2, top+1, n2-1)
		}
		e.Want(x(e.L, "b", "none"), unix.ENOENT, "exchange with a missing target")
		e.Want(x(e.L, "none", "b"), unix.ENOENT, "exchange of a missing source")
		e.Must(vfs.Mkdir(e.L, e.P("p1", "d1", "sub"), 0o755), "mkdir")
		e.Want(x(e.L, "p1", "p1/d1/sub"), unix.EINVAL, "exchange into its own subtree")
		e.Want(x(e.L, "p1/d1/sub", "p1"), unix.EINVAL, "exchange with an ancestor")
		e.Want(x(e.L, "p1/d1", "p1/d1/sub"), unix.EINVAL, "exchange with a child")
		e.Want(vfs.Rename2(e.L, e.P("b"), e.P("c"), vfs.RenameWhiteout), unix.EINVAL, "RENAME_WHITEOUT")
		e.Want(vfs.Rename2(e.L, e.P("b"), e.P("a"), vfs.RenameExchange|vfs.RenameNoReplace), unix.EINVAL, "exchange with noreplace")
		e.Must(x(e.L, "b", "b"), "exchange of a name with itself")
		if e.FS.NoOwners {
			return
		}
		e.Want(x(e.User, "b", "p2/d2"), unix.EACCES, "user exchanges in root's 0755 directories")
		e.Must(vfs.Mkdir(e.L, e.P("tmp"), 0o777), "mkdir")
		e.Must(vfs.Chmod(e.L, e.P("tmp"), 0o1777), "chmod sticky")
		e.WriteFile(e.P("tmp", "roots"), nil, 0o666)
		fd, err := vfs.Open(e.User, e.P("tmp", "mine"), unix.O_CREAT|unix.O_WRONLY, 0o644)
		e.Must(err, "user creates")
		vfs.Close(e.User, fd)
		e.Want(x(e.User, "tmp/mine", "tmp/roots"), unix.EPERM, "user exchanges with another's file in a sticky directory")
		e.Must(x(e.L, "tmp/mine", "tmp/roots"), "root exchanges in a sticky directory")
	}},
	{"Rmdir", nil, func(e *Env) {
		d := e.P("d")
		e.Must(vfs.Mkdir(e.L, d, 0o755), "mkdir")
		e.Want(vfs.Mkdir(e.L, d, 0o755), unix.EEXIST, "mkdir twice")
		e.WriteFile(e.P("d", "f"), nil, 0o644)
		e.Want(vfs.Rmdir(e.L, d), unix.ENOTEMPTY, "rmdir of a non-empty directory")
		e.Want(vfs.Rmdir(e.L, e.P("d", "f")), unix.ENOTDIR, "rmdir of a file")
		e.Want(vfs.Rmdir(e.L, e.P("d")+"/."), unix.EINVAL, "rmdir of '.'")
		e.Must(vfs.Unlink(e.L, e.P("d", "f")), "unlink")
		e.Must(vfs.Rmdir(e.L, d), "rmdir")
		var va vfs.Vattr
		e.Want(vfs.Stat(e.L, d, &va), unix.ENOENT, "stat after rmdir")
	}},
	{"LinkCounts", needHardLinks, func(e *Env) {
		base := e.Stat(e.Dir).Nlink
		e.Must(vfs.Mkdir(e.L, e.P("d"), 0o755), "mkdir")
		if n := e.Stat(e.Dir).Nlink; n != base+1 {
			e.T.Fatalf("parent nlink after mkdir %d, want %d", n, base+1)
		}
		if n := e.Stat(e.P("d")).Nlink; n != 2 {
			e.T.Fatalf("new directory nlink %d", n)
		}
		f := e.P("f")
		e.WriteFile(f, []byte("x"), 0o644)
		c0 := e.Stat(f).Ctime
		e.Must(vfs.Link(e.L, f, e.P("d", "g")), "link")
		va := e.Stat(f)
		if va.Nlink != 2 {
			e.T.Fatalf("nlink after link %d", va.Nlink)
		}
		if va.Ctime.Sec < c0.Sec || va.Ctime == c0 && !e.FS.NoNanoseconds {
			e.T.Fatalf("ctime not updated by link: %v then %v", c0, va.Ctime)
		}
		e.Want(vfs.Link(e.L, f, e.P("d", "g")), unix.EEXIST, "link over an existing name")
		e.Want(vfs.Link(e.L, e.P("d"), e.P("dl")), unix.EPERM, "link of a directory")
		e.Must(vfs.Unlink(e.L, f), "unlink")
		if b, _ := e.ReadFile(e.L, e.P("d", "g")); string(b) != "x" || e.Stat(e.P("d", "g")).Nlink != 1 {
			e.T.Fatal("hard link lost its data or count")
		}
	}},
	{"Symlinks", needSymlinks, func(e *Env) {
		e.WriteFile(e.P("target"), []byte("T"), 0o644)
		e.Must(vfs.Symlink(e.L, "target", e.P("rel")), "relative symlink")
		e.Must(vfs.Symlink(e.L, e.P("target"), e.P("abs")), "absolute symlink")
		for _, s := range []string{"rel", "abs"} {
			if b, err := e.ReadFile(e.L, e.P(s)); err != 0 || string(b) != "T" {
				e.T.Fatalf("through %s: %q %v", s, b, err)
			}
		}
		buf := make([]byte, 100)
		n, err := vfs.Readlink(e.L, e.P("rel"), buf)
		if err != 0 || string(buf[:n]) != "target" {
			e.T.Fatalf("readlink %q %v", buf[:n], err)
		}
		_, err = vfs.Readlink(e.L, e.P("target"), buf)
		e.Want(err, unix.EINVAL, "readlink of a file")
		if va := e.Stat(e.P("rel")); va.Type != vfs.VLNK || va.Size != 6 {
			e.T.Fatalf("lstat of a symlink %+v", va)
		}
		e.Must(vfs.Symlink(e.L, "loop2", e.P("loop1")), "symlink")
		e.Must(vfs.Symlink(e.L, "loop1", e.P("loop2")), "symlink")
		_, err = vfs.Open(e.L, e.P("loop1"), unix.O_RDONLY, 0)
		e.Want(err, unix.ELOOP, "symlink loop")
		// 32 links in a chain resolve; 33 do not.
		prev := "target"
		for i := 0; i < 33; i++ {
			name := fmt.Sprintf("chain%d", i)
			e.Must(vfs.Symlink(e.L, prev, e.P(name)), "symlink chain")
			prev = name
		}
		var va vfs.Vattr
		e.Must(vfs.Stat(e.L, e.P("chain31"), &va), "32 symlinks")
		e.Want(vfs.Stat(e.L, e.P("chain32"), &va), unix.ELOOP, "33 symlinks")
		e.Must(vfs.Symlink(e.L, ".", e.P("dot")), "symlink to .")
		e.Must(vfs.Stat(e.L, e.P("dot", "dot", "target"), &va), "through directory symlinks")
		e.Must(vfs.Unlink(e.L, e.P("rel")), "unlink a symlink")
		if b, _ := e.ReadFile(e.L, e.P("target")); string(b) != "T" {
			e.T.Fatal("unlinking the link hurt the target")
		}
	}},
	{"LongSymlinks", needSymlinks, func(e *Env) {
		e.WriteFile(e.P("f"), []byte("F"), 0o644)
		e.Must(vfs.Mkdir(e.L, e.P("d"), 0o755), "mkdir")
		e.WriteFile(e.P("d", "g"), []byte("G"), 0o644)
		buf := make([]byte, 2*vfs.PathMax)
		for _, n := range []int{1023, 1024, vfs.PathMax - 1} {
			// "./" repeated, then the name: n bytes that resolve.
			for _, to := range []string{"f", "d"} {
				tail := to
				if (n-len(tail))%2 != 0 {
					tail = "/" + tail
				}
				target := strings.Repeat("./", (n-len(tail))/2) + tail
				link := e.P(fmt.Sprintf("%s%d", to, n))
				e.Must(vfs.Symlink(e.L, target, link), fmt.Sprintf("symlink of %d bytes", n))
				m, err := vfs.Readlink(e.L, link, buf)
				if err != 0 || string(buf[:m]) != target {
					e.T.Fatalf("readlink of a %d-byte target: %d bytes, %v", n, m, err)
				}
				if va := e.Stat(link); va.Size != int64(n) {
					e.T.Fatalf("lstat size %d, want %d", va.Size, n)
				}
			}
			want := map[string]string{fmt.Sprintf("f%d", n): "F", fmt.Sprintf("d%d/g", n): "G"}
			for p, data := range want {
				if b, err := e.ReadFile(e.L, e.P(p)); err != 0 || string(b) != data {
					e.T.Fatalf("read through %s: %q %v", p, b, err)
				}
			}
		}
		e.Want(vfs.Symlink(e.L, strings.Repeat("x", vfs.PathMax), e.P("l")), unix.ENAMETOOLONG, "symlink of PATH_MAX bytes")
		vp, err := vfs.OpenVnode(e.L, e.Dir, unix.O_RDONLY, 0)
		e.Must(err, "open dir")
		e.Must(vfs.Enter(e.L), "enter")
		pm, err := vfs.VOPPathconf(e.L, vp, vfs.PC_PATH_MAX)
		vfs.VOPClose(e.L, vp, vfs.FREAD)
		vfs.Vrele(e.L, vp)
		vfs.Leave(e.L, &err)
		if err != 0 || pm != vfs.PathMax {
			e.T.Fatalf("pathconf PATH_MAX %d %v, want %d", pm, err, vfs.PathMax)
		}
		var va vfs.Vattr
		e.Want(vfs.Lstat(e.L, e.P("l"), &va), unix.ENOENT, "a refused symlink")
	}},
	{"Times", nil, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, nil, 0o644)
		ts := [2]vfs.Timespec{{Sec: 1000000000, Nsec: 123456789}, {Sec: 1200000000, Nsec: 987654321}}
		e.Must(vfs.Utimes(e.L, f, &ts, true), "utimes")
		va := e.Stat(f)
		wantA, wantM := ts[0], ts[1]
		if e.FS.NoNanoseconds {
			va.Atime.Nsec, va.Mtime.Nsec, wantA.Nsec, wantM.Nsec = 0, 0, 0, 0
		}
		if va.Atime != wantA || va.Mtime != wantM {
			e.T.Fatalf("times %v %v, want %v %v", va.Atime, va.Mtime, wantA, wantM)
		}
		m0 := va.Mtime
		e.WriteFile(f, []byte("x"), 0o644)
		if va := e.Stat(f); va.Mtime.Sec <= m0.Sec {
			e.T.Fatal("write did not update mtime")
		}
		omit := [2]vfs.Timespec{{Nsec: vfs.UTIME_OMIT}, {Sec: 5, Nsec: 0}}
		before := e.Stat(f).Atime
		e.Must(vfs.Utimes(e.L, f, &omit, true), "utimes with UTIME_OMIT")
		if va := e.Stat(f); va.Atime != before || va.Mtime.Sec != 5 {
			e.T.Fatalf("UTIME_OMIT: %v %v", va.Atime, va.Mtime)
		}
		bad := [2]vfs.Timespec{{Nsec: 2e9}, {}}
		e.Want(vfs.Utimes(e.L, f, &bad, true), unix.EINVAL, "nanoseconds out of range")
	}},
	{"SparseAndTruncate", nil, func(e *Env) {
		f := e.P("f")
		fd, err := vfs.Open(e.L, f, unix.O_CREAT|unix.O_RDWR, 0o644)
		e.Must(err, "create")
		const off = 3<<20 + 17
		vfs.Pwrite(e.L, fd, []byte("end"), off)
		var va vfs.Vattr
		vfs.Fstat(e.L, fd, &va)
		if va.Size != off+3 {
			e.T.Fatalf("size %d", va.Size)
		}
		buf := make([]byte, 8192)
		for i := range buf {
			buf[i] = 0xff
		}
		n, _ := vfs.Pread(e.L, fd, buf, 1<<20)
		if n != len(buf) || !bytes.Equal(buf, make([]byte, len(buf))) {
			e.T.Fatal("hole does not read as zeros")
		}
		e.Must(vfs.Ftruncate(e.L, fd, 10), "truncate down")
		vfs.Pwrite(e.L, fd, []byte("0123456789"), 0)
		e.Must(vfs.Ftruncate(e.L, fd, 5), "truncate down")
		e.Must(vfs.Ftruncate(e.L, fd, 20), "truncate up")
		n, _ = vfs.Pread(e.L, fd, buf[:30], 0)
		if n != 20 || string(buf[:20]) != "01234"+string(make([]byte, 15)) {
			e.T.Fatalf("after truncates: %q", buf[:n])
		}
		vfs.Close(e.L, fd)
		e.Want(vfs.Truncate(e.L, e.Dir, 0), unix.EISDIR, "truncate of a directory")
		e.Want(vfs.Truncate(e.L, f, -1), unix.EINVAL, "negative size")
		rfd, _ := vfs.Open(e.L, f, unix.O_RDONLY, 0)
		e.Want(vfs.Ftruncate(e.L, rfd, 0), unix.EINVAL, "ftruncate of a read-only descriptor")
		vfs.Close(e.L, rfd)
	}},
	{"BigFile", nil, func(e *Env) {
		data := make([]byte, 5<<20+123)
		for i := range data {
			data[i] = byte(i*7 + i>>13)
		}
		e.WriteFile(e.P("big"), data, 0o644)
		got, err := e.ReadFile(e.L, e.P("big"))
		e.Must(err, "read back")
		if !bytes.Equal(got, data) {
			e.T.Fatal("big file differs")
		}
	}},
	{"Readdir", nil, func(e *Env) {
		const n = 1500
		want := map[string]bool{}
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("entry-%04d-%s", i, strings.Repeat("x", i%40))
			want[name] = true
			e.WriteFile(e.P(name), nil, 0o644)
		}
		// Small buffers force many resumptions from cookies.
		fd, err := vfs.Open(e.L, e.Dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		e.Must(err, "open dir")
		buf := make([]byte, 300)
		seen := map[string]bool{}
		for {
			m, err := vfs.Getdents(e.L, fd, buf)
			e.Must(err, "getdents")
			if m == 0 {
				break
			}
			for b := buf[:m]; len(b) > 0; {
				d, k, ok := vfs.ParseDirent(b)
				if !ok {
					e.T.Fatal("bad dirent record")
				}
				if seen[d.Name] {
					e.T.Fatalf("%q listed twice", d.Name)
				}
				seen[d.Name] = true
				b = b[k:]
			}
		}
		vfs.Close(e.L, fd)
		if !seen["."] || !seen[".."] {
			e.T.Fatal("'.' or '..' missing")
		}
		for name := range want {
			if !seen[name] {
				e.T.Fatalf("%q not listed", name)
			}
		}
		if len(seen) != n+2 {
			e.T.Fatalf("%d entries listed, want %d", len(seen), n+2)
		}
		for name := range want {
			e.Must(vfs.Unlink(e.L, e.P(name)), "unlink")
		}
		if names := e.Names(e.Dir); len(names) != 0 {
			e.T.Fatalf("left after removing all: %v", names)
		}
	}},
	{"Permissions", needOwners, func(e *Env) {
		secret := e.P("secret")
		e.WriteFile(secret, []byte("s"), 0o600)
		_, err := e.ReadFile(e.User, secret)
		e.Want(err, unix.EACCES, "user reads a 0600 root file")
		e.Want(vfs.Chmod(e.User, secret, 0o666), unix.EPERM, "user chmods a root file")
		e.Want(vfs.Chown(e.User, secret, 1000, -1), unix.EPERM, "user chowns a root file")
		e.Want(vfs.Access(e.User, secret, 4), unix.EACCES, "access R_OK")
		e.Must(vfs.Access(e.L, secret, 6), "root access")
		// A world-writable sticky directory: users own what they make,
		// and cannot remove what others made.
		tmp := e.P("tmp")
		e.Must(vfs.Mkdir(e.L, tmp, 0o777), "mkdir")
		e.Must(vfs.Chmod(e.L, tmp, 0o1777), "chmod sticky")
		mine := e.P("tmp", "mine")
		fd, err := vfs.Open(e.User, mine, unix.O_CREAT|unix.O_WRONLY, 0o644)
		e.Must(err, "user creates")
		vfs.Close(e.User, fd)
		if va := e.Stat(mine); va.Uid != 1000 {
			e.T.Fatalf("file made by uid 1000 owned by %d", va.Uid)
		}
		e.WriteFile(e.P("tmp", "roots"), nil, 0o666)
		e.Want(vfs.Unlink(e.User, e.P("tmp", "roots")), unix.EPERM, "unlink of another's file in a sticky dir")
		e.Must(vfs.Unlink(e.User, mine), "unlink of own file in a sticky dir")
		e.Want(vfs.Mkdir(e.User, e.P("usermade"), 0o755), unix.EACCES, "mkdir in a root 0755 directory")
		e.Must(vfs.Chown(e.L, secret, 1000, 1000), "root chown")
		if b, err := e.ReadFile(e.User, secret); err != 0 || string(b) != "s" {
			e.T.Fatalf("owner reads: %v", err)
		}
	}},
	{"Special", needSpecial, func(e *Env) {
		e.Must(vfs.Mknod(e.L, e.P("fifo"), unix.S_IFIFO|0o644, 0), "mkfifo")
		e.Must(vfs.Mknod(e.L, e.P("blk"), unix.S_IFBLK|0o600, 0x0801), "mknod blk")
		e.Must(vfs.Mknod(e.L, e.P("chr"), unix.S_IFCHR|0o600, 0x0103), "mknod chr")
		// Linux asks for the directory's write permission first, then
		// for the right to make devices.
		e.Must(vfs.Mkdir(e.L, e.P("open"), 0o777), "mkdir")
		e.Must(vfs.Chmod(e.L, e.P("open"), 0o777), "chmod")
		e.Want(vfs.Mknod(e.User, e.P("open", "x"), unix.S_IFCHR|0o600, 1), unix.EPERM, "user mknod of a device")
		e.Want(vfs.Mknod(e.User, e.P("x"), unix.S_IFCHR|0o600, 1), unix.EACCES, "user mknod of a device in a root 0755 directory")
		if va := e.Stat(e.P("fifo")); va.Type != vfs.VFIFO {
			e.T.Fatalf("fifo type %v", va.Type)
		}
		if va := e.Stat(e.P("blk")); va.Type != vfs.VBLK || va.Rdev != 0x0801 {
			e.T.Fatalf("blk %v %#x", va.Type, va.Rdev)
		}
	}},
	{"Xattr", needXattr, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, []byte("x"), 0o644)
		vp, err := vfs.OpenVnode(e.L, f, unix.O_RDONLY, 0)
		e.Must(err, "open")
		l := e.L
		e.Must(vfs.Enter(l), "enter")
		defer func() {
			vfs.VOPClose(l, vp, vfs.FREAD)
			vfs.Vrele(l, vp)
			var left unix.Errno
			vfs.Leave(l, &left)
		}()
		e.Must(vfs.VOPSetextattr(l, vp, "user.colour", []byte("blue"), 0), "set")
		e.Want(vfs.VOPSetextattr(l, vp, "user.colour", []byte("red"), unix.XATTR_CREATE), unix.EEXIST, "XATTR_CREATE of an existing name")
		e.Want(vfs.VOPSetextattr(l, vp, "user.none", []byte("v"), unix.XATTR_REPLACE), unix.ENODATA, "XATTR_REPLACE of a missing name")
		size, err := vfs.VOPGetextattr(l, vp, "user.colour", nil)
		e.Must(err, "get size")
		buf := make([]byte, 16)
		u := kernel.UioSetup(buf, 0, kernel.UioRead)
		n, err := vfs.VOPGetextattr(l, vp, "user.colour", u)
		kernel.UioFree(u)
		if err != 0 || size != 4 || n != 4 || string(buf[:4]) != "blue" {
			e.T.Fatalf("get: %q size %d n %d %v", buf[:n], size, n, err)
		}
		small := kernel.UioSetup(buf[:2], 0, kernel.UioRead)
		_, err = vfs.VOPGetextattr(l, vp, "user.colour", small)
		kernel.UioFree(small)
		e.Want(err, unix.ERANGE, "get into a short buffer")
		_, err = vfs.VOPGetextattr(l, vp, "user.none", nil)
		e.Want(err, unix.ENODATA, "get of a missing name")
		lu := kernel.UioSetup(buf, 0, kernel.UioRead)
		n, err = vfs.VOPListextattr(l, vp, lu)
		kernel.UioFree(lu)
		if err != 0 || string(buf[:n]) != "user.colour\x00" {
			e.T.Fatalf("list: %q %v", buf[:n], err)
		}
		e.Must(vfs.VOPDeleteextattr(l, vp, "user.colour"), "delete")
		e.Want(vfs.VOPDeleteextattr(l, vp, "user.colour"), unix.ENODATA, "second delete")
	}},
	{"ChdirDotDot", nil, func(e *Env) {
		e.Must(vfs.Mkdir(e.L, e.P("a"), 0o755), "mkdir")
		e.Must(vfs.Mkdir(e.L, e.P("a", "b"), 0o755), "mkdir")
		e.Must(vfs.Chdir(e.L, e.P("a", "b")), "chdir")
		e.WriteFile("../f", []byte("up"), 0o644)
		if b, _ := e.ReadFile(e.L, e.P("a", "f")); string(b) != "up" {
			e.T.Fatal("relative '..' path wrong")
		}
		e.Want(vfs.Chdir(e.L, e.P("a", "f")), unix.ENOTDIR, "chdir to a file")
		e.Must(vfs.Chdir(e.L, "/"), "chdir /")
	}},
}

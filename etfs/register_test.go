package etfs_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func TestKeySyntax(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 4096)
	for _, c := range []struct {
		key  string
		want unix.Errno
	}{
		{"dev/img", unix.EINVAL},
		{"", unix.EINVAL},
		{"/", unix.EINVAL},
		{"///", unix.EINVAL},
		{"/a/../b", unix.EINVAL},
		{"/a/./b", unix.EINVAL},
		{"/a\x00b", unix.EINVAL},
		{"/" + string(make([]byte, 300)), unix.EINVAL},
	} {
		if err := x.e.Register(c.key, host, etfs.REG); !errors.Is(err, c.want) {
			t.Errorf("Register(%q): %v, want %v", c.key, err, c.want)
		}
	}
	long := "/" + string(slices.Repeat([]byte("n"), vfs.NameMax+1))
	if err := x.e.Register(long, host, etfs.REG); !errors.Is(err, unix.ENAMETOOLONG) {
		t.Errorf("Register(long component): %v, want ENAMETOOLONG", err)
	}
	if err := x.e.Register("/k", host, etfs.Type(99)); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Register(type 99): %v, want EINVAL", err)
	}

	// Leading (and repeated, trailing) slashes collapse: the key is
	// /dev/img, and registering it again in any spelling is EEXIST.
	x.register("//dev//img/", host, etfs.REG)
	if va, e := x.stat("/dev/img"); e != 0 || va.Type != vfs.VREG || va.Size != 4096 {
		t.Fatalf("stat /dev/img: %v %+v", e, va)
	}
	for _, k := range []string{"/dev/img", "///dev/img", "/dev//img"} {
		if err := x.e.Register(k, host, etfs.BLK); !errors.Is(err, unix.EEXIST) {
			t.Errorf("second Register(%q): %v, want EEXIST", k, err)
		}
	}
	if err := x.e.Remove("dev/img"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Remove(bad key): %v, want ENOENT", err)
	}
	if err := x.e.Remove("/dev//img"); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := x.e.Remove("/dev/img"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("second Remove: %v, want ENOENT", err)
	}
	if _, e := x.stat("/dev/img"); e != unix.ENOENT {
		t.Errorf("stat after Remove: %v, want ENOENT", e)
	}
}

// TestMissingBytes: a read-only BLK key may claim bytes past its window
// (a truncated image); anything else asking for them is EINVAL.
func TestMissingBytes(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 4096)
	for _, c := range []struct {
		typ      etfs.Type
		ro       bool
		missing  int64
		wantSize int64
	}{
		{etfs.BLK, true, 8192, 4096 + 8192},
		{etfs.BLK, false, 8192, -1},
		{etfs.REG, true, 8192, -1},
		{etfs.BLK, true, -1, -1},
	} {
		err := x.e.RegisterOpts("/t", host, c.typ, etfs.Options{Size: etfs.EndOff, ReadOnly: c.ro, Missing: c.missing})
		if c.wantSize < 0 {
			if !errors.Is(err, unix.EINVAL) {
				t.Errorf("%+v: %v, want EINVAL", c, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if va, e := x.stat("/t"); e != 0 || va.Size != c.wantSize {
			t.Errorf("%+v: stat %v size %d, want %d", c, e, va.Size, c.wantSize)
		}
		x.e.Remove("/t")
	}
}

func TestWindowChecks(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 4096)
	for _, c := range []struct {
		begin, size int64
		want        unix.Errno
	}{
		{4097, etfs.EndOff, unix.EINVAL},
		{-1, etfs.EndOff, unix.EINVAL},
		{0, 4097, unix.EINVAL},
		{1000, 3097, unix.EINVAL},
		{0, -2, unix.EINVAL},
		{1 << 62, 1 << 62, unix.EINVAL},
		{1000, 1<<63 - 1, unix.EINVAL},
		{1000, 3096, 0},
		{4096, etfs.EndOff, 0},
		{0, etfs.EndOff, 0},
	} {
		key := "/w"
		err := x.e.RegisterWithSize(key, host, etfs.BLK, c.begin, c.size)
		if c.want != 0 {
			if !errors.Is(err, c.want) {
				t.Errorf("RegisterWithSize(%d, %d): %v, want %v", c.begin, c.size, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("RegisterWithSize(%d, %d): %v", c.begin, c.size, err)
			continue
		}
		want := c.size
		if want == etfs.EndOff {
			want = 4096 - c.begin
		}
		if d := x.e.Device(key); d == nil || d.Size() != want || d.Begin() != c.begin {
			t.Errorf("RegisterWithSize(%d, %d): device %v, want size %d", c.begin, c.size, d, want)
		}
		if va, e := x.stat(key); e != 0 || va.Size != want || va.Type != vfs.VBLK {
			t.Errorf("stat: %v %+v, want a VBLK of %d bytes", e, va, want)
		}
		if err := x.e.Remove(key); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTypeChecks(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 4096)
	dir := t.TempDir()
	if err := x.e.Register("/d", host, etfs.DIR); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("DIR on a file: %v, want ENOTDIR", err)
	}
	if err := x.e.Register("/d", host, etfs.DIR_SUBDIRS); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("DIR_SUBDIRS on a file: %v, want ENOTDIR", err)
	}
	if err := x.e.RegisterWithSize("/d", dir, etfs.DIR, 1, etfs.EndOff); !errors.Is(err, unix.EINVAL) {
		t.Errorf("DIR with begin 1: %v, want EINVAL", err)
	}
	if err := x.e.RegisterWithSize("/d", dir, etfs.DIR, 0, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("DIR with size 0: %v, want EINVAL", err)
	}
	for _, typ := range []etfs.Type{etfs.REG, etfs.BLK, etfs.CHR} {
		if err := x.e.Register("/f", dir, typ); !errors.Is(err, unix.EISDIR) {
			t.Errorf("%v on a directory: %v, want EISDIR", typ, err)
		}
	}
	// Odd host files are refused at once: a FIFO without a writer
	// must not hold the open (the test hangs if it does).
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, odd := range []string{fifo, sock, "/dev/zero"} {
		for _, typ := range []etfs.Type{etfs.REG, etfs.BLK, etfs.CHR} {
			if err := x.e.Register("/f", odd, typ); !errors.Is(err, unix.EINVAL) {
				t.Errorf("%v on %s: %v, want EINVAL", typ, odd, err)
			}
		}
	}
	err = x.e.Register("/f", filepath.Join(dir, "missing"), etfs.REG)
	var pe *os.PathError
	if !errors.Is(err, unix.ENOENT) || !errors.As(err, &pe) {
		t.Errorf("missing host file: %v, want an *os.PathError with ENOENT", err)
	}
	if len(x.e.Keys()) != 0 {
		t.Errorf("failed registrations left keys: %+v", x.e.Keys())
	}
	for s, want := range map[string]etfs.Type{"reg": etfs.REG, "BLK": etfs.BLK, "chr": etfs.CHR, "dir": etfs.DIR, "dirs": etfs.DIR_SUBDIRS} {
		if got, err := etfs.ParseType(s); err != nil || got != want {
			t.Errorf("ParseType(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := etfs.ParseType("lnk"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("ParseType(lnk): %v", err)
	}
}

// Keys resolve as whole paths from the root, component by component as
// FUSE looks them up, and are never listed.
func TestResolve(t *testing.T) {
	x := boot(t)
	host, data := hostFile(t, 8192)
	x.register("/dev/img", host, etfs.REG)
	x.register("/top", host, etfs.BLK)
	x.register("/a/b/c", host, etfs.CHR)

	if va, e := x.stat("/dev/img"); e != 0 || va.Type != vfs.VREG || va.Size != 8192 {
		t.Errorf("stat /dev/img: %v %+v", e, va)
	}
	if got, e := x.readAll("/dev/img"); e != 0 || string(got) != string(data) {
		t.Errorf("read /dev/img: %v, %d bytes, differs from the host file", e, len(got))
	}
	if va, e := x.stat("/top"); e != 0 || va.Type != vfs.VBLK || va.Rdev == 0 {
		t.Errorf("stat /top: %v %+v", e, va)
	}
	if va, e := x.stat("/a/b/c"); e != 0 || va.Type != vfs.VCHR {
		t.Errorf("stat /a/b/c: %v %+v", e, va)
	}
	if _, e := x.stat("/dev/img/"); e != unix.ENOTDIR {
		t.Errorf("stat /dev/img/: %v, want ENOTDIR", e)
	}
	if _, e := x.stat("/dev/img/x"); e != unix.ENOTDIR {
		t.Errorf("stat /dev/img/x: %v, want ENOTDIR", e)
	}
	if _, e := x.stat("/dev/im"); e != unix.ENOENT {
		t.Errorf("stat /dev/im: %v, want ENOENT", e)
	}
	if _, e := x.stat("/dev/../dev/img"); e != 0 {
		t.Errorf("stat /dev/../dev/img: %v", e)
	}
	for dir, key := range map[string]string{"/": "top", "/dev": "img", "/a/b": "c"} {
		if slices.Contains(x.names(dir), key) {
			t.Errorf("readdir %s lists the key %s: %v", dir, key, x.names(dir))
		}
	}

	// Component-wise, as FUSE: the same vnode as the whole-path lookup.
	root := vfs.Of(x.k).Root()
	walk := func(names ...string) *vfs.Vnode {
		t.Helper()
		dvp := root
		vfs.Vref(dvp)
		for _, n := range names {
			vp, e := x.lookup(dvp, n)
			x.vrele(dvp)
			if e != 0 {
				t.Fatalf("lookup %q in %v: %v", n, names, e)
			}
			dvp = vp
		}
		return dvp
	}
	for _, path := range [][]string{{"dev", "img"}, {"top"}, {"a", "b", "c"}} {
		vp := walk(path...)
		var fd int
		var e unix.Errno
		full := "/" + filepath.Join(path...)
		if fd, e = vfs.Open(x.l, full, unix.O_RDONLY, 0); e != 0 {
			t.Fatalf("open %s: %v", full, e)
		}
		var va, vb vfs.Vattr
		vfs.Fstat(x.l, fd, &va)
		vfs.Close(x.l, fd)
		if e := vfs.Enter(x.l); e != 0 {
			t.Fatal(e)
		}
		vfs.VOPGetattr(x.l, vp, &vb)
		vfs.Leave(x.l, &e)
		if va.Fileid != vb.Fileid || va.Type != vb.Type || va.Fileid>>63 != 1 {
			t.Errorf("%s: component-wise lookup found ino %#x %v, whole path %#x %v", full, vb.Fileid, vb.Type, va.Fileid, va.Type)
		}
		x.vrele(vp)
	}

	// Whole-path resolution needs no directories in the rumpfs root:
	// remove the parents made at registration.
	if e := vfs.Rmdir(x.l, "/a/b"); e != 0 {
		t.Fatalf("rmdir /a/b: %v", e)
	}
	if e := vfs.Rmdir(x.l, "/a"); e != 0 {
		t.Fatalf("rmdir /a: %v", e)
	}
	if va, e := x.stat("/a/b/c"); e != 0 || va.Type != vfs.VCHR {
		t.Errorf("stat /a/b/c without /a: %v %+v", e, va)
	}
	if _, e := x.stat("/a//b///c"); e != 0 {
		t.Errorf("stat /a//b///c: %v", e)
	}
	if _, e := x.stat("/a/b"); e != unix.ENOENT {
		t.Errorf("stat /a/b: %v, want ENOENT", e)
	}
}

// A key cannot be unlinked or replaced through the namespace.
func TestKeyNotUnlinkable(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 4096)
	x.register("/img", host, etfs.REG)
	if e := vfs.Unlink(x.l, "/img"); e != unix.EOPNOTSUPP {
		t.Errorf("unlink /img: %v, want EOPNOTSUPP", e)
	}
	fd, e := vfs.Open(x.l, "/tmp/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	if e != 0 {
		t.Fatal(e)
	}
	vfs.Close(x.l, fd)
	if e := vfs.Rename(x.l, "/tmp/f", "/img"); e != unix.EOPNOTSUPP {
		t.Errorf("rename over /img: %v, want EOPNOTSUPP", e)
	}
	if e := vfs.Mkdir(x.l, "/img", 0o755); e != unix.EEXIST {
		t.Errorf("mkdir /img: %v, want EEXIST", e)
	}
	if _, e := vfs.Open(x.l, "/img", unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o644); e != unix.EEXIST {
		t.Errorf("O_EXCL create /img: %v, want EEXIST", e)
	}
	if _, e := x.stat("/img"); e != 0 {
		t.Errorf("stat /img: %v", e)
	}
	// A key of several components is used up by one lookup: a walk to
	// its parent meets the key itself.
	x.register("/k/img", host, etfs.REG)
	if e := vfs.Unlink(x.l, "/k/img"); e != unix.EOPNOTSUPP {
		t.Errorf("unlink /k/img: %v, want EOPNOTSUPP", e)
	}
	if e := vfs.Rename(x.l, "/tmp/f", "/k/img"); e != unix.EOPNOTSUPP {
		t.Errorf("rename over /k/img: %v, want EOPNOTSUPP", e)
	}
	if e := vfs.Mkdir(x.l, "/k/img", 0o755); e != unix.EEXIST {
		t.Errorf("mkdir /k/img: %v, want EEXIST", e)
	}
}

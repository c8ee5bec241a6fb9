package etfs_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// hostTree makes:
//
//	top/a          "alpha"
//	top/s/         a subdirectory
//	top/s/b        "beta"
//	top/s/deep/c   "gamma"
//	top/out   ->   ../secret (a file outside top)
//	top/in    ->   a
//	top/sl    ->   s
//	top/fifo       a FIFO
func hostTree(t *testing.T) (top string) {
	t.Helper()
	root := t.TempDir()
	top = filepath.Join(root, "top")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(top, "s", "deep"), 0o755))
	must(os.WriteFile(filepath.Join(root, "secret"), []byte("secret"), 0o644))
	must(os.WriteFile(filepath.Join(top, "a"), []byte("alpha"), 0o644))
	must(os.WriteFile(filepath.Join(top, "s", "b"), []byte("beta"), 0o644))
	must(os.WriteFile(filepath.Join(top, "s", "deep", "c"), []byte("gamma"), 0o644))
	must(os.Symlink("../secret", filepath.Join(top, "out")))
	must(os.Symlink("a", filepath.Join(top, "in")))
	must(os.Symlink("s", filepath.Join(top, "sl")))
	must(unix.Mkfifo(filepath.Join(top, "fifo"), 0o644))
	return top
}

func TestDirSubdirs(t *testing.T) {
	x := boot(t)
	top := hostTree(t)
	x.register("/h", top, etfs.DIR_SUBDIRS)

	for path, want := range map[string]string{"/h/a": "alpha", "/h/s/b": "beta", "/h/s/deep/c": "gamma", "/h//s/./b": "beta"} {
		if got, e := x.readAll(path); e != 0 || string(got) != want {
			t.Errorf("read %s: %q %v, want %q", path, got, e, want)
		}
	}
	// Only host regular files and directories; nothing leads out.
	for _, p := range []string{"/h/out", "/h/in", "/h/sl", "/h/sl/b", "/h/fifo", "/h/missing"} {
		if _, e := x.stat(p); e != unix.ENOENT {
			t.Errorf("stat %s: %v, want ENOENT", p, e)
		}
	}
	for _, p := range []string{"/h/..", "/h/s/..", "/h/s/../../secret", "/h/../tmp"} {
		if _, e := x.stat(p); e != unix.EOPNOTSUPP {
			t.Errorf("stat %s: %v, want EOPNOTSUPP", p, e)
		}
	}
	if got := x.names("/h"); !slices.Equal(got, []string{".", "..", "a", "s"}) {
		t.Errorf("readdir /h: %v, want . .. a s", got)
	}
	if got := x.names("/h/s"); !slices.Equal(got, []string{".", "..", "b", "deep"}) {
		t.Errorf("readdir /h/s: %v", got)
	}
	if slices.Contains(x.names("/"), "h") {
		t.Error("the key is listed in /")
	}
	va, e := x.stat("/h/s/b")
	fi, _ := os.Stat(filepath.Join(top, "s", "b"))
	if e != 0 || va.Type != vfs.VREG || va.Size != 4 || va.Mode != uint32(fi.Mode().Perm()) || va.Fileid>>63 != 1 {
		t.Errorf("stat /h/s/b: %v %+v", e, va)
	}
	if va, e := x.stat("/h/s"); e != 0 || va.Type != vfs.VDIR {
		t.Errorf("stat /h/s: %v %+v", e, va)
	}
	// Inode numbers are stable per host file, and readdir agrees.
	ents, _ := vfs.ReadDir(x.l, "/h")
	for _, d := range ents {
		if d.Name == "a" {
			if va, _ := x.stat("/h/a"); va.Fileid != d.Ino {
				t.Errorf("readdir ino %#x, stat ino %#x", d.Ino, va.Fileid)
			}
		}
	}

	// Writes reach the host; a size change truncates there.
	fd, e := vfs.Open(x.l, "/h/s/b", unix.O_RDWR, 0)
	if e != 0 {
		t.Fatal(e)
	}
	if n, e := vfs.Pwrite(x.l, fd, []byte("BETA-beta"), 0); n != 9 || e != 0 {
		t.Errorf("pwrite: %d %v", n, e)
	}
	vfs.Close(x.l, fd)
	if b, _ := os.ReadFile(filepath.Join(top, "s", "b")); string(b) != "BETA-beta" {
		t.Errorf("host file after write: %q", b)
	}
	if e := vfs.Truncate(x.l, "/h/s/b", 4); e != 0 {
		t.Errorf("truncate: %v", e)
	}
	if b, _ := os.ReadFile(filepath.Join(top, "s", "b")); string(b) != "BETA" {
		t.Errorf("host file after truncate: %q", b)
	}
	if _, e := vfs.Open(x.l, "/h/new", unix.O_CREAT|unix.O_RDWR, 0o644); e == 0 {
		t.Error("created a file in a directory key")
	}

	// Component-wise lookups, as FUSE does them.
	root := vfs.Of(x.k).Root()
	h, e := x.lookup(root, "h")
	if e != 0 {
		t.Fatal(e)
	}
	defer x.vrele(h)
	s, e := x.lookup(h, "s")
	if e != 0 {
		t.Fatal(e)
	}
	defer x.vrele(s)
	b, e := x.lookup(s, "b")
	if e != 0 || b.Type != vfs.VREG {
		t.Fatalf("lookup b in s: %v", e)
	}
	x.vrele(b)
	for _, n := range []string{"..", "out", "sl"} {
		if vp, e := x.lookup(h, n); e == 0 {
			x.vrele(vp)
			t.Errorf("lookup %q in the key: found", n)
		}
	}
	if vp, e := x.lookup(h, "."); e != 0 || vp != h {
		t.Errorf("lookup . in the key: %v", e)
	} else {
		x.vrele(vp)
	}
}

// A DIR key shows its immediate children; subdirectories show up empty.
func TestDirImmediate(t *testing.T) {
	x := boot(t)
	top := hostTree(t)
	x.register("/d", top, etfs.DIR)
	if got, e := x.readAll("/d/a"); e != 0 || string(got) != "alpha" {
		t.Errorf("read /d/a: %q %v", got, e)
	}
	if va, e := x.stat("/d/s"); e != 0 || va.Type != vfs.VDIR {
		t.Errorf("stat /d/s: %v", e)
	}
	if _, e := x.stat("/d/s/b"); e != unix.ENOENT {
		t.Errorf("stat /d/s/b: %v, want ENOENT", e)
	}
	if got := x.names("/d/s"); !slices.Equal(got, []string{".", ".."}) {
		t.Errorf("readdir /d/s: %v, want only . and ..", got)
	}
	if got := x.names("/d"); !slices.Equal(got, []string{".", "..", "a", "s"}) {
		t.Errorf("readdir /d: %v", got)
	}
}

func TestDirReadOnly(t *testing.T) {
	x := boot(t)
	top := hostTree(t)
	if err := x.e.RegisterReadOnly("/ro", top, etfs.DIR_SUBDIRS); err != nil {
		t.Fatal(err)
	}
	if _, e := vfs.Open(x.l, "/ro/a", unix.O_WRONLY, 0); e != unix.EROFS {
		t.Errorf("open for writing: %v, want EROFS", e)
	}
	if e := vfs.Chmod(x.l, "/ro/a", 0o600); e != unix.EROFS {
		t.Errorf("chmod: %v, want EROFS", e)
	}
	if got, e := x.readAll("/ro/s/b"); e != 0 || string(got) != "beta" {
		t.Errorf("read: %q %v", got, e)
	}
	if va, _ := x.stat("/ro/a"); va.Mode&0o222 != 0 {
		t.Errorf("mode %o has write bits", va.Mode)
	}
	// Every host descriptor a lookup opened is read-only.
	fd, e := vfs.Open(x.l, "/ro/a", unix.O_RDONLY, 0)
	if e != 0 {
		t.Fatal(e)
	}
	defer vfs.Close(x.l, fd)
	if flags, n := hostFDFlags(t, filepath.Join(top, "a")); n == 0 || flags&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("%d host descriptors, flags %o; want O_RDONLY", n, flags)
	}
}

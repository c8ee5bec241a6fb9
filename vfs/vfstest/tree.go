package vfstest

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// The tree every read-only row is built from: one generator writes it on
// the host (makefs and mke2fs -d copy it into images), one comparator
// checks a mounted file system against it through the system calls.

// TreeOpts shapes the generated tree.
type TreeOpts struct {
	Wide   int  // entries in the wide directory
	Xattrs bool // user.* extended attributes on some files
}

// Pseudo returns n deterministic bytes for seed.
func Pseudo(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// GenTree writes the tree under dir (made): files at inline-data,
// fragment, block and direct/indirect edges of 1 and 4 KiB blocks, a
// sparse file, a deep path, a wide directory with non-ASCII names,
// symlinks short and long, hard links, odd modes and owners, a FIFO and
// device nodes, nanosecond modification times and, when asked, xattrs.
func GenTree(t testing.TB, dir string, o TreeOpts) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, mode))
	}
	for i, n := range []int{0, 1, 59, 60, 61, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097,
		12*1024 + 1, 12*4096 + 1, 70000} {
		write(fmt.Sprintf("sizes/f%06d", n), Pseudo(uint64(i), n), 0o644)
	}
	f, err := os.Create(filepath.Join(dir, "sparse"))
	must(err)
	_, err = f.WriteAt([]byte("tail"), 300000)
	must(err)
	must(f.Close())

	deep := "deep"
	for i := range 12 {
		deep = filepath.Join(deep, fmt.Sprintf("level-%02d", i))
	}
	write(filepath.Join(deep, "bottom"), []byte("at the bottom\n"), 0o600)

	must(os.MkdirAll(filepath.Join(dir, "wide"), 0o755))
	for i := range o.Wide {
		name := fmt.Sprintf("entry-%04d-%s", i, strings.Repeat("x", i%50))
		if i%10 == 0 {
			name = fmt.Sprintf("é-ü-%04d-ÿ", i)
		}
		write(filepath.Join("wide", name), nil, 0o644)
	}

	must(os.Symlink("sizes/f000001", filepath.Join(dir, "fastlink")))
	must(os.Symlink(strings.Repeat("long/", 60)+"end", filepath.Join(dir, "slowlink")))
	must(os.Symlink(strings.Repeat("y", 59), filepath.Join(dir, "link59")))
	must(os.Symlink(strings.Repeat("z", 60), filepath.Join(dir, "link60")))
	must(os.Lchown(filepath.Join(dir, "fastlink"), 4242, 4343))

	write("hard1", []byte("linked\n"), 0o644)
	must(os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "hard2")))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o750))
	must(os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "sub", "hard3")))

	must(os.Mkdir(filepath.Join(dir, "odd"), 0o755))
	for i, m := range []uint32{0, 0o4755, 0o2711, 0o1777, 0o777, 0o400} {
		p := filepath.Join(dir, "odd", fmt.Sprintf("m%d", i))
		must(os.WriteFile(p, []byte{byte(i)}, 0o600))
		must(syscall.Chmod(p, m))
		must(os.Lchown(p, 1000+i*777, 50000+i))
	}
	must(syscall.Mkfifo(filepath.Join(dir, "odd", "fifo"), 0o640))
	must(syscall.Mknod(filepath.Join(dir, "odd", "chr"), syscall.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	must(syscall.Mknod(filepath.Join(dir, "odd", "blk"), syscall.S_IFBLK|0o660, int(unix.Mkdev(8, 17))))
	must(os.Mkdir(filepath.Join(dir, "odd", "sticky"), 0o1777))

	if o.Xattrs {
		must(unix.Lsetxattr(filepath.Join(dir, "hard1"), "user.small", []byte("v"), 0))
		must(unix.Lsetxattr(filepath.Join(dir, "sizes", "f004096"), "user.big", Pseudo(99, 300), 0))
		must(unix.Lsetxattr(filepath.Join(dir, "sub"), "user.dir", []byte("on a directory"), 0))
	}

	// Times last, children before parents, so that nothing disturbs them.
	var paths []string
	must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	}))
	for i, p := range slices.Backward(paths) {
		ts := []unix.Timespec{{Sec: 1600000000 + int64(i), Nsec: 123456789}, {Sec: 1500000000 + int64(i)*3, Nsec: int64(i)*1000 + 7}}
		must(unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// Keeps says what a file system image keeps of the tree.
type Keeps struct {
	Xattrs bool
	// MtimeNsec: modification times to the nanosecond (else seconds).
	MtimeNsec bool
	// NoDevices: device nodes and FIFOs are not copied.
	NoDevices bool
	// FilesAndDirs: only directories and regular files are kept (FAT);
	// hard links are copies, and modes, owners and link counts are the
	// mount's, not the tree's.
	FilesAndDirs bool
	// MtimeGrain is the modification times' resolution in seconds
	// (rounded down; 0 is 1): FAT's is 2.
	MtimeGrain int64
}

// CompareTree checks the tree at kdir in l's kernel against the host
// tree at host: names, types, modes, owners, sizes, contents, link
// targets, hard links, device numbers, modification times and user
// xattrs as k says the format keeps them.
func CompareTree(t testing.TB, l *kernel.LWP, host, kdir string, k Keeps) {
	t.Helper()
	links := map[uint64]uint64{} // host inode -> kernel file id
	ids := map[uint64]string{}   // kernel file id -> first path
	err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if k.FilesAndDirs && !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(host, p)
		kp := filepath.Join(kdir, rel)
		var hs unix.Stat_t
		if err := unix.Lstat(p, &hs); err != nil {
			return err
		}
		var va vfs.Vattr
		if e := vfs.Lstat(l, kp, &va); e != 0 {
			t.Errorf("%s: lstat: %v", rel, e)
			return nil
		}
		if rel == "." || k.FilesAndDirs {
			// An image's root is the image maker's, not the tree's.
		} else if va.StMode() != uint32(hs.Mode) {
			t.Errorf("%s: mode %o, want %o", rel, va.StMode(), hs.Mode)
		}
		if !k.FilesAndDirs && (va.Uid != hs.Uid || va.Gid != hs.Gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, va.Uid, va.Gid, hs.Uid, hs.Gid)
		}
		if va.Nlink != uint32(hs.Nlink) && rel != "." && !k.FilesAndDirs {
			t.Errorf("%s: nlink %d, want %d", rel, va.Nlink, hs.Nlink)
		}
		if va.Type != vfs.VDIR && va.Size != hs.Size {
			t.Errorf("%s: size %d, want %d", rel, va.Size, hs.Size)
		}
		grain := max(k.MtimeGrain, 1)
		if rel != "." && (va.Mtime.Sec != hs.Mtim.Sec/grain*grain || k.MtimeNsec && va.Mtime.Nsec != hs.Mtim.Nsec) {
			t.Errorf("%s: mtime %d.%09d, want %d.%09d", rel, va.Mtime.Sec, va.Mtime.Nsec, hs.Mtim.Sec/grain*grain, hs.Mtim.Nsec)
		}
		if hs.Nlink > 1 && va.Type != vfs.VDIR && !k.FilesAndDirs {
			if id, ok := links[hs.Ino]; ok && id != va.Fileid {
				t.Errorf("%s: file id %d, its hard link has %d", rel, va.Fileid, id)
			}
			links[hs.Ino] = va.Fileid
		}
		if first, ok := ids[va.Fileid]; ok && links[hs.Ino] != va.Fileid {
			t.Errorf("%s: file id %d already names %s", rel, va.Fileid, first)
		}
		ids[va.Fileid] = rel
		switch va.Type {
		case vfs.VREG:
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got, e := readAll(l, kp)
			if e != 0 || !bytes.Equal(got, want) {
				t.Errorf("%s: read %d bytes (%v), want %d equal ones", rel, len(got), e, len(want))
			}
		case vfs.VLNK:
			want, _ := os.Readlink(p)
			buf := make([]byte, 4096)
			n, e := vfs.Readlink(l, kp, buf)
			if e != 0 || string(buf[:n]) != want {
				t.Errorf("%s: readlink %q (%v), want %q", rel, buf[:n], e, want)
			}
		case vfs.VDIR:
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			var want, got []string
			for _, e := range ents {
				if k.FilesAndDirs && !e.IsDir() && !e.Type().IsRegular() {
					continue
				}
				want = append(want, e.Name())
			}
			kents, e := vfs.ReadDir(l, kp)
			if e != 0 {
				t.Errorf("%s: readdir: %v", rel, e)
			}
			for _, e := range kents {
				if e.Name != "." && e.Name != ".." && !(rel == "." && e.Name == "lost+found") {
					got = append(got, e.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: lists %d names, want %d: %q", rel, len(got), len(want), firstDiff(got, want))
			}
		case vfs.VCHR, vfs.VBLK:
			if unix.Major(va.Rdev) != unix.Major(uint64(hs.Rdev)) || unix.Minor(va.Rdev) != unix.Minor(uint64(hs.Rdev)) {
				t.Errorf("%s: rdev %d,%d, want %d,%d", rel, unix.Major(va.Rdev), unix.Minor(va.Rdev), unix.Major(uint64(hs.Rdev)), unix.Minor(uint64(hs.Rdev)))
			}
		}
		if k.Xattrs && (va.Type == vfs.VREG || va.Type == vfs.VDIR) {
			compareXattrs(t, l, p, kp, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("%s vs %s", got[i], want[i])
		}
	}
	return ""
}

// compareXattrs checks the user.* attributes of kp against host path p.
func compareXattrs(t testing.TB, l *kernel.LWP, p, kp, rel string) {
	t.Helper()
	want := map[string]string{}
	buf := make([]byte, 4096)
	n, _ := unix.Llistxattr(p, buf)
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if strings.HasPrefix(name, "user.") {
			v := make([]byte, 4096)
			m, err := unix.Lgetxattr(p, name, v)
			if err != nil {
				t.Fatal(err)
			}
			want[name] = string(v[:m])
		}
	}
	got := map[string]string{}
	e := withVnode(l, kp, func(vp *vfs.Vnode) unix.Errno {
		list := make([]byte, 4096)
		u := kernel.UioSetup(list, 0, kernel.UioRead)
		n, e := vfs.VOPListextattr(l, vp, u)
		kernel.UioFree(u)
		if e != 0 {
			return e
		}
		for _, name := range strings.Split(string(list[:n]), "\x00") {
			if !strings.HasPrefix(name, "user.") {
				continue
			}
			v := make([]byte, 4096)
			u := kernel.UioSetup(v, 0, kernel.UioRead)
			m, e := vfs.VOPGetextattr(l, vp, name, u)
			kernel.UioFree(u)
			if e != 0 {
				return e
			}
			got[name] = string(v[:m])
		}
		return 0
	})
	if e != 0 && !(e == unix.ENOTSUP && len(want) == 0) {
		t.Errorf("%s: xattrs: %v", rel, e)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: xattrs %q, want %q", rel, got, want)
	}
}

// withVnode runs f on path's vnode (opened for reading) inside l's kernel.
func withVnode(l *kernel.LWP, path string, f func(vp *vfs.Vnode) unix.Errno) unix.Errno {
	vp, e := vfs.OpenVnode(l, path, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if e != 0 {
		return e
	}
	if e := vfs.Enter(l); e != 0 {
		return e
	}
	e = f(vp)
	vfs.VOPClose(l, vp, vfs.FREAD)
	vfs.Vrele(l, vp)
	var left unix.Errno
	vfs.Leave(l, &left)
	return e
}

// readAll reads path through open and read.
func readAll(l *kernel.LWP, path string) ([]byte, unix.Errno) {
	fd, e := vfs.Open(l, path, unix.O_RDONLY, 0)
	if e != 0 {
		return nil, e
	}
	defer vfs.Close(l, fd)
	var out []byte
	buf := make([]byte, 40000)
	for {
		n, e := vfs.Read(l, fd, buf)
		if e != 0 || n == 0 {
			return out, e
		}
		out = append(out, buf[:n]...)
	}
}

// CopyTree copies the host tree at host into kdir (made) through the
// system calls, keeping what GenTree sets: the way to give a file system
// without images (the in-memory root) the same tree.
func CopyTree(t testing.TB, l *kernel.LWP, host, kdir string) {
	t.Helper()
	seen := map[uint64]string{}
	var paths []string
	err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		rel, _ := filepath.Rel(host, p)
		kp := filepath.Join(kdir, rel)
		var hs unix.Stat_t
		if err := unix.Lstat(p, &hs); err != nil {
			return err
		}
		if first, ok := seen[hs.Ino]; ok && hs.Mode&unix.S_IFMT != unix.S_IFDIR {
			return errnoErr(vfs.Link(l, first, kp))
		}
		seen[hs.Ino] = kp
		var e unix.Errno
		switch hs.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if e = vfs.Mkdir(l, kp, 0o700); e == unix.EEXIST && rel == "." {
				e = 0
			}
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e = writeFile(l, kp, data)
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			e = vfs.Symlink(l, target, kp)
		default:
			e = vfs.Mknod(l, kp, uint32(hs.Mode), uint64(hs.Rdev))
		}
		if e == 0 {
			e = vfs.Lchown(l, kp, int(hs.Uid), int(hs.Gid))
		}
		if e == 0 && hs.Mode&unix.S_IFMT != unix.S_IFLNK {
			e = vfs.Chmod(l, kp, uint32(hs.Mode&0o7777))
		}
		if t := hs.Mode & unix.S_IFMT; e == 0 && (t == unix.S_IFREG || t == unix.S_IFDIR) {
			e = copyXattrs(l, p, kp)
		}
		return errnoErr(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range slices.Backward(paths) {
		var hs unix.Stat_t
		unix.Lstat(p, &hs)
		rel, _ := filepath.Rel(host, p)
		ts := [2]vfs.Timespec{{Sec: hs.Atim.Sec, Nsec: hs.Atim.Nsec}, {Sec: hs.Mtim.Sec, Nsec: hs.Mtim.Nsec}}
		if e := vfs.Utimes(l, filepath.Join(kdir, rel), &ts, false); e != 0 {
			t.Fatalf("utimes %s: %v", rel, e)
		}
	}
}

func errnoErr(e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func writeFile(l *kernel.LWP, path string, data []byte) unix.Errno {
	fd, e := vfs.Open(l, path, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o600)
	if e != 0 {
		return e
	}
	defer vfs.Close(l, fd)
	if len(data) > 0 {
		_, e = vfs.Write(l, fd, data)
	}
	return e
}

func copyXattrs(l *kernel.LWP, p, kp string) unix.Errno {
	buf := make([]byte, 4096)
	n, _ := unix.Llistxattr(p, buf)
	if n == 0 {
		return 0
	}
	return withVnode(l, kp, func(vp *vfs.Vnode) unix.Errno {
		for _, name := range strings.Split(string(buf[:n]), "\x00") {
			if !strings.HasPrefix(name, "user.") {
				continue
			}
			v := make([]byte, 4096)
			m, _ := unix.Lgetxattr(p, name, v)
			if e := vfs.VOPSetextattr(l, vp, name, v[:m], 0); e != 0 {
				return e
			}
		}
		return 0
	})
}

package ext2fs

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// vk is a booted kernel with an LWP for syscalls and its console.
type vk struct {
	k       *kernel.Kernel
	l       *kernel.LWP
	console *bytes.Buffer
}

func bootKernel(t testing.TB) *vk {
	t.Helper()
	var console bytes.Buffer
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: &console})
	if err != nil {
		t.Fatal(err)
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		k.Reboot(l, kernel.RB_HALT)
		if t.Failed() {
			t.Logf("dmesg:\n%s", k.Dmesg())
		}
	})
	if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
		t.Fatal(e)
	}
	return &vk{k, l, &console}
}

// mountImage registers img read-only as /dev/img and mounts it on /mnt.
func (v *vk) mountImage(t testing.TB, img string) {
	t.Helper()
	if err := etfs.Of(v.k).RegisterReadOnly("/dev/img", img, etfs.BLK); err != nil {
		t.Fatal(err)
	}
	if e := vfs.MountPath(v.l, "ext4", "/dev/img", "/mnt", vfs.MNT_RDONLY, nil); e != 0 {
		t.Fatalf("mount %s: %v\n%s", img, e, v.k.Dmesg())
	}
}

// mountDev attaches dev as /dev/mem and mounts it on /mnt.
func (v *vk) mountDev(dev memDev, flags int) unix.Errno {
	rdev := vfs.Of(v.k).AttachDevice(dev)
	vfs.Unlink(v.l, "/dev/mem")
	if e := vfs.Mknod(v.l, "/dev/mem", unix.S_IFBLK|0o600, rdev); e != 0 {
		return e
	}
	return vfs.MountPath(v.l, "ext2fs", "/dev/mem", "/mnt", flags, nil)
}

// vnode looks path up without following a last symlink and calls fn with
// the vnode inside a kernel entry.
func (v *vk) vnode(path string, fn func(vp *vfs.Vnode)) (e unix.Errno) {
	if e = vfs.Enter(v.l); e != 0 {
		return e
	}
	defer vfs.Leave(v.l, &e)
	res, e := vfs.Namei(v.l, nil, path, vfs.LOOKUP, 0)
	if e != 0 {
		return e
	}
	defer res.Release(v.l)
	fn(res.Vp)
	return 0
}

// readFile reads path through open and read in uneven chunks.
func (v *vk) readFile(path string) ([]byte, unix.Errno) {
	fd, e := vfs.Open(v.l, path, unix.O_RDONLY, 0)
	if e != 0 {
		return nil, e
	}
	defer vfs.Close(v.l, fd)
	var out []byte
	buf := make([]byte, 100003)
	for {
		n, e := vfs.Read(v.l, fd, buf)
		if e != 0 {
			return out, e
		}
		if n == 0 {
			return out, 0
		}
		out = append(out, buf[:n]...)
	}
}

// getdents lists a directory through getdents with a small buffer, so
// that readdir resumes at cookies many times.
func (v *vk) getdents(path string) ([]vfs.Dirent, unix.Errno) {
	fd, e := vfs.Open(v.l, path, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if e != 0 {
		return nil, e
	}
	defer vfs.Close(v.l, fd)
	var out []vfs.Dirent
	buf := make([]byte, 200)
	for {
		n, e := vfs.Getdents(v.l, fd, buf)
		if e != 0 || n == 0 {
			return out, e
		}
		for b := buf[:n]; len(b) > 0; {
			d, m, ok := vfs.ParseDirent(b)
			if !ok {
				return out, unix.EIO
			}
			out = append(out, d)
			b = b[m:]
		}
	}
}

// compareVFS walks the kernel's mount at mnt and checks that the tree
// mounted on /mnt answers the same through the VFS syscalls: stat fields
// with nanosecond times, contents (holes found with SEEK_DATA/SEEK_HOLE),
// symlink targets, directory listings and extended attributes.
func compareVFS(t *testing.T, v *vk, mnt string) {
	count := 0
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		vpath := filepath.Join("/mnt", rel)
		count++
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		var va vfs.Vattr
		if e := vfs.Lstat(v.l, vpath, &va); e != 0 {
			t.Errorf("%s: lstat: %v", rel, e)
			return nil
		}
		compareStat(t, rel, &va, p, &st)
		compareVFSXattrs(t, v, vpath, p, rel)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			compareVFSData(t, v, vpath, p, rel, st.Size)
		case unix.S_IFLNK:
			want, _ := os.Readlink(p)
			buf := make([]byte, 4096)
			n, e := vfs.Readlink(v.l, vpath, buf)
			if e != 0 || string(buf[:n]) != want {
				t.Errorf("%s: readlink %q %v, kernel %q", rel, buf[:n], e, want)
			}
		case unix.S_IFDIR:
			compareVFSDir(t, v, vpath, p, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count < 50 {
		t.Fatalf("walked only %d files", count)
	}
	var sv vfs.Statvfs
	var hs unix.Statfs_t
	if e := vfs.StatvfsPath(v.l, "/mnt", &sv); e != 0 {
		t.Fatal(e)
	}
	if err := unix.Statfs(mnt, &hs); err != nil {
		t.Fatal(err)
	}
	if sv.Bsize != uint64(hs.Bsize) || sv.Bfree != hs.Bfree || sv.Files != hs.Files || sv.Ffree != hs.Ffree || sv.Namemax != 255 {
		t.Errorf("statvfs: bsize %d bfree %d files %d ffree %d namemax %d; kernel %d %d %d %d",
			sv.Bsize, sv.Bfree, sv.Files, sv.Ffree, sv.Namemax, hs.Bsize, hs.Bfree, hs.Files, hs.Ffree)
	}
}

func compareStat(t *testing.T, rel string, va *vfs.Vattr, p string, st *unix.Stat_t) {
	t.Helper()
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s = %v, kernel %v", rel, what, got, want)
		}
	}
	check("ino", va.Fileid, st.Ino)
	check("mode", va.StMode(), st.Mode)
	check("nlink", uint64(va.Nlink), uint64(st.Nlink))
	check("uid", va.Uid, st.Uid)
	check("gid", va.Gid, st.Gid)
	check("size", va.Size, st.Size)
	check("blocks", va.Bytes/512, st.Blocks)
	if st.Mode&unix.S_IFMT != unix.S_IFBLK { // Linux reports the host device's
		check("blksize", int64(va.Blocksize), int64(st.Blksize))
	}
	check("atime", va.Atime, vfs.Timespec{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec})
	check("mtime", va.Mtime, vfs.Timespec{Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec})
	check("ctime", va.Ctime, vfs.Timespec{Sec: st.Ctim.Sec, Nsec: st.Ctim.Nsec})
	if st.Mode&unix.S_IFMT == unix.S_IFCHR || st.Mode&unix.S_IFMT == unix.S_IFBLK {
		check("rdev", va.Rdev, st.Rdev)
	}
	var sx unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &sx) == nil && sx.Mask&unix.STATX_BTIME != 0 {
		check("btime", va.Birthtime, vfs.Timespec{Sec: sx.Btime.Sec, Nsec: int64(sx.Btime.Nsec)})
	}
}

func compareVFSData(t *testing.T, v *vk, vpath, p, rel string, size int64) {
	if size <= 64<<20 {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, e := v.readFile(vpath)
		if e != 0 || !bytes.Equal(got, want) {
			t.Errorf("%s: contents differ (%d bytes, %v; kernel %d)", rel, len(got), e, len(want))
		}
	}
	// Data and holes as the kernel reports them, and reads around each.
	host, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	fd, e := vfs.Open(v.l, vpath, unix.O_RDONLY, 0)
	if e != 0 {
		t.Errorf("%s: open: %v", rel, e)
		return
	}
	defer vfs.Close(v.l, fd)
	offs := []int64{0, size / 2, max(0, size-10)}
	r := rand.New(rand.NewSource(size))
	for range 8 {
		if size > 0 {
			offs = append(offs, r.Int63n(size))
		}
	}
	for off := int64(0); off < size; {
		d, err := unix.Seek(int(host.Fd()), off, unix.SEEK_DATA)
		if err != nil {
			break
		}
		h, _ := unix.Seek(int(host.Fd()), d, unix.SEEK_HOLE)
		offs = append(offs, max(0, d-100), d, h-100, h)
		off = h
	}
	for _, off := range offs {
		for _, whence := range []int{unix.SEEK_DATA, unix.SEEK_HOLE} {
			want, werr := unix.Seek(int(host.Fd()), off, whence)
			got, e := vfs.Lseek(v.l, fd, off, whence)
			if werr == unix.ENOENT {
				// Linux answers ENOENT for inline-data files; we
				// answer as for a file that is all data.
				continue
			}
			if (werr != nil) != (e != 0) || (werr == nil && got != want) {
				t.Errorf("%s: lseek(%d, %d) = %d %v, kernel %d %v", rel, off, whence, got, e, want, werr)
			}
		}
		if size > 64<<20 {
			kb := make([]byte, 9000)
			n, _ := host.ReadAt(kb, off)
			got := make([]byte, 9000)
			m, e := vfs.Pread(v.l, fd, got, off)
			if e != 0 || m != n || !bytes.Equal(got[:m], kb[:n]) {
				t.Errorf("%s: %d bytes at %d differ (got %d, %v; kernel %d)", rel, len(kb), off, m, e, n)
			}
		}
	}
}

func compareVFSDir(t *testing.T, v *vk, vpath, p, rel string) {
	ents, err := os.ReadDir(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{}
	for _, d := range ents {
		var st unix.Stat_t
		unix.Lstat(filepath.Join(p, d.Name()), &st)
		want[d.Name()] = st.Ino
	}
	got, e := v.getdents(vpath)
	if e != 0 {
		t.Errorf("%s: getdents: %v", rel, e)
		return
	}
	names := map[string]uint64{}
	for _, d := range got {
		if _, dup := names[d.Name]; dup {
			t.Errorf("%s: %q listed twice", rel, d.Name)
		}
		names[d.Name] = d.Ino
		if d.Name == "." || d.Name == ".." {
			continue
		}
		if d.Ino != want[d.Name] {
			t.Errorf("%s/%s: ino %d, kernel %d", rel, d.Name, d.Ino, want[d.Name])
		}
		if d.Type != unix.DT_UNKNOWN {
			var st unix.Stat_t
			unix.Lstat(filepath.Join(p, d.Name), &st)
			if uint32(d.Type) != (st.Mode&unix.S_IFMT)>>12 {
				t.Errorf("%s/%s: type %d, kernel mode %#o", rel, d.Name, d.Type, st.Mode)
			}
		}
	}
	if len(names) != len(want)+2 {
		t.Errorf("%s: %d entries with . and .., kernel %d without", rel, len(names), len(want))
	}
	// ".." through the VFS is the kernel's parent (above the mount's root
	// it is the covered directory's parent, which differs).
	if rel != "." {
		var dd vfs.Vattr
		var st unix.Stat_t
		unix.Lstat(filepath.Join(p, ".."), &st)
		if e := vfs.Lstat(v.l, vpath+"/..", &dd); e != 0 || dd.Fileid != st.Ino || names[".."] != st.Ino {
			t.Errorf("%s/..: ino %d (listed %d) %v, kernel %d", rel, dd.Fileid, names[".."], e, st.Ino)
		}
	}
	var va vfs.Vattr
	if e := vfs.Lstat(v.l, vpath+"/no-such-name-here", &va); e != unix.ENOENT {
		t.Errorf("%s: lookup of a missing name: %v", rel, e)
	}
}

func compareVFSXattrs(t *testing.T, v *vk, vpath, p, rel string) {
	buf := make([]byte, 65536)
	want, ok := kernelXattrs(t, p, rel, buf)
	if !ok {
		return
	}
	e := v.vnode(vpath, func(vp *vfs.Vnode) {
		size, e := vfs.VOPListextattr(v.l, vp, nil)
		if e != 0 {
			t.Errorf("%s: listextattr size: %v", rel, e)
			return
		}
		if size > 0 {
			small := kernel.UioSetup(make([]byte, size-1), 0, kernel.UioRead)
			if _, e := vfs.VOPListextattr(v.l, vp, small); e != unix.ERANGE {
				t.Errorf("%s: listextattr into %d bytes: %v, want ERANGE", rel, size-1, e)
			}
			kernel.UioFree(small)
		}
		lb := make([]byte, size)
		u := kernel.UioSetup(lb, 0, kernel.UioRead)
		m, e := vfs.VOPListextattr(v.l, vp, u)
		kernel.UioFree(u)
		if e != 0 || m != size {
			t.Errorf("%s: listextattr: %d %v, size %d", rel, m, e, size)
		}
		var got []string
		for _, s := range strings.Split(string(lb[:m]), "\x00") {
			if s != "" {
				got = append(got, s)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: xattrs %q, kernel %q", rel, got, want)
		}
		for _, name := range want {
			n, err := unix.Lgetxattr(p, name, buf)
			if err != nil {
				t.Errorf("%s: kernel getxattr %s: %v", rel, name, err)
				continue
			}
			size, e := vfs.VOPGetextattr(v.l, vp, name, nil)
			if e != 0 || size != n {
				t.Errorf("%s: getextattr %s size %d %v, kernel %d", rel, name, size, e, n)
			}
			if n > 0 {
				small := kernel.UioSetup(make([]byte, n-1), 0, kernel.UioRead)
				if _, e := vfs.VOPGetextattr(v.l, vp, name, small); e != unix.ERANGE {
					t.Errorf("%s: getextattr %s into %d bytes: %v, want ERANGE", rel, name, n-1, e)
				}
				kernel.UioFree(small)
			}
			val := make([]byte, n+10)
			u := kernel.UioSetup(val, 0, kernel.UioRead)
			m, e := vfs.VOPGetextattr(v.l, vp, name, u)
			moved := len(val) - kernel.UioFree(u)
			if e != 0 || m != n || moved != n || !bytes.Equal(val[:n], buf[:n]) {
				t.Errorf("%s: getextattr %s = %q (%d, %v), kernel %q", rel, name, val[:moved], m, e, buf[:n])
			}
		}
		if _, e := vfs.VOPGetextattr(v.l, vp, "user.not-there", nil); e != unix.ENODATA {
			t.Errorf("%s: missing xattr: %v", rel, e)
		}
	})
	if e != 0 {
		t.Errorf("%s: namei: %v", rel, e)
	}
}

// TestMountReadWriteRefused: a read-write mount is refused with EROFS and
// a message saying why, and the image is not touched.
func TestMountReadWriteRefused(t *testing.T) {
	img := makeImage(t, image{name: "rw", fstype: "ext4", sizeK: 8 << 10, tree: treeOpts{bigDir: 10}})
	before := sha(t, img)
	v := bootKernel(t)
	if err := etfs.Of(v.k).Register("/dev/img", img, etfs.BLK); err != nil {
		t.Fatal(err)
	}
	if e := vfs.MountPath(v.l, "ext2fs", "/dev/img", "/mnt", 0, nil); e != unix.EROFS {
		t.Fatalf("read-write mount: %v, want EROFS", e)
	}
	const why = "ext2fs: /dev/img: write support not built yet; mount read-only (-o ro)"
	if !strings.Contains(v.k.Dmesg(), why) || !strings.Contains(v.console.String(), why) {
		t.Errorf("dmesg %q / console %q lack %q", v.k.Dmesg(), v.console.String(), why)
	}
	if e := vfs.MountPath(v.l, "ext3", "/dev/img", "/mnt", vfs.MNT_RDONLY, nil); e != 0 {
		t.Fatalf("read-only mount of a read-write device: %v", e)
	}
	if e := vfs.Mkdir(v.l, "/mnt/new", 0o755); e != unix.EROFS {
		t.Errorf("mkdir on the mount: %v, want EROFS", e)
	}
	if _, e := vfs.Open(v.l, "/mnt/sizes/f0000001", unix.O_RDWR, 0); e != unix.EROFS {
		t.Errorf("open for writing: %v, want EROFS", e)
	}
	if e := v.k.Reboot(v.l, kernel.RB_HALT); e != nil {
		t.Fatal(e)
	}
	if after := sha(t, img); after != before {
		t.Errorf("image changed: sha256 %s -> %s", before, after)
	}
}

// TestMountRefusesFeatures: an unsupported feature refuses the mount with
// EINVAL and a console line naming it.
func TestMountRefusesFeatures(t *testing.T) {
	need(t, "mke2fs")
	for _, feat := range []string{"bigalloc", "casefold"} {
		t.Run(feat, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-O", feat, img, "8M")
			v := bootKernel(t)
			if err := etfs.Of(v.k).RegisterReadOnly("/dev/img", img, etfs.BLK); err != nil {
				t.Fatal(err)
			}
			if e := vfs.MountPath(v.l, "ext4", "/dev/img", "/mnt", vfs.MNT_RDONLY, nil); e != unix.EINVAL {
				t.Fatalf("mount: %v, want EINVAL", e)
			}
			if !strings.Contains(v.console.String(), "unsupported") || !strings.Contains(v.console.String(), feat) {
				t.Errorf("console %q does not name %s", v.console.String(), feat)
			}
		})
	}
}

// vfsWalk visits the tree under path through the syscalls, reading a
// little of every file, and returns the entries seen, at most limit.
func vfsWalk(v *vk, path string, limit int, depth int) int {
	if depth > 40 {
		return 0
	}
	ents, _ := vfs.ReadDir(v.l, path)
	n := 0
	for _, d := range ents {
		if n >= limit {
			break
		}
		n++
		if d.Name == "." || d.Name == ".." {
			continue
		}
		p := path + "/" + d.Name
		var va vfs.Vattr
		if vfs.Lstat(v.l, p, &va) != 0 {
			continue
		}
		v.vnode(p, func(vp *vfs.Vnode) {
			if size, e := vfs.VOPListextattr(v.l, vp, nil); e == 0 {
				b := make([]byte, size)
				u := kernel.UioSetup(b, 0, kernel.UioRead)
				vfs.VOPListextattr(v.l, vp, u)
				kernel.UioFree(u)
				for _, x := range strings.Split(string(b), "\x00") {
					if x != "" {
						vfs.VOPGetextattr(v.l, vp, x, nil)
					}
				}
			}
		})
		switch va.Type {
		case vfs.VREG:
			if fd, e := vfs.Open(v.l, p, unix.O_RDONLY, 0); e == 0 {
				buf := make([]byte, 65536)
				vfs.Read(v.l, fd, buf)
				vfs.Pread(v.l, fd, buf[:4096], va.Size/2)
				vfs.Lseek(v.l, fd, 0, unix.SEEK_HOLE)
				vfs.Close(v.l, fd)
			}
		case vfs.VLNK:
			vfs.Readlink(v.l, p, make([]byte, 4096))
		case vfs.VDIR:
			n += vfsWalk(v, p, limit-n, depth+1)
		}
	}
	return n
}

// TestVFSDamagedImages mounts images with random metadata bytes changed
// and walks them through the syscalls: errors are expected, panics (which
// the kernel boundary would turn into EIO and a "recovered panic" line)
// are not.
func TestVFSDamagedImages(t *testing.T) {
	img := makeImage(t, image{name: "ext4", fstype: "ext4", args: []string{"-O", "inline_data"}, sizeK: 8 << 10,
		tree: treeOpts{bigDir: 300, extents: 30, acls: true}})
	pristine, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(nil, memDev(pristine), Options{})
	if err != nil {
		t.Fatal(err)
	}
	walkAll(f, 100000)
	meta := f.bd.cachedBlocks()
	v := bootKernel(t)
	if e := v.mountDev(memDev(pristine), vfs.MNT_RDONLY); e != 0 {
		t.Fatal(e)
	}
	if n := vfsWalk(v, "/mnt", 100000, 0); n < 300 {
		t.Fatalf("pristine walk saw %d entries", n)
	}
	if e := vfs.UnmountPath(v.l, "/mnt", 0); e != 0 {
		t.Fatal(e)
	}
	seed := testSeed(t)
	r := rand.New(rand.NewSource(seed))
	iters := 40
	if testing.Short() {
		iters = 10
	}
	mounted := 0
	for i := range iters {
		d := append(memDev(nil), pristine...)
		var what []string
		for range 1 + r.Intn(8) {
			off := int(meta[r.Intn(len(meta))])*f.bsize + r.Intn(f.bsize)
			if r.Intn(6) == 0 {
				off = 1024 + r.Intn(1024)
			}
			d[off] = byte(r.Intn(256))
			what = append(what, fmt.Sprint(off))
		}
		e := v.mountDev(d, vfs.MNT_RDONLY)
		if e != 0 {
			if e != unix.EIO && e != unix.EINVAL {
				t.Errorf("iteration %d (seed %d, bytes %s): mount: %v, want EIO or EINVAL", i, seed, strings.Join(what, ","), e)
			}
			continue
		}
		mounted++
		vfsWalk(v, "/mnt", 20000, 0)
		if e := vfs.UnmountPath(v.l, "/mnt", 0); e != 0 {
			t.Fatalf("iteration %d: unmount: %v", i, e)
		}
		if strings.Contains(v.console.String(), "recovered panic") {
			t.Fatalf("iteration %d (seed %d, bytes %s): panic:\n%s", i, seed, strings.Join(what, ","), v.console.String())
		}
	}
	t.Logf("%d of %d damaged images mounted", mounted, iters)
}

// TestHugeDirectoryLookups: 20,000 entries in one hashed directory, each
// looked up through the VFS and checked against the kernel; one lookup on
// a fresh mount reads a handful of blocks (with an inode table read
// ahead), not the directory.
func TestHugeDirectoryLookups(t *testing.T) {
	// mke2fs -d fills a directory in quadratic time: the kernel makes
	// the entries instead (and indexes the directory as it grows).
	need(t, "mke2fs")
	needRoot(t)
	img := filepath.Join(t.TempDir(), "htree.img")
	run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-N", "21000", img, "16M")
	rw := t.TempDir()
	run(t, "mount", "-t", "ext4", "-o", "loop", img, rw)
	err := os.Mkdir(filepath.Join(rw, "big"), 0o755)
	for i := 0; i < 20000 && err == nil; i++ {
		name := fmt.Sprintf("entry-%05d-%s", i, strings.Repeat("x", i%40))
		if i%10 == 0 {
			name = fmt.Sprintf("é-ü-%05d-ÿ", i)
		}
		err = os.WriteFile(filepath.Join(rw, "big", name), nil, 0o644)
	}
	run(t, "umount", rw)
	if err != nil {
		t.Fatal(err)
	}
	mnt := kernelMount(t, img, false)
	ents, err := os.ReadDir(filepath.Join(mnt, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 20000 {
		t.Fatalf("kernel lists %d entries", len(ents))
	}
	v := bootKernel(t)
	v.mountImage(t, img)
	m := vfs.Of(v.k).Mounts()[1].Data.(*mount)
	big, e := resolve(t, m.fs, "big")
	if e != 0 || !big.indexed() {
		t.Fatalf("big directory: %v, indexed %v", e, e == 0 && big.indexed())
	}
	var va vfs.Vattr
	if e := vfs.Lstat(v.l, "/mnt/big", &va); e != 0 {
		t.Fatal(e)
	}
	dirBlocks := va.Size / int64(m.fs.bsize)
	m.fs.bd.settle()
	before := m.fs.bd.nCached()
	if e := vfs.Lstat(v.l, "/mnt/big/"+ents[12345].Name(), &va); e != 0 {
		t.Fatal(e)
	}
	m.fs.bd.settle()
	read := m.fs.bd.nCached() - before
	t.Logf("one lookup read %d blocks of a %d-block directory", read, dirBlocks)
	// The inode table is read ahead, and its next window in the
	// background: at most two windows, never the directory's 1,000+.
	if read > 2*maxPrefetch+8 || dirBlocks < 200 {
		t.Errorf("one lookup read %d blocks of a %d-block directory", read, dirBlocks)
	}
	for _, d := range ents {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(mnt, "big", d.Name()), &st); err != nil {
			t.Fatal(err)
		}
		if e := vfs.Lstat(v.l, "/mnt/big/"+d.Name(), &va); e != 0 || va.Fileid != st.Ino || va.Size != st.Size {
			t.Errorf("%s: ino %d size %d %v, kernel %d %d", d.Name(), va.Fileid, va.Size, e, st.Ino, st.Size)
		}
		if e := vfs.Lstat(v.l, "/mnt/big/"+d.Name()+"~", &va); e != unix.ENOENT {
			t.Errorf("%s~: %v, want ENOENT", d.Name(), e)
		}
	}
	got, e := v.getdents("/mnt/big")
	if e != 0 || len(got) != 20002 {
		t.Errorf("getdents: %d entries, %v; want 20002", len(got), e)
	}
}

// TestFileHandlesAndBmap: file handles round-trip and go stale with
// another generation; VOP_BMAP addresses hold the file's bytes.
func TestFileHandlesAndBmap(t *testing.T) {
	img := makeImage(t, image{name: "fh", fstype: "ext4", sizeK: 8 << 10, tree: treeOpts{bigDir: 10}})
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	v := bootKernel(t)
	v.mountImage(t, img)
	mp := vfs.Of(v.k).Mounts()[1]
	want, e := v.readFile("/mnt/sizes/f0300000")
	if e != 0 {
		t.Fatal(e)
	}
	e = v.vnode("/mnt/sizes/f0300000", func(vp *vfs.Vnode) {
		fh, e := mp.FS.VPToFH(v.l, vp)
		if e != 0 {
			t.Fatal(e)
		}
		vp2, e := mp.FS.FHToVP(v.l, fh)
		if e != 0 || vp2 != vp {
			t.Errorf("FHToVP: %v %v, want the same vnode", vp2, e)
		}
		if e == 0 {
			vfs.Vrele(v.l, vp2)
		}
		fh[4] ^= 1
		if _, e := mp.FS.FHToVP(v.l, fh); e != unix.ESTALE {
			t.Errorf("FHToVP with another generation: %v, want ESTALE", e)
		}
		bs := int64(vip(vp).fs.bsize)
		for lbn := int64(0); lbn*bs < int64(len(want)); lbn++ {
			daddr, run, e := vfs.VOPBmap(v.l, vp, lbn)
			if e != 0 || daddr < 0 {
				t.Fatalf("bmap %d: %d %d %v", lbn, daddr, run, e)
			}
			n := min(int64(run+1)*bs, int64(len(want))-lbn*bs)
			if !bytes.Equal(raw[daddr*512:daddr*512+n], want[lbn*bs:lbn*bs+n]) {
				t.Errorf("bmap %d: %d bytes at sector %d are not the file's", lbn, n, daddr)
			}
			lbn += int64(run)
		}
	})
	if e != 0 {
		t.Fatal(e)
	}
	for _, name := range []int{vfs.PC_NAME_MAX, vfs.PC_LINK_MAX} {
		e := v.vnode("/mnt", func(vp *vfs.Vnode) {
			if n, e := vfs.VOPPathconf(v.l, vp, name); e != 0 || n < 255 {
				t.Errorf("pathconf %d: %d %v", name, n, e)
			}
		})
		if e != 0 {
			t.Fatal(e)
		}
	}
}

package ffs

import (
	"bytes"
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// fileDev is a bio.Device over a host file (pread/pwrite), for tests;
// etfs provides the real one.
type fileDev struct {
	f     *os.File
	size  int64
	ro    bool
	syncs int
}

func openFileDev(t testing.TB, path string, ro bool) *fileDev {
	t.Helper()
	flag := os.O_RDWR
	if ro {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	return &fileDev{f: f, size: st.Size(), ro: ro}
}

func (d *fileDev) check(p []byte, off int64) unix.Errno {
	if off < 0 || off%512 != 0 || len(p)%512 != 0 {
		return unix.EINVAL
	}
	return 0
}

func (d *fileDev) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if e := d.check(p, off); e != 0 {
		return 0, e
	}
	if off >= d.size {
		return 0, 0
	}
	if off+int64(len(p)) > d.size {
		p = p[:d.size-off]
	}
	c := l.BlockBegin()
	n, err := unix.Pread(int(d.f.Fd()), p, off)
	l.BlockEnd(c)
	if err != nil {
		return n, unix.EIO
	}
	return n, 0
}

func (d *fileDev) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if d.ro {
		return 0, unix.EROFS
	}
	if e := d.check(p, off); e != 0 {
		return 0, e
	}
	if off+int64(len(p)) > d.size {
		return 0, unix.ENOSPC
	}
	c := l.BlockBegin()
	n, err := unix.Pwrite(int(d.f.Fd()), p, off)
	l.BlockEnd(c)
	if err != nil {
		return n, unix.EIO
	}
	return n, 0
}

func (d *fileDev) Sync(l *kernel.LWP) unix.Errno {
	d.syncs++
	if d.ro {
		return 0
	}
	if err := d.f.Sync(); err != nil {
		return unix.EIO
	}
	return 0
}
func (d *fileDev) Size() int64     { return d.size }
func (d *fileDev) SectorSize() int { return 512 }
func (d *fileDev) ReadOnly() bool  { return d.ro }

// emptyImage makes an empty FFS image of size bytes with makefs.
func emptyImage(t testing.TB, version int, be bool, size string, opts string) string {
	t.Helper()
	needTool(t, "makefs")
	dir := t.TempDir()
	src := filepath.Join(dir, "empty")
	os.Mkdir(src, 0o755)
	img := filepath.Join(dir, fmt.Sprintf("ufs%d.img", version))
	order := "le"
	if be {
		order = "be"
	}
	o := fmt.Sprintf("version=%d", version)
	if opts != "" {
		o += "," + opts
	}
	args := []string{"-t", "ffs", "-B", order, "-s", size, "-o", o, img, src}
	out, err := exec.Command("makefs", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("makefs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return img
}

// bootKernel boots a kernel without threads and returns a root LWP.
func bootKernel(t testing.TB) (*kernel.Kernel, *kernel.LWP) {
	t.Helper()
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	return k, l
}

// mountImage registers img as /dev/<name> and mounts it on dir.
func mountImage(t testing.TB, k *kernel.Kernel, l *kernel.LWP, img, dir string, flags int) unix.Errno {
	t.Helper()
	dev := openFileDev(t, img, flags&vfs.MNT_RDONLY != 0)
	v := vfs.Of(k)
	rdev := v.AttachDevice(dev)
	name := "/dev/" + filepath.Base(dir)
	if e := vfs.Mknod(l, name, unix.S_IFBLK|0o600, rdev); e != 0 {
		t.Fatalf("mknod %s: %v", name, e)
	}
	if e := vfs.Mkdir(l, dir, 0o755); e != 0 && e != unix.EEXIST {
		t.Fatalf("mkdir %s: %v", dir, e)
	}
	return vfs.MountPath(l, "ffs", name, dir, flags, nil)
}

// fsck runs the checker on img and fails the test on any problem.
func fsck(t testing.TB, img string) *Report {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r, err := Check(nil, &bio.ReaderDevice{R: f, Len: st.Size()})
	if err != nil {
		t.Fatalf("fsck %s: %v", img, err)
	}
	if !r.OK() {
		var b strings.Builder
		for _, p := range r.Problems {
			fmt.Fprintln(&b, p)
		}
		t.Fatalf("fsck %s: %d problems (+%d)\n%s", img, len(r.Problems), r.Dropped, b.String())
	}
	return r
}

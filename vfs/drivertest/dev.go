package drivertest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// The devices and kernel helpers every driver test needs: a block device
// over a host file (etfs's rumpblk is the real one, Disk below; this one
// counts syncs and is opened without a kernel) and one over memory.

// FileDev is a bio.Device over a host file, insisting on sector-aligned
// I/O as real block devices do.
type FileDev struct {
	F     *os.File
	size  int64
	ro    bool
	Syncs int // Sync calls seen
}

var _ bio.Device = (*FileDev)(nil)

// OpenFileDev opens path as a device, closed at the test's end.
func OpenFileDev(t TB, path string, ro bool) *FileDev {
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
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return &FileDev{F: f, size: st.Size(), ro: ro}
}

func aligned(p []byte, off int64) bool { return off >= 0 && off%512 == 0 && len(p)%512 == 0 }

func (d *FileDev) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if !aligned(p, off) {
		return 0, unix.EINVAL
	}
	if off >= d.size {
		return 0, 0
	}
	if off+int64(len(p)) > d.size {
		p = p[:d.size-off]
	}
	// os.File's ReadAt and WriteAt, not pread on its Fd: a driver's
	// background reader may still run when the test's cleanup closes the
	// file, and these fail cleanly then instead of racing with Close.
	c := l.BlockBegin()
	n, err := d.F.ReadAt(p, off)
	l.BlockEnd(c)
	if err != nil {
		return n, unix.EIO
	}
	return n, 0
}

func (d *FileDev) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if d.ro {
		return 0, unix.EROFS
	}
	if !aligned(p, off) {
		return 0, unix.EINVAL
	}
	if off+int64(len(p)) > d.size {
		return 0, unix.ENOSPC
	}
	c := l.BlockBegin()
	n, err := d.F.WriteAt(p, off)
	l.BlockEnd(c)
	if err != nil {
		return n, unix.EIO
	}
	return n, 0
}

// Sync counts the call. It does not fsync the host file: what a test
// reads back comes from the host's page cache either way, and host
// fsyncs made the FFS rows several times slower.
func (d *FileDev) Sync(l *kernel.LWP) unix.Errno {
	d.Syncs++
	return 0
}
func (d *FileDev) Size() int64     { return d.size }
func (d *FileDev) SectorSize() int { return 512 }
func (d *FileDev) ReadOnly() bool  { return d.ro }

// MemDev is a read-only bio.Device over a byte slice (damaged images).
type MemDev []byte

var _ bio.Device = MemDev(nil)

func (d MemDev) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if !aligned(p, off) {
		return 0, unix.EINVAL
	}
	if off >= int64(len(d)) {
		return 0, 0
	}
	return copy(p, d[off:]), 0
}
func (d MemDev) WriteAt(*kernel.LWP, []byte, int64) (int, unix.Errno) { return 0, unix.EROFS }
func (d MemDev) Sync(*kernel.LWP) unix.Errno                          { return 0 }
func (d MemDev) Size() int64                                          { return int64(len(d)) }
func (d MemDev) SectorSize() int                                      { return 512 }
func (d MemDev) ReadOnly() bool                                       { return true }

// Boot boots a kernel without threads and returns it with a root LWP.
func Boot(t TB) (*kernel.Kernel, *kernel.LWP) {
	t.Helper()
	return BootConfig(t, kernel.Config{})
}

// BootConfig is Boot with more configuration (NoThreads and the console
// are set here).
func BootConfig(t TB, cfg kernel.Config) (*kernel.Kernel, *kernel.LWP) {
	t.Helper()
	cfg.NoThreads, cfg.Console = true, &bytes.Buffer{}
	k, err := kernel.Boot(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	return k, l
}

// Halt syncs, unmounts everything and stops k, failing on an error.
func Halt(t TB, k *kernel.Kernel, l *kernel.LWP) {
	t.Helper()
	if err := k.Reboot(l, kernel.RB_HALT); err != nil {
		t.Fatalf("halt: %v\n%s", err, k.Dmesg())
	}
}

// MountDev attaches dev as /dev/<base of dir> and mounts it on dir (made
// when missing) as fstype.
func MountDev(t TB, k *kernel.Kernel, l *kernel.LWP, dev bio.Device, fstype, dir string, flags int, opts map[string]string) unix.Errno {
	t.Helper()
	rdev := vfs.Of(k).AttachDevice(dev)
	name := "/dev/" + filepath.Base(dir)
	if e := vfs.Mknod(l, name, unix.S_IFBLK|0o600, rdev); e != 0 {
		t.Fatalf("mknod %s: %v", name, e)
	}
	if e := vfs.Mkdir(l, dir, 0o755); e != 0 && e != unix.EEXIST {
		t.Fatalf("mkdir %s: %v", dir, e)
	}
	return vfs.MountPath(l, fstype, name, dir, flags, opts)
}

// MountImage mounts the image file img on dir as fstype (read-only with
// MNT_RDONLY).
func MountImage(t TB, k *kernel.Kernel, l *kernel.LWP, img, fstype, dir string, flags int) unix.Errno {
	t.Helper()
	return MountDev(t, k, l, OpenFileDev(t, img, flags&vfs.MNT_RDONLY != 0), fstype, dir, flags, nil)
}

// Makefs makes an FFS image of the host tree src (an empty one when src
// is "") with makefs: UFS version 1 or 2, big-endian when be, of size
// ("64m") or as small as the tree allows when size is "", with extra -o
// options ("bsize=8192,fsize=1024").
func Makefs(t testing.TB, src string, version int, be bool, size, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if src == "" {
		src = filepath.Join(dir, "empty")
		if err := os.Mkdir(src, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(dir, fmt.Sprintf("ufs%d.img", version))
	order := "le"
	if be {
		order = "be"
	}
	o := fmt.Sprintf("version=%d", version)
	if opts != "" {
		o += "," + opts
	}
	args := []string{"-t", "ffs", "-B", order, "-o", o}
	if size != "" {
		args = append(args, "-s", size)
	} else {
		args = append(args, "-M", "512k", "-b", "30%", "-f", "10%")
	}
	testenv.Run(t, "", "makefs", append(args, img, src)...)
	return img
}

// Mke2fs makes an ext2/3/4 image of sizeK KiB holding the host tree src
// with mke2fs -d; args are more mke2fs options.
func Mke2fs(t testing.TB, src, fstype string, sizeK int, args ...string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), fstype+".img")
	a := append([]string{"-q", "-F", "-t", fstype, "-N", "2000"}, args...)
	testenv.Run(t, "", "mke2fs", append(a, "-d", src, img, fmt.Sprint(sizeK))...)
	return img
}

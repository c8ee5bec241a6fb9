package drivertest

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"golang.org/x/sys/unix"
)

// TB is what the helpers need of a test; testing.TB has it, and so does
// Program.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// Program is a TB for use outside go test: Fatal and Fatalf panic, and
// Close runs the cleanups, last registered first.
type Program struct {
	cleanups []func()
}

func (p *Program) Helper()                           {}
func (p *Program) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (p *Program) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (p *Program) Cleanup(f func())                  { p.cleanups = append(p.cleanups, f) }

// TempDir makes a directory removed at Close.
func (p *Program) TempDir() string {
	d, err := os.MkdirTemp("", "drivertest")
	if err != nil {
		p.Fatal(err)
	}
	p.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Close runs the cleanups.
func (p *Program) Close() {
	for len(p.cleanups) > 0 {
		f := p.cleanups[len(p.cleanups)-1]
		p.cleanups = p.cleanups[:len(p.cleanups)-1]
		f()
	}
}

// As returns the LWP of a new child process of l's running as uid and
// gid (with groups), for system calls made as that user; its pid is
// l.Proc().Pid() of the result. It is released at the end.
func As(t TB, k *kernel.Kernel, l *kernel.LWP, uid, gid uint32, groups ...uint32) *kernel.LWP {
	t.Helper()
	u, err := k.Rfork(l, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	u.Proc().SetCred(kernel.CredCreate(uid, gid, groups))
	t.Cleanup(func() { k.ReleaseLWP(u) })
	return u
}

// OpenDisk registers the image file path as a rumpblk device, read-only
// with ro, closed (without fsync) at the end: the device etfs would make,
// with its fault injection (FailNthWrite, FailBlocks...) and write
// recorder (SetRecorder, or Record).
func OpenDisk(t TB, k *kernel.Kernel, path string, ro bool) *rumpblk.Device {
	t.Helper()
	flags := unix.O_RDWR
	if ro {
		flags = unix.O_RDONLY
	}
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		t.Fatalf("stat %s: %v", path, err)
	}
	return newDisk(t, k, fd, path, st.Size, ro)
}

// MemDisk is OpenDisk over a writable copy of img held in memory (an
// anonymous memory file where the host has one).
func MemDisk(t TB, k *kernel.Kernel, img []byte) *rumpblk.Device {
	t.Helper()
	fd, err := memFile(t)
	if err != nil {
		t.Fatalf("memory disk: %v", err)
	}
	if _, err := rumpblk.HostIO(unix.Pwrite, fd, img, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("memory disk: %v", err)
	}
	return newDisk(t, k, fd, "memdisk", int64(len(img)), false)
}

func newDisk(t TB, k *kernel.Kernel, fd int, path string, size int64, ro bool) *rumpblk.Device {
	d := rumpblk.New(k, fd, rumpblk.Config{Path: path, Group: "drivertest", Size: size, ReadOnly: ro})
	t.Cleanup(func() { d.Close(nil, true) })
	return d
}

// Record starts recording d's writes and barriers in memory and returns
// the image as it is now, the base the log replays onto.
func Record(t TB, l *kernel.LWP, d *rumpblk.Device) ([]byte, *rumpblk.Recorder) {
	t.Helper()
	base := make([]byte, d.Size())
	if n, e := d.ReadBytes(l, base, 0); e != 0 || n != len(base) {
		t.Fatalf("record %v: reading the base image: %d bytes, %v", d, n, e)
	}
	rec := rumpblk.NewRecorder(nil)
	d.SetRecorder(rec)
	return base, rec
}

// Crash replays lg over base at the crash points o asks for, runs check
// on each image and fails t at the first one refused, naming the cut (the
// writes kept, the operation running) so that lg.Image rebuilds it. It
// returns how many points were checked.
func Crash(t TB, base []byte, lg *rumpblk.Log, o rumpblk.ReplayOptions, check func(p rumpblk.Point, img *rumpblk.CrashImage) error) int {
	t.Helper()
	n, fail, err := lg.Replay(base, o, check)
	if err != nil {
		t.Fatal(err)
	}
	if fail != nil {
		t.Fatalf("%v (after %d crash points; %d writes, %d barriers in the log)", fail, n, len(lg.Writes()), barriers(lg))
	}
	return n
}

func barriers(lg *rumpblk.Log) int {
	return len(slices.DeleteFunc(slices.Clone(lg.Ops), func(op rumpblk.Op) bool { return op.Kind != rumpblk.OpBarrier }))
}

// Fsck runs an external checker (e2fsck -fn IMAGE, say) and fails t on
// a non-zero exit; a missing tool skips, or fails under RUMPFS_E2E=1.
// It returns the output.
func Fsck(t testing.TB, tool string, args ...string) string {
	t.Helper()
	return testenv.Run(t, "", tool, args...)
}

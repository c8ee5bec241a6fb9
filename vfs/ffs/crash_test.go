package ffs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
	"golang.org/x/sys/unix"
)

// crashStep is one operation of the recorded workload, then a sync(2)
// unless it fsyncs itself. want is the tree that must be on disk once
// the sync returned.
type crashStep struct {
	name   string
	do     func(l *kernel.LWP) unix.Errno
	want   map[string][]byte
	fsyncs bool
}

// appendFsync appends p to name and fsyncs it.
func appendFsync(l *kernel.LWP, name string, p []byte) unix.Errno {
	fd, e := vfs.Open(l, name, unix.O_WRONLY|unix.O_APPEND, 0)
	if e != 0 {
		return e
	}
	defer vfs.Close(l, fd)
	if _, e := vfs.Write(l, fd, p); e != 0 {
		return e
	}
	return vfs.Fsync(l, fd)
}

// recordWorkload runs create, write, rename and unlink on an empty FFS
// image through a recording rumpblk device, each step synced, and returns
// the image as it was before mounting, the log and the steps.
func recordWorkload(t testing.TB, size string) ([]byte, *rumpblk.Log, []crashStep) {
	img := emptyImage(t, 2, false, size, "bsize=4096,fsize=512,density=4096")
	k, l := bootKernel(t)
	dev := drivertest.OpenDisk(t, k, img, false)
	base, rec := drivertest.Record(t, l, dev)
	rec.Mark("mount")
	if e := drivertest.MountDev(t, k, l, dev, "ffs", "/mnt", 0, nil); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	a, c := vfstest.Pseudo(1, 20000), vfstest.Pseudo(2, 3000)
	steps := []crashStep{
		{"mkdir d", func(l *kernel.LWP) unix.Errno { return vfs.Mkdir(l, "/mnt/d", 0o755) }, map[string][]byte{}, false},
		{"create and write d/a", func(l *kernel.LWP) unix.Errno { return writeFile(t, l, "/mnt/d/a", a) },
			map[string][]byte{"d/a": a}, false},
		{"create and write c", func(l *kernel.LWP) unix.Errno { return writeFile(t, l, "/mnt/c", c) },
			map[string][]byte{"d/a": a, "c": c}, false},
		{"rename d/a b", func(l *kernel.LWP) unix.Errno { return vfs.Rename(l, "/mnt/d/a", "/mnt/b") },
			map[string][]byte{"b": a, "c": c}, false},
		{"unlink c", func(l *kernel.LWP) unix.Errno { return vfs.Unlink(l, "/mnt/c") },
			map[string][]byte{"b": a}, false},
		{"append to b and fsync", func(l *kernel.LWP) unix.Errno { return appendFsync(l, "/mnt/b", c) },
			map[string][]byte{"b": append(slices.Clone(a), c...)}, true},
	}
	for _, s := range steps {
		rec.Mark(s.name)
		if e := s.do(l); e != 0 {
			t.Fatalf("%s: %v", s.name, e)
		}
		if s.fsyncs {
			continue
		}
		if e := vfs.Sync(l); e != 0 {
			t.Fatalf("sync after %s: %v", s.name, e)
		}
	}
	rec.Mark("halt")
	halt(t, k, l)
	return base, rec.Log(), steps
}

// checkCrash is the crash checker: ffs.Check finds nothing, and when the
// point follows a step's sync, the step's files are there (read through
// a read-only mount in a kernel of its own).
func checkCrash(steps []crashStep, p rumpblk.Point, img bio.Device) error {
	r, err := Check(nil, img)
	if err != nil {
		return err
	}
	if !r.OK() {
		var b strings.Builder
		for i, pr := range r.Problems {
			if i == 5 {
				fmt.Fprintf(&b, "... %d more", len(r.Problems)-5+r.Dropped)
				break
			}
			fmt.Fprintf(&b, "%v; ", pr)
		}
		return errors.New(b.String())
	}
	all := map[string]bool{}
	for _, s := range steps {
		for name := range s.want {
			all[name] = true
		}
	}
	for _, s := range steps {
		if s.name == p.Mark && !p.Cut {
			return checkTree(img, s.want, all)
		}
	}
	return nil
}

// checkTree: the files of want hold their data, the others of all are
// gone.
func checkTree(img bio.Device, want map[string][]byte, all map[string]bool) error {
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: io.Discard})
	if err != nil {
		return err
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		return err
	}
	defer k.Reboot(l, kernel.RB_HALT)
	rdev := vfs.Of(k).AttachDevice(img)
	if e := vfs.Mknod(l, "/dev/img", unix.S_IFBLK|0o600, rdev); e != 0 {
		return e
	}
	if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
		return e
	}
	if e := vfs.MountPath(l, "ffs", "/dev/img", "/mnt", vfs.MNT_RDONLY, nil); e != 0 {
		return fmt.Errorf("mount: %v", e)
	}
	for name, data := range want {
		fd, e := vfs.Open(l, "/mnt/"+name, unix.O_RDONLY, 0)
		if e != 0 {
			return fmt.Errorf("synced %s: %v", name, e)
		}
		got := make([]byte, len(data)+1)
		n, e := vfs.Read(l, fd, got)
		vfs.Close(l, fd)
		if e != 0 || !bytes.Equal(got[:n], data) {
			return fmt.Errorf("synced %s: %d bytes read (%v), want its %d", name, n, e, len(data))
		}
	}
	for name := range all {
		var va vfs.Vattr
		if _, ok := want[name]; !ok && vfs.Lstat(l, "/mnt/"+name, &va) != unix.ENOENT {
			return fmt.Errorf("%s is still there after the sync that removed it", name)
		}
	}
	return nil
}

// TestCrashBarrierPoints records a small workload and checks the image at
// every barrier: clean, and holding what each sync(2) wrote.
func TestCrashBarrierPoints(t *testing.T) {
	needTool(t, "makefs")
	base, lg, steps := recordWorkload(t, "2m")
	// Through the log file format and back, as a recording kept on disk.
	var file bytes.Buffer
	if _, err := lg.WriteTo(&file); err != nil {
		t.Fatal(err)
	}
	lg, err := rumpblk.ReadLog(&file)
	if err != nil {
		t.Fatal(err)
	}
	n := drivertest.Crash(t, base, lg, rumpblk.ReplayOptions{}, func(p rumpblk.Point, img *rumpblk.CrashImage) error {
		return checkCrash(steps, p, img)
	})
	if n < len(steps)+1 {
		t.Fatalf("%d crash points, want one per sync at least", n)
	}
	t.Logf("%d barrier points clean, %d writes", n, len(lg.Writes()))
}

// TestCrashWithoutBarriers is the same workload on a disk that ignores
// flushes (the log with its barriers taken out): a crash may then lose
// any of the writes, and the replayer must find an image that is damaged
// or lacks synced data.
func TestCrashWithoutBarriers(t *testing.T) {
	needTool(t, "makefs")
	base, lg, steps := recordWorkload(t, "2m")
	var noSync rumpblk.Log
	for _, op := range lg.Ops {
		if op.Kind != rumpblk.OpBarrier {
			noSync.Ops = append(noSync.Ops, op)
		}
	}
	n, fail, err := noSync.Replay(base, rumpblk.ReplayOptions{Tail: true, MaxCuts: 32, Seed: 1}, func(p rumpblk.Point, img *rumpblk.CrashImage) error {
		return checkCrash(steps, p, img)
	})
	if err != nil {
		t.Fatal(err)
	}
	if fail == nil {
		t.Fatalf("%d crash points of a disk without barriers all clean", n)
	}
	t.Logf("caught after %d points: %v", n, fail)
	img, err := noSync.Image(base, fail.Point)
	if err != nil || checkCrash(steps, fail.Point, drivertest.MemDev(img)) == nil {
		t.Fatalf("the reported cut does not reproduce: %v", err)
	}
}

// BenchmarkCrashPoints: crash points checked per second (ffs.Check and the
// synced files' contents) on a 64 MiB image, the barrier points and 64
// cuts into the writes of a log without barriers; issue 21 wants at least
// 50 a second on two cores.
func BenchmarkCrashPoints(b *testing.B) {
	needTool(b, "makefs")
	base, lg, steps := recordWorkload(b, "64m")
	var noSync rumpblk.Log
	for _, op := range lg.Ops {
		if op.Kind != rumpblk.OpBarrier {
			noSync.Ops = append(noSync.Ops, op)
		}
	}
	check := func(p rumpblk.Point, img *rumpblk.CrashImage) error {
		checkCrash(steps, p, img)
		return nil // every point, damaged or not, is checked
	}
	points := 0
	for b.Loop() {
		n, _, _ := lg.Replay(base, rumpblk.ReplayOptions{}, check)
		m, _, _ := noSync.Replay(base, rumpblk.ReplayOptions{Tail: true, MaxCuts: 32, Seed: 1}, check)
		points += n + m
	}
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
}

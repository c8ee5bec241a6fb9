package rumpblk_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"golang.org/x/sys/unix"
)

// open makes a device of the window [begin, begin+size) of a fresh host
// file of 16 KiB whose byte i is i%251.
func open(t testing.TB, begin, size int64, readOnly bool) (*rumpblk.Device, *kernel.LWP, []byte) {
	t.Helper()
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: io.Discard, Exit: func(int) {}})
	if err != nil {
		t.Fatal(err)
	}
	l := k.LWP0()
	l.Schedule()
	t.Cleanup(func() { l.Unschedule(); k.Reboot(nil, kernel.RB_HALT) })
	data := make([]byte, 16<<10)
	for i := range data {
		data[i] = byte(i % 251)
	}
	path := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	flags := unix.O_RDWR
	if readOnly {
		flags = unix.O_RDONLY
	}
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := rumpblk.New(k, fd, rumpblk.Config{Path: path, Group: "test", Begin: begin, Size: size, ReadOnly: readOnly})
	t.Cleanup(func() { d.Close(nil, true) })
	return d, l, data
}

// TestWindow: block I/O is relative to the window and clamped to it.
func TestWindow(t *testing.T) {
	d, l, data := open(t, 1024, 4096, false)
	buf := make([]byte, 1024)
	if n, e := d.ReadAt(l, buf, 512); n != 1024 || e != 0 || !bytes.Equal(buf, data[1536:2560]) {
		t.Fatalf("read in window: %d %v", n, e)
	}
	if n, e := d.ReadAt(l, buf, 3584); n != 512 || e != 0 {
		t.Errorf("read straddling the end: %d %v, want 512", n, e)
	}
	if _, e := d.ReadAt(l, buf[:100], 0); e != unix.EINVAL {
		t.Errorf("unaligned read: %v, want EINVAL", e)
	}
	if n, e := d.WriteAt(l, bytes.Repeat([]byte{0xee}, 1024), 3584); n != 512 || e != unix.ENOSPC {
		t.Errorf("write straddling the end: %d %v, want 512 ENOSPC", n, e)
	}
	if n, e := d.ReadBytes(l, buf[:3], 3583); n != 3 || e != 0 || !bytes.Equal(buf[:3], []byte{data[1024+3583], 0xee, 0xee}) {
		t.Errorf("byte read across the write: %d %v %x", n, e, buf[:3])
	}
	if e := d.Sync(l); e != 0 {
		t.Errorf("sync: %v", e)
	}
	if s := d.Stats(); s.Reqs != 4 || s.BytesWritten != 512 {
		t.Errorf("stats %+v", s)
	}
	d.Close(l, false)
	if _, e := d.ReadAt(l, buf, 0); e != unix.EIO {
		t.Errorf("read after close: %v, want EIO", e)
	}
}

// TestReadOnlyAndFaults: a read-only device refuses writes, lends, and
// stops lending while a fault is armed.
func TestReadOnlyAndFaults(t *testing.T) {
	d, l, data := open(t, 0, 16<<10, true)
	if _, e := d.WriteAt(l, make([]byte, 512), 0); e != unix.EROFS {
		t.Errorf("write on read-only: %v, want EROFS", e)
	}
	b, ok := d.Lend(l, 100, 50)
	if !ok || !bytes.Equal(b, data[100:150]) {
		t.Fatalf("lend: %v", ok)
	}
	d.Unlend(b)
	d.FailNthRead(1)
	if _, ok := d.Lend(l, 0, 512); ok {
		t.Error("lent with a fault armed")
	}
	buf := make([]byte, 512)
	if _, e := d.ReadAt(l, buf, 0); e != unix.EIO {
		t.Errorf("first read after FailNthRead(1): %v, want EIO", e)
	}
	if _, e := d.ReadAt(l, buf, 0); e != 0 {
		t.Errorf("second read: %v", e)
	}
	d.FailBlocks(4, 1, rumpblk.FaultRead)
	if _, e := d.ReadAt(l, buf, 4*512); e != unix.EIO {
		t.Errorf("read of a failing block: %v, want EIO", e)
	}
	d.ClearFaults()
	if _, e := d.ReadAt(l, buf, 4*512); e != 0 {
		t.Errorf("read after ClearFaults: %v", e)
	}
}

// TestMissing: a truncated image's missing bytes follow the window; reads
// touching them fail with EIO (once logged), nothing of them is lent.
func TestMissing(t *testing.T) {
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: io.Discard, Exit: func(int) {}})
	if err != nil {
		t.Fatal(err)
	}
	l := k.LWP0()
	l.Schedule()
	defer func() { l.Unschedule(); k.Reboot(nil, kernel.RB_HALT) }()
	path := filepath.Join(t.TempDir(), "img")
	os.WriteFile(path, bytes.Repeat([]byte{7}, 4096), 0o644)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := rumpblk.New(k, fd, rumpblk.Config{Path: path, Group: "test", Size: 4096, Missing: 8192, ReadOnly: true})
	defer d.Close(l, true)
	if d.Size() != 4096+8192 {
		t.Errorf("size %d, want the window and the missing bytes", d.Size())
	}
	buf := make([]byte, 1024)
	if n, e := d.ReadAt(l, buf, 3072); n != 1024 || e != 0 || buf[0] != 7 {
		t.Errorf("read of the last present bytes: %d %v", n, e)
	}
	for _, off := range []int64{3584, 4096, 8192} {
		if _, e := d.ReadAt(l, buf, off); e != unix.EIO {
			t.Errorf("read at %d, into the missing bytes: %v, want EIO", off, e)
		}
	}
	if _, ok := d.Lend(l, 4096, 512); ok {
		t.Error("lent missing bytes")
	}
	if n, e := d.ReadAt(l, buf, 12288); n != 0 || e != 0 {
		t.Errorf("read at the device's end: %d %v, want 0 bytes", n, e)
	}
	if got := strings.Count(k.Dmesg(), "truncated image"); got != 1 {
		t.Errorf("%d dmesg lines about the truncated image, want 1:\n%s", got, k.Dmesg())
	}
}

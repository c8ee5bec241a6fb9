package rumpblk_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"golang.org/x/sys/unix"
)

// open makes a device of the window [begin, begin+size) of a fresh host
// file of 16 KiB whose byte i is i%251.
func open(t *testing.T, begin, size int64, readOnly bool) (*rumpblk.Device, *kernel.LWP, []byte) {
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

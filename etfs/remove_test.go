package etfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func dead(e unix.Errno) bool { return e == unix.EIO || e == unix.EBADF }

// Removing a key revokes its vnodes: open files become dead, never a
// crash; the device leaves the table and fails later I/O; the host
// descriptor is closed.
func TestRemoveWhileOpen(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 64<<10)
	x.register("/dev/img", host, etfs.REG)
	blkHost, _ := hostFile(t, 64<<10)
	x.register("/dev/blk", blkHost, etfs.BLK)
	d := x.e.Device("/dev/blk")
	bva, e := x.stat("/dev/blk")
	if e != 0 {
		t.Fatal(e)
	}
	rdev := bva.Rdev

	fd, e := vfs.Open(x.l, "/dev/img", unix.O_RDWR, 0)
	if e != 0 {
		t.Fatal(e)
	}
	bfd, e := vfs.Open(x.l, "/dev/blk", unix.O_RDONLY, 0)
	if e != 0 {
		t.Fatal(e)
	}
	buf := make([]byte, 512)
	if n, e := vfs.Read(x.l, fd, buf); n != 512 || e != 0 {
		t.Fatalf("read before Remove: %d %v", n, e)
	}
	for _, k := range []string{"/dev/img", "/dev/blk"} {
		if err := x.e.Remove(k); err != nil {
			t.Fatalf("Remove %s: %v", k, err)
		}
	}
	if n, e := vfs.Read(x.l, fd, buf); n != 0 || !dead(e) {
		t.Errorf("read after Remove: %d %v, want EIO or EBADF", n, e)
	}
	if n, e := vfs.Write(x.l, fd, buf); n != 0 || !dead(e) {
		t.Errorf("write after Remove: %d %v, want EIO or EBADF", n, e)
	}
	if n, e := vfs.Read(x.l, bfd, buf); n != 0 || !dead(e) {
		t.Errorf("device read after Remove: %d %v", n, e)
	}
	var va vfs.Vattr
	if e := vfs.Fstat(x.l, fd, &va); !dead(e) {
		t.Errorf("fstat after Remove: %v", e)
	}
	if e := vfs.Close(x.l, fd); e != 0 && !dead(e) {
		t.Errorf("close after Remove: %v", e)
	}
	vfs.Close(x.l, bfd)
	if _, e := x.stat("/dev/img"); e != unix.ENOENT {
		t.Errorf("stat after Remove: %v, want ENOENT", e)
	}
	if vfs.Of(x.k).Device(rdev) != nil {
		t.Error("the device is still in the device table")
	}
	if n, e := d.ReadAt(x.l, buf, 0); n != 0 || e != unix.EIO {
		t.Errorf("ReadAt on a removed device: %d %v, want EIO", n, e)
	}
	if e := d.Sync(x.l); e != unix.EIO {
		t.Errorf("Sync on a removed device: %v, want EIO", e)
	}
	for _, h := range []string{host, blkHost} {
		if _, n := hostFDFlags(t, h); n != 0 {
			t.Errorf("%s: %d host descriptors left open", h, n)
		}
	}
	if bytes.Contains(x.console.Bytes(), []byte("panic")) {
		t.Errorf("a panic was recovered:\n%s", x.console)
	}
}

func TestRemoveDirWhileOpen(t *testing.T) {
	x := boot(t)
	top := hostTree(t)
	x.register("/h", top, etfs.DIR_SUBDIRS)
	fd, e := vfs.Open(x.l, "/h/s/b", unix.O_RDONLY, 0)
	if e != 0 {
		t.Fatal(e)
	}
	dfd, e := vfs.Open(x.l, "/h/s", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if e != 0 {
		t.Fatal(e)
	}
	if e := vfs.Chdir(x.l, "/h/s/deep"); e != 0 {
		t.Fatal(e)
	}
	if err := x.e.Remove("/h"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, e := vfs.Read(x.l, fd, buf); n != 0 || !dead(e) {
		t.Errorf("read after Remove: %d %v", n, e)
	}
	if n, e := vfs.Getdents(x.l, dfd, buf); n != 0 || !dead(e) {
		t.Errorf("getdents after Remove: %d %v", n, e)
	}
	if _, e := x.stat("c"); !dead(e) {
		t.Errorf("lookup in a removed cwd: %v", e)
	}
	vfs.Close(x.l, fd)
	vfs.Close(x.l, dfd)
	vfs.Chdir(x.l, "/")
	if _, e := x.stat("/h/a"); e != unix.ENOENT {
		t.Errorf("stat after Remove: %v", e)
	}
	for _, p := range []string{top, filepath.Join(top, "s"), filepath.Join(top, "s", "b")} {
		if _, n := hostFDFlags(t, p); n != 0 {
			t.Errorf("%s: %d host descriptors left open", p, n)
		}
	}
}

// I/O racing with Remove ends in data or a dead-file error, never a
// crash (run with -race).
func TestRemoveRacesIO(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 64<<10)
	for round := 0; round < 20; round++ {
		x.register("/dev/r", host, etfs.REG)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			l, err := x.k.Rfork(nil, kernel.RFCFDG)
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer x.k.ReleaseLWP(l)
				fd, e := vfs.Open(l, "/dev/r", unix.O_RDWR, 0)
				if e != 0 {
					if e != unix.ENOENT && !dead(e) && e != unix.ENXIO {
						t.Errorf("open: %v", e)
					}
					return
				}
				defer vfs.Close(l, fd)
				buf := make([]byte, 4096)
				for j := 0; j < 50; j++ {
					if _, e := vfs.Pread(l, fd, buf, int64(j)*512); e != 0 {
						if !dead(e) {
							t.Errorf("pread: %v", e)
						}
						return
					}
					if _, e := vfs.Pwrite(l, fd, buf[:512], int64(j)*512); e != 0 && !dead(e) {
						t.Errorf("pwrite: %v", e)
						return
					}
				}
			}()
		}
		if err := x.e.Remove("/dev/r"); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
	if bytes.Contains(x.console.Bytes(), []byte("panic")) {
		t.Errorf("a panic was recovered:\n%s", x.console)
	}
}

// Halting the kernel fsyncs and closes every backing file; with
// RB_NOSYNC it still closes them.
func TestHaltClosesBackingFiles(t *testing.T) {
	for _, howto := range []int{kernel.RB_HALT, kernel.RB_HALT | kernel.RB_NOSYNC} {
		x := boot(t)
		host, data := hostFile(t, 64<<10)
		x.register("/dev/img", host, etfs.BLK)
		top := hostTree(t)
		x.register("/h", top, etfs.DIR)
		// An open file inside a directory key (its host descriptor
		// must go too).
		if _, e := vfs.Open(x.l, "/h/a", unix.O_RDONLY, 0); e != 0 {
			t.Fatal(e)
		}
		d := x.e.Device("/dev/img")
		w := bytes.Repeat([]byte{0xAB}, 4096)
		if _, e := d.WriteAt(x.l, w, 8192); e != 0 {
			t.Fatal(e)
		}
		if err := x.k.Reboot(x.l, howto); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{host, top, filepath.Join(top, "a")} {
			if _, n := hostFDFlags(t, p); n != 0 {
				t.Errorf("howto %#x: %s: %d host descriptors open after halt", howto, p, n)
			}
		}
		if _, e := d.ReadAt(x.l, w, 0); e != unix.EIO {
			t.Errorf("device I/O after halt: %v, want EIO", e)
		}
		if err := x.e.Register("/again", host, etfs.REG); err != kernel.ErrHalted {
			t.Errorf("Register after halt: %v, want ENXIO", err)
		}
		want := bytes.Clone(data)
		copy(want[8192:], bytes.Repeat([]byte{0xAB}, 4096))
		if got, _ := os.ReadFile(host); !bytes.Equal(got, want) {
			t.Errorf("howto %#x: the host file lacks the write", howto)
		}
	}
}

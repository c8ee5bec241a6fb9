package etfs_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"golang.org/x/sys/unix"
)

// REG I/O is pread/pwrite on the host file at begin+offset, clamped to
// the window.
func TestREGWindowIO(t *testing.T) {
	x := boot(t)
	host, data := hostFile(t, 8192)
	const begin, size = 1000, 3000
	if err := x.e.RegisterWithSize("/dev/w", host, etfs.REG, begin, size); err != nil {
		t.Fatal(err)
	}
	got, e := x.readAll("/dev/w")
	if e != 0 || !bytes.Equal(got, data[begin:begin+size]) {
		t.Fatalf("read window: %v, %d bytes; want host bytes [%d, %d)", e, len(got), begin, begin+size)
	}
	va, e := x.stat("/dev/w")
	fi, _ := os.Stat(host)
	if e != 0 || va.Size != size || va.Mode != uint32(fi.Mode().Perm()) || va.Uid != uint32(os.Getuid()) {
		t.Errorf("stat: %v %+v; want size %d, the host's mode %o and owner", e, va, size, fi.Mode().Perm())
	}

	fd, e := vfs.Open(x.l, "/dev/w", unix.O_RDWR, 0)
	if e != 0 {
		t.Fatal(e)
	}
	defer vfs.Close(x.l, fd)
	if n, e := vfs.Pwrite(x.l, fd, []byte("hello"), 10); n != 5 || e != 0 {
		t.Fatalf("pwrite: %d %v", n, e)
	}
	// Straddling the end: cut short. At the end: EFBIG.
	if n, e := vfs.Pwrite(x.l, fd, []byte("0123456789"), size-4); n != 4 || e != 0 {
		t.Errorf("pwrite straddling the end: %d %v, want 4 bytes", n, e)
	}
	if n, e := vfs.Pwrite(x.l, fd, []byte("x"), size); n != 0 || e != unix.EFBIG {
		t.Errorf("pwrite at the end: %d %v, want EFBIG", n, e)
	}
	buf := make([]byte, 100)
	if n, e := vfs.Pread(x.l, fd, buf, size-10); n != 10 || e != 0 {
		t.Errorf("pread straddling the end: %d %v, want 10", n, e)
	}
	if n, e := vfs.Pread(x.l, fd, buf, size); n != 0 || e != 0 {
		t.Errorf("pread at the end: %d %v, want 0", n, e)
	}
	// A size change is ignored: the window is fixed.
	if e := vfs.Ftruncate(x.l, fd, 10); e != 0 {
		t.Errorf("ftruncate: %v", e)
	}
	if e := vfs.Fsync(x.l, fd); e != 0 {
		t.Errorf("fsync: %v", e)
	}
	onHost, _ := os.ReadFile(host)
	want := bytes.Clone(data)
	copy(want[begin+10:], "hello")
	copy(want[begin+size-4:], "0123")
	if !bytes.Equal(onHost, want) {
		for i := range want {
			if onHost[i] != want[i] {
				t.Fatalf("host file differs first at byte %d: %q, want %q", i, onHost[i], want[i])
			}
		}
		t.Fatalf("host file is %d bytes, want %d", len(onHost), len(want))
	}
	if va, _ := x.stat("/dev/w"); va.Size != size {
		t.Errorf("size after ftruncate: %d, want %d", va.Size, size)
	}
}

// A read-only registration opens the host file O_RDONLY and refuses
// writes; a read-write one opens it O_RDWR.
func TestReadOnlyRegistration(t *testing.T) {
	x := boot(t)
	host, data := hostFile(t, 4096)
	if err := x.e.RegisterReadOnly("/ro", host, etfs.REG); err != nil {
		t.Fatal(err)
	}
	if flags, n := hostFDFlags(t, host); n != 1 || flags&unix.O_ACCMODE != unix.O_RDONLY {
		t.Fatalf("read-only registration: %d host descriptors, flags %o; want one, O_RDONLY", n, flags)
	}
	if _, e := vfs.Open(x.l, "/ro", unix.O_RDWR, 0); e != unix.EROFS {
		t.Errorf("open read-only key O_RDWR: %v, want EROFS", e)
	}
	if _, e := vfs.Open(x.l, "/ro", unix.O_WRONLY|unix.O_TRUNC, 0); e != unix.EROFS {
		t.Errorf("open read-only key O_WRONLY|O_TRUNC: %v, want EROFS", e)
	}
	if e := vfs.Access(x.l, "/ro", unix.W_OK); e != unix.EROFS {
		t.Errorf("access W_OK: %v, want EROFS", e)
	}
	if va, _ := x.stat("/ro"); va.Mode&0o222 != 0 {
		t.Errorf("read-only key mode %o has write bits", va.Mode)
	}
	if got, e := x.readAll("/ro"); e != 0 || !bytes.Equal(got, data) {
		t.Errorf("read: %v", e)
	}
	if err := x.e.RegisterReadOnly("/rob", host, etfs.BLK); err != nil {
		t.Fatal(err)
	}
	d := x.e.Device("/rob")
	if !d.ReadOnly() {
		t.Error("device of a read-only key is writable")
	}
	if n, e := d.WriteAt(x.l, make([]byte, 512), 0); n != 0 || e != unix.EROFS {
		t.Errorf("WriteAt on a read-only device: %d %v, want EROFS", n, e)
	}
	// Same file, window and mode: one shared device and descriptor.
	if flags, n := hostFDFlags(t, host); n != 1 || flags&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("two read-only keys: %d host descriptors, flags %o; want one, O_RDONLY", n, flags)
	}
	if err := x.e.Remove("/ro"); err != nil {
		t.Fatal(err)
	}
	if err := x.e.Remove("/rob"); err != nil {
		t.Fatal(err)
	}
	if _, n := hostFDFlags(t, host); n != 0 {
		t.Errorf("%d host descriptors left after Remove", n)
	}
	x.register("/rw", host, etfs.REG)
	if flags, n := hostFDFlags(t, host); n != 1 || flags&unix.O_ACCMODE != unix.O_RDWR {
		t.Errorf("read-write registration: %d host descriptors, flags %o; want one, O_RDWR", n, flags)
	}
	onHost, _ := os.ReadFile(host)
	if !bytes.Equal(onHost, data) {
		t.Error("the host file changed")
	}
}

// A read-write registration of a file the host will not open for writing
// falls back to read-only; opening it for writing is then EACCES.
func TestReadOnlyHostFile(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 4096)
	os.Chmod(host, 0o444)
	if f, err := os.OpenFile(host, os.O_RDWR, 0); err == nil {
		// Root writes a 0444 file; the running test binary refuses
		// writers (ETXTBSY) where the host still says so.
		f.Close()
		host = os.Args[0]
		if f, err := os.OpenFile(host, os.O_RDWR, 0); err == nil {
			f.Close()
			t.Skip("no host file here refuses O_RDWR: the fallback cannot be provoked")
		}
	}
	x.register("/f", host, etfs.REG)
	if flags, n := hostFDFlags(t, host); n != 1 || flags&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("%d descriptors, flags %o; want one, O_RDONLY", n, flags)
	}
	if _, e := vfs.Open(x.l, "/f", unix.O_RDWR, 0); e != unix.EACCES {
		t.Errorf("open for writing: %v, want EACCES", e)
	}
	if !x.e.Device("/f").ReadOnly() {
		t.Error("device writable")
	}
}

func TestBlockDevice(t *testing.T) {
	x := boot(t)
	host, data := hostFile(t, 64<<10)
	const begin, size = 4096, 16 << 10
	if err := x.e.RegisterWithSize("/dev/blk", host, etfs.BLK, begin, size); err != nil {
		t.Fatal(err)
	}
	d := x.e.Device("/dev/blk")
	va, e := x.stat("/dev/blk")
	if e != 0 || va.Type != vfs.VBLK || va.Rdev == 0 {
		t.Fatalf("stat: %v %+v", e, va)
	}
	var dev bio.Device = d
	if vfs.Of(x.k).Device(va.Rdev) != dev {
		t.Fatal("the device table does not hold the key's device under its rdev")
	}
	if dev.SectorSize() != 512 || dev.Size() != size || dev.ReadOnly() {
		t.Errorf("sector %d size %d ro %v", dev.SectorSize(), dev.Size(), dev.ReadOnly())
	}
	before := d.Stats()
	buf := make([]byte, 1024)
	for _, c := range []struct {
		n   int
		off int64
	}{{100, 0}, {512, 100}, {1000, 512}, {512, -512}} {
		if n, e := dev.ReadAt(x.l, buf[:c.n], c.off); n != 0 || e != unix.EINVAL {
			t.Errorf("ReadAt(%d bytes at %d): %d %v, want EINVAL", c.n, c.off, n, e)
		}
		if n, e := dev.WriteAt(x.l, buf[:c.n], c.off); n != 0 || e != unix.EINVAL {
			t.Errorf("WriteAt(%d bytes at %d): %d %v, want EINVAL", c.n, c.off, n, e)
		}
	}
	if n, e := dev.ReadAt(x.l, buf, 1024); n != 1024 || e != 0 || !bytes.Equal(buf, data[begin+1024:begin+2048]) {
		t.Errorf("ReadAt 1024: %d %v, or the bytes differ from the host's at begin+1024", n, e)
	}
	if n, e := dev.ReadAt(x.l, buf, size-512); n != 512 || e != 0 || !bytes.Equal(buf[:512], data[begin+size-512:begin+size]) {
		t.Errorf("ReadAt straddling the end: %d %v, want the last 512 bytes", n, e)
	}
	for _, off := range []int64{size, size + 4096} {
		if n, e := dev.ReadAt(x.l, buf, off); n != 0 || e != 0 {
			t.Errorf("ReadAt %d (past the end): %d %v, want 0 bytes", off, n, e)
		}
	}
	w := bytes.Repeat([]byte("W"), 1024)
	if n, e := dev.WriteAt(x.l, w, 2048); n != 1024 || e != 0 {
		t.Errorf("WriteAt: %d %v", n, e)
	}
	if n, e := dev.WriteAt(x.l, w, size-512); n != 512 || e != unix.ENOSPC {
		t.Errorf("WriteAt straddling the end: %d %v, want 512, ENOSPC", n, e)
	}
	if n, e := dev.WriteAt(x.l, w, size); n != 0 || e != unix.ENOSPC {
		t.Errorf("WriteAt at the end: %d %v, want ENOSPC", n, e)
	}
	if e := dev.Sync(x.l); e != 0 {
		t.Errorf("Sync: %v", e)
	}
	onHost, _ := os.ReadFile(host)
	want := bytes.Clone(data)
	copy(want[begin+2048:], w)
	copy(want[begin+size-512:], w[:512])
	if !bytes.Equal(onHost, want) {
		t.Error("host file does not hold exactly the writes at begin+offset")
	}
	after := d.Stats()
	// Reads: 1024 + 512 (+ two at the end, 0 bytes, no host I/O);
	// writes: 1024 + 512.
	if r, w := after.BytesRead-before.BytesRead, after.BytesWritten-before.BytesWritten; r != 1536 || w != 1536 {
		t.Errorf("counters: %d bytes read, %d written; want 1536 and 1536", r, w)
	}
	if n := after.Reqs - before.Reqs; n != 4 {
		t.Errorf("I/O reqs: %d, want 4", n)
	}
	// Through the namespace, byte-granular, and with no LWP at all.
	fd, e := vfs.Open(x.l, "/dev/blk", unix.O_RDONLY, 0)
	if e != 0 {
		t.Fatal(e)
	}
	if n, e := vfs.Pread(x.l, fd, buf[:100], 2040); n != 100 || e != 0 || !bytes.Equal(buf[:100], want[begin+2040:begin+2140]) {
		t.Errorf("pread of the device node: %d %v, or wrong bytes", n, e)
	}
	vfs.Close(x.l, fd)
	if n, e := dev.ReadAt(nil, buf[:512], 2048); n != 512 || e != 0 || !bytes.Equal(buf[:512], w[:512]) {
		t.Errorf("ReadAt with a nil LWP: %d %v", n, e)
	}
	after = d.Stats()
	found := map[string]uint64{}
	for _, ev := range x.k.Evcnts() {
		if ev.Group == "etfs /dev/blk" || ev.Group == "rumpblk" {
			found[ev.Group+"/"+ev.Name] = ev.Count
		}
	}
	if found["etfs /dev/blk/bytes written"] != after.BytesWritten || found["rumpblk/bytes read"] < after.BytesRead || found["rumpblk/I/O reqs"] == 0 {
		t.Errorf("event counters: %v", found)
	}
}

// Two windows of one file are two devices that never alias; the same
// window registered twice shares one.
func TestWindowsDoNotAlias(t *testing.T) {
	x := boot(t)
	host, data := hostFile(t, 32<<10)
	if err := x.e.RegisterWithSize("/p1", host, etfs.BLK, 0, 8192); err != nil {
		t.Fatal(err)
	}
	if err := x.e.RegisterWithSize("/p2", host, etfs.BLK, 8192, 8192); err != nil {
		t.Fatal(err)
	}
	if err := x.e.RegisterWithSize("/p2again", host, etfs.BLK, 8192, 8192); err != nil {
		t.Fatal(err)
	}
	d1, d2 := x.e.Device("/p1"), x.e.Device("/p2")
	va1, _ := x.stat("/p1")
	va2, _ := x.stat("/p2")
	if d1 == d2 || va1.Rdev == va2.Rdev {
		t.Fatalf("two windows share a device: %v %v", d1, d2)
	}
	if x.e.Device("/p2again") != d2 {
		t.Error("the same window registered twice got two devices")
	}
	z := make([]byte, 512)
	if _, e := d2.WriteAt(x.l, z, 0); e != 0 {
		t.Fatal(e)
	}
	buf := make([]byte, 512)
	d1.ReadAt(x.l, buf, 0)
	if !bytes.Equal(buf, data[:512]) {
		t.Error("writing p2's block 0 changed p1's block 0")
	}
	onHost, _ := os.ReadFile(host)
	if !bytes.Equal(onHost[8192:8704], z) || !bytes.Equal(onHost[:8192], data[:8192]) {
		t.Error("p2's block 0 did not land at host offset 8192")
	}
	if err := x.e.Remove("/p2"); err != nil {
		t.Fatal(err)
	}
	if n, e := x.e.Device("/p2again").ReadAt(x.l, buf, 0); n != 512 || e != 0 {
		t.Errorf("removing one key of a shared device broke the other: %d %v", n, e)
	}
	// Many devices: no small fixed limit (rumpblk has 16). A window
	// overlapping p1's (locked for writing) is refused.
	if err := x.e.RegisterWithSize("/overlap", host, etfs.BLK, 4096, 8192); !errors.Is(err, unix.EBUSY) {
		t.Errorf("a read-write window overlapping another: %v, want EBUSY", err)
	}
	other, _ := hostFile(t, 64<<10)
	for i := 0; i < 40; i++ {
		if err := x.e.RegisterWithSize("/many/"+string(rune('a'+i)), other, etfs.BLK, int64(i)*512, 512); err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
	}
}

// A mount finds the key's device through its rdev.
func TestMountFindsDevice(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 64<<10)
	x.register("/dev/img", host, etfs.BLK)
	var got bio.Device
	vfs.RegisterFSType(&vfs.FSType{Name: "etfstestfs", NeedsDevice: true,
		Mount: func(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
			got = args.Dev
			return nil, unix.ENOTSUP
		}})
	if e := vfs.Mkdir(x.l, "/mnt", 0o755); e != 0 {
		t.Fatal(e)
	}
	if e := vfs.MountPath(x.l, "etfstestfs", "/dev/img", "/mnt", 0, nil); e != unix.ENOTSUP {
		t.Fatalf("mount: %v, want the test driver's ENOTSUP", e)
	}
	if got == nil || got != bio.Device(x.e.Device("/dev/img")) {
		t.Fatalf("the driver got device %v, want the key's", got)
	}
	roHost, _ := hostFile(t, 64<<10)
	if err := x.e.RegisterReadOnly("/dev/ro", roHost, etfs.BLK); err != nil {
		t.Fatal(err)
	}
	if e := vfs.MountPath(x.l, "etfstestfs", "/dev/ro", "/mnt", 0, nil); e != unix.EROFS {
		t.Errorf("read-write mount of a read-only key: %v, want EROFS", e)
	}
	x.register("/dev/reg", host, etfs.REG)
	if e := vfs.MountPath(x.l, "etfstestfs", "/dev/reg", "/mnt", 0, nil); e != unix.ENOTBLK {
		t.Errorf("mount of a REG key: %v, want ENOTBLK", e)
	}
}

func TestFaultInjection(t *testing.T) {
	host, _ := hostFile(t, 64<<10)
	t.Run("RUMP_BLKFAIL=10000", func(t *testing.T) {
		x := boot(t)
		t.Setenv("RUMP_BLKFAIL", "10000")
		x.register("/f", host, etfs.BLK)
		d := x.e.Device("/f")
		buf := make([]byte, 512)
		for i := int64(0); i < 20; i++ {
			if _, e := d.ReadAt(x.l, buf, i*512); e != unix.EIO {
				t.Fatalf("read %d: %v, want EIO", i, e)
			}
			if _, e := d.WriteAt(x.l, buf, i*512); e != unix.EIO {
				t.Fatalf("write %d: %v, want EIO", i, e)
			}
		}
		if s := d.Stats(); s.InjectedFaults != 40 || s.BytesWritten != 0 || s.BytesRead != 0 {
			t.Errorf("stats %+v, want 40 injected faults and no bytes moved", s)
		}
	})
	t.Run("RUMP_BLKFAIL=2500", func(t *testing.T) {
		x := boot(t)
		t.Setenv("RUMP_BLKFAIL", "2500")
		t.Setenv("RUMP_BLKFAIL_SEED", "42")
		x.register("/f", host, etfs.BLK)
		d := x.e.Device("/f")
		buf := make([]byte, 512)
		failed := 0
		for i := 0; i < 4000; i++ {
			if _, e := d.ReadAt(x.l, buf, int64(i%128)*512); e == unix.EIO {
				failed++
			}
		}
		if failed < 800 || failed > 1200 {
			t.Errorf("%d of 4000 reads failed, want about 1000", failed)
		}
	})
	t.Run("API", func(t *testing.T) {
		x := boot(t)
		x.register("/f", host, etfs.BLK)
		d := x.e.Device("/f")
		buf := make([]byte, 1024)
		d.FailNthWrite(3)
		for i := 1; i <= 5; i++ {
			_, e := d.WriteAt(x.l, buf, 0)
			if (i == 3) != (e == unix.EIO) {
				t.Errorf("write %d after FailNthWrite(3): %v", i, e)
			}
		}
		d.FailNthRead(1)
		if _, e := d.ReadAt(x.l, buf, 0); e != unix.EIO {
			t.Errorf("read after FailNthRead(1): %v", e)
		}
		if _, e := d.ReadAt(x.l, buf, 0); e != 0 {
			t.Errorf("second read: %v", e)
		}
		d.FailBlocks(8, 2, rumpblk.FaultWrite)
		for _, c := range []struct {
			off   int64
			write bool
			fail  bool
		}{
			{7 * 512, true, true}, // 1024 bytes: blocks 7 and 8
			{6 * 512, true, false},
			{9 * 512, true, true},
			{10 * 512, true, false},
			{8 * 512, false, false},
		} {
			var e unix.Errno
			if c.write {
				_, e = d.WriteAt(x.l, buf, c.off)
			} else {
				_, e = d.ReadAt(x.l, buf, c.off)
			}
			if (e == unix.EIO) != c.fail {
				t.Errorf("I/O at block %d (write %v): %v, want failure %v", c.off/512, c.write, e, c.fail)
			}
		}
		d.ClearFaults()
		if _, e := d.WriteAt(x.l, buf, 8*512); e != 0 {
			t.Errorf("write after ClearFaults: %v", e)
		}
		// Faults reach REG I/O through the same device.
		x.register("/r", host, etfs.REG)
		x.e.Device("/r").FailNthRead(1)
		if _, e := x.readAll("/r"); e != unix.EIO {
			t.Errorf("REG read with an injected fault: %v, want EIO", e)
		}
	})
}

func TestLockErrorUnwraps(t *testing.T) {
	err := error(&etfs.LockError{Path: "/x", Begin: 0, Len: 512, Pid: 1234, Write: true})
	if !errors.Is(err, unix.EBUSY) || kernel.ToErrno(err) != unix.EBUSY {
		t.Errorf("%v does not unwrap to EBUSY", err)
	}
}

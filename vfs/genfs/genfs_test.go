package genfs

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// memDev is a device in memory that refuses unaligned requests (as image
// files opened for direct I/O and bio.Device implementations may), counts
// reads, and lends slices of itself when lends is set.
type memDev struct {
	b           []byte
	ss          int
	reads       int
	lends       bool
	loans, back int
}

func (d *memDev) SectorSize() int { return d.ss }

func (d *memDev) ReadAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	ss := int64(d.ss)
	if off < 0 || off%ss != 0 || int64(len(p))%ss != 0 {
		return 0, unix.EINVAL
	}
	d.reads++
	if off >= int64(len(d.b)) {
		return 0, 0
	}
	return copy(p, d.b[off:]), 0
}

func (d *memDev) Lend(_ *kernel.LWP, off int64, n int) ([]byte, bool) {
	if !d.lends || off < 0 || n <= 0 || off > int64(len(d.b))-int64(n) {
		return nil, false
	}
	d.loans++
	return d.b[off : off+int64(n) : off+int64(n)], true
}

func (d *memDev) Unlend([]byte) { d.back++ }

// testFile lays out a file of 8 blocks of 1 KiB on a 64 KiB device:
// blocks 0-2 in one run at device block 10, block 3 a hole, blocks 4-5 at
// device block 40, 6 alone at device block 20, 7 a hole to the end of
// the file, which is 7.5 blocks long. want is the file's content.
func testFile(dev *memDev) (f *File, want []byte) {
	const bs = 1024
	for i := range dev.b {
		dev.b[i] = byte(i*7 + i>>10)
	}
	at := map[int64]int64{0: 10, 1: 11, 2: 12, 4: 40, 5: 41, 6: 20}
	size := 7*bs + bs/2
	want = make([]byte, size)
	for lbn, pbn := range at {
		copy(want[lbn*bs:min(int(lbn+1)*bs, size)], dev.b[pbn*bs:])
	}
	bmap := func(_ *kernel.LWP, lbn int64) (Run, unix.Errno) {
		switch {
		case lbn < 0:
			return Run{}, unix.EINVAL
		case lbn <= 2:
			return Run{Addr: (10 + lbn) * bs, Blocks: 3 - lbn}, 0
		case lbn == 3:
			return Run{Addr: Hole, Blocks: 1}, 0
		case lbn <= 5:
			return Run{Addr: (40 + lbn - 4) * bs, Blocks: 6 - lbn}, 0
		case lbn == 6:
			return Run{Addr: 20 * bs, Blocks: 1}, 0
		}
		return Run{Addr: Hole, Blocks: 1 << 62}, 0 // a hole to "infinity"
	}
	return &File{Dev: dev, BSize: bs, Size: uint64(size), Bmap: bmap}, want
}

// cases are reads over every kind of boundary: block, run, hole, sector
// and the end of the file.
var cases = []struct{ off, n int64 }{
	{0, 1}, {0, 1024}, {0, 3072}, {0, 8192}, {1, 100}, {511, 2}, {513, 1000},
	{1000, 100}, {3000, 2000}, {3072, 1024}, {3100, 10}, {4000, 3000},
	{6143, 2}, {6144, 1024}, {7000, 1000}, {7679, 5}, {7680, 10}, {9000, 10},
}

// TestReadAt: holes read as zeros, runs and single blocks return the
// device's bytes, at aligned and unaligned offsets (the device refuses
// unaligned requests), and nothing past the end of the file.
func TestReadAt(t *testing.T) {
	for _, ss := range []int{512, 1024} {
		dev := &memDev{b: make([]byte, 64<<10), ss: ss}
		f, want := testFile(dev)
		for _, c := range cases {
			p := make([]byte, c.n)
			for i := range p {
				p[i] = 0xee // holes must be cleared, not left alone
			}
			n, e := f.ReadAt(nil, p, c.off)
			lo, hi := min(c.off, int64(len(want))), min(c.off+c.n, int64(len(want)))
			if e != 0 || !bytes.Equal(p[:n], want[lo:hi]) {
				t.Errorf("sector %d: ReadAt(%d, +%d) = %d, %v; not the file's bytes [%d, %d)", ss, c.off, c.n, n, e, lo, hi)
			}
		}
		if _, e := f.ReadAt(nil, make([]byte, 1), -1); e != unix.EINVAL {
			t.Errorf("ReadAt at -1: %v, want EINVAL", e)
		}
	}
}

// TestReadAtOneRequestPerRun: a read of a whole run is one device read.
func TestReadAtOneRequestPerRun(t *testing.T) {
	dev := &memDev{b: make([]byte, 64<<10), ss: 512}
	f, _ := testFile(dev)
	if _, e := f.ReadAt(nil, make([]byte, 3*1024), 0); e != 0 || dev.reads != 1 {
		t.Fatalf("reading a run of 3 blocks: %v, %d device reads, want 1", e, dev.reads)
	}
}

// TestReadBytesShortAndErrors: a device that ends early is EIO, and
// IOError sees the failure and chooses the error.
func TestReadBytesShortAndErrors(t *testing.T) {
	dev := &memDev{b: make([]byte, 4096), ss: 512}
	if e := ReadBytes(nil, dev, make([]byte, 100), 4090); e != unix.EIO {
		t.Errorf("read past the device's end: %v, want EIO", e)
	}
	if e := ReadBytes(nil, dev, make([]byte, 1024), 3584); e != unix.EIO {
		t.Errorf("aligned read past the device's end: %v, want EIO", e)
	}
	p := make([]byte, 10)
	if e := ReadBytes(nil, dev, p, 4086); e != 0 || !bytes.Equal(p, dev.b[4086:]) {
		t.Errorf("last 10 bytes: %v", e)
	}
	var seen []string
	f := &File{Dev: dev, BSize: 1024, Size: 8192,
		Bmap: func(_ *kernel.LWP, lbn int64) (Run, unix.Errno) { return Run{Addr: lbn * 1024, Blocks: 1}, 0 },
		IOError: func(addr int64, n int, e unix.Errno) unix.Errno {
			seen = append(seen, fmt.Sprint(addr, n, e))
			return unix.ENXIO
		},
	}
	n, e := f.ReadAt(nil, make([]byte, 8192), 0)
	if n != 4096 || e != unix.ENXIO || len(seen) != 1 || seen[0] != fmt.Sprint(4096, 1024, unix.EIO) {
		t.Errorf("read over the device's end: %d, %v, IOError saw %q; want 4096, ENXIO, one EIO at 4096", n, e, seen)
	}
}

// TestRead: the uio read returns the same bytes over several buffers and
// stops at the end of the file.
func TestRead(t *testing.T) {
	dev := &memDev{b: make([]byte, 64<<10), ss: 512}
	f, want := testFile(dev)
	for _, c := range cases {
		a, b := make([]byte, c.n/3), make([]byte, c.n-c.n/3)
		u := &kernel.Uio{Iov: [][]byte{a, {}, b}, Offset: c.off, Resid: int(c.n), RW: kernel.UioRead}
		if e := f.Read(nil, u); e != 0 {
			t.Fatalf("Read(%d, +%d): %v", c.off, c.n, e)
		}
		got := append(a, b...)[:int(c.n)-u.Resid]
		lo, hi := min(c.off, int64(len(want))), min(c.off+c.n, int64(len(want)))
		if !bytes.Equal(got, want[lo:hi]) || u.Offset != c.off+int64(len(got)) {
			t.Errorf("Read(%d, +%d): %d bytes, offset %d; not the file's bytes [%d, %d)", c.off, c.n, len(got), u.Offset, lo, hi)
		}
	}
	u := &kernel.Uio{Iov: [][]byte{make([]byte, 1)}, Offset: -1, Resid: 1}
	if e := f.Read(nil, u); e != unix.EINVAL {
		t.Errorf("Read at -1: %v, want EINVAL", e)
	}
	u = &kernel.Uio{Iov: [][]byte{make([]byte, 1)}, Resid: 1, RW: kernel.UioWrite}
	if e := f.Read(nil, u); e != unix.EINVAL {
		t.Errorf("Read of a write uio: %v, want EINVAL", e)
	}
}

// TestLend: a lending read inside one run gets the device's bytes when
// the file allows it; across runs, over holes, from a run with a device
// of its own, or with lending off, it copies, and the bytes are the same.
func TestLend(t *testing.T) {
	dev := &memDev{b: make([]byte, 64<<10), ss: 512, lends: true}
	f, want := testFile(dev)
	other := &memDev{b: bytes.Clone(dev.b), ss: 512}
	bmap := f.Bmap
	f.Bmap = func(l *kernel.LWP, lbn int64) (Run, unix.Errno) {
		r, e := bmap(l, lbn)
		if lbn == 6 {
			r.Dev = other // say block 6 is replaced (a journal overlay)
		}
		return r, e
	}
	for _, c := range []struct {
		off, n int64
		lend   bool // allowed by the file
		lent   bool
	}{
		{0, 3072, true, true},
		{100, 2000, true, true},
		{2048, 4096, true, false}, // two runs
		{3072, 100, true, false},  // a hole
		{4096, 2048, true, true},
		{4096, 2049, true, false}, // into block 6
		{6144, 1024, true, false}, // a device of its own
		{7500, 1024, true, false}, // the hole at the end
		{0, 3072, false, false},
		{7680, 10, true, false}, // at the end of the file
	} {
		f.Lend = c.lend
		buf := make([]byte, c.n)
		u := kernel.UioSetupLend(buf, c.off)
		loans := dev.loans
		if e := f.Read(nil, u); e != 0 {
			t.Fatalf("Read(%d, +%d): %v", c.off, c.n, e)
		}
		lent, from := kernel.UioLent(u)
		got := buf[:int(c.n)-u.Resid]
		if lent != nil {
			got = bytes.Clone(lent)
			from.Unlend(lent)
		}
		kernel.UioFree(u)
		lo, hi := min(c.off, int64(len(want))), min(c.off+c.n, int64(len(want)))
		if !bytes.Equal(got, want[lo:hi]) {
			t.Errorf("Read(%d, +%d) (lent %v): not the file's bytes", c.off, c.n, lent != nil)
		}
		if (lent != nil) != c.lent || (dev.loans > loans) != c.lent {
			t.Errorf("Read(%d, +%d) with Lend %v: lent %v, want %v", c.off, c.n, c.lend, lent != nil, c.lent)
		}
	}
	if dev.back != dev.loans {
		t.Errorf("%d loans, %d returned", dev.loans, dev.back)
	}
}

// TestXattrCopyOut: nil uio asks the size; a short uio is ERANGE and
// gets nothing; a long enough one gets the value.
func TestXattrCopyOut(t *testing.T) {
	v := []byte("value")
	if n, e := CopyOutXattr(v, nil); n != 5 || e != 0 {
		t.Errorf("size query: %d %v, want 5", n, e)
	}
	buf := make([]byte, 4)
	u := &kernel.Uio{Iov: [][]byte{buf}, Resid: 4}
	if n, e := CopyOutXattr(v, u); n != 5 || e != unix.ERANGE || u.Resid != 4 || buf[0] != 0 {
		t.Errorf("short uio: %d %v, resid %d; want 5 ERANGE and nothing moved", n, e, u.Resid)
	}
	buf = make([]byte, 8)
	u = &kernel.Uio{Iov: [][]byte{buf}, Resid: 8}
	if n, e := CopyOutXattr(v, u); n != 5 || e != 0 || string(buf[:5]) != "value" || u.Resid != 3 {
		t.Errorf("copy: %d %v %q", n, e, buf)
	}
	var names XattrNames
	if n, e := names.CopyOut(nil); n != 0 || e != 0 {
		t.Errorf("empty list: %d %v", n, e)
	}
	names.Add("user.a")
	names.Add("trusted.bc")
	buf = make([]byte, 17)
	u = &kernel.Uio{Iov: [][]byte{buf[:16]}, Resid: 16}
	if n, e := names.CopyOut(u); n != 18 || e != unix.ERANGE {
		t.Errorf("short list: %d %v, want 18 ERANGE", n, e)
	}
	buf = make([]byte, 18)
	u = &kernel.Uio{Iov: [][]byte{buf}, Resid: 18}
	if n, e := names.CopyOut(u); n != 18 || e != 0 || string(buf) != "user.a\x00trusted.bc\x00" {
		t.Errorf("list: %d %v %q", n, e, buf)
	}
}

// TestReadable: directories are EISDIR, files and links are read, the
// rest EOPNOTSUPP.
func TestReadable(t *testing.T) {
	for typ, want := range map[vfs.VType]unix.Errno{
		vfs.VREG: 0, vfs.VLNK: 0, vfs.VDIR: unix.EISDIR,
		vfs.VCHR: unix.EOPNOTSUPP, vfs.VFIFO: unix.EOPNOTSUPP, vfs.VSOCK: unix.EOPNOTSUPP,
	} {
		if e := Readable(&vfs.Vnode{Type: typ}); e != want {
			t.Errorf("type %v: %v, want %v", typ, e, want)
		}
	}
}

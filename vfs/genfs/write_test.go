package genfs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// wdev is a memDev that takes writes (sector-aligned only), logs them, and
// fails the writes that touch device offset failAt (when not negative).
type wdev struct {
	*memDev
	writes []string
	failAt int64
}

func newWdev(size, ss int) *wdev {
	d := &wdev{memDev: &memDev{b: make([]byte, size), ss: ss}, failAt: -1}
	for i := range d.b {
		d.b[i] = 0xee // what a block held before: never to be read as data
	}
	return d
}

func (d *wdev) WriteAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	ss := int64(d.ss)
	if off < 0 || off%ss != 0 || int64(len(p))%ss != 0 {
		return 0, unix.EINVAL
	}
	if d.failAt >= off && d.failAt < off+int64(len(p)) {
		return 0, unix.EIO
	}
	if off+int64(len(p)) > int64(len(d.b)) {
		return 0, unix.ENOSPC
	}
	d.writes = append(d.writes, fmt.Sprint(off, "+", len(p)))
	return copy(d.b[off:], p), 0
}

func (d *wdev) Sync(*kernel.LWP) unix.Errno { return 0 }
func (d *wdev) Size() int64                 { return int64(len(d.b)) }
func (d *wdev) ReadOnly() bool              { return false }

var _ bio.Device = (*wdev)(nil)

// fakeFile is a driver's file over a wdev: blocks of bs bytes allocated
// from the start of the device in order, as many contiguous ones as a
// write needs (up to limit in all). With frag set, a file's last block is
// allocated only to the fragment holding its end and grown in place (its
// new bytes zeroed) when a write needs more, as FFS does.
type fakeFile struct {
	dev    *wdev
	bs     int
	frag   int
	blocks map[int64]int64 // lbn to device byte address
	lens   map[int64]int   // allocated bytes of each block
	next   int64           // next free device address
	limit  int             // blocks that may be allocated
	size   uint64
	fresh  int // fresh extents handed out
}

func newFakeFile(dev *wdev, bs, frag int) *fakeFile {
	return &fakeFile{dev: dev, bs: bs, frag: frag, blocks: map[int64]int64{}, lens: map[int64]int{}, limit: 1 << 30}
}

func (f *fakeFile) roundFrag(n int) int {
	if f.frag == 0 {
		return f.bs
	}
	return (n + f.frag - 1) / f.frag * f.frag
}

func (f *fakeFile) alloc(_ *kernel.LWP, off int64, n int) (Extent, unix.Errno) {
	bs := int64(f.bs)
	lbn := off / bs
	last := (off + int64(n) - 1) / bs
	endIn := func(b int64) int { // bytes of block b the write needs
		return int(min(off+int64(n), (b+1)*bs) - b*bs)
	}
	if f.size > 0 {
		// Growing past a short last block makes it whole.
		old := int64(f.size-1) / bs
		if a, ok := f.blocks[old]; ok && old < lbn && f.lens[old] < f.bs {
			clear(f.dev.b[a+int64(f.lens[old]) : a+bs])
			f.lens[old] = f.bs
		}
	}
	if a, ok := f.blocks[lbn]; ok {
		if need := f.roundFrag(endIn(lbn)); need > f.lens[lbn] {
			clear(f.dev.b[a+int64(f.lens[lbn]) : a+int64(need)])
			f.lens[lbn] = need
		}
		return Extent{Addr: a, Len: f.lens[lbn]}, 0
	}
	k := int64(0)
	for lbn+k <= last && f.limit > 0 {
		if _, ok := f.blocks[lbn+k]; ok {
			break
		}
		f.blocks[lbn+k] = f.next + k*bs
		f.lens[lbn+k] = f.bs
		f.limit--
		k++
	}
	if k == 0 {
		return Extent{}, unix.ENOSPC
	}
	x := Extent{Addr: f.next, Len: int(k * bs), Fresh: true}
	if lbn+k-1 == last {
		f.lens[last] = f.roundFrag(endIn(last))
		x.Len = int((k-1)*bs) + f.lens[last]
	}
	f.next += k * bs
	f.fresh++
	return x, 0
}

func (f *fakeFile) writer() *Writer {
	return &Writer{Dev: f.dev, BSize: f.bs, Size: &f.size, MaxSize: 1 << 40, Alloc: f.alloc}
}

// content reads the file back through the read side.
func (f *fakeFile) content(t *testing.T) []byte {
	r := File{Dev: f.dev, BSize: f.bs, Size: f.size, Bmap: func(_ *kernel.LWP, lbn int64) (Run, unix.Errno) {
		if a, ok := f.blocks[lbn]; ok {
			return Run{Addr: a, Blocks: 1}, 0
		}
		return Run{Addr: Hole, Blocks: 1}, 0
	}}
	p := make([]byte, f.size)
	if n, e := r.ReadAt(nil, p, 0); e != 0 || n != len(p) {
		t.Fatalf("reading the file back: %d of %d bytes, %v", n, len(p), e)
	}
	return p
}

// tailsZero checks that the allocated bytes past the end of the file
// read as zeros: a fresh block is zero-filled around the data.
func (f *fakeFile) tailsZero(t *testing.T) {
	t.Helper()
	for lbn, a := range f.blocks {
		start := max(int64(f.size)-lbn*int64(f.bs), 0)
		for i := start; i < int64(f.lens[lbn]); i++ {
			if f.dev.b[a+i] != 0 {
				t.Fatalf("block %d: byte %d past the end of the file is %#x, want 0", lbn, i, f.dev.b[a+i])
			}
		}
	}
}

func writeUio(p []byte, off int64, split int) *kernel.Uio {
	split = min(split, len(p))
	return &kernel.Uio{Iov: [][]byte{p[:split], {}, p[split:]}, Offset: off, Resid: len(p), RW: kernel.UioWrite}
}

// TestWriteModel: random unaligned writes, spanning blocks, into holes and
// over old data, land as a model says, whatever the sector size, with
// short last fragments or whole blocks; fresh blocks are zero-filled
// around the data (never read) and old ones keep the bytes around it.
func TestWriteModel(t *testing.T) {
	for _, c := range []struct{ ss, frag int }{{512, 0}, {1024, 0}, {512, 1024}} {
		t.Run(fmt.Sprintf("sector%d-frag%d", c.ss, c.frag), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(c.ss+c.frag)))
			dev := newWdev(4<<20, c.ss)
			f := newFakeFile(dev, 4096, c.frag)
			var model []byte
			for i := range 300 {
				off := rng.Int64N(64 << 10)
				if i%5 == 0 {
					off = int64(len(model)) + rng.Int64N(3000) // just past the end
				}
				n := 1 + rng.IntN(3*4096)
				p := make([]byte, n)
				for j := range p {
					p[j] = byte(rng.Uint32() | 1) // never zero: zeros must come from the helper
				}
				u := writeUio(p, off, rng.IntN(n+1))
				if e := f.writer().Write(nil, u, 0); e != 0 || u.Resid != 0 || u.Offset != off+int64(n) {
					t.Fatalf("write %d at %d: %v, resid %d, offset %d", n, off, e, u.Resid, u.Offset)
				}
				if end := int(off) + n; end > len(model) {
					model = append(model, make([]byte, end-len(model))...)
				}
				copy(model[off:], p)
				if f.size != uint64(len(model)) {
					t.Fatalf("after write %d at %d: size %d, want %d", n, off, f.size, len(model))
				}
			}
			if got := f.content(t); !bytes.Equal(got, model) {
				t.Fatal("the file's bytes differ from the model")
			}
			f.tailsZero(t)
		})
	}
}

// TestWriteFreshNoRead: writing into fresh blocks reads nothing from the
// device, and contiguous fresh blocks go out in one request.
func TestWriteFreshNoRead(t *testing.T) {
	dev := newWdev(1<<20, 512)
	f := newFakeFile(dev, 4096, 0)
	p := bytes.Repeat([]byte{7}, 3*4096-100)
	if e := f.writer().Write(nil, writeUio(p, 50, 10), 0); e != 0 {
		t.Fatal(e)
	}
	if dev.reads != 0 || len(dev.writes) != 1 || dev.writes[0] != "0+12288" {
		t.Fatalf("fresh write: %d reads, writes %q; want none and one of 3 blocks", dev.reads, dev.writes)
	}
	// An old block: only the ragged sectors are read, and only the
	// sectors the data touches are written.
	dev.writes = nil
	if e := f.writer().Write(nil, writeUio([]byte("abc"), 4096+510, 1), 0); e != 0 {
		t.Fatal(e)
	}
	if dev.reads != 2 || len(dev.writes) != 1 || dev.writes[0] != "4096+1024" {
		t.Fatalf("overwrite across a sector boundary: %d reads, writes %q; want 2 and one of 2 sectors", dev.reads, dev.writes)
	}
	got := f.content(t)
	want := append(append(append(make([]byte, 50), p[:4096+510-50]...), "abc"...), p[4096+513-50:]...)
	if !bytes.Equal(got, want) {
		t.Fatal("the file's bytes differ")
	}
}

// TestWriteAppend: IO_APPEND writes at the end whatever the offset.
func TestWriteAppend(t *testing.T) {
	f := newFakeFile(newWdev(1<<20, 512), 4096, 1024)
	w := f.writer()
	if e := w.Write(nil, writeUio([]byte("hello"), 0, 2), 0); e != 0 {
		t.Fatal(e)
	}
	u := writeUio([]byte(", world"), 1, 3)
	if e := w.Write(nil, u, vfs.IO_APPEND); e != 0 || u.Offset != 12 {
		t.Fatalf("append: %v, offset %d, want 12", e, u.Offset)
	}
	if got := string(f.content(t)); got != "hello, world" {
		t.Fatalf("file is %q", got)
	}
	f.tailsZero(t)
}

// TestWriteEFBIG: a write ending past MaxSize is EFBIG and writes nothing;
// one ending at it is whole. A negative offset is EINVAL.
func TestWriteEFBIG(t *testing.T) {
	f := newFakeFile(newWdev(1<<20, 512), 4096, 0)
	w := f.writer()
	w.MaxSize = 10000
	u := writeUio(make([]byte, 100), 9901, 0)
	if e := w.Write(nil, u, 0); e != unix.EFBIG || u.Resid != 100 || f.size != 0 || len(f.blocks) != 0 {
		t.Fatalf("past MaxSize: %v, resid %d, size %d, %d blocks; want EFBIG and nothing", e, u.Resid, f.size, len(f.blocks))
	}
	if e := w.Write(nil, writeUio(make([]byte, 100), 9900, 0), 0); e != 0 || f.size != 10000 {
		t.Fatalf("up to MaxSize: %v, size %d", e, f.size)
	}
	if e := w.Write(nil, writeUio(make([]byte, 1), -1, 0), 0); e != unix.EINVAL {
		t.Fatalf("at -1: %v, want EINVAL", e)
	}
	if e := w.Zero(nil, 9999, 2); e != unix.EFBIG {
		t.Fatalf("Zero past MaxSize: %v, want EFBIG", e)
	}
}

// TestWriteENOSPC: running out of blocks after some progress is a short
// write that succeeds, and the size covers what was written; with no
// progress it is ENOSPC. An allocator's EFBIG (a block past what its map
// can hold) is short the same way.
func TestWriteENOSPC(t *testing.T) {
	for _, want := range []unix.Errno{unix.ENOSPC, unix.EFBIG} {
		f := newFakeFile(newWdev(1<<20, 512), 4096, 0)
		w := f.writer()
		if want == unix.ENOSPC {
			f.limit = 2
		} else {
			alloc := w.Alloc
			w.Alloc = func(l *kernel.LWP, off int64, n int) (Extent, unix.Errno) {
				if off >= 2*4096 {
					return Extent{}, unix.EFBIG
				}
				return alloc(l, off, min(n, 4096)) // one block at a time
			}
		}
		p := bytes.Repeat([]byte{1}, 3*4096)
		u := writeUio(p, 100, 5000)
		if e := w.Write(nil, u, 0); e != 0 || u.Resid != 4096+100 || u.Offset != 2*4096 || f.size != 2*4096 {
			t.Fatalf("%v after progress: %v, resid %d, offset %d, size %d; want a short write to 8192", want, e, u.Resid, u.Offset, f.size)
		}
		if e := w.Write(nil, u, 0); e != want || u.Resid != 4096+100 {
			t.Fatalf("%v with no progress: %v, resid %d", want, e, u.Resid)
		}
		if !bytes.Equal(f.content(t)[100:], p[:2*4096-100]) {
			t.Fatalf("%v: the written bytes differ", want)
		}
	}
}

// TestWriteDeviceError: a failed device write is the error, seen by
// IOError; the uio and the size cover exactly the extents that reached
// the device before it.
func TestWriteDeviceError(t *testing.T) {
	dev := newWdev(1<<20, 512)
	f := newFakeFile(dev, 4096, 0)
	w := f.writer()
	alloc := w.Alloc
	w.Alloc = func(l *kernel.LWP, off int64, n int) (Extent, unix.Errno) {
		return alloc(l, off, min(n, 4096))
	}
	var seen []string
	w.IOError = func(addr int64, n int, e unix.Errno) unix.Errno {
		seen = append(seen, fmt.Sprint(addr, n, e))
		return unix.ENXIO
	}
	dev.failAt = 4096 + 7
	p := bytes.Repeat([]byte{3}, 3*4096)
	u := writeUio(p, 0, 6000)
	if e := w.Write(nil, u, 0); e != unix.ENXIO || u.Resid != 2*4096 || u.Offset != 4096 || f.size != 4096 {
		t.Fatalf("failed write: %v, resid %d, offset %d, size %d; want ENXIO after the first block", e, u.Resid, u.Offset, f.size)
	}
	if len(seen) != 1 || seen[0] != fmt.Sprint(4096, 4096, unix.EIO) {
		t.Fatalf("IOError saw %q", seen)
	}
	// The uio resumes where the data stopped.
	dev.failAt = -1
	if e := w.Write(nil, u, 0); e != 0 || !bytes.Equal(f.content(t), p) {
		t.Fatalf("resumed write: %v, or the bytes differ", e)
	}
	// A failed read of a ragged sector stops an overwrite too.
	dev.failAt = -1
	w.Dev = failReads{dev}
	if e := w.Write(nil, writeUio([]byte("x"), 5, 0), 0); e != unix.ENXIO {
		t.Fatalf("overwrite with a failing read: %v, want ENXIO", e)
	}
}

type failReads struct{ *wdev }

func (failReads) ReadAt(*kernel.LWP, []byte, int64) (int, unix.Errno) { return 0, unix.EIO }

// TestWriteStaleBuffer: a block that was metadata in the buffer cache
// (dirty, or clean and valid) and is handed out again as a fresh data
// block loses its buffer: a later read through the cache sees the data,
// and a sync does not write the old bytes over it.
func TestWriteStaleBuffer(t *testing.T) {
	for _, dirty := range []bool{true, false} {
		dev := newWdev(1<<20, 512)
		c := bio.NewCache(nil, 1<<20)
		d := c.Attach(dev, "test")
		f := newFakeFile(dev, 4096, 1024)
		f.next = 8192 // the next block allocated was metadata
		// A metadata buffer starting at a fragment boundary inside it.
		b, e := d.Bread(nil, (8192+1024)/bio.DevBSize, 2048)
		if e != 0 {
			t.Fatal(e)
		}
		copy(b.Data, "stale metadata")
		if dirty {
			b.Bdwrite()
		} else {
			b.Brelse()
		}
		w := f.writer()
		w.Cache, w.Frag = d, 1024
		p := bytes.Repeat([]byte("data"), 1024)
		if e := w.Write(nil, writeUio(p, 0, 0), 0); e != 0 {
			t.Fatal(e)
		}
		if e := d.Sync(nil, true); e != 0 {
			t.Fatal(e)
		}
		b, e = d.Bread(nil, (8192+1024)/bio.DevBSize, 2048)
		if e != 0 {
			t.Fatal(e)
		}
		cached := bytes.Equal(b.Data, p[1024:3072])
		b.Brelse()
		if !cached || !bytes.Equal(f.content(t), p) {
			t.Fatalf("dirty %v: the stale buffer survived (cache has the data: %v)", dirty, cached)
		}
	}
}

// TestZero: Zero writes zeros through old and fresh blocks alike and
// raises the size; ZeroBytes zeroes an unaligned device range and keeps
// the bytes around it.
func TestZero(t *testing.T) {
	dev := newWdev(1<<20, 512)
	f := newFakeFile(dev, 4096, 0)
	w := f.writer()
	p := bytes.Repeat([]byte{9}, 5000)
	if e := w.Write(nil, writeUio(p, 0, 0), 0); e != 0 {
		t.Fatal(e)
	}
	if e := w.Zero(nil, 4000, 6000); e != 0 || f.size != 10000 {
		t.Fatalf("Zero: %v, size %d, want 10000", e, f.size)
	}
	want := append(p[:4000], make([]byte, 6000)...)
	if !bytes.Equal(f.content(t), want) {
		t.Fatal("Zero: the file's bytes differ")
	}
	f.tailsZero(t)

	dev = newWdev(8192, 1024)
	if e := ZeroBytes(nil, dev, 1000, 3000); e != 0 {
		t.Fatal(e)
	}
	for i, c := range dev.b {
		if in := i >= 1000 && i < 4000; (c == 0) != in {
			t.Fatalf("ZeroBytes(1000, 3000): byte %d is %#x", i, c)
		}
	}
	if e := ZeroBytes(nil, dev, 5000, 10); e != 0 || dev.b[4999] != 0xee || dev.b[5000] != 0 || dev.b[5009] != 0 || dev.b[5010] != 0xee {
		t.Fatalf("ZeroBytes inside a sector: %v", e)
	}
}

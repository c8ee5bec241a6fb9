package genfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// The write side (NetBSD's ufs_balloc_range and genfs_putpages, in our
// terms): file data goes from the uio straight to the device, one device
// write per extent the driver's allocator hands back, before VOP_WRITE
// returns. Nothing of it waits in a buffer, so the driver writes the
// inode that points at the data after the data is on the device.
//
// Ordering for a journaling driver (ext4's ordered mode, WAPBL): when
// Writer.Write returns, the data has been written to the device but not
// necessarily made durable by the host; the block pointers and the size
// the driver then changes go into its transaction as held buffers
// (bio.Buf.Hold). Before the commit block is written the driver syncs
// the device (bio.Device.Sync), or adds that sync as a barrier on the
// first buffer the commit writes (bio.Buf.AddBarrier), so the data is
// durable before any metadata that points at it. A fresh block is
// invisible until the transaction that allocated it commits, so a crash
// in between leaves only a free block with bytes in it.

// WriteDevice is what writing file data needs of a block device: every
// bio.Device is one. Requests are sector-aligned.
type WriteDevice interface {
	Device
	WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno)
}

// An Extent is what a Writer's Alloc callback says about the storage under
// a file offset: where it is on the device, how far it goes, and whether
// it was just allocated.
type Extent struct {
	// Addr is the device byte address of the first byte of the block
	// holding the offset asked for (block-aligned, not offset-aligned).
	Addr int64
	// Len is how many bytes from Addr lie contiguously on the device for
	// this write: at least to the write's end or the end of the first
	// block, whichever comes first; at most to the end of the block
	// holding the write's last byte. An FFS fragment run at the end of a
	// file is shorter than a block. A multiple of the sector size.
	Len int
	// Fresh says the extent was allocated for this write and never
	// written (or is preallocated and reads as zeros: an ext4 unwritten
	// extent, which the driver marks written): Write writes it whole,
	// zeros around the data, without reading it first, and drops any
	// copy the buffer cache still holds of what the blocks were before
	// they were freed.
	Fresh bool
}

// Writer is one file's data as a driver describes it for a write
// (VOP_WRITE). Drivers build one per write; it holds nothing between
// calls but the driver's size, which it updates in place.
type Writer struct {
	Dev WriteDevice
	// Cache is the buffer cache over Dev where the driver keeps its
	// metadata, or nil. A fresh extent loses whatever buffer starts in
	// it (see bio.Dev.Discard): the blocks may have been metadata.
	Cache *bio.Dev
	BSize int // logical block size in bytes
	// Frag is the allocation unit when it is smaller than a block (FFS's
	// fragment): cached metadata starts on its multiples. 0: BSize.
	Frag int
	// Size points at the driver's in-core file size. Write raises it as
	// each extent reaches the device, so Alloc always sees the size so
	// far, and on return it is the new size.
	Size *uint64
	// MaxSize is the largest file size the format allows: a write that
	// would end past it is EFBIG.
	MaxSize uint64
	// Alloc makes sure bytes [off, off+n) of the file, or a leading part
	// of them reaching at least the end of off's block, have storage
	// (allocating, growing a short last block, as the format does) and
	// returns it as an Extent. ENOSPC and EFBIG after some bytes were
	// written make the write short; on any error, what Alloc allocated
	// for bytes past the returned size is the driver's to trim (as
	// NetBSD's ufs_write truncates after a failed write).
	Alloc func(l *kernel.LWP, off int64, n int) (Extent, unix.Errno)
	// IOError, when set, sees every failed device request (n bytes at
	// device offset addr) and returns the error to report. A short
	// request comes as EIO.
	IOError func(addr int64, n int, e unix.Errno) unix.Errno
}

// maxChunk bounds the bytes one Alloc call is asked for, and so the
// bounce buffer of one write.
const maxChunk = 1 << 20

// Write writes the uio at its offset (at the end of the file for
// IO_APPEND) and raises the size to cover what it wrote. The whole write
// must end within MaxSize (EFBIG otherwise, nothing written). When
// allocation fails with ENOSPC or EFBIG after some bytes reached the
// device, the write is short and succeeds; any other error is returned
// with the uio and the size covering exactly the bytes that reached the
// device.
func (w *Writer) Write(l *kernel.LWP, u *kernel.Uio, ioflag int) unix.Errno {
	if u.RW != kernel.UioWrite {
		return unix.EINVAL
	}
	if ioflag&vfs.IO_APPEND != 0 {
		u.Offset = int64(*w.Size)
	}
	if u.Offset < 0 {
		return unix.EINVAL
	}
	if uint64(u.Offset)+uint64(u.Resid) > w.MaxSize {
		return unix.EFBIG
	}
	wrote, e := w.fill(l, u.Offset, int64(u.Resid), func(p []byte) { uioPeek(p, u) }, func(n int) { uioSkip(u, n) })
	if wrote && (e == unix.ENOSPC || e == unix.EFBIG) {
		return 0 // a short write
	}
	return e
}

// Zero writes zeros over bytes [off, off+n) of the file, allocating as
// Write does, and raises the size to cover them: for formats with no
// holes (FAT, exFAT), a file grown by truncate or by a write past its
// end; for the others, the stale tail of a last block that a write past
// the end of the file or a truncate up brings inside the file (the block
// exists, so nothing is allocated). An error after some progress is
// returned; the size covers what was zeroed.
func (w *Writer) Zero(l *kernel.LWP, off, n int64) unix.Errno {
	if off < 0 || n < 0 {
		return unix.EINVAL
	}
	if uint64(off)+uint64(n) > w.MaxSize {
		return unix.EFBIG
	}
	_, e := w.fill(l, off, n, func(p []byte) { clear(p) }, func(int) {})
	return e
}

// fill is Write's and Zero's loop: n bytes at file offset off, taken
// from put (which fills its argument with the next bytes without
// consuming them), extent by extent; done consumes what reached the
// device. It reports whether any byte reached the device.
func (w *Writer) fill(l *kernel.LWP, off, n int64, put func([]byte), done func(int)) (wrote bool, _ unix.Errno) {
	ss := w.Dev.SectorSize()
	if ss <= 0 {
		ss = bio.DevBSize
	}
	bs := int64(w.BSize)
	var buf []byte
	for n > 0 {
		ask := int(min(n, maxChunk))
		x, e := w.Alloc(l, off, ask)
		if e != 0 {
			return wrote, e
		}
		boff := off % bs
		if x.Addr < 0 || x.Addr%int64(ss) != 0 || x.Len%ss != 0 || int64(x.Len) <= boff {
			return wrote, unix.EIO // the driver's allocator broke its contract
		}
		c := int(min(int64(ask), int64(x.Len)-boff))
		var span []byte // whole sectors, at device address at
		var at int64
		if x.Fresh {
			w.discard(l, x)
			span, at = grow(&buf, x.Len), x.Addr
			clear(span[:boff])
			put(span[boff : boff+int64(c)])
			clear(span[boff+int64(c):])
		} else {
			lo := x.Addr + boff
			hi := lo + int64(c)
			at = lo / int64(ss) * int64(ss)
			end := (hi + int64(ss) - 1) / int64(ss) * int64(ss)
			span = grow(&buf, int(end-at))
			if e := w.readRagged(l, span, at, lo, hi, ss); e != 0 {
				return wrote, e
			}
			put(span[lo-at : hi-at])
		}
		if e := w.devWrite(l, span, at); e != 0 {
			return wrote, e
		}
		done(c)
		wrote = true
		off += int64(c)
		n -= int64(c)
		if uint64(off) > *w.Size {
			*w.Size = uint64(off)
		}
	}
	return wrote, 0
}

// readRagged reads into span (the whole sectors from device address at)
// the sectors that bytes [lo, hi) cover only in part.
func (w *Writer) readRagged(l *kernel.LWP, span []byte, at, lo, hi int64, ss int) unix.Errno {
	head := lo != at
	if head {
		if e := w.devRead(l, span[:ss], at); e != 0 {
			return e
		}
	}
	if end := at + int64(len(span)); hi != end && !(head && len(span) == ss) {
		if e := w.devRead(l, span[len(span)-ss:], end-int64(ss)); e != 0 {
			return e
		}
	}
	return 0
}

// discard drops the buffers that start inside fresh extent x.
func (w *Writer) discard(l *kernel.LWP, x Extent) {
	if w.Cache == nil {
		return
	}
	step := int64(w.Frag)
	if step <= 0 {
		step = int64(w.BSize)
	}
	for a := x.Addr; a < x.Addr+int64(x.Len); a += step {
		w.Cache.Discard(l, a/bio.DevBSize)
	}
}

func (w *Writer) devWrite(l *kernel.LWP, p []byte, off int64) unix.Errno {
	n, e := w.Dev.WriteAt(l, p, off)
	if e == 0 && n != len(p) {
		e = unix.EIO
	}
	if e != 0 && w.IOError != nil {
		e = w.IOError(off, len(p), e)
	}
	return e
}

func (w *Writer) devRead(l *kernel.LWP, p []byte, off int64) unix.Errno {
	e := readFull(l, w.Dev, p, off)
	if e != 0 && w.IOError != nil {
		e = w.IOError(off, len(p), e)
	}
	return e
}

// grow returns (*buf)[:n], reallocating it when it is too small.
func grow(buf *[]byte, n int) []byte {
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	return (*buf)[:n]
}

// uioPeek copies the next len(p) bytes of write uio u into p without
// consuming them: they are consumed (uioSkip) once they reach the
// device, so a failed write leaves the uio where the data stopped.
func uioPeek(p []byte, u *kernel.Uio) {
	for _, iov := range u.Iov {
		if len(p) == 0 {
			return
		}
		p = p[copy(p, iov):]
	}
	clear(p) // the uio's buffers hold less than its Resid says
}

// uioSkip consumes n bytes of u.
func uioSkip(u *kernel.Uio, n int) {
	u.Resid -= n
	u.Offset += int64(n)
	for n > 0 && len(u.Iov) > 0 {
		c := min(n, len(u.Iov[0]))
		u.Iov[0] = u.Iov[0][c:]
		n -= c
		if len(u.Iov[0]) == 0 {
			u.Iov = u.Iov[1:]
		}
	}
}

// ZeroBytes writes n zero bytes at byte offset off of dev, which takes
// sector-aligned requests only: the ragged head and tail sectors are read
// and written back with their other bytes kept. For a driver zeroing a
// block's tail past a new end of file (FFS keeps those bytes zero, so
// that a later write past the end or a truncate up reads zeros there).
func ZeroBytes(l *kernel.LWP, dev WriteDevice, off, n int64) unix.Errno {
	if off < 0 || n < 0 {
		return unix.EINVAL
	}
	w := Writer{Dev: dev}
	ss := int64(dev.SectorSize())
	if ss <= 0 {
		ss = bio.DevBSize
	}
	var buf []byte
	for n > 0 {
		at := off / ss * ss
		c := min(n, maxChunk-(off-at))
		end := (off + c + ss - 1) / ss * ss
		span := grow(&buf, int(end-at))
		if e := w.readRagged(l, span, at, off, off+c, int(ss)); e != 0 {
			return e
		}
		clear(span[off-at : off-at+c])
		if e := w.devWrite(l, span, at); e != 0 {
			return e
		}
		off += c
		n -= c
	}
	return 0
}

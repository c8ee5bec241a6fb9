package genfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// Device is what reading file data needs of a block device: every
// bio.Device is one. Requests are sector-aligned (see ReadBytes).
type Device interface {
	ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno)
	SectorSize() int
}

// Hole is the Run.Addr of blocks that read as zeros (a hole, an
// unwritten extent).
const Hole = -1

// A Run is what a Bmap callback says about a logical block (VOP_BMAP's
// answer): where its bytes are and how many blocks, counting it, follow
// contiguously.
type Run struct {
	// Addr is the device byte offset of the block's first byte, or Hole.
	Addr int64
	// Blocks is the run's length in blocks from the one asked for (at
	// least 1; a hole may say how far it goes, however far).
	Blocks int64
	// Dev, when not nil, is where this run is read from instead of the
	// file's device: the device holds other bytes there than the file
	// does (ext2fs's journal overlay). Such a run is never lent.
	Dev Device
}

// File is one file's data as a driver describes it for a read. Drivers
// build one per read; it holds nothing between calls.
type File struct {
	Dev   Device
	BSize int    // logical block size in bytes
	Size  uint64 // the file size: nothing past it is read
	// Bmap maps logical block lbn (file offset / BSize) to its Run.
	Bmap func(l *kernel.LWP, lbn int64) (Run, unix.Errno)
	// Lend allows File.Read to hand a lending uio the device's own
	// bytes: only when the device holds the newest copy of every block
	// (a read-only mount: nothing newer waits in a buffer).
	Lend bool
	// IOError, when set, sees every failed device read (n bytes at
	// device offset addr) and returns the error to report: the driver's
	// place to log it. A short read comes as EIO.
	IOError func(addr int64, n int, e unix.Errno) unix.Errno
}

// ReadAt reads file data at off into p (the core of VOP_READ): holes read
// as zeros, each run is one device read straight into p, and nothing past
// the file size is returned. It returns the byte count, short only at the
// end of the file or with an error.
func (f *File) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if uint64(off) >= f.Size {
		return 0, 0
	}
	if rest := f.Size - uint64(off); uint64(len(p)) > rest {
		p = p[:rest]
	}
	bs := int64(f.BSize)
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		r, e := f.Bmap(l, pos/bs)
		if e != 0 {
			return done, e
		}
		skip := pos % bs
		n := int64(len(p) - done)
		// Compare in blocks: a hole's run may be too long to count in bytes.
		if blocks := max(r.Blocks, 1); blocks < (skip+n+bs-1)/bs {
			n = blocks*bs - skip
		}
		dst := p[done : done+int(n)]
		if r.Addr < 0 {
			clear(dst)
		} else {
			dev := f.Dev
			if r.Dev != nil {
				dev = r.Dev
			}
			if e := ReadBytes(l, dev, dst, r.Addr+skip); e != 0 {
				if f.IOError != nil {
					e = f.IOError(r.Addr+skip, len(dst), e)
				}
				return done, e
			}
		}
		done += int(n)
	}
	return done, 0
}

// Read serves a read uio at its offset (VOP_READ). When the file allows
// lending and the uio takes loans, a read that the device holds in one
// run, up to the end of the file, gets the device's own bytes instead of
// a copy; otherwise the data goes from the device straight into the uio's
// buffers.
func (f *File) Read(l *kernel.LWP, u *kernel.Uio) unix.Errno {
	if f.Lend && u.RW == kernel.UioRead && u.Lendable() && f.lend(l, u) {
		return 0
	}
	return ReadUio(l, u, f.ReadAt)
}

// lend lends u the whole read, up to the end of the file, when it lies in
// one run of the file's device, and reports whether it did.
func (f *File) lend(l *kernel.LWP, u *kernel.Uio) bool {
	if u.Offset < 0 || uint64(u.Offset) >= f.Size {
		return false
	}
	n := int64(min(uint64(u.Resid), f.Size-uint64(u.Offset)))
	bs := int64(f.BSize)
	r, e := f.Bmap(l, u.Offset/bs)
	if e != 0 || r.Addr < 0 || r.Dev != nil {
		return false
	}
	skip := u.Offset % bs
	if r.Blocks < (skip+n+bs-1)/bs {
		return false // more than one run
	}
	return bio.LendTo(l, f.Dev, u, r.Addr+skip, int(n))
}

// Readable is VOP_READ's answer by vnode type for a file system whose
// regular files and symbolic links hold data: 0 for those, EISDIR for a
// directory, EOPNOTSUPP for the rest (devices, FIFOs and sockets are
// served above the driver).
func Readable(vp *vfs.Vnode) unix.Errno {
	switch vp.Type {
	case vfs.VDIR:
		return unix.EISDIR
	case vfs.VREG, vfs.VLNK:
		return 0
	}
	return unix.EOPNOTSUPP
}

// ReadUio serves a read uio through readAt, straight into the uio's
// buffers one after the other, until the uio is full or readAt comes
// back short (the end of the file). Drivers whose data no block map
// describes (inline data) use it with a ReadAt of their own.
func ReadUio(l *kernel.LWP, u *kernel.Uio, readAt func(l *kernel.LWP, p []byte, off int64) (int, unix.Errno)) unix.Errno {
	if u.RW != kernel.UioRead || u.Offset < 0 {
		return unix.EINVAL
	}
	for u.Resid > 0 && len(u.Iov) > 0 {
		iov := u.Iov[0]
		if len(iov) == 0 {
			u.Iov = u.Iov[1:]
			continue
		}
		want := min(len(iov), u.Resid)
		n, e := readAt(l, iov[:want], u.Offset)
		u.Iov[0] = iov[n:]
		u.Resid -= n
		u.Offset += int64(n)
		if e != 0 {
			return e
		}
		if n < want {
			return 0 // end of file
		}
	}
	return 0
}

// ReadBytes reads len(p) bytes at byte offset off of dev, which takes
// sector-aligned requests only: the aligned middle goes straight into p,
// a ragged head or tail through a bounce buffer (a range inside one or two
// sectors with no whole sector in it, in one read). A read that comes back
// short (past the end of the device) is EIO.
func ReadBytes(l *kernel.LWP, dev Device, p []byte, off int64) unix.Errno {
	if off < 0 {
		return unix.EINVAL
	}
	if len(p) == 0 {
		return 0
	}
	ss := int64(dev.SectorSize())
	if ss <= 0 {
		ss = bio.DevBSize
	}
	end := off + int64(len(p))
	as := (off + ss - 1) / ss * ss // first whole sector
	ae := end / ss * ss            // end of the last whole sector
	if as >= ae {
		lo, hi := off/ss*ss, (end+ss-1)/ss*ss
		tmp := make([]byte, hi-lo)
		if e := readFull(l, dev, tmp, lo); e != 0 {
			return e
		}
		copy(p, tmp[off-lo:])
		return 0
	}
	if e := readFull(l, dev, p[as-off:ae-off], as); e != 0 {
		return e
	}
	var sec []byte
	if as > off {
		sec = make([]byte, ss)
		if e := readFull(l, dev, sec, as-ss); e != 0 {
			return e
		}
		copy(p[:as-off], sec[ss-(as-off):])
	}
	if end > ae {
		if sec == nil {
			sec = make([]byte, ss)
		}
		if e := readFull(l, dev, sec, ae); e != 0 {
			return e
		}
		copy(p[ae-off:], sec)
	}
	return 0
}

func readFull(l *kernel.LWP, dev Device, p []byte, off int64) unix.Errno {
	n, e := dev.ReadAt(l, p, off)
	if e != 0 {
		return e
	}
	if n != len(p) {
		return unix.EIO
	}
	return 0
}

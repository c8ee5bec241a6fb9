package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
)

// UioRW is the direction of a uio.
type UioRW int

const (
	// UioRead moves data from the kernel into the uio's buffers.
	UioRead UioRW = iota
	// UioWrite moves data from the uio's buffers into the kernel.
	UioWrite
)

// Uio describes a transfer between kernel data and a caller's buffers
// (struct uio). Offset is the file (or directory cookie) offset, advanced
// by Uiomove as Resid shrinks. The address space is local memory.
type Uio struct {
	Iov    [][]byte
	Offset int64
	Resid  int
	RW     UioRW

	// A read set up with UioSetupLend (buf, its own buffer, not nil) may
	// take a driver's bytes in place of a copy (see Lend): lent, from
	// lender.
	buf    []byte
	lent   []byte
	lender Lender

	// Sink, when not nil, takes what a VOP emits as records (the VFS's
	// directory entries) in place of bytes moved to Iov: the VFS sets it
	// and its emitters hand their records to it.
	Sink any

	one [1][]byte
}

var uioPool = sync.Pool{New: func() any { return new(Uio) }}

// UioSetup returns a uio over buf at off (rump_uio_setup). Release it with
// UioFree. It allocates nothing in steady state.
func UioSetup(buf []byte, off int64, rw UioRW) *Uio {
	u := uioPool.Get().(*Uio)
	u.Init(buf, off, rw)
	return u
}

// UioSetupLend is UioSetup for a read whose caller can take the data in
// place of a copy, as NetBSD's UBC loans pages: a driver whose bytes lie
// in memory that outlives the request (a mapped image) hands them over
// with Lend, and the caller finds them with UioLent instead of in buf.
func UioSetupLend(buf []byte, off int64) *Uio {
	u := UioSetup(buf, off, UioRead)
	u.buf = buf
	return u
}

// Init points u at one buffer.
func (u *Uio) Init(buf []byte, off int64, rw UioRW) {
	u.one[0] = buf
	u.Iov = u.one[:]
	u.Offset = off
	u.Resid = len(buf)
	u.RW = rw
	u.buf, u.lent, u.lender = nil, nil, nil
	u.Sink = nil
}

// Lendable reports whether Lend may succeed: a lending read with nothing
// moved yet.
func (u *Uio) Lendable() bool {
	return u.buf != nil && u.lent == nil && u.Resid == len(u.buf) && len(u.Iov) == 1
}

// A Lender takes back what it lent, once the borrower is done with it.
type Lender interface {
	Unlend(p []byte)
}

// Lend gives p, which stays from's, to a Lendable uio in place of moving
// it: p counts as moved from the start of the transfer. It reports whether
// p was taken (no longer than Resid); if not, the driver moves the data as
// usual. The caller hands p back to from with Unlend when done. A later
// Uiomove copies the lent bytes into the buffer first (and hands them
// back), so a driver that lends and then moves more is only slower, never
// wrong.
func (u *Uio) Lend(p []byte, from Lender) bool {
	if !u.Lendable() || len(p) == 0 || len(p) > u.Resid {
		return false
	}
	u.lent, u.lender = p, from
	u.Iov[0] = u.Iov[0][len(p):]
	u.Resid -= len(p)
	u.Offset += int64(len(p))
	return true
}

// UioLent returns the bytes a driver lent to u and who to hand them back
// to, or nil when the data is in the buffer UioSetupLend was given.
func UioLent(u *Uio) ([]byte, Lender) { return u.lent, u.lender }

// unlend moves lent bytes into the buffer, where the rest will follow.
func (u *Uio) unlend() {
	copy(u.buf, u.lent)
	u.lender.Unlend(u.lent)
	u.lent, u.lender = nil, nil
}

// UioGetResid returns the bytes not yet moved.
func UioGetResid(u *Uio) int { return u.Resid }

// UioGetOff returns the current offset.
func UioGetOff(u *Uio) int64 { return u.Offset }

// UioFree releases u and returns its residual count (rump_uio_free).
func UioFree(u *Uio) int {
	r := u.Resid
	u.one[0] = nil
	u.Iov = nil
	u.buf, u.lent, u.lender = nil, nil, nil
	u.Sink = nil
	uioPool.Put(u)
	return r
}

// Uiomove moves up to len(p) bytes between kernel buffer p and u: into the
// caller's buffers for UioRead, out of them for UioWrite. It returns the
// byte count moved.
func Uiomove(p []byte, u *Uio) (int, unix.Errno) {
	if u.lent != nil {
		u.unlend()
	}
	moved := 0
	for len(p) > 0 && u.Resid > 0 {
		if len(u.Iov) == 0 {
			return moved, unix.EFAULT
		}
		iov := u.Iov[0]
		if len(iov) == 0 {
			u.Iov = u.Iov[1:]
			continue
		}
		var n int
		if u.RW == UioRead {
			n = copy(iov, p)
		} else {
			n = copy(p, iov)
		}
		if n > u.Resid {
			n = u.Resid
		}
		u.Iov[0] = iov[n:]
		p = p[n:]
		u.Resid -= n
		u.Offset += int64(n)
		moved += n
	}
	return moved, 0
}

// UiomoveZero moves n zero bytes into u (a hole being read).
func UiomoveZero(n int, u *Uio) (int, unix.Errno) {
	var zero [4096]byte
	moved := 0
	for n > 0 && u.Resid > 0 {
		c := min(n, len(zero))
		m, e := Uiomove(zero[:c], u)
		moved += m
		n -= m
		if e != 0 || m == 0 {
			return moved, e
		}
	}
	return moved, 0
}

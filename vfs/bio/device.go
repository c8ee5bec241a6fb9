package bio

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// DevBSize is the unit of block numbers (DEV_BSIZE): blkno*DevBSize is the
// byte offset on the device.
const DevBSize = 512

// Device is a block device: an image file, a window of one, or a fake in
// tests. Offsets and lengths are multiples of SectorSize (EINVAL
// otherwise). Implementations release l's CPU around blocking host I/O
// (l.BlockBegin / l.BlockEnd); l may be nil.
type Device interface {
	// ReadAt reads len(p) bytes at off. Reading at or past the end
	// returns 0 bytes; a read straddling the end is cut short.
	ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno)
	// WriteAt writes p at off: EROFS on a read-only device, ENOSPC past
	// the end.
	WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno)
	// Sync makes written data durable on the host.
	Sync(l *kernel.LWP) unix.Errno
	// Size is the device size in bytes.
	Size() int64
	// SectorSize is the I/O granularity in bytes (512 unless told).
	SectorSize() int
	// ReadOnly reports whether writes are refused.
	ReadOnly() bool
}

// Lender is a Device that can hand out its bytes in place of copying them
// (etfs's read-only mapping of the host file), for reads whose uio takes
// loans (kernel.UioSetupLend). Lend returns the n bytes at off, or false
// when it will not; the bytes stay valid while the device is open, and
// come back through Unlend.
type Lender interface {
	Lend(l *kernel.LWP, off int64, n int) ([]byte, bool)
	kernel.Lender
}

// LendTo lends u the n bytes at off of dev, when dev is a Lender that
// lends them and u takes them, and reports whether it did; otherwise the
// driver reads as usual.
func LendTo(l *kernel.LWP, dev any, u *kernel.Uio, off int64, n int) bool {
	ld, ok := dev.(Lender)
	if !ok {
		return false
	}
	b, ok := ld.Lend(l, off, n)
	if !ok {
		return false
	}
	if !u.Lend(b, ld) {
		ld.Unlend(b)
		return false
	}
	return true
}

package bio

import (
	"errors"
	"io"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// ReaderDevice is a read-only Device over an io.ReaderAt (an image file,
// or a window of one): the one way the tools and tests that read an image
// without a kernel (fsck, info) give it to a driver.
type ReaderDevice struct {
	R    io.ReaderAt
	Len  int64
	Sect int // sector size; 0 means DevBSize
}

// NewReaderDevice is a ReaderDevice over the n bytes of r.
func NewReaderDevice(r io.ReaderAt, n int64) *ReaderDevice {
	return &ReaderDevice{R: r, Len: n}
}

func (d *ReaderDevice) aligned(p []byte, off int64) bool {
	ss := int64(d.SectorSize())
	return off >= 0 && off%ss == 0 && int64(len(p))%ss == 0
}

// ReadAt reads len(p) bytes at off, cut short at the end.
func (d *ReaderDevice) ReadAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if !d.aligned(p, off) {
		return 0, unix.EINVAL
	}
	if off >= d.Len {
		return 0, 0
	}
	if rest := d.Len - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := d.R.ReadAt(p, off)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(p)) {
		return n, unix.EIO
	}
	return n, 0
}

// WriteAt refuses: the device is read-only.
func (d *ReaderDevice) WriteAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if !d.aligned(p, off) {
		return 0, unix.EINVAL
	}
	return 0, unix.EROFS
}

// Sync has nothing to do.
func (d *ReaderDevice) Sync(*kernel.LWP) unix.Errno { return 0 }

// Size is the device size in bytes.
func (d *ReaderDevice) Size() int64 { return d.Len }

// SectorSize is the I/O granularity.
func (d *ReaderDevice) SectorSize() int {
	if d.Sect == 0 {
		return DevBSize
	}
	return d.Sect
}

// ReadOnly is always true.
func (d *ReaderDevice) ReadOnly() bool { return true }

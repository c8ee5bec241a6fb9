package ffs

import (
	"errors"
	"io"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// ReaderDevice is a read-only device over an io.ReaderAt (an image file),
// for tools and tests that read an image without a kernel. It satisfies
// ufs.Device; bio.Device implementations do too.
type ReaderDevice struct {
	R    io.ReaderAt
	Len  int64
	Sect int // sector size; 0 means 512
}

// ReadAt reads len(p) bytes at off, cut short at the end.
func (d *ReaderDevice) ReadAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	ss := int64(d.SectorSize())
	if off < 0 || off%ss != 0 || int64(len(p))%ss != 0 {
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

// Size is the device size in bytes.
func (d *ReaderDevice) Size() int64 { return d.Len }

// SectorSize is the I/O granularity.
func (d *ReaderDevice) SectorSize() int {
	if d.Sect == 0 {
		return 512
	}
	return d.Sect
}

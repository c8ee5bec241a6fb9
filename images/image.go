package images

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// DefaultSectorSize is the sector size of image files (and of devices that
// do not say otherwise).
const DefaultSectorSize = 512

// Image is an open raw image file or block device.
type Image struct {
	f          *os.File
	path       string
	size       int64
	sectorSize int
	writable   bool
	device     bool
}

// Open opens path read-only (O_RDONLY, so that forensic use never changes a
// byte) unless writable. A block device's size and logical sector size come
// from the device.
func Open(path string, writable bool) (*Image, error) {
	flags := os.O_RDONLY
	if writable {
		flags = os.O_RDWR
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	img := &Image{f: f, path: path, size: st.Size(), sectorSize: DefaultSectorSize, writable: writable}
	switch m := st.Mode(); {
	case m.IsRegular():
	case m&os.ModeDevice != 0:
		img.device = true
		// Seeking to the end gives a block device's size on Linux,
		// macOS and the BSDs alike.
		end, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: size of device: %w", path, err)
		}
		img.size = end
		if ss := deviceSectorSize(f); ss > 0 {
			img.sectorSize = ss
		}
	default:
		f.Close()
		return nil, errnof(unix.EINVAL, "%s: not a regular file or a block device", path)
	}
	return img, nil
}

// Path is the host path the image was opened from.
func (img *Image) Path() string { return img.path }

// Size is the image size in bytes.
func (img *Image) Size() int64 { return img.size }

// SectorSize is the logical sector size in bytes.
func (img *Image) SectorSize() int { return img.sectorSize }

// Writable reports whether the image was opened read-write.
func (img *Image) Writable() bool { return img.writable }

// IsDevice reports whether the image is a block device.
func (img *Image) IsDevice() bool { return img.device }

// File is the open host file, for callers that register it elsewhere.
func (img *Image) File() *os.File { return img.f }

// ReadAt reads with pread. A read at or past the end returns io.EOF, as
// io.ReaderAt requires.
func (img *Image) ReadAt(p []byte, off int64) (int, error) {
	return img.f.ReadAt(p, off)
}

// WriteAt writes with pwrite; EROFS on a read-only image.
func (img *Image) WriteAt(p []byte, off int64) (int, error) {
	if !img.writable {
		return 0, unix.EROFS
	}
	return img.f.WriteAt(p, off)
}

// Close closes the host file.
func (img *Image) Close() error { return img.f.Close() }

// errnoError is an error that reads as its message alone and matches its
// errno with errors.Is, so a CLI prints one clean line and a kernel caller
// still gets the errno.
type errnoError struct {
	msg   string
	errno unix.Errno
}

func (e *errnoError) Error() string { return e.msg }
func (e *errnoError) Unwrap() error { return e.errno }

func errnof(errno unix.Errno, format string, args ...any) error {
	return &errnoError{fmt.Sprintf(format, args...), errno}
}

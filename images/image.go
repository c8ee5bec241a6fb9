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
	// disk is the virtual disk of a container (see Container), nil for
	// a raw image: reads go through it and size is its size.
	disk      vdisk
	container *Container
}

// Open opens path read-only (O_RDONLY, so that forensic use never changes a
// byte) unless writable. A block device's size and logical sector size come
// from the device. Only regular files and block devices are images: a FIFO,
// socket, character device or directory is refused at once, without
// blocking (see OpenHostFile).
//
// A regular file holding a container (qcow2, VHD, VHDX, VMDK, split raw,
// told by its own headers) opens as the virtual disk it holds; a
// container cannot be opened writable (EROFS).
func Open(path string, writable bool) (*Image, error) {
	f, err := OpenHostFile(path, writable)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	img := &Image{f: f, path: path, size: st.Size(), sectorSize: DefaultSectorSize, writable: writable}
	if st.Mode()&os.ModeDevice != 0 {
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
		return img, nil
	}
	d, c, err := openContainer(f, path, img.size, &chain{seen: map[[2]uint64]bool{}})
	if err != nil {
		f.Close()
		return nil, err
	}
	if d != nil {
		if writable {
			d.Close()
			return nil, errnof(unix.EROFS, "%s: is a %s image; rumpfs reads containers only: open it read-only (-o ro), or convert it to raw (qemu-img convert -O raw)", path, c.Format)
		}
		img.disk, img.container, img.size = d, c, c.VirtualSize
	}
	return img, nil
}

// OpenHostFile opens a host file that is to be read as an image (or an
// external journal): a regular file or a block device. Anything else is
// refused with EINVAL and a message naming the path and what it is, and
// never waits: the path is checked before it is opened (a character
// device is not even opened), the open is O_NONBLOCK so that a FIFO
// swapped in meanwhile cannot hold open(2) until a writer comes, what was
// opened is checked again, and O_NONBLOCK is cleared after.
func OpenHostFile(path string, writable bool) (*os.File, error) {
	if err := CheckHostFile(path); err != nil {
		return nil, err
	}
	flags := unix.O_RDONLY
	if writable {
		flags = unix.O_RDWR
	}
	fd, err := unix.Open(path, flags|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if !imageMode(uint32(st.Mode)) {
		unix.Close(fd)
		return nil, notAnImage(path, uint32(st.Mode))
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// CheckHostFile says, without opening it, whether path can be an image:
// nil for a regular file or a block device, the error OpenHostFile would
// give for anything else, the stat error when there is nothing there.
func CheckHostFile(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if !imageMode(uint32(st.Mode)) {
		return notAnImage(path, uint32(st.Mode))
	}
	return nil
}

func imageMode(mode uint32) bool {
	m := mode & unix.S_IFMT
	return m == unix.S_IFREG || m == unix.S_IFBLK
}

func notAnImage(path string, mode uint32) error {
	what := "an unusual kind of file"
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		what = "a FIFO (named pipe)"
	case unix.S_IFSOCK:
		what = "a socket"
	case unix.S_IFCHR:
		what = "a character device"
	case unix.S_IFDIR:
		what = "a directory"
	}
	return errnof(unix.EINVAL, "%s: is %s, not an image (a regular file or a block device)", path, what)
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

// Container describes the container the image is stored in, nil for a
// raw image or a device.
func (img *Image) Container() *Container { return img.container }

// File is the open host file, for callers that register it elsewhere. For
// a container it is the container file, not the virtual disk.
func (img *Image) File() *os.File { return img.f }

// ReadAt reads with pread. A read at or past the end returns io.EOF, as
// io.ReaderAt requires.
func (img *Image) ReadAt(p []byte, off int64) (int, error) {
	if img.disk == nil {
		return img.f.ReadAt(p, off)
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	if off >= img.size {
		return 0, io.EOF
	}
	want := p[:min(int64(len(p)), img.size-off)]
	n, err := img.disk.ReadAt(want, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// WriteAt writes with pwrite; EROFS on a read-only image.
func (img *Image) WriteAt(p []byte, off int64) (int, error) {
	if !img.writable || img.disk != nil {
		return 0, unix.EROFS
	}
	return img.f.WriteAt(p, off)
}

// Close closes the host file.
func (img *Image) Close() error {
	if img.disk != nil {
		return img.disk.Close() // it owns f
	}
	return img.f.Close()
}

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

package images

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Container describes the virtual-disk format an image file is stored in
// (qcow2, VHD, VHDX, VMDK, split raw): what Layout, probing and selectors
// read is the virtual disk it presents, not the bytes of the file.
type Container struct {
	Format      string     `json:"format"`              // "qcow2", "vhd", "vhdx", "vmdk", "split raw"
	Subformat   string     `json:"subformat,omitempty"` // "v3", "dynamic", "zlib compressed clusters"...
	Path        string     `json:"path"`
	VirtualSize int64      `json:"virtualSize"`
	Files       []string   `json:"files,omitempty"`     // split raw: every segment
	Snapshots   []string   `json:"snapshots,omitempty"` // qcow2 internal snapshots by name (not selectable yet)
	Backing     *Container `json:"backing,omitempty"`   // the layer below, raw or not
}

// String is the one-line summary `rumpfs info` and `parts` print.
func (c *Container) String() string {
	s := c.Format
	if c.Subformat != "" {
		s += " (" + c.Subformat + ")"
	}
	s += ", virtual size " + fmtInt(c.VirtualSize)
	if len(c.Files) > 0 {
		s += ", " + fmtInt(int64(len(c.Files))) + " segments"
	}
	if len(c.Snapshots) > 0 {
		s += ", internal snapshots " + strings.Join(c.Snapshots, " ")
	}
	for b := c.Backing; b != nil; b = b.Backing {
		s += ", backing " + b.Path + " (" + b.Format + ")"
	}
	return s
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

// vdisk is an open virtual disk. ReadAt is only asked for bytes inside the
// virtual size (Image clips), and must be safe for concurrent use.
type vdisk interface {
	io.ReaderAt
	Close() error
}

// maxChain bounds a chain of backing files; a loop is caught sooner by
// file identity.
const maxChain = 16

// chain remembers the files of one backing chain, to refuse loops.
type chain struct {
	seen map[[2]uint64]bool
}

func (c *chain) enter(path string, f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	id := [2]uint64{uint64(st.Dev), uint64(st.Ino)}
	if c.seen[id] {
		return errnof(unix.EIO, "%s: backing file chain loops back to this file", path)
	}
	if len(c.seen) >= maxChain {
		return errnof(unix.EIO, "%s: backing file chain longer than %d files", path, maxChain)
	}
	c.seen[id] = true
	return nil
}

// openContainer recognises a container in the open regular file f by its
// own headers (split raw, which has none, by IMAGE.001 and an IMAGE.002
// beside it). It returns a nil vdisk for a raw image. The vdisk owns f
// only on success; f stays the caller's to close either way.
func openContainer(f *os.File, path string, size int64, ch *chain) (vdisk, *Container, error) {
	if err := ch.enter(path, f); err != nil {
		return nil, nil, err
	}
	var head [512]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, []byte(qcow2Magic)):
		return openQcow2(f, path, size, ch)
	case bytes.HasPrefix(h, []byte(vmdkMagic)):
		return openVMDK(f, path, size)
	case bytes.HasPrefix(h, []byte(vhdxMagic)):
		return openVHDX(f, path, size)
	case bytes.HasPrefix(h, []byte(vmdkDescMagic)):
		return openVMDKDescriptor(f, path, size)
	case bytes.HasPrefix(h, []byte(vhdCookie)):
		return openVHD(f, path, size, ch)
	}
	if size >= 512 {
		var foot [512]byte
		if _, err := f.ReadAt(foot[:], size-512); err == nil && bytes.HasPrefix(foot[:], []byte(vhdCookie)) {
			return openVHD(f, path, size, ch)
		}
	}
	if strings.HasSuffix(path, ".001") {
		if _, err := os.Stat(strings.TrimSuffix(path, ".001") + ".002"); err == nil {
			return openSplit(f, path, size)
		}
	}
	return nil, nil, nil
}

// openBacking opens a backing file named in a container header: relative
// names are relative to the directory of the image naming them. format is
// what the header says ("raw" turns probing off, as qemu does), "" if it
// says nothing.
func openBacking(of, name, format string, ch *chain) (vdisk, *Container, int64, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(of), name)
	}
	f, err := OpenHostFile(name, false)
	if err != nil {
		return nil, nil, 0, errnof(unix.ENOENT, "%s: backing file: %v", of, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	size := st.Size()
	if st.Mode()&os.ModeDevice != 0 {
		if size, err = f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, nil, 0, err
		}
	}
	if format != "raw" {
		d, c, err := openContainer(f, name, size, ch)
		if err != nil {
			f.Close()
			return nil, nil, 0, err
		}
		if d != nil {
			return d, c, c.VirtualSize, nil
		}
	}
	return f, &Container{Format: "raw", Path: name, VirtualSize: size}, size, nil
}

// readLayer reads [off, off+len(p)) of a layer of size bytes, zeros past
// its end: a backing file shorter than the image over it reads as zeros.
func readLayer(r io.ReaderAt, size int64, p []byte, off int64) error {
	n := 0
	if off < size {
		want := p[:min(int64(len(p)), size-off)]
		var err error
		n, err = r.ReadAt(want, off)
		if n < len(want) {
			if err == nil || err == io.EOF {
				err = unix.EIO
			}
			return err
		}
	}
	clear(p[n:])
	return nil
}

// readPart reads exactly len(p) bytes of a container file at off; a short
// read is EIO naming what was being read.
func readPart(f io.ReaderAt, path, what string, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return errnof(unix.EIO, "%s: %s at byte %d lies past the end of the file", path, what, off)
	}
	return errnof(unix.EIO, "%s: reading %s at byte %d: %v", path, what, off, err)
}

// tableCache keeps the last tables read (qcow2 L2 tables, VMDK grain
// tables) by file offset, up to a fixed count: memory is bounded by the
// cache, not by the image.
type tableCache[T any] struct {
	mu    sync.Mutex
	max   int
	m     map[uint64][]T // under mu
	order []uint64       // insertion order, for eviction; under mu
}

func newTableCache[T any](max int) *tableCache[T] {
	return &tableCache[T]{max: max, m: map[uint64][]T{}}
}

// get returns the table at off, reading it with read on a miss.
func (c *tableCache[T]) get(off uint64, read func() ([]T, error)) ([]T, error) {
	c.mu.Lock()
	t := c.m[off]
	c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := read()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m[off] == nil {
		if len(c.order) >= c.max {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.m[off] = t
		c.order = append(c.order, off)
	}
	c.mu.Unlock()
	return t, nil
}

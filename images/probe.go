package images

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// FS is what Probe learned about the file system in a window, from its
// superblock alone. Sizes are bytes; -1 means the format keeps no summary
// and finding out would need a scan.
type FS struct {
	Type      string     `json:"type"`    // NetBSD mount type (ffs, ext2fs, msdos, cd9660) or a common name (ntfs, exfat, xfs, btrfs, swap, luks, ...)
	Variant   string     `json:"variant"` // FFSv1, FFSv2, ext2, ext3, ext4, FAT12, FAT16, FAT32, ISO 9660, ...
	Driver    bool       `json:"driver"`  // a driver for it is linked in (SetDriverLookup)
	Label     string     `json:"label,omitempty"`
	UUID      string     `json:"uuid,omitempty"`
	BlockSize int        `json:"blockSize,omitempty"`
	Size      int64      `json:"size"` // file system size (data area where the format says so)
	Used      int64      `json:"used"`
	Free      int64      `json:"free"`
	Features  []string   `json:"features,omitempty"`
	State     string     `json:"state"` // clean, dirty, or unknown
	LastMount *time.Time `json:"lastMount,omitempty"`
	LastWrite *time.Time `json:"lastWrite,omitempty"`
	MountedOn string     `json:"mountedOn,omitempty"` // last mount point the superblock records
	Offset    int64      `json:"superblockOffset"`    // where the superblock was found, in the window
	// Span is how many bytes the file system says it covers from the
	// window's start (0: the probe does not know); Missing is how many
	// of them lie past the window's end: a truncated image.
	Span    int64    `json:"span,omitempty"`
	Missing int64    `json:"missing,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// Name is the type as a user reads it: "ext4", "FFSv2", "NTFS (no driver)".
func (f *FS) Name() string {
	if f == nil {
		return "unknown"
	}
	if f.Driver {
		return f.Variant
	}
	return f.Variant + " (no driver)"
}

// hasDriver answers FS.Driver: whether the program has a driver for a
// NetBSD mount type. This package sits below the VFS and cannot ask it;
// a program that links drivers says so with SetDriverLookup.
var hasDriver atomic.Pointer[func(fsType string) bool]

// SetDriverLookup makes Probe ask has whether a type has a driver (rumpfs
// passes the VFS's registry: vfs.LookupFSType). Until it is called, no
// type has one: the probe never promises a driver that is not linked in.
func SetDriverLookup(has func(fsType string) bool) { hasDriver.Store(&has) }

// driverFor reports whether a driver for fsType is linked in.
func driverFor(fsType string) bool {
	if has := hasDriver.Load(); has != nil {
		return (*has)(fsType)
	}
	return false
}

// A prober recognises one family of file systems.
type prober func(w *window) *FS

// probers run in order; the first answer wins. Formats whose signature
// sits further in go first where an older signature might survive near
// the start (tools do not always wipe a previous boot sector).
var probers = []prober{probeLUKS, probeExt, probeXFS, probeBtrfs, probeFFS, probeISO, probeNTFS, probeExFAT,
	probeFAT, probeSwap, probeOthers}

// Probe identifies the file system in r, a window of size bytes. nil when
// nothing is recognised. It reads only a few superblock-sized pieces.
func Probe(r io.ReaderAt, size int64) *FS {
	w := &window{r: r, size: size}
	for _, p := range probers {
		if f := p(w); f != nil {
			f.Driver = driverFor(f.Type)
			if f.State == "" {
				f.State = "unknown"
			}
			if f.Span > size {
				f.Missing = f.Span - size
			}
			return f
		}
	}
	return nil
}

// window reads bounded pieces of the probed range.
type window struct {
	r    io.ReaderAt
	size int64
}

// read returns n bytes at off, or nil if they are not all there.
func (w *window) read(off int64, n int) []byte {
	if off < 0 || n < 0 || off > w.size || int64(n) > w.size-off {
		return nil
	}
	b, err := readFull(w.r, off, n)
	if err != nil {
		return nil
	}
	return b
}

// cstring is b up to its first NUL, with trailing spaces trimmed.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), " ")
}

func unixTime(sec int64) *time.Time {
	if sec <= 0 {
		return nil
	}
	t := time.Unix(sec, 0).UTC()
	return &t
}

// uuidString formats 16 bytes as 8-4-4-4-12 lower-case hex (big-endian
// order, as ext and XFS store it).
func uuidString(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func isPow2(n int64) bool { return n > 0 && n&(n-1) == 0 }

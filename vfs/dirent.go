package vfs

import (
	"encoding/binary"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Directory entries travel through the uio of VOP_READDIR in this format
// (little-endian, each record padded to 8 bytes):
//
//	0  ino     uint64
//	8  next    uint64  cookie of the following entry (d_off)
//	16 reclen  uint16
//	18 namlen  uint16
//	20 type    uint8   DT_*
//	21 name    namlen bytes
const direntHdr = 21

// DirentSize returns the record size of an entry with a name of n bytes.
func DirentSize(n int) int { return (direntHdr + n + 7) &^ 7 }

// Dirent is a decoded directory entry.
type Dirent struct {
	Ino  uint64
	Next uint64
	Type uint8
	Name string
}

// EmitDirent hands one entry to a VOP_READDIR's caller and sets
// uio.Offset to next, the cookie a later readdir resumes from: to the
// uio's sink when it has one (VnReaddir), else as a record moved into the
// uio. It returns false, handing over nothing, when the entry does not
// fit (or the sink refused it): the driver then stops.
func EmitDirent(uio *kernel.Uio, ino, next uint64, dtype uint8, name string) (bool, unix.Errno) {
	if uio.Sink != nil {
		return emitToSink(uio, ino, next, dtype, name)
	}
	n := DirentSize(len(name))
	if uio.Resid < n {
		return false, 0
	}
	var buf [DirentMax]byte
	putDirent(buf[:n], ino, next, dtype, name)
	if _, e := kernel.Uiomove(buf[:n], uio); e != 0 {
		return false, e
	}
	uio.Offset = int64(next)
	return true, 0
}

// putDirent writes the record of one entry at the start of b and returns
// its size, or 0 when it does not fit.
func putDirent(b []byte, ino, next uint64, dtype uint8, name string) int {
	n := DirentSize(len(name))
	if len(b) < n {
		return 0
	}
	b = b[:n]
	binary.LittleEndian.PutUint64(b[0:], ino)
	binary.LittleEndian.PutUint64(b[8:], next)
	binary.LittleEndian.PutUint16(b[16:], uint16(n))
	binary.LittleEndian.PutUint16(b[18:], uint16(len(name)))
	b[20] = dtype
	copy(b[direntHdr:], name)
	clear(b[direntHdr+len(name):])
	return n
}

// DirentMax is the largest record (a NameMax-byte name).
const DirentMax = (direntHdr + NameMax + 7) &^ 7

// ParseDirent decodes the record at the start of b and returns it with its
// length; ok is false when b holds no whole record.
func ParseDirent(b []byte) (d Dirent, n int, ok bool) {
	if len(b) < direntHdr {
		return d, 0, false
	}
	n = int(binary.LittleEndian.Uint16(b[16:]))
	nl := int(binary.LittleEndian.Uint16(b[18:]))
	if n < direntHdr+nl || n > len(b) {
		return d, 0, false
	}
	d.Ino = binary.LittleEndian.Uint64(b)
	d.Next = binary.LittleEndian.Uint64(b[8:])
	d.Type = b[20]
	d.Name = string(b[direntHdr : direntHdr+nl])
	return d, n, true
}

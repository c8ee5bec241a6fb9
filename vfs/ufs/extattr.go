package ufs

import (
	"encoding/binary"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ufs/disk"
	"golang.org/x/sys/unix"
)

// The UFS2 extended attribute area: its records are laid out in package
// disk (ParseExtattrs, MarshalExtattrs); here is how an inode's area is
// found and read.

// Extattr is one record of the area (disk.Extattr).
type Extattr = disk.Extattr

// Extended attribute namespaces (EXTATTR_NAMESPACE_*).
const (
	ExtattrNamespaceEmpty  = disk.ExtattrNamespaceEmpty
	ExtattrNamespaceUser   = disk.ExtattrNamespaceUser
	ExtattrNamespaceSystem = disk.ExtattrNamespaceSystem
)

// ExtattrRecordLen is disk.ExtattrRecordLen.
func ExtattrRecordLen(nameLen, valueLen int) int { return disk.ExtattrRecordLen(nameLen, valueLen) }

// ParseExtattrs is disk.ParseExtattrs.
func ParseExtattrs(b []byte, bo binary.ByteOrder) ([]Extattr, error) {
	return disk.ParseExtattrs(b, bo)
}

// MarshalExtattrs is disk.MarshalExtattrs.
func MarshalExtattrs(as []Extattr, bo binary.ByteOrder) []byte {
	return disk.MarshalExtattrs(as, bo)
}

// MaxExtSize is the largest attribute area: NXAddr blocks.
func (m *Mount) MaxExtSize() int { return NXAddr * m.BSize }

// ExtBlockSize is the allocated size of block i of an attribute area of
// size bytes: a full block, the fragments the last one needs, or 0 when
// the area does not reach it (sblksize on di_extsize).
func (m *Mount) ExtBlockSize(size int, i int) int {
	if size <= i*m.BSize {
		return 0
	}
	if size >= (i+1)*m.BSize {
		return m.BSize
	}
	off := size - i*m.BSize
	return (off + m.FSize - 1) &^ (m.FSize - 1)
}

// ReadExtArea reads the inode's attribute area (ffs_rdextattr): ENOTSUP
// for UFS1, EIO when di_extsize or a di_extb pointer is bad.
func (ip *Inode) ReadExtArea(l *kernel.LWP) ([]byte, unix.Errno) {
	m := ip.M
	if !ip.UFS2 {
		return nil, unix.ENOTSUP
	}
	size := int(ip.ExtSize)
	if size < 0 || size > m.MaxExtSize() {
		return nil, m.corrupt("inode %d: extattr area size %d out of range", ip.Number, ip.ExtSize)
	}
	area := make([]byte, size)
	for i := range NXAddr {
		bs := m.ExtBlockSize(size, i)
		fsb := ip.ExtB[i]
		if bs == 0 {
			break
		}
		if fsb == 0 || !m.checkExtent(fsb, bs) {
			return nil, m.corrupt("inode %d: extattr block %d at %d out of range", ip.Number, i, fsb)
		}
		part := area[i*m.BSize : min(size, (i+1)*m.BSize)]
		if e := m.readBytes(l, part, fsb<<m.FShift); e != 0 {
			return nil, e
		}
	}
	return area, 0
}

// Extattrs reads and parses the inode's attribute area.
func (ip *Inode) Extattrs(l *kernel.LWP) ([]Extattr, unix.Errno) {
	area, e := ip.ReadExtArea(l)
	if e != 0 {
		return nil, e
	}
	as, err := ParseExtattrs(area, ip.M.Order)
	if err != nil {
		return nil, ip.M.corrupt("inode %d: %v", ip.Number, err)
	}
	return as, 0
}

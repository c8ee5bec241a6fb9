package ufs

import (
	"encoding/binary"
	"fmt"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// The UFS2 extended attribute area (FreeBSD's and NetBSD's ffs_extattr):
// di_extsize bytes kept in up to NXAddr blocks di_extb, the last one only
// the fragments it needs, as a file's last direct block is. The area is a
// run of records, each a multiple of 8 bytes, in the file system's byte
// order (struct extattr):
//
//	0  ea_length        uint32  the whole record
//	4  ea_namespace     uint8   1 user, 2 system (0: empty, skipped)
//	5  ea_contentpadlen uint8   zero bytes after the value
//	6  ea_namelength    uint8
//	7  ea_name          name bytes, zeros to a multiple of 8
//	   value            then ea_contentpadlen zeros
//
// UFS1 inodes have no area.

// Extended attribute namespaces (EXTATTR_NAMESPACE_*).
const (
	ExtattrNamespaceEmpty  = 0
	ExtattrNamespaceUser   = 1
	ExtattrNamespaceSystem = 2
)

// extattrHeader is the fixed part of a record before the name.
const extattrHeader = 7

// Extattr is one record of the area.
type Extattr struct {
	Namespace uint8
	Name      string
	Value     []byte
}

func roundup8(n int) int { return (n + 7) &^ 7 }

// ExtattrRecordLen is the size of a record with a name of nameLen bytes
// and a value of valueLen bytes.
func ExtattrRecordLen(nameLen, valueLen int) int {
	return roundup8(extattrHeader+nameLen) + roundup8(valueLen)
}

// ParseExtattrs decodes an attribute area. Every record must lie inside
// b, be a non-zero multiple of 8 bytes, and hold its name, value and
// padding; anything else is an error naming the offset. Records of the
// empty namespace are skipped.
func ParseExtattrs(b []byte, bo binary.ByteOrder) ([]Extattr, error) {
	var out []Extattr
	for off := 0; off < len(b); {
		rest := len(b) - off
		if rest < extattrHeader {
			return nil, fmt.Errorf("extattr record at %d: %d bytes left, short of a header", off, rest)
		}
		length := bo.Uint32(b[off:])
		ns, pad, nlen := b[off+4], int(b[off+5]), int(b[off+6])
		base := roundup8(extattrHeader + nlen)
		switch {
		case length == 0:
			return nil, fmt.Errorf("extattr record at %d: zero length", off)
		case length%8 != 0:
			return nil, fmt.Errorf("extattr record at %d: length %d not a multiple of 8", off, length)
		case uint64(length) > uint64(rest):
			return nil, fmt.Errorf("extattr record at %d: length %d past the end of the area (%d bytes)", off, length, len(b))
		case base+pad > int(length):
			return nil, fmt.Errorf("extattr record at %d: name of %d and padding of %d do not fit its length %d", off, nlen, pad, length)
		}
		if ns != ExtattrNamespaceEmpty {
			r := b[off : off+int(length)]
			out = append(out, Extattr{
				Namespace: ns,
				Name:      string(r[extattrHeader : extattrHeader+nlen]),
				Value:     append([]byte{}, r[base:int(length)-pad]...),
			})
		}
		off += int(length)
	}
	return out, nil
}

// MarshalExtattrs encodes records into an area. Names must be at most 255
// bytes (the caller checks).
func MarshalExtattrs(as []Extattr, bo binary.ByteOrder) []byte {
	n := 0
	for _, a := range as {
		n += ExtattrRecordLen(len(a.Name), len(a.Value))
	}
	b := make([]byte, n)
	off := 0
	for _, a := range as {
		length := ExtattrRecordLen(len(a.Name), len(a.Value))
		r := b[off : off+length]
		bo.PutUint32(r, uint32(length))
		r[4] = a.Namespace
		r[5] = byte(roundup8(len(a.Value)) - len(a.Value))
		r[6] = byte(len(a.Name))
		copy(r[extattrHeader:], a.Name)
		copy(r[roundup8(extattrHeader+len(a.Name)):], a.Value)
		off += length
	}
	return b
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

package disk

import (
	"encoding/binary"
	"fmt"
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

// The header of struct extattr, before the name; MarshalExtattrs writes
// the same Fields ParseExtattrs reads.
var (
	eaLength    = Field{Off: 0, Size: 4}
	eaNamespace = Field{Off: 4, Size: 1}
	eaPadLen    = Field{Off: 5, Size: 1}
	eaNameLen   = Field{Off: 6, Size: 1}
)

// extattrHeader is the size of that header.
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
		h := b[off:]
		length := uint32(eaLength.Uint(bo, h))
		ns, pad, nlen := uint8(eaNamespace.Uint(bo, h)), int(eaPadLen.Uint(bo, h)), int(eaNameLen.Uint(bo, h))
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
		eaLength.Put(bo, r, int64(length))
		eaNamespace.Put(bo, r, int64(a.Namespace))
		eaPadLen.Put(bo, r, int64(roundup8(len(a.Value))-len(a.Value)))
		eaNameLen.Put(bo, r, int64(len(a.Name)))
		copy(r[extattrHeader:], a.Name)
		copy(r[roundup8(extattrHeader+len(a.Name)):], a.Value)
		off += length
	}
	return b
}

package disk

import (
	"encoding/binary"
	"fmt"
)

// Extended attribute constants.
const (
	XattrMagic     = 0xea020000
	XattrHdrSize   = 32 // block header
	XattrEntrySize = 16 // fixed part of an entry
)

// Name indexes (e_name_index).
const (
	XattrIndexUser            = 1
	XattrIndexPosixACLAccess  = 2
	XattrIndexPosixACLDefault = 3
	XattrIndexTrusted         = 4
	XattrIndexLustre          = 5
	XattrIndexSecurity        = 6
	XattrIndexSystem          = 7 // system.data holds inline data
	XattrIndexRichACL         = 8
	XattrIndexEncryption      = 9
	XattrIndexHurd            = 10
)

// XattrPrefix maps a name index to the prefix of the full name, "" for an
// index whose attributes are not shown (encryption context, unknown).
func XattrPrefix(index uint8) string {
	switch index {
	case XattrIndexUser:
		return "user."
	case XattrIndexPosixACLAccess:
		return "system.posix_acl_access"
	case XattrIndexPosixACLDefault:
		return "system.posix_acl_default"
	case XattrIndexTrusted:
		return "trusted."
	case XattrIndexLustre:
		return "lustre."
	case XattrIndexSecurity:
		return "security."
	case XattrIndexSystem:
		return "system."
	case XattrIndexRichACL:
		return "system.richacl"
	case XattrIndexHurd:
		return "gnu."
	}
	return ""
}

// XattrHeader is struct ext4_xattr_header of an attribute block.
type XattrHeader struct {
	Magic    uint32
	Refcount uint32
	Blocks   uint32
	Hash     uint32
	Checksum uint32
}

// XattrEntry is struct ext4_xattr_entry with its value located.
type XattrEntry struct {
	NameIndex uint8
	Name      []byte
	ValueOffs uint16
	ValueInum uint32 // ea_inode: the value is this inode's data
	ValueSize uint32
	Hash      uint32
	Value     []byte // aliases the area; nil when ValueInum != 0
}

// FullName is the attribute's name with its namespace prefix.
func (e *XattrEntry) FullName() string {
	p := XattrPrefix(e.NameIndex)
	if p == "" {
		return ""
	}
	return p + string(e.Name)
}

// ParseXattrBlock decodes an external attribute block.
func ParseXattrBlock(b []byte) (*XattrHeader, []XattrEntry, error) {
	if len(b) < XattrHdrSize+4 {
		return nil, nil, fmt.Errorf("xattr block: short")
	}
	h := &XattrHeader{Magic: le32(b, 0), Refcount: le32(b, 4), Blocks: le32(b, 8), Hash: le32(b, 0xc), Checksum: le32(b, 0x10)}
	if h.Magic != XattrMagic {
		return nil, nil, fmt.Errorf("xattr block: bad magic %#x", h.Magic)
	}
	if h.Blocks != 1 {
		return nil, nil, fmt.Errorf("xattr block: h_blocks %d", h.Blocks)
	}
	es, err := parseXattrEntries(b, XattrHdrSize, 0)
	return h, es, err
}

// ParseInodeXattrs decodes the in-inode attribute area (starting with its
// magic, as Inode.InlineXattr holds it). Value offsets count from the
// first entry.
func ParseInodeXattrs(area []byte) ([]XattrEntry, error) {
	if len(area) < 4 || le32(area, 0) != XattrMagic {
		return nil, fmt.Errorf("in-inode xattrs: bad magic")
	}
	return parseXattrEntries(area, 4, 4)
}

func parseXattrEntries(b []byte, off, valueBase int) ([]XattrEntry, error) {
	var out []XattrEntry
	for {
		if off+4 > len(b) {
			return nil, fmt.Errorf("xattr entries: no end marker")
		}
		if le32(b, off) == 0 {
			return out, nil
		}
		if off+XattrEntrySize > len(b) {
			return nil, fmt.Errorf("xattr entry at %d: past the end", off)
		}
		nameLen := int(b[off])
		e := XattrEntry{
			NameIndex: b[off+1],
			ValueOffs: le16(b, off+2),
			ValueInum: le32(b, off+4),
			ValueSize: le32(b, off+8),
			Hash:      le32(b, off+12),
		}
		if off+XattrEntrySize+nameLen > len(b) {
			return nil, fmt.Errorf("xattr entry at %d: name past the end", off)
		}
		e.Name = b[off+XattrEntrySize : off+XattrEntrySize+nameLen]
		if e.ValueInum == 0 {
			start := valueBase + int(e.ValueOffs)
			if uint64(start)+uint64(e.ValueSize) > uint64(len(b)) {
				return nil, fmt.Errorf("xattr entry %q: value %d+%d past the end", e.Name, e.ValueOffs, e.ValueSize)
			}
			e.Value = b[start : start+int(e.ValueSize)]
		}
		out = append(out, e)
		off += (XattrEntrySize + nameLen + 3) &^ 3
	}
}

// XattrBlockChecksum computes h_checksum of attribute block b at block
// number blk.
func XattrBlockChecksum(fsSeed uint32, blk uint64, b []byte) uint32 {
	var nb [8]byte
	binary.LittleEndian.PutUint64(nb[:], blk)
	c := Crc32c(fsSeed, nb[:])
	c = Crc32c(c, b[:0x10])
	c = Crc32c(c, zeros[:])
	return Crc32c(c, b[0x14:])
}

// VerifyXattrBlock checks the checksum of attribute block b.
func VerifyXattrBlock(fsSeed uint32, blk uint64, b []byte, h *XattrHeader) error {
	if c := XattrBlockChecksum(fsSeed, blk, b); c != h.Checksum {
		return fmt.Errorf("xattr block %d: checksum %#x, computed %#x", blk, h.Checksum, c)
	}
	return nil
}

// POSIX ACL tags.
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20
)

// ACLToXattr converts an ACL from ext4's compact disk form (version 1,
// ids only on named user and group entries) to the form getxattr returns
// for system.posix_acl_* (version 2, every entry 8 bytes).
func ACLToXattr(b []byte) ([]byte, error) {
	if len(b) < 4 || le32(b, 0) != 1 {
		return nil, fmt.Errorf("posix acl: bad header")
	}
	out := binary.LittleEndian.AppendUint32(nil, 2)
	for off := 4; off < len(b); {
		if off+4 > len(b) {
			return nil, fmt.Errorf("posix acl: truncated entry at %d", off)
		}
		tag, perm := le16(b, off), le16(b, off+2)
		id := uint32(0xffffffff)
		switch tag {
		case aclUser, aclGroup:
			if off+8 > len(b) {
				return nil, fmt.Errorf("posix acl: truncated entry at %d", off)
			}
			id = le32(b, off+4)
			off += 8
		case aclUserObj, aclGroupObj, aclMask, aclOther:
			off += 4
		default:
			return nil, fmt.Errorf("posix acl: bad tag %#x", tag)
		}
		out = binary.LittleEndian.AppendUint16(out, tag)
		out = binary.LittleEndian.AppendUint16(out, perm)
		out = binary.LittleEndian.AppendUint32(out, id)
	}
	return out, nil
}

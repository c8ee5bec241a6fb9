package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/rumpfs/rumpfs/internal/ondisk"
)

// Volume descriptors live from sector 16 on, 2048 bytes each, until the
// terminator.
const (
	SectorSize = 2048
	VDStart    = 16
	// MaxVDs bounds the descriptor scan of a damaged image.
	MaxVDs = 64
)

// Volume descriptor types.
const (
	VDPrimary       = 1
	VDSupplementary = 2
	VDTerminator    = 255
)

var le = binary.LittleEndian

// Volume descriptor fields (little-endian halves of both-endian numbers).
var (
	vdType      = ondisk.Field{Off: 0, Size: 1}
	vdVersion   = ondisk.Field{Off: 6, Size: 1}
	vdSpaceSize = ondisk.Field{Off: 80, Size: 4}
	vdBlockSize = ondisk.Field{Off: 128, Size: 2}
)

const (
	vdIDOff      = 1
	vdEscapeOff  = 88
	vdRootOff    = 156
	vdVolumeID   = 40
	rootRecordSz = 34
)

// VolumeDescriptor is the part of a primary or supplementary descriptor
// that reading needs.
type VolumeDescriptor struct {
	Type      int
	VolumeID  string
	Blocks    uint32 // volume space size in logical blocks
	BlockSize int    // logical block size: 512, 1024 or 2048
	Joliet    int    // Joliet level 1-3 of a supplementary descriptor, else 0
	Root      Record
}

// ParseVolumeDescriptor decodes one 2048-byte descriptor. A terminator or
// a type it does not read comes back with only Type set.
func ParseVolumeDescriptor(b []byte) (VolumeDescriptor, error) {
	if len(b) < SectorSize {
		return VolumeDescriptor{}, errors.New("short volume descriptor")
	}
	if string(b[vdIDOff:vdIDOff+5]) != "CD001" {
		return VolumeDescriptor{}, errors.New("no CD001 signature")
	}
	vd := VolumeDescriptor{Type: int(vdType.Uint(le, b))}
	if vd.Type != VDPrimary && vd.Type != VDSupplementary {
		return vd, nil
	}
	if v := vdVersion.Uint(le, b); v != 1 && v != 2 {
		return vd, fmt.Errorf("descriptor version %d", v)
	}
	vd.VolumeID = strings.TrimRight(string(b[vdVolumeID:vdVolumeID+32]), " \x00")
	vd.Blocks = uint32(vdSpaceSize.Uint(le, b))
	vd.BlockSize = int(vdBlockSize.Uint(le, b))
	switch vd.BlockSize {
	case 512, 1024, 2048:
	default:
		return vd, fmt.Errorf("logical block size %d", vd.BlockSize)
	}
	if vd.Type == VDSupplementary {
		esc := b[vdEscapeOff : vdEscapeOff+3]
		if esc[0] == '%' && esc[1] == '/' {
			vd.Joliet = map[byte]int{'@': 1, 'C': 2, 'E': 3}[esc[2]]
		}
	}
	r, err := ParseRecord(b[vdRootOff : vdRootOff+rootRecordSz])
	if err != nil {
		return vd, fmt.Errorf("root record: %v", err)
	}
	if r.Flags&FlagDir == 0 {
		return vd, errors.New("root record is not a directory")
	}
	vd.Root = r
	return vd, nil
}

// Directory record flags.
const (
	FlagHidden     = 0x01
	FlagDir        = 0x02
	FlagAssociated = 0x04
	FlagMultiExt   = 0x80
)

// Directory record fields.
var (
	drLen        = ondisk.Field{Off: 0, Size: 1}
	drExtAttrLen = ondisk.Field{Off: 1, Size: 1}
	drExtent     = ondisk.Field{Off: 2, Size: 4}
	drSize       = ondisk.Field{Off: 10, Size: 4}
	drFlags      = ondisk.Field{Off: 25, Size: 1}
	drUnitSize   = ondisk.Field{Off: 26, Size: 1}
	drGap        = ondisk.Field{Off: 27, Size: 1}
	drNameLen    = ondisk.Field{Off: 32, Size: 1}
)

const (
	drTimeOff = 18
	drNameOff = 33
	// MinRecord is the smallest directory record: the fixed part and a
	// one-byte name.
	MinRecord = 34
)

// Record is a directory record. Name and SystemUse alias the parsed
// bytes.
type Record struct {
	Len        int
	ExtAttrLen int // blocks of extended attribute record before the data
	Extent     uint32
	Size       uint32
	Time       time.Time
	Flags      byte
	Interleave bool // file unit size or gap set: an interleaved file
	Name       []byte
	SystemUse  []byte
}

// ParseRecord decodes the directory record at the start of b. A zero
// length byte is not a record (the rest of the sector is padding): the
// caller checks for it first.
func ParseRecord(b []byte) (Record, error) {
	if len(b) < MinRecord {
		return Record{}, fmt.Errorf("record of %d bytes", len(b))
	}
	n := int(drLen.Uint(le, b))
	if n < MinRecord || n > len(b) {
		return Record{}, fmt.Errorf("record length %d (room for %d)", n, len(b))
	}
	nl := int(drNameLen.Uint(le, b))
	if nl == 0 || drNameOff+nl > n {
		return Record{}, fmt.Errorf("name length %d in a record of %d", nl, n)
	}
	r := Record{
		Len:        n,
		ExtAttrLen: int(drExtAttrLen.Uint(le, b)),
		Extent:     uint32(drExtent.Uint(le, b)),
		Size:       uint32(drSize.Uint(le, b)),
		Time:       ShortTime(b[drTimeOff : drTimeOff+7]),
		Flags:      byte(drFlags.Uint(le, b)),
		Interleave: drUnitSize.Uint(le, b) != 0 || drGap.Uint(le, b) != 0,
		Name:       b[drNameOff : drNameOff+nl],
	}
	su := drNameOff + nl
	if nl%2 == 0 {
		su++ // the padding byte after an even-length name
	}
	if su < n {
		r.SystemUse = b[su:n]
	}
	return r, nil
}

// IsDot and IsDotDot tell the two first records of a directory.
func (r *Record) IsDot() bool    { return len(r.Name) == 1 && r.Name[0] == 0 }
func (r *Record) IsDotDot() bool { return len(r.Name) == 1 && r.Name[0] == 1 }

// ShortTime decodes the 7-byte recording time: years since 1900, month,
// day, hour, minute, second and the offset from GMT in 15-minute units.
func ShortTime(b []byte) time.Time {
	if len(b) < 7 || b[1] == 0 {
		return time.Time{}
	}
	off := int(int8(b[6])) * 15 * 60
	t := time.Date(1900+int(b[0]), time.Month(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5]), 0, time.UTC)
	return t.Add(-time.Duration(off) * time.Second)
}

// LongTime decodes the 17-byte form: "YYYYMMDDHHMMSScc" in ASCII digits
// and the GMT offset byte.
func LongTime(b []byte) time.Time {
	if len(b) < 17 {
		return time.Time{}
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, s, cs := num(0, 4), num(4, 2), num(6, 2), num(8, 2), num(10, 2), num(12, 2), num(14, 2)
	if y <= 0 || mo <= 0 || d < 0 || h < 0 || mi < 0 || s < 0 || cs < 0 {
		return time.Time{}
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, cs*10_000_000, time.UTC)
	return t.Add(-time.Duration(int(int8(b[16]))*15*60) * time.Second)
}

// PlainName translates an ISO 9660 file identifier as NetBSD does by
// default: the version (";1") and a trailing dot of a name without
// extension are dropped, and upper case becomes lower case.
func PlainName(id []byte) string {
	s := string(id)
	if i := strings.LastIndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	return strings.ToLower(s)
}

// JolietName decodes a Joliet identifier (UCS-2 big-endian, surrogate
// pairs allowed) and drops its version.
func JolietName(id []byte) string {
	u := make([]uint16, len(id)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(id[2*i:])
	}
	s := string(utf16.Decode(u))
	if i := strings.LastIndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return s
}

package disk

import (
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/rumpfs/rumpfs/internal/ondisk"
)

// DirentSize is the size of a directory entry, short or long.
const DirentSize = 32

// Attribute bits.
const (
	AttrReadOnly = 0x01
	AttrHidden   = 0x02
	AttrSystem   = 0x04
	AttrVolume   = 0x08
	AttrDir      = 0x10
	AttrArchive  = 0x20
	AttrLongName = AttrReadOnly | AttrHidden | AttrSystem | AttrVolume
)

// NT case flags (byte 12): the 8.3 name's base or extension is shown in
// lower case.
const (
	CaseLowerBase = 0x08
	CaseLowerExt  = 0x10
)

// First name bytes with a meaning.
const (
	NameEnd     = 0x00 // this and every later entry are free
	NameDeleted = 0xE5
	NameKanji   = 0x05 // a real first byte of 0xE5
)

// Short entry fields.
var (
	deName      = ondisk.Field{Off: 0, Size: 1} // 11 bytes: 8 + 3
	deAttr      = ondisk.Field{Off: 11, Size: 1}
	deNTCase    = ondisk.Field{Off: 12, Size: 1}
	deCTimeCs   = ondisk.Field{Off: 13, Size: 1} // 10 ms units, 0..199
	deCTime     = ondisk.Field{Off: 14, Size: 2}
	deCDate     = ondisk.Field{Off: 16, Size: 2}
	deADate     = ondisk.Field{Off: 18, Size: 2}
	deClusHi    = ondisk.Field{Off: 20, Size: 2}
	deMTime     = ondisk.Field{Off: 22, Size: 2}
	deMDate     = ondisk.Field{Off: 24, Size: 2}
	deClusLo    = ondisk.Field{Off: 26, Size: 2}
	deFileSize  = ondisk.Field{Off: 28, Size: 4}
	deFirstClus = ondisk.Split{Lo: deClusLo, Hi: deClusHi}
)

// Long-name entry fields.
var (
	ldOrd   = ondisk.Field{Off: 0, Size: 1}
	ldName1 = ondisk.Field{Off: 1, Size: 2}  // 5 UTF-16 units
	ldSum   = ondisk.Field{Off: 13, Size: 1} // checksum of the short name
	ldName2 = ondisk.Field{Off: 14, Size: 2} // 6 units
	ldName3 = ondisk.Field{Off: 28, Size: 2} // 2 units
)

const (
	lastLongEntry = 0x40
	maxLongOrd    = 20 // 20 * 13 units holds the 255 of a long name
)

// Dirent is a decoded short directory entry.
type Dirent struct {
	Short     [11]byte // the raw 8.3 name
	Attr      uint8
	NTCase    uint8
	FirstClus uint32 // the high half counts only on FAT32
	Size      uint32
	MTime     uint16
	MDate     uint16
	CTime     uint16
	CDate     uint16
	CTimeCs   uint8
	ADate     uint16
}

// IsDir says whether the entry is a directory.
func (d *Dirent) IsDir() bool { return d.Attr&AttrDir != 0 }

// ParseDirent decodes a short entry (b holds DirentSize bytes).
func ParseDirent(b []byte) Dirent {
	var d Dirent
	copy(d.Short[:], b[deName.Off:deName.Off+11])
	if d.Short[0] == NameKanji {
		d.Short[0] = NameDeleted
	}
	le := binary.LittleEndian
	d.Attr = uint8(deAttr.Uint(le, b))
	d.NTCase = uint8(deNTCase.Uint(le, b))
	d.FirstClus = uint32(deFirstClus.Uint(le, b))
	d.Size = uint32(deFileSize.Uint(le, b))
	d.MTime, d.MDate = uint16(deMTime.Uint(le, b)), uint16(deMDate.Uint(le, b))
	d.CTime, d.CDate = uint16(deCTime.Uint(le, b)), uint16(deCDate.Uint(le, b))
	d.CTimeCs = uint8(deCTimeCs.Uint(le, b))
	d.ADate = uint16(deADate.Uint(le, b))
	return d
}

// ShortName is the 8.3 name as shown: spaces trimmed, a dot before a
// non-empty extension, the NT case flags applied. Bytes past ASCII are
// read as code page 437 (Linux vfat's default codepage).
func (d *Dirent) ShortName() string {
	base := strings.TrimRight(oem(d.Short[:8]), " ")
	ext := strings.TrimRight(oem(d.Short[8:]), " ")
	if d.NTCase&CaseLowerBase != 0 {
		base = strings.ToLower(base)
	}
	if d.NTCase&CaseLowerExt != 0 {
		ext = strings.ToLower(ext)
	}
	if ext == "" {
		return base
	}
	return base + "." + ext
}

func oem(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(cp437[c-0x80])
		}
	}
	return sb.String()
}

// Checksum is the short name's checksum that its long entries carry.
func Checksum(short [11]byte) uint8 {
	var s uint8
	for _, c := range short {
		s = (s>>1 | s<<7) + c
	}
	return s
}

// LongNamer assembles VFAT long names from the long entries that precede
// a short entry, in directory order. Runs that are out of order,
// interrupted or whose checksum does not match the short entry are
// orphans: dropped, and the short name stands.
type LongNamer struct {
	units []uint16 // 13 per entry, slot (ord-1)*13
	want  int      // the ord the next long entry must carry; 0: none pending
	sum   uint8
}

// Reset drops a pending run (a free or deleted entry interrupts it).
func (n *LongNamer) Reset() { n.want = 0 }

// Long takes a long entry b.
func (n *LongNamer) Long(b []byte) {
	le := binary.LittleEndian
	ord := int(ldOrd.Uint(le, b))
	sum := uint8(ldSum.Uint(le, b))
	seq := ord &^ lastLongEntry
	if ord&lastLongEntry != 0 {
		if seq == 0 || seq > maxLongOrd {
			n.want = 0
			return
		}
		n.units = n.units[:0]
		n.units = append(n.units, make([]uint16, seq*13)...)
		n.sum = sum
	} else if n.want == 0 || seq != n.want || sum != n.sum {
		n.want = 0
		return
	}
	off := (seq - 1) * 13
	for i := range 5 {
		n.units[off+i] = uint16(ldName1.At(i).Uint(le, b))
	}
	for i := range 6 {
		n.units[off+5+i] = uint16(ldName2.At(i).Uint(le, b))
	}
	for i := range 2 {
		n.units[off+11+i] = uint16(ldName3.At(i).Uint(le, b))
	}
	n.want = seq - 1
	if n.want == 0 {
		n.want = -1 // complete: waiting for its short entry
	}
}

// Name returns the long name for the short entry d, "" when there is
// none that belongs to it, and resets.
func (n *LongNamer) Name(d *Dirent) string {
	done := n.want == -1
	n.want = 0
	if !done || Checksum(shortRaw(d)) != n.sum {
		return ""
	}
	u := n.units
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	for len(u) > 0 && u[len(u)-1] == 0xFFFF {
		u = u[:len(u)-1]
	}
	if len(u) == 0 || len(u) > 255 {
		return ""
	}
	return string(utf16.Decode(u))
}

// shortRaw is the name as stored (0xE5 stored as 0x05).
func shortRaw(d *Dirent) [11]byte {
	s := d.Short
	if s[0] == NameDeleted {
		s[0] = NameKanji
	}
	return s
}

// IsLong says whether the entry b is a long-name entry.
func IsLong(b []byte) bool { return b[deAttr.Off]&0x3F == AttrLongName }

// Time decodes a FAT date and time (local time of the writer, read in
// loc) plus a count of 10 ms. A zero or invalid date is the zero Time.
func Time(date, tm uint16, cs uint8, loc *time.Location) time.Time {
	day, mon, year := int(date&0x1F), int(date>>5&0x0F), 1980+int(date>>9)
	if day == 0 || mon == 0 || mon > 12 {
		return time.Time{}
	}
	sec, min, hour := int(tm&0x1F)*2, int(tm>>5&0x3F), int(tm>>11)
	ns := 0
	if cs < 200 {
		sec += int(cs) / 100
		ns = int(cs) % 100 * 10_000_000
	}
	return time.Date(year, time.Month(mon), day, hour, min, sec, ns, loc)
}

// cp437 is code page 437's upper half.
var cp437 = []rune("ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0")

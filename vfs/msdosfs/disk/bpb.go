package disk

import (
	"encoding/binary"
	"fmt"

	"github.com/rumpfs/rumpfs/internal/ondisk"
)

// The BIOS parameter block's fields, from the start of the boot sector.
var (
	bpbBytesPerSec = ondisk.Field{Off: 11, Size: 2}
	bpbSecPerClus  = ondisk.Field{Off: 13, Size: 1}
	bpbRsvdSecCnt  = ondisk.Field{Off: 14, Size: 2}
	bpbNumFATs     = ondisk.Field{Off: 16, Size: 1}
	bpbRootEntCnt  = ondisk.Field{Off: 17, Size: 2}
	bpbTotSec16    = ondisk.Field{Off: 19, Size: 2}
	bpbMedia       = ondisk.Field{Off: 21, Size: 1}
	bpbFATSz16     = ondisk.Field{Off: 22, Size: 2}
	bpbTotSec32    = ondisk.Field{Off: 32, Size: 4}
	// FAT32's extension.
	bpbFATSz32   = ondisk.Field{Off: 36, Size: 4}
	bpbExtFlags  = ondisk.Field{Off: 40, Size: 2}
	bpbFSVer     = ondisk.Field{Off: 42, Size: 2}
	bpbRootClus  = ondisk.Field{Off: 44, Size: 4}
	bpbFSInfo    = ondisk.Field{Off: 48, Size: 2}
	bsSignature  = ondisk.Field{Off: 510, Size: 2}
	bootSigValue = uint32(0xAA55)
)

// BootSectorSize is how much of the device ParseBPB reads.
const BootSectorSize = 512

// FAT types, by cluster count as the specification defines them.
const (
	FAT12 = 12
	FAT16 = 16
	FAT32 = 32
)

// Cluster counts that decide the FAT type.
const (
	maxFAT12Clusters = 4084
	maxFAT16Clusters = 65524
	maxFAT32Clusters = 0x0FFFFFF5 - 2
)

// BPB is the geometry of a FAT file system, derived and checked.
type BPB struct {
	Type         int // FAT12, FAT16 or FAT32
	BytesPerSec  uint32
	SecPerClus   uint32
	ReservedSecs uint32
	NumFATs      uint32
	RootEntries  uint32 // FAT12/16: entries in the fixed root directory
	TotalSecs    uint32
	FATSecs      uint32 // sectors per FAT
	RootClus     uint32 // FAT32: the root directory's first cluster
	FSInfoSec    uint32 // FAT32
	ActiveFAT    uint32 // the FAT to read (FAT32 with mirroring off)
	Media        uint8
	RootDirSec   uint32 // FAT12/16: first sector of the root directory
	RootDirSecs  uint32 // FAT12/16: its length in sectors
	DataSec      uint32 // first sector of cluster 2
	Clusters     uint32 // data clusters: valid numbers are 2..Clusters+1
	ClusterBytes uint32
}

func le16(b []byte, f ondisk.Field) uint32 { return uint32(f.Uint(binary.LittleEndian, b)) }

func pow2(v uint32) bool { return v != 0 && v&(v-1) == 0 }

// ParseBPB decodes and checks the boot sector b (at least
// BootSectorSize bytes) of a device of devSize bytes (0: unknown). Zero
// or absurd fields are errors naming the field.
func ParseBPB(b []byte, devSize int64) (*BPB, error) {
	if len(b) < BootSectorSize {
		return nil, fmt.Errorf("boot sector: %d bytes, want %d", len(b), BootSectorSize)
	}
	if le16(b, bsSignature) != bootSigValue {
		return nil, fmt.Errorf("boot sector: no 0x55AA signature")
	}
	p := &BPB{
		BytesPerSec:  le16(b, bpbBytesPerSec),
		SecPerClus:   le16(b, bpbSecPerClus),
		ReservedSecs: le16(b, bpbRsvdSecCnt),
		NumFATs:      le16(b, bpbNumFATs),
		RootEntries:  le16(b, bpbRootEntCnt),
		TotalSecs:    le16(b, bpbTotSec16),
		Media:        uint8(le16(b, bpbMedia)),
		FATSecs:      le16(b, bpbFATSz16),
	}
	if p.BytesPerSec < 512 || p.BytesPerSec > 4096 || !pow2(p.BytesPerSec) {
		return nil, fmt.Errorf("BPB: bytes per sector %d (want 512, 1024, 2048 or 4096)", p.BytesPerSec)
	}
	if !pow2(p.SecPerClus) {
		return nil, fmt.Errorf("BPB: sectors per cluster %d (want a power of two)", p.SecPerClus)
	}
	p.ClusterBytes = p.BytesPerSec * p.SecPerClus
	if p.ClusterBytes > 64<<10 {
		return nil, fmt.Errorf("BPB: cluster size %d bytes (at most 64 KiB)", p.ClusterBytes)
	}
	if p.ReservedSecs == 0 {
		return nil, fmt.Errorf("BPB: no reserved sectors")
	}
	if p.NumFATs == 0 {
		return nil, fmt.Errorf("BPB: no FATs")
	}
	if p.TotalSecs == 0 {
		p.TotalSecs = uint32(bpbTotSec32.Uint(binary.LittleEndian, b))
	}
	if p.TotalSecs == 0 {
		return nil, fmt.Errorf("BPB: zero total sectors")
	}
	fat32 := p.FATSecs == 0
	if fat32 {
		p.FATSecs = uint32(bpbFATSz32.Uint(binary.LittleEndian, b))
		if p.FATSecs == 0 {
			return nil, fmt.Errorf("BPB: zero sectors per FAT")
		}
		if v := le16(b, bpbFSVer); v != 0 {
			return nil, fmt.Errorf("BPB: FAT32 version %#x (only 0 exists)", v)
		}
		if p.RootEntries != 0 {
			return nil, fmt.Errorf("BPB: FAT32 with %d fixed root entries", p.RootEntries)
		}
		p.RootClus = uint32(bpbRootClus.Uint(binary.LittleEndian, b))
		p.FSInfoSec = le16(b, bpbFSInfo)
		if f := le16(b, bpbExtFlags); f&0x80 != 0 {
			p.ActiveFAT = f & 0x0F
			if p.ActiveFAT >= p.NumFATs {
				return nil, fmt.Errorf("BPB: active FAT %d of %d", p.ActiveFAT, p.NumFATs)
			}
		}
	}
	p.RootDirSecs = (p.RootEntries*DirentSize + p.BytesPerSec - 1) / p.BytesPerSec
	p.RootDirSec = p.ReservedSecs + p.NumFATs*p.FATSecs
	meta := uint64(p.ReservedSecs) + uint64(p.NumFATs)*uint64(p.FATSecs) + uint64(p.RootDirSecs)
	if meta >= uint64(p.TotalSecs) {
		return nil, fmt.Errorf("BPB: %d sectors of metadata in %d sectors", meta, p.TotalSecs)
	}
	if devSize > 0 && uint64(p.TotalSecs)*uint64(p.BytesPerSec) > uint64(devSize) {
		// Linux mounts these (a truncated image); reads past the end fail.
		// Refuse only what cannot even hold its metadata.
		if meta*uint64(p.BytesPerSec) > uint64(devSize) {
			return nil, fmt.Errorf("BPB: metadata ends past the device (%d bytes)", devSize)
		}
	}
	p.DataSec = uint32(meta)
	p.Clusters = (p.TotalSecs - p.DataSec) / p.SecPerClus
	switch {
	case p.Clusters == 0:
		return nil, fmt.Errorf("BPB: no data clusters")
	case p.Clusters <= maxFAT12Clusters:
		p.Type = FAT12
	case p.Clusters <= maxFAT16Clusters:
		p.Type = FAT16
	default:
		p.Type = FAT32
	}
	if fat32 != (p.Type == FAT32) {
		// The count decides the type; a BPB that disagrees is damaged.
		return nil, fmt.Errorf("BPB: %d clusters is FAT%d, but the BPB is laid out as %s", p.Clusters, p.Type, map[bool]string{true: "FAT32", false: "FAT12/16"}[fat32])
	}
	if p.Type == FAT32 {
		if p.Clusters > maxFAT32Clusters {
			return nil, fmt.Errorf("BPB: %d clusters (too many for FAT32)", p.Clusters)
		}
		if !p.ValidCluster(p.RootClus) {
			return nil, fmt.Errorf("BPB: root cluster %d out of range", p.RootClus)
		}
	} else if p.RootEntries == 0 {
		return nil, fmt.Errorf("BPB: FAT%d with no root directory entries", p.Type)
	}
	need := (uint64(p.Clusters) + 2) * uint64(p.Type) / 8
	if uint64(p.FATSecs)*uint64(p.BytesPerSec) < need {
		return nil, fmt.Errorf("BPB: FAT of %d sectors cannot map %d clusters", p.FATSecs, p.Clusters)
	}
	return p, nil
}

// ValidCluster says whether c names a data cluster.
func (p *BPB) ValidCluster(c uint32) bool { return c >= 2 && c-2 < p.Clusters }

// ClusterOffset is the byte offset of cluster c (valid) on the device.
func (p *BPB) ClusterOffset(c uint32) int64 {
	return (int64(p.DataSec) + int64(c-2)*int64(p.SecPerClus)) * int64(p.BytesPerSec)
}

// FATOffset is the byte offset on the device of cluster c's entry in the
// FAT read (the active one).
func (p *BPB) FATOffset(c uint32) int64 {
	base := int64(p.ReservedSecs+p.ActiveFAT*p.FATSecs) * int64(p.BytesPerSec)
	switch p.Type {
	case FAT12:
		return base + int64(c) + int64(c/2)
	case FAT16:
		return base + 2*int64(c)
	}
	return base + 4*int64(c)
}

// FATEntrySize is how many bytes FATEntry needs at FATOffset.
func (p *BPB) FATEntrySize() int {
	if p.Type == FAT32 {
		return 4
	}
	return 2
}

// Kinds of FAT entry.
const (
	EntryFree = iota
	EntryNext // Next is the following cluster
	EntryEnd  // end of chain
	EntryBad  // bad cluster marker
	EntryRsvd // reserved value or out of range: damage
)

// FATEntry decodes cluster c's entry from the bytes b read at
// FATOffset(c): its kind and, for EntryNext, the next cluster.
func (p *BPB) FATEntry(c uint32, b []byte) (kind int, next uint32) {
	var v, bad, end uint32
	switch p.Type {
	case FAT12:
		v = uint32(binary.LittleEndian.Uint16(b))
		if c&1 != 0 {
			v >>= 4
		}
		v &= 0xFFF
		bad, end = 0xFF7, 0xFF8
	case FAT16:
		v = uint32(binary.LittleEndian.Uint16(b))
		bad, end = 0xFFF7, 0xFFF8
	default:
		v = binary.LittleEndian.Uint32(b) & 0x0FFFFFFF
		bad, end = 0x0FFFFFF7, 0x0FFFFFF8
	}
	switch {
	case v == 0:
		return EntryFree, 0
	case v >= end:
		return EntryEnd, 0
	case v == bad:
		return EntryBad, 0
	case p.ValidCluster(v):
		return EntryNext, v
	}
	return EntryRsvd, v
}

package disk

import (
	"encoding/binary"
	"fmt"

	"github.com/rumpfs/rumpfs/internal/ondisk"
)

// Group descriptor sizes.
const (
	GroupDescSize32 = 32
	GroupDescSize64 = 64
)

// bg_flags bits.
const (
	BGInodeUninit = 0x1
	BGBlockUninit = 0x2
	BGInodeZeroed = 0x4
)

// GroupDesc is struct ext4_group_desc (32 or 64 bytes); the _hi halves
// are folded in when the descriptor is 64 bytes.
type GroupDesc struct {
	BlockBitmap     uint64
	InodeBitmap     uint64
	InodeTable      uint64
	FreeBlocksCount uint32
	FreeInodesCount uint32
	UsedDirsCount   uint32
	Flags           uint16
	ExcludeBitmap   uint64
	BlockBitmapCsum uint32
	InodeBitmapCsum uint32
	ItableUnused    uint32
	Checksum        uint16
}

// groupDescLayout is struct ext4_group_desc: where each member of
// GroupDesc lives. A Split's Hi is the member's _hi half, stored only in a
// 64-byte descriptor (groupDesc32 leaves them out).
type groupDescLayout struct {
	BlockBitmap, InodeBitmap, InodeTable, ExcludeBitmap ondisk.Split
	FreeBlocksCount, FreeInodesCount, UsedDirsCount     ondisk.Split
	BlockBitmapCsum, InodeBitmapCsum, ItableUnused      ondisk.Split
	Flags, Checksum                                     ondisk.Field
}

var groupDesc64 = groupDescLayout{
	BlockBitmap:     split(fld(0x00, 4), fld(0x20, 4)),
	InodeBitmap:     split(fld(0x04, 4), fld(0x24, 4)),
	InodeTable:      split(fld(0x08, 4), fld(0x28, 4)),
	FreeBlocksCount: split(fld(0x0c, 2), fld(0x2c, 2)),
	FreeInodesCount: split(fld(0x0e, 2), fld(0x2e, 2)),
	UsedDirsCount:   split(fld(0x10, 2), fld(0x30, 2)),
	Flags:           fld(0x12, 2),
	ExcludeBitmap:   split(fld(0x14, 4), fld(0x34, 4)),
	BlockBitmapCsum: split(fld(0x18, 2), fld(0x38, 2)),
	InodeBitmapCsum: split(fld(0x1a, 2), fld(0x3a, 2)),
	ItableUnused:    split(fld(0x1c, 2), fld(0x32, 2)),
	Checksum:        fld(gdChecksumOff, 2),
}

// groupDesc32 is the layout of a 32-byte descriptor: the low halves.
var groupDesc32 = func() groupDescLayout {
	l := groupDesc64
	for _, s := range [...]*ondisk.Split{&l.BlockBitmap, &l.InodeBitmap, &l.InodeTable, &l.ExcludeBitmap,
		&l.FreeBlocksCount, &l.FreeInodesCount, &l.UsedDirsCount,
		&l.BlockBitmapCsum, &l.InodeBitmapCsum, &l.ItableUnused} {
		*s = s.LoOnly()
	}
	return l
}()

const gdChecksumOff = 0x1e

// ParseGroupDesc decodes one descriptor; len(b) is the descriptor size
// (32, or s_desc_size with 64bit).
func ParseGroupDesc(b []byte) (*GroupDesc, error) {
	if len(b) < GroupDescSize32 {
		return nil, fmt.Errorf("group descriptor: short (%d bytes)", len(b))
	}
	l := &groupDesc32
	if len(b) >= GroupDescSize64 {
		l = &groupDesc64
	}
	s := func(f ondisk.Split) uint64 { return f.UintLE(b) }
	return &GroupDesc{
		BlockBitmap:     s(l.BlockBitmap),
		InodeBitmap:     s(l.InodeBitmap),
		InodeTable:      s(l.InodeTable),
		FreeBlocksCount: uint32(s(l.FreeBlocksCount)),
		FreeInodesCount: uint32(s(l.FreeInodesCount)),
		UsedDirsCount:   uint32(s(l.UsedDirsCount)),
		Flags:           uint16(l.Flags.UintLE(b)),
		ExcludeBitmap:   s(l.ExcludeBitmap),
		BlockBitmapCsum: uint32(s(l.BlockBitmapCsum)),
		InodeBitmapCsum: uint32(s(l.InodeBitmapCsum)),
		ItableUnused:    uint32(s(l.ItableUnused)),
		Checksum:        uint16(l.Checksum.UintLE(b)),
	}, nil
}

// GroupDescChecksum computes bg_checksum of raw descriptor bytes b of
// group: crc32c (low 16 bits) with metadata_csum, crc16 with gdt_csum.
func GroupDescChecksum(s *Superblock, group uint32, b []byte) uint16 {
	var gb [4]byte
	binary.LittleEndian.PutUint32(gb[:], group)
	if s.HasMetadataCsum() {
		c := Crc32c(s.CsumSeed(), gb[:])
		c = Crc32c(c, b[:gdChecksumOff])
		c = Crc32c(c, zeros[:2])
		if len(b) > gdChecksumOff+2 {
			c = Crc32c(c, b[gdChecksumOff+2:])
		}
		return uint16(c)
	}
	c := Crc16(0xffff, s.UUID[:])
	c = Crc16(c, gb[:])
	c = Crc16(c, b[:gdChecksumOff])
	if len(b) > gdChecksumOff+2 {
		c = Crc16(c, b[gdChecksumOff+2:])
	}
	return c
}

// VerifyGroupDesc checks bg_checksum when the file system has one.
func VerifyGroupDesc(s *Superblock, group uint32, b []byte, g *GroupDesc) error {
	if !s.HasMetadataCsum() && !s.HasGdtCsum() {
		return nil
	}
	if c := GroupDescChecksum(s, group, b); c != g.Checksum {
		return fmt.Errorf("group descriptor %d: checksum %#x, computed %#x", group, g.Checksum, c)
	}
	return nil
}

// BitmapChecksum is the metadata_csum checksum of a block or inode bitmap:
// crc32c over its first n bytes (clusters or inodes per group / 8). With
// 32-byte descriptors only the low 16 bits are stored.
func BitmapChecksum(s *Superblock, bitmap []byte, n int) uint32 {
	return Crc32c(s.CsumSeed(), bitmap[:min(n, len(bitmap))])
}

// VerifyBitmap checks a bitmap against the stored checksum.
func VerifyBitmap(s *Superblock, what string, group uint32, bitmap []byte, n int, stored uint32) error {
	if !s.HasMetadataCsum() {
		return nil
	}
	c := BitmapChecksum(s, bitmap, n)
	if s.GroupDescSize() < GroupDescSize64 {
		c &= 0xffff
	}
	if c != stored {
		return fmt.Errorf("%s bitmap of group %d: checksum %#x, computed %#x", what, group, stored, c)
	}
	return nil
}

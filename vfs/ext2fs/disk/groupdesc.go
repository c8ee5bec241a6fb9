package disk

import (
	"encoding/binary"
	"fmt"
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

const gdChecksumOff = 0x1e

// ParseGroupDesc decodes one descriptor; len(b) is the descriptor size
// (32, or s_desc_size with 64bit).
func ParseGroupDesc(b []byte) (*GroupDesc, error) {
	if len(b) < GroupDescSize32 {
		return nil, fmt.Errorf("group descriptor: short (%d bytes)", len(b))
	}
	g := &GroupDesc{
		BlockBitmap:     uint64(le32(b, 0x0)),
		InodeBitmap:     uint64(le32(b, 0x4)),
		InodeTable:      uint64(le32(b, 0x8)),
		FreeBlocksCount: uint32(le16(b, 0xc)),
		FreeInodesCount: uint32(le16(b, 0xe)),
		UsedDirsCount:   uint32(le16(b, 0x10)),
		Flags:           le16(b, 0x12),
		ExcludeBitmap:   uint64(le32(b, 0x14)),
		BlockBitmapCsum: uint32(le16(b, 0x18)),
		InodeBitmapCsum: uint32(le16(b, 0x1a)),
		ItableUnused:    uint32(le16(b, 0x1c)),
		Checksum:        le16(b, gdChecksumOff),
	}
	if len(b) >= GroupDescSize64 {
		g.BlockBitmap |= uint64(le32(b, 0x20)) << 32
		g.InodeBitmap |= uint64(le32(b, 0x24)) << 32
		g.InodeTable |= uint64(le32(b, 0x28)) << 32
		g.FreeBlocksCount |= uint32(le16(b, 0x2c)) << 16
		g.FreeInodesCount |= uint32(le16(b, 0x2e)) << 16
		g.UsedDirsCount |= uint32(le16(b, 0x30)) << 16
		g.ItableUnused |= uint32(le16(b, 0x32)) << 16
		g.ExcludeBitmap |= uint64(le32(b, 0x34)) << 32
		g.BlockBitmapCsum |= uint32(le16(b, 0x38)) << 16
		g.InodeBitmapCsum |= uint32(le16(b, 0x3a)) << 16
	}
	return g, nil
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

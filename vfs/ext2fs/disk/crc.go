package disk

import (
	"encoding/binary"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Crc32c continues a crc32c over p the way ext4 and jbd2 do: the running
// value is used as is, with no pre- or post-inversion (the kernel's
// crc32c_le). Start a fresh checksum with ^uint32(0).
func Crc32c(crc uint32, p []byte) uint32 {
	return ^crc32.Update(^crc, castagnoli, p)
}

// crc32cU32 continues crc over the four little-endian bytes of v, a
// byte at a time: crc32.Update would make v's bytes escape to the heap,
// and the per-inode seed is computed on every inode read.
func crc32cU32(crc, v uint32) uint32 {
	for range 4 {
		crc = castagnoli[byte(crc)^byte(v)] ^ crc>>8
		v >>= 8
	}
	return crc
}

// zeros stands for checksum fields, which count as zero bytes; a global
// so that passing it to Crc32c allocates nothing.
var zeros [4]byte

// Crc16 continues a crc16 (polynomial 0x8005, bit-reflected, as the
// kernel's crc16) over p; gdt_csum uses it seeded with 0xffff.
func Crc16(crc uint16, p []byte) uint16 {
	for _, b := range p {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xa001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// InodeSeed is the per-inode checksum seed of metadata_csum: the file
// system seed continued over the inode number and generation. Extent
// blocks, directory blocks and the inode itself are checksummed from it.
func InodeSeed(fsSeed, ino, gen uint32) uint32 {
	return crc32cU32(crc32cU32(fsSeed, ino), gen)
}

func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
func be16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
func be32(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }

// cstring returns b up to its first NUL.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

package disk

import "fmt"

// Directory entry file types (filetype feature).
const (
	FtUnknown = 0
	FtRegFile = 1
	FtDir     = 2
	FtChrdev  = 3
	FtBlkdev  = 4
	FtFifo    = 5
	FtSock    = 6
	FtSymlink = 7
	FtMax     = 8
	// FtDirCsum marks the fake entry that holds a directory block's
	// checksum tail.
	FtDirCsum = 0xde
)

// Directory entry geometry.
const (
	DirentHdrSize = 8
	NameMax       = 255
	DirTailSize   = 12
)

// Dirent is struct ext4_dir_entry_2. With filetype off the name length is
// 16 bits and FileType is 0.
type Dirent struct {
	Inode    uint32
	RecLen   int
	Name     []byte // aliases the block
	FileType uint8
}

// RecLen decodes rec_len: 65536-byte blocks need more than 16 bits, so
// the low two bits carry bits 16 and 17, and 0 or 65535 mean the whole
// block.
func RecLen(v uint16, blockSize int) int {
	if blockSize < 65536 {
		return int(v)
	}
	if v == 65535 || v == 0 {
		return blockSize
	}
	return int(v&65532) | int(v&3)<<16
}

// ParseDirent decodes the entry at off in a directory block of len(b)
// bytes (a whole block, or an inline-data area). It checks that rec_len
// is 4-aligned, covers the name and stays inside b.
func ParseDirent(b []byte, off int, blockSize int, filetype bool) (Dirent, error) {
	if off < 0 || off+DirentHdrSize > len(b) {
		return Dirent{}, fmt.Errorf("directory entry at %d: header past the end (%d)", off, len(b))
	}
	d := Dirent{Inode: le32(b, off), RecLen: RecLen(le16(b, off+4), blockSize)}
	nameLen := int(b[off+6])
	if filetype {
		d.FileType = b[off+7]
	} else {
		nameLen |= int(b[off+7]) << 8
	}
	if d.RecLen < DirentHdrSize || d.RecLen&3 != 0 || off+d.RecLen > len(b) {
		return Dirent{}, fmt.Errorf("directory entry at %d: rec_len %d", off, d.RecLen)
	}
	if DirentHdrSize+nameLen > d.RecLen {
		return Dirent{}, fmt.Errorf("directory entry at %d: name length %d exceeds rec_len %d", off, nameLen, d.RecLen)
	}
	d.Name = b[off+DirentHdrSize : off+DirentHdrSize+nameLen]
	return d, nil
}

// DirTail locates the metadata_csum tail of a leaf directory block: the
// offset of the fake entry in the last 12 bytes, or -1 if there is none.
func DirTail(b []byte) int {
	off := len(b) - DirTailSize
	if off < 0 {
		return -1
	}
	if le32(b, off) != 0 || le16(b, off+4) != DirTailSize || b[off+6] != 0 || b[off+7] != FtDirCsum {
		return -1
	}
	return off
}

// VerifyDirBlock checks the tail checksum of a leaf directory block.
func VerifyDirBlock(inodeSeed uint32, b []byte) error {
	off := DirTail(b)
	if off < 0 {
		return fmt.Errorf("directory block: no checksum tail")
	}
	stored := le32(b, off+8)
	if c := Crc32c(inodeSeed, b[:off]); c != stored {
		return fmt.Errorf("directory block: checksum %#x, computed %#x", stored, c)
	}
	return nil
}

package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// DirBlkSize is the directory chunk (UFS_DIRBLKSIZ): entries never cross
// one, and each chunk's entries claim all of its bytes.
const DirBlkSize = 512

// MaxNameLen is the longest name in a directory entry (FFS_MAXNAMLEN).
const MaxNameLen = 255

// Directory entry types (DT_*), the mode's type bits shifted down 12.
const (
	DTUnknown = 0
	DTFifo    = 1
	DTChr     = 2
	DTDir     = 4
	DTBlk     = 6
	DTReg     = 8
	DTLnk     = 10
	DTSock    = 12
	DTWht     = 14
)

// IFToDT converts a mode to a directory entry type (IFTODT).
func IFToDT(mode uint16) uint8 { return uint8((mode & IFMT) >> 12) }

// The header of struct direct; an entry's name follows it. Writers
// change entries in place through the same Fields.
var (
	DirIno       = Field{Off: 0, Size: 4}
	DirReclen    = Field{Off: 4, Size: 2}
	DirType      = Field{Off: 6, Size: 1}
	dirNamlen    = Field{Off: 7, Size: 1}
	dirOldNamlen = Field{Off: 6, Size: 2} // 4.2BSD: no type, 16-bit length
)

// direntHeader is the size of that header.
const direntHeader = 8

// DirectSize is the smallest record holding a name of n bytes
// (UFS_DIRECTSIZ): the header, the name and its NUL, rounded to 4.
func DirectSize(n int) int { return direntHeader + (n+1+3)&^3 }

// Direct is one directory entry (struct direct). Ino 0 marks free space.
type Direct struct {
	Ino    uint32
	Reclen uint16
	Type   uint8
	Name   string
	Off    int // byte offset of the entry in its directory
}

// ParseDirChunk decodes one DirBlkSize chunk of a directory that starts at
// byte offset base, in byte order bo. oldFmt is the 4.2BSD format, where
// the name length is 16 bits and there is no type. Entries whose inode is
// above maxIno, records that are zero, unaligned, run past the chunk or
// are too short for their name, and names that hold NUL or '/' or are
// not NUL-terminated are corruption: the error names the offset. Free
// entries (Ino 0) are returned too, so that a writer can reuse them.
func ParseDirChunk(b []byte, base int64, bo binary.ByteOrder, oldFmt bool, maxIno uint64) ([]Direct, error) {
	if len(b) != DirBlkSize {
		return nil, fmt.Errorf("directory chunk at %d: %d bytes, want %d", base, len(b), DirBlkSize)
	}
	var out []Direct
	for off := 0; off < DirBlkSize; {
		d, err := parseDirent(b[off:], bo, oldFmt, maxIno)
		if err != nil {
			return out, fmt.Errorf("directory entry at offset %d: %v", base+int64(off), err)
		}
		d.Off = int(base) + off
		out = append(out, d)
		off += int(d.Reclen)
	}
	return out, nil
}

func parseDirent(b []byte, bo binary.ByteOrder, oldFmt bool, maxIno uint64) (Direct, error) {
	var d Direct
	if len(b) < direntHeader {
		return d, fmt.Errorf("header runs past the chunk")
	}
	d.Ino = uint32(DirIno.Uint(bo, b))
	d.Reclen = uint16(DirReclen.Uint(bo, b))
	var namlen int
	if oldFmt {
		namlen = int(dirOldNamlen.Uint(bo, b))
	} else {
		d.Type = uint8(DirType.Uint(bo, b))
		namlen = int(dirNamlen.Uint(bo, b))
	}
	switch {
	case d.Reclen == 0:
		return d, fmt.Errorf("zero record length")
	case d.Reclen&3 != 0:
		return d, fmt.Errorf("record length %d not a multiple of 4", d.Reclen)
	case int(d.Reclen) > len(b):
		return d, fmt.Errorf("record length %d runs past the chunk", d.Reclen)
	case uint64(d.Ino) > maxIno:
		return d, fmt.Errorf("inode %d out of range (max %d)", d.Ino, maxIno)
	}
	if d.Ino == 0 && namlen == 0 {
		return d, nil // free space at the start of a chunk
	}
	if namlen > MaxNameLen {
		return d, fmt.Errorf("name length %d", namlen)
	}
	if DirectSize(namlen) > int(d.Reclen) {
		return d, fmt.Errorf("name length %d longer than record %d", namlen, d.Reclen)
	}
	name := b[direntHeader : direntHeader+namlen]
	if d.Ino != 0 {
		switch {
		case namlen == 0:
			return d, fmt.Errorf("empty name")
		case bytes.IndexByte(name, 0) >= 0:
			return d, fmt.Errorf("name %q holds NUL", name)
		case bytes.IndexByte(name, '/') >= 0:
			return d, fmt.Errorf("name %q holds '/'", name)
		case b[direntHeader+namlen] != 0:
			return d, fmt.Errorf("name %q not NUL-terminated", name)
		}
	}
	d.Name = string(name)
	return d, nil
}

// PutDirent encodes d at the start of b (d.Reclen bytes), for a writer.
// The name is NUL-terminated and padding zeroed.
func PutDirent(b []byte, d Direct, bo binary.ByteOrder, oldFmt bool) {
	DirIno.Put(bo, b, int64(d.Ino))
	DirReclen.Put(bo, b, int64(d.Reclen))
	if oldFmt {
		dirOldNamlen.Put(bo, b, int64(len(d.Name)))
	} else {
		DirType.Put(bo, b, int64(d.Type))
		dirNamlen.Put(bo, b, int64(len(d.Name)))
	}
	n := copy(b[direntHeader:], d.Name)
	clear(b[direntHeader+n : DirectSize(len(d.Name))])
}

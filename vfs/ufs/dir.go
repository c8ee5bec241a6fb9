package ufs

import (
	"encoding/binary"

	"github.com/rumpfs/rumpfs/vfs/ufs/disk"
)

// Directory entries are laid out in package disk; ufs keeps the names.

// Direct is one directory entry (disk.Direct).
type Direct = disk.Direct

const (
	DirBlkSize = disk.DirBlkSize
	MaxNameLen = disk.MaxNameLen

	DTUnknown = disk.DTUnknown
	DTFifo    = disk.DTFifo
	DTChr     = disk.DTChr
	DTDir     = disk.DTDir
	DTBlk     = disk.DTBlk
	DTReg     = disk.DTReg
	DTLnk     = disk.DTLnk
	DTSock    = disk.DTSock
	DTWht     = disk.DTWht
)

// IFToDT is disk.IFToDT.
func IFToDT(mode uint16) uint8 { return disk.IFToDT(mode) }

// DirectSize is disk.DirectSize.
func DirectSize(n int) int { return disk.DirectSize(n) }

// ParseDirChunk is disk.ParseDirChunk.
func ParseDirChunk(b []byte, base int64, bo binary.ByteOrder, oldFmt bool, maxIno uint64) ([]Direct, error) {
	return disk.ParseDirChunk(b, base, bo, oldFmt, maxIno)
}

// PutDirent is disk.PutDirent.
func PutDirent(b []byte, d Direct, bo binary.ByteOrder, oldFmt bool) {
	disk.PutDirent(b, d, bo, oldFmt)
}

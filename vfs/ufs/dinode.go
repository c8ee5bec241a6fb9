package ufs

import (
	"encoding/binary"

	"github.com/rumpfs/rumpfs/vfs/ufs/disk"
)

// The dinode's layout is package disk's; ufs and its users keep the
// names.
type Dinode = disk.Dinode

const (
	WhiteoutIno    = disk.WhiteoutIno
	RootIno        = disk.RootIno
	NDAddr         = disk.NDAddr
	NIAddr         = disk.NIAddr
	NXAddr         = disk.NXAddr
	Dinode1Size    = disk.Dinode1Size
	Dinode2Size    = disk.Dinode2Size
	MaxSymlinkLen1 = disk.MaxSymlinkLen1
	MaxSymlinkLen2 = disk.MaxSymlinkLen2

	IFMT   = disk.IFMT
	IFIFO  = disk.IFIFO
	IFCHR  = disk.IFCHR
	IFDIR  = disk.IFDIR
	IFBLK  = disk.IFBLK
	IFREG  = disk.IFREG
	IFLNK  = disk.IFLNK
	IFSOCK = disk.IFSOCK
	IFWHT  = disk.IFWHT
)

// ParseDinode is disk.ParseDinode.
func ParseDinode(b []byte, bo binary.ByteOrder, ufs2 bool) (Dinode, error) {
	return disk.ParseDinode(b, bo, ufs2)
}

// DinodeSize is disk.DinodeSize.
func DinodeSize(ufs2 bool) int { return disk.DinodeSize(ufs2) }

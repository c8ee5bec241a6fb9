package ffs

import "github.com/rumpfs/rumpfs/vfs/ffs/disk"

// The on-disk structures are package disk's; the driver keeps their
// names.
type (
	Superblock = disk.Superblock
	CG         = disk.CG
	CSum       = disk.CSum
)

package ufs

import (
	"encoding/binary"
	"fmt"

	"github.com/rumpfs/rumpfs/vfs/ufs/disk"
)

// Inode numbers with a fixed role (UFS_WINO, UFS_ROOTINO).
const (
	WhiteoutIno = 1
	RootIno     = 2
)

// The dinode's geometry, declared in package disk.
const (
	NDAddr         = disk.NDAddr
	NIAddr         = disk.NIAddr
	NXAddr         = disk.NXAddr
	Dinode1Size    = disk.Dinode1Size
	Dinode2Size    = disk.Dinode2Size
	MaxSymlinkLen1 = disk.MaxSymlinkLen1
	MaxSymlinkLen2 = disk.MaxSymlinkLen2
)

// File type bits of di_mode (IFMT and friends).
const (
	IFMT   = 0o170000
	IFIFO  = 0o010000
	IFCHR  = 0o020000
	IFDIR  = 0o040000
	IFBLK  = 0o060000
	IFREG  = 0o100000
	IFLNK  = 0o120000
	IFSOCK = 0o140000
	IFWHT  = 0o160000
)

// Offsets of the block-pointer area, which a fast symlink or a device
// number overlays.
const (
	dbOff1 = 40
	dbOff2 = 112
)

// Dinode is an on-disk inode in one form for both UFS versions. Times are
// seconds and nanoseconds; UFS1 has no birth time, extattr area or
// blksize (they stay zero). Fields this form does not model (UFS1
// di_oldids and di_modrev; UFS2 di_kernflags, di_modrev and spares) stay
// on disk: Marshal writes over the bytes already there. A fast symlink's
// target and a device number live in DB and IB as the disk has them: the
// pointer area's bytes read as pointers in the image's byte order.
//
// A cached vnode holds one Dinode, so it is kept small: no copy of the
// raw bytes, and fields ordered by size so nothing is padding but the
// tail (TestInodeSize in package ffs bounds it).
type Dinode struct {
	Size      uint64
	Blocks    uint64 // DEV_BSIZE units held, indirect blocks included
	Atime     int64
	Mtime     int64
	Ctime     int64
	Birthtime int64
	ExtB      [NXAddr]int64
	DB        [NDAddr]int64
	IB        [NIAddr]int64
	UID, GID  uint32
	AtimeNsec int32
	MtimeNsec int32
	CtimeNsec int32
	BirthNsec int32
	Gen       int32
	Flags     uint32 // chflags(2) flags
	BlkSize   uint32
	ExtSize   int32
	Mode      uint16
	Nlink     int16
	UFS2      bool
}

// Type is the file type bits of the mode.
func (d *Dinode) Type() uint16 { return d.Mode & IFMT }

// Rdev is the device number of a block or character device inode
// (di_rdev overlays di_db[0]).
func (d *Dinode) Rdev() uint64 {
	if d.UFS2 {
		return uint64(d.DB[0])
	}
	return uint64(uint32(d.DB[0]))
}

// PointerArea returns a copy of the block-pointer area's bytes (di_db and
// di_ib as the disk has them, in byte order bo), where a fast symlink
// keeps its target.
func (d *Dinode) PointerArea(bo binary.ByteOrder) []byte {
	if d.UFS2 {
		b := make([]byte, MaxSymlinkLen2)
		for i, v := range d.pointers() {
			bo.PutUint64(b[8*i:], uint64(v))
		}
		return b
	}
	b := make([]byte, MaxSymlinkLen1)
	for i, v := range d.pointers() {
		bo.PutUint32(b[4*i:], uint32(v))
	}
	return b
}

// SetPointerArea stores p (a fast symlink's target, at most the area's
// size) as the block-pointer area's bytes in byte order bo; the rest of
// the area is zeroed.
func (d *Dinode) SetPointerArea(p []byte, bo binary.ByteOrder) {
	n := MaxSymlinkLen1
	if d.UFS2 {
		n = MaxSymlinkLen2
	}
	b := make([]byte, n)
	copy(b, p)
	d.setPointers(b, bo)
}

// pointers is di_db followed by di_ib, the order of the on-disk area.
func (d *Dinode) pointers() [NDAddr + NIAddr]int64 {
	var a [NDAddr + NIAddr]int64
	copy(a[:], d.DB[:])
	copy(a[NDAddr:], d.IB[:])
	return a
}

// setPointers decodes the pointer area b (UFS1 60 bytes, UFS2 120) into
// DB and IB. UFS1 pointers are signed 32-bit.
func (d *Dinode) setPointers(b []byte, bo binary.ByteOrder) {
	for i := range NDAddr + NIAddr {
		var v int64
		if d.UFS2 {
			v = int64(bo.Uint64(b[8*i:]))
		} else {
			v = int64(int32(bo.Uint32(b[4*i:])))
		}
		if i < NDAddr {
			d.DB[i] = v
		} else {
			d.IB[i-NDAddr] = v
		}
	}
}

// ParseDinode decodes one dinode (128 bytes for UFS1, 256 for UFS2) in
// byte order bo. It checks only that b is long enough: what the fields
// mean is for the caller to judge.
func ParseDinode(b []byte, bo binary.ByteOrder, ufs2 bool) (Dinode, error) {
	var d Dinode
	d.UFS2 = ufs2
	if n := DinodeSize(ufs2); len(b) < n {
		return d, fmt.Errorf("dinode: %d bytes, want %d", len(b), n)
	}
	d.Mode = bo.Uint16(b[0:])
	d.Nlink = int16(bo.Uint16(b[2:]))
	if ufs2 {
		d.UID = bo.Uint32(b[4:])
		d.GID = bo.Uint32(b[8:])
		d.BlkSize = bo.Uint32(b[12:])
		d.Size = bo.Uint64(b[16:])
		d.Blocks = bo.Uint64(b[24:])
		d.Atime = int64(bo.Uint64(b[32:]))
		d.Mtime = int64(bo.Uint64(b[40:]))
		d.Ctime = int64(bo.Uint64(b[48:]))
		d.Birthtime = int64(bo.Uint64(b[56:]))
		d.MtimeNsec = int32(bo.Uint32(b[64:]))
		d.AtimeNsec = int32(bo.Uint32(b[68:]))
		d.CtimeNsec = int32(bo.Uint32(b[72:]))
		d.BirthNsec = int32(bo.Uint32(b[76:]))
		d.Gen = int32(bo.Uint32(b[80:]))
		d.Flags = bo.Uint32(b[88:])
		d.ExtSize = int32(bo.Uint32(b[92:]))
		for i := range d.ExtB {
			d.ExtB[i] = int64(bo.Uint64(b[96+8*i:]))
		}
		d.setPointers(b[dbOff2:], bo)
		return d, nil
	}
	d.Size = bo.Uint64(b[8:])
	d.Atime = int64(int32(bo.Uint32(b[16:])))
	d.AtimeNsec = int32(bo.Uint32(b[20:]))
	d.Mtime = int64(int32(bo.Uint32(b[24:])))
	d.MtimeNsec = int32(bo.Uint32(b[28:]))
	d.Ctime = int64(int32(bo.Uint32(b[32:])))
	d.CtimeNsec = int32(bo.Uint32(b[36:]))
	d.setPointers(b[dbOff1:], bo)
	d.Flags = bo.Uint32(b[100:])
	d.Blocks = uint64(bo.Uint32(b[104:]))
	d.Gen = int32(bo.Uint32(b[108:]))
	d.UID = bo.Uint32(b[112:])
	d.GID = bo.Uint32(b[116:])
	return d, nil
}

// DinodeSize returns the on-disk size of a dinode of this version.
func DinodeSize(ufs2 bool) int { return disk.DinodeSize(ufs2) }

// Marshal writes d's fields over b (DinodeSize bytes), in byte order bo.
// b holds the dinode's bytes as they are on disk (the inode block), so
// the fields this form does not model keep their values; a newly
// allocated inode's bytes were zeroed first. It is the one place an inode
// becomes bytes again: dirty inode write-back goes through it. UFS1 keeps
// the low 32 bits of times, blocks and pointers.
func (d *Dinode) Marshal(b []byte, bo binary.ByteOrder) {
	_ = b[DinodeSize(d.UFS2)-1]
	bo.PutUint16(b[0:], d.Mode)
	bo.PutUint16(b[2:], uint16(d.Nlink))
	if d.UFS2 {
		bo.PutUint32(b[4:], d.UID)
		bo.PutUint32(b[8:], d.GID)
		bo.PutUint32(b[12:], d.BlkSize)
		bo.PutUint64(b[16:], d.Size)
		bo.PutUint64(b[24:], d.Blocks)
		bo.PutUint64(b[32:], uint64(d.Atime))
		bo.PutUint64(b[40:], uint64(d.Mtime))
		bo.PutUint64(b[48:], uint64(d.Ctime))
		bo.PutUint64(b[56:], uint64(d.Birthtime))
		bo.PutUint32(b[64:], uint32(d.MtimeNsec))
		bo.PutUint32(b[68:], uint32(d.AtimeNsec))
		bo.PutUint32(b[72:], uint32(d.CtimeNsec))
		bo.PutUint32(b[76:], uint32(d.BirthNsec))
		bo.PutUint32(b[80:], uint32(d.Gen))
		bo.PutUint32(b[88:], d.Flags)
		bo.PutUint32(b[92:], uint32(d.ExtSize))
		for i, v := range d.ExtB {
			bo.PutUint64(b[96+8*i:], uint64(v))
		}
		for i, v := range d.pointers() {
			bo.PutUint64(b[dbOff2+8*i:], uint64(v))
		}
		return
	}
	bo.PutUint64(b[8:], d.Size)
	bo.PutUint32(b[16:], uint32(d.Atime))
	bo.PutUint32(b[20:], uint32(d.AtimeNsec))
	bo.PutUint32(b[24:], uint32(d.Mtime))
	bo.PutUint32(b[28:], uint32(d.MtimeNsec))
	bo.PutUint32(b[32:], uint32(d.Ctime))
	bo.PutUint32(b[36:], uint32(d.CtimeNsec))
	for i, v := range d.pointers() {
		bo.PutUint32(b[dbOff1+4*i:], uint32(v))
	}
	bo.PutUint32(b[100:], d.Flags)
	bo.PutUint32(b[104:], uint32(d.Blocks))
	bo.PutUint32(b[108:], uint32(d.Gen))
	bo.PutUint32(b[112:], d.UID)
	bo.PutUint32(b[116:], d.GID)
}

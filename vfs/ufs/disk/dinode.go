package disk

import (
	"encoding/binary"
	"fmt"
)

// Inode numbers with a fixed role (UFS_WINO, UFS_ROOTINO).
const (
	WhiteoutIno = 1
	RootIno     = 2
)

// Address counts in a dinode (UFS_NDADDR, UFS_NIADDR, UFS_NXADDR).
const (
	NDAddr = 12
	NIAddr = 3
	NXAddr = 2
)

// On-disk dinode sizes (DINODE1_SIZE, DINODE2_SIZE).
const (
	Dinode1Size = 128
	Dinode2Size = 256
)

// Longest symlink kept in the inode's block-pointer area
// (UFS1_MAXSYMLINKLEN, UFS2_MAXSYMLINKLEN).
const (
	MaxSymlinkLen1 = (NDAddr + NIAddr) * 4
	MaxSymlinkLen2 = (NDAddr + NIAddr) * 8
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

// dinodeLayout is struct ufs1_dinode or struct ufs2_dinode (dinode.h):
// where each member Dinode models lives. DB is di_db[0], followed by
// di_ib (the block-pointer area, which a fast symlink or a device number
// overlays), ExtB di_extb[0]. A Field of size 0 is absent in that
// version. ParseDinode and Marshal both read this table.
type dinodeLayout struct {
	Mode, Nlink, UID, GID, BlkSize, Size, Blocks Field
	Atime, Mtime, Ctime, Birthtime               Field
	AtimeNsec, MtimeNsec, CtimeNsec, BirthNsec   Field
	Gen, Flags, ExtSize, ExtB, DB                Field
}

var (
	dinode1 = dinodeLayout{
		Mode: Field{Off: 0, Size: 2}, Nlink: Field{Off: 2, Size: 2},
		Size:  Field{Off: 8, Size: 8},
		Atime: Field{Off: 16, Size: 4}, AtimeNsec: Field{Off: 20, Size: 4},
		Mtime: Field{Off: 24, Size: 4}, MtimeNsec: Field{Off: 28, Size: 4},
		Ctime: Field{Off: 32, Size: 4}, CtimeNsec: Field{Off: 36, Size: 4},
		DB:    Field{Off: 40, Size: 4},
		Flags: Field{Off: 100, Size: 4}, Blocks: Field{Off: 104, Size: 4},
		Gen: Field{Off: 108, Size: 4}, UID: Field{Off: 112, Size: 4}, GID: Field{Off: 116, Size: 4},
	}
	dinode2 = dinodeLayout{
		Mode: Field{Off: 0, Size: 2}, Nlink: Field{Off: 2, Size: 2},
		UID: Field{Off: 4, Size: 4}, GID: Field{Off: 8, Size: 4}, BlkSize: Field{Off: 12, Size: 4},
		Size: Field{Off: 16, Size: 8}, Blocks: Field{Off: 24, Size: 8},
		Atime: Field{Off: 32, Size: 8}, Mtime: Field{Off: 40, Size: 8},
		Ctime: Field{Off: 48, Size: 8}, Birthtime: Field{Off: 56, Size: 8},
		MtimeNsec: Field{Off: 64, Size: 4}, AtimeNsec: Field{Off: 68, Size: 4},
		CtimeNsec: Field{Off: 72, Size: 4}, BirthNsec: Field{Off: 76, Size: 4},
		Gen: Field{Off: 80, Size: 4}, Flags: Field{Off: 88, Size: 4}, ExtSize: Field{Off: 92, Size: 4},
		ExtB: Field{Off: 96, Size: 8}, DB: Field{Off: 112, Size: 8},
	}
)

func layoutOf(ufs2 bool) *dinodeLayout {
	if ufs2 {
		return &dinode2
	}
	return &dinode1
}

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
	p := Field{Size: layoutOf(d.UFS2).DB.Size}
	for i := range NDAddr + NIAddr {
		v := p.At(i).Get(bo, b)
		if i < NDAddr {
			d.DB[i] = v
		} else {
			d.IB[i-NDAddr] = v
		}
	}
}

// PointerAreaOff is the offset of the block-pointer area (di_db) in a
// dinode.
func PointerAreaOff(ufs2 bool) int { return layoutOf(ufs2).DB.Off }

// ParseDinode decodes one dinode (128 bytes for UFS1, 256 for UFS2) in
// byte order bo. It checks only that b is long enough: what the fields
// mean is for the caller to judge.
func ParseDinode(b []byte, bo binary.ByteOrder, ufs2 bool) (Dinode, error) {
	var d Dinode
	d.UFS2 = ufs2
	if n := DinodeSize(ufs2); len(b) < n {
		return d, fmt.Errorf("dinode: %d bytes, want %d", len(b), n)
	}
	l := layoutOf(ufs2)
	u := func(f Field) uint64 { return f.Uint(bo, b) }
	i := func(f Field) int64 { return f.Get(bo, b) }
	d.Mode = uint16(u(l.Mode))
	d.Nlink = int16(i(l.Nlink))
	d.UID, d.GID, d.BlkSize = uint32(u(l.UID)), uint32(u(l.GID)), uint32(u(l.BlkSize))
	d.Size, d.Blocks = u(l.Size), u(l.Blocks)
	d.Atime, d.Mtime, d.Ctime, d.Birthtime = i(l.Atime), i(l.Mtime), i(l.Ctime), i(l.Birthtime)
	d.AtimeNsec, d.MtimeNsec = int32(i(l.AtimeNsec)), int32(i(l.MtimeNsec))
	d.CtimeNsec, d.BirthNsec = int32(i(l.CtimeNsec)), int32(i(l.BirthNsec))
	d.Gen, d.Flags, d.ExtSize = int32(i(l.Gen)), uint32(u(l.Flags)), int32(i(l.ExtSize))
	for k := range d.ExtB {
		d.ExtB[k] = i(l.ExtB.At(k))
	}
	d.setPointers(b[l.DB.Off:], bo)
	return d, nil
}

// DinodeSize returns the on-disk size of a dinode of this version.
func DinodeSize(ufs2 bool) int {
	if ufs2 {
		return Dinode2Size
	}
	return Dinode1Size
}

// Marshal writes d's fields over b (DinodeSize bytes), in byte order bo.
// b holds the dinode's bytes as they are on disk (the inode block), so
// the fields this form does not model keep their values; a newly
// allocated inode's bytes were zeroed first. It is the one place an inode
// becomes bytes again: dirty inode write-back goes through it. UFS1 keeps
// the low 32 bits of times, blocks and pointers.
func (d *Dinode) Marshal(b []byte, bo binary.ByteOrder) {
	_ = b[DinodeSize(d.UFS2)-1]
	l := layoutOf(d.UFS2)
	put := func(f Field, v int64) { f.Put(bo, b, v) }
	put(l.Mode, int64(d.Mode))
	put(l.Nlink, int64(d.Nlink))
	put(l.UID, int64(d.UID))
	put(l.GID, int64(d.GID))
	put(l.BlkSize, int64(d.BlkSize))
	put(l.Size, int64(d.Size))
	put(l.Blocks, int64(d.Blocks))
	put(l.Atime, d.Atime)
	put(l.Mtime, d.Mtime)
	put(l.Ctime, d.Ctime)
	put(l.Birthtime, d.Birthtime)
	put(l.AtimeNsec, int64(d.AtimeNsec))
	put(l.MtimeNsec, int64(d.MtimeNsec))
	put(l.CtimeNsec, int64(d.CtimeNsec))
	put(l.BirthNsec, int64(d.BirthNsec))
	put(l.Gen, int64(d.Gen))
	put(l.Flags, int64(d.Flags))
	put(l.ExtSize, int64(d.ExtSize))
	for k, v := range d.ExtB {
		put(l.ExtB.At(k), v)
	}
	for k, v := range d.pointers() {
		put(l.DB.At(k), v)
	}
}

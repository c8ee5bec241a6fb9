package disk

import (
	"encoding/binary"
	"fmt"

	"github.com/rumpfs/rumpfs/internal/ondisk"
)

// Reserved inode numbers.
const (
	BadBlocksIno  = 1
	RootIno       = 2
	UsrQuotaIno   = 3
	GrpQuotaIno   = 4
	BootLoaderIno = 5
	UndelDirIno   = 6
	ResizeIno     = 7
	JournalIno    = 8
)

// GoodOldInodeSize is the size of a revision 0 inode and of the fixed part
// of a larger one.
const GoodOldInodeSize = 128

// i_mode file types.
const (
	S_IFMT   = 0o170000
	S_IFSOCK = 0o140000
	S_IFLNK  = 0o120000
	S_IFREG  = 0o100000
	S_IFBLK  = 0o060000
	S_IFDIR  = 0o040000
	S_IFCHR  = 0o020000
	S_IFIFO  = 0o010000
)

// i_flags bits.
const (
	FlagSecrm       = 0x1
	FlagUnrm        = 0x2
	FlagCompr       = 0x4
	FlagSync        = 0x8
	FlagImmutable   = 0x10
	FlagAppend      = 0x20
	FlagNodump      = 0x40
	FlagNoatime     = 0x80
	FlagEncrypt     = 0x800
	FlagIndex       = 0x1000
	FlagImagic      = 0x2000
	FlagJournal     = 0x4000
	FlagNotail      = 0x8000
	FlagDirsync     = 0x10000
	FlagTopdir      = 0x20000
	FlagHugeFile    = 0x40000
	FlagExtents     = 0x80000
	FlagVerity      = 0x100000
	FlagEAInode     = 0x200000
	FlagInlineData  = 0x10000000
	FlagProjinherit = 0x20000000
	FlagCasefold    = 0x40000000
)

// NBlocks is the number of i_block words; BlockArea their byte size.
const (
	NBlocks   = 15
	BlockArea = 4 * NBlocks
	NDirect   = 12
	IndBlock  = 12
	DIndBlock = 13
	TIndBlock = 14
)

// Time is an inode timestamp as stored, in 8 bytes: the signed 32-bit
// seconds field and its *_extra word (0 when the inode has none), whose
// low two bits extend the seconds past 2038 and whose rest are
// nanoseconds.
type Time struct {
	Lo    uint32
	Extra uint32
}

// Sec is the time in seconds since the epoch.
func (t Time) Sec() int64 { return int64(int32(t.Lo)) + int64(t.Extra&3)<<32 }

// Nsec is the nanoseconds part.
func (t Time) Nsec() uint32 { return t.Extra >> 2 }

// Inode is struct ext4_inode decoded. Fields in the extra part that the
// inode's i_extra_isize does not cover are zero.
type Inode struct {
	Mode       uint16
	Uid        uint32
	Gid        uint32
	Size       uint64
	Atime      Time
	Ctime      Time
	Mtime      Time
	Crtime     Time
	HasCrtime  bool
	Dtime      uint32
	LinksCount uint16
	BlocksRaw  uint64 // i_blocks_lo | l_i_blocks_high<<32 (with huge_file)
	Flags      uint32
	Version    uint64
	Block      [BlockArea]byte // i_block, raw
	Generation uint32
	FileACL    uint64
	ExtraIsize uint16
	Checksum   uint32 // lo | hi<<16 when the extra part holds hi
	Projid     uint32
	// InlineXattr is the in-inode extended attribute area (after
	// 128+i_extra_isize), nil when there is none.
	InlineXattr []byte
}

// Where the checksum lives, for InodeChecksum.
const (
	inoChecksumLo = 0x7c
	inoChecksumHi = 0x82
)

func fld(off, size int) ondisk.Field { return ondisk.Field{Off: off, Size: size} }

func split(lo, hi ondisk.Field) ondisk.Split { return ondisk.Split{Lo: lo, Hi: hi} }

// timeField is an inode timestamp's two words: seconds and *_extra.
type timeField struct{ Lo, Extra ondisk.Field }

// inodeLayout is struct ext4_inode: where each member of Inode lives, the
// one declaration ParseInode and Encode both read. A Split's Hi is the
// member's _hi half. ExtraIsize is stored in an inode larger than 128
// bytes; what lies past it only where i_extra_isize covers it, and the
// high half of i_blocks only with huge_file (storedIn). Bytes it does not
// list (obsolete and reserved fields, the attribute area) are neither
// decoded nor written.
type inodeLayout struct {
	Mode, LinksCount, Dtime, Flags, Generation ondisk.Field
	Block, ExtraIsize, Projid                  ondisk.Field
	Uid, Gid, Size, BlocksRaw, FileACL         ondisk.Split
	Version, Checksum                          ondisk.Split
	Atime, Ctime, Mtime, Crtime                timeField
}

var ext4Inode = inodeLayout{
	Mode:       fld(0x00, 2),
	Uid:        split(fld(0x02, 2), fld(0x78, 2)),
	Size:       split(fld(0x04, 4), fld(0x6c, 4)),
	Atime:      timeField{fld(0x08, 4), fld(0x8c, 4)},
	Ctime:      timeField{fld(0x0c, 4), fld(0x84, 4)},
	Mtime:      timeField{fld(0x10, 4), fld(0x88, 4)},
	Dtime:      fld(0x14, 4),
	Gid:        split(fld(0x18, 2), fld(0x7a, 2)),
	LinksCount: fld(0x1a, 2),
	BlocksRaw:  split(fld(0x1c, 4), fld(0x74, 2)),
	Flags:      fld(0x20, 4),
	Version:    split(fld(0x24, 4), fld(0x98, 4)),
	Block:      fld(0x28, BlockArea), // bytes, not an integer
	Generation: fld(0x64, 4),
	FileACL:    split(fld(0x68, 4), fld(0x76, 2)),
	Checksum:   split(fld(inoChecksumLo, 2), fld(inoChecksumHi, 2)),
	ExtraIsize: fld(0x80, 2),
	Crtime:     timeField{fld(0x90, 4), fld(0x94, 4)},
	Projid:     fld(0x9c, 4),
}

// storedIn is the layout of an inode of n bytes whose extra part ends at
// end: every field past end is absent (size 0), and so is the high half
// of i_blocks without huge_file. Decoding is on the path of every lookup,
// so the layouts are made once (storedLayouts) and looked up.
func storedIn(n, end int, hugeFile bool) *inodeLayout {
	k := min(max(end-GoodOldInodeSize, 0)/4, extraWords)
	if n <= GoodOldInodeSize {
		k = -1
	}
	return &storedLayouts[b2i(hugeFile)][k+1]
}

// extraWords is how many 4-byte words of the extra part the layout
// places.
const extraWords = (0xa0 - GoodOldInodeSize) / 4

// storedLayouts is ext4Inode as stored: [huge_file][1 + extra words
// covered], where 0 is a 128-byte inode (no i_extra_isize).
var storedLayouts = func() (t [2][extraWords + 2]inodeLayout) {
	for h := range t {
		for k := range t[h] {
			n, end := GoodOldInodeSize, GoodOldInodeSize
			if k > 0 {
				n, end = 0xa0, GoodOldInodeSize+4*(k-1)
			}
			t[h][k] = ext4Inode.cut(n, end, h == 1)
		}
	}
	return
}()

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cut is l with the fields an inode of n bytes, whose extra part ends at
// end, does not store made absent.
func (l inodeLayout) cut(n, end int, hugeFile bool) inodeLayout {
	cut := func(f *ondisk.Field) {
		if f.End() > end {
			*f = ondisk.Field{}
		}
	}
	for _, f := range [...]*ondisk.Field{&l.Checksum.Hi, &l.Ctime.Extra, &l.Mtime.Extra,
		&l.Atime.Extra, &l.Crtime.Lo, &l.Crtime.Extra, &l.Version.Hi, &l.Projid} {
		cut(f)
	}
	if n <= GoodOldInodeSize {
		l.ExtraIsize = ondisk.Field{}
	}
	if !hugeFile {
		l.BlocksRaw = l.BlocksRaw.LoOnly()
	}
	return l
}

// order is every ext2 structure's byte order.
var order = binary.LittleEndian

// extraEnd is where the extra part of an inode of n bytes with
// i_extra_isize x ends.
func extraEnd(n int, x uint16) int {
	if n <= GoodOldInodeSize {
		return GoodOldInodeSize
	}
	return GoodOldInodeSize + int(x)
}

// ParseInode decodes an on-disk inode of len(b) bytes (the superblock's
// inode size). hugeFile says whether the file system has huge_file.
// InlineXattr aliases b. The Inode is returned by value: the driver keeps
// only a part of it, and a pointer would cost an allocation per read.
func ParseInode(b []byte, hugeFile bool) (Inode, error) {
	if len(b) < GoodOldInodeSize || (len(b) > GoodOldInodeSize && len(b) < 0xa0) {
		return Inode{}, fmt.Errorf("inode: size %d", len(b))
	}
	end := GoodOldInodeSize
	if len(b) > GoodOldInodeSize {
		x := uint16(ext4Inode.ExtraIsize.UintLE(b))
		if x&3 != 0 || GoodOldInodeSize+int(x) > len(b) {
			return Inode{}, fmt.Errorf("inode: i_extra_isize %d does not fit a %d-byte inode", x, len(b))
		}
		end = extraEnd(len(b), x)
	}
	l := storedIn(len(b), end, hugeFile)
	u := func(f ondisk.Field) uint64 { return f.UintLE(b) }
	s := func(f ondisk.Split) uint64 { return f.UintLE(b) }
	t := func(f timeField) Time { return Time{uint32(u(f.Lo)), uint32(u(f.Extra))} }
	in := Inode{
		Mode:       uint16(u(l.Mode)),
		Uid:        uint32(s(l.Uid)),
		Gid:        uint32(s(l.Gid)),
		Size:       s(l.Size),
		Atime:      t(l.Atime),
		Ctime:      t(l.Ctime),
		Mtime:      t(l.Mtime),
		Crtime:     t(l.Crtime),
		HasCrtime:  l.Crtime.Lo.Size != 0,
		Dtime:      uint32(u(l.Dtime)),
		LinksCount: uint16(u(l.LinksCount)),
		BlocksRaw:  s(l.BlocksRaw),
		Flags:      uint32(u(l.Flags)),
		Version:    s(l.Version),
		Generation: uint32(u(l.Generation)),
		FileACL:    s(l.FileACL),
		ExtraIsize: uint16(u(l.ExtraIsize)),
		Checksum:   uint32(s(l.Checksum)),
		Projid:     uint32(u(l.Projid)),
	}
	copy(in.Block[:], b[l.Block.Off:l.Block.End()])
	if end > GoodOldInodeSize && end+4 <= len(b) && le32(b, end) == XattrMagic {
		in.InlineXattr = b[end:]
	}
	return in, nil
}

// InodeFormat is how a file system stores its inodes, for Encode.
type InodeFormat struct {
	HugeFile bool   // huge_file: i_blocks has its high bits
	Csum     bool   // metadata_csum: Encode sets the checksum
	Seed     uint32 // the metadata_csum seed (Superblock.CsumSeed)
}

// Encode writes in into the raw inode b of len(b) bytes (the inode size),
// following the layout ParseInode reads, and with metadata_csum sets the
// checksum of inode ino in b and in. Bytes the layout does not cover are
// left as they are: a driver encodes into the inode's slot of its inode
// table block. in.ExtraIsize must fit b; InlineXattr is not written.
func (in *Inode) Encode(b []byte, f InodeFormat, ino uint32) error {
	if len(b) < GoodOldInodeSize || (len(b) > GoodOldInodeSize && len(b) < 0xa0) {
		return fmt.Errorf("inode: size %d", len(b))
	}
	end := extraEnd(len(b), in.ExtraIsize)
	if len(b) > GoodOldInodeSize && (in.ExtraIsize&3 != 0 || end > len(b)) {
		return fmt.Errorf("inode: i_extra_isize %d does not fit a %d-byte inode", in.ExtraIsize, len(b))
	}
	l := storedIn(len(b), end, f.HugeFile)
	p := func(f ondisk.Field, v uint64) { f.Put(order, b, int64(v)) }
	s := func(f ondisk.Split, v uint64) { f.Put(order, b, v) }
	t := func(f timeField, v Time) { p(f.Lo, uint64(v.Lo)); p(f.Extra, uint64(v.Extra)) }
	p(l.Mode, uint64(in.Mode))
	s(l.Uid, uint64(in.Uid))
	s(l.Gid, uint64(in.Gid))
	s(l.Size, in.Size)
	t(l.Atime, in.Atime)
	t(l.Ctime, in.Ctime)
	t(l.Mtime, in.Mtime)
	t(l.Crtime, in.Crtime)
	p(l.Dtime, uint64(in.Dtime))
	p(l.LinksCount, uint64(in.LinksCount))
	s(l.BlocksRaw, in.BlocksRaw)
	p(l.Flags, uint64(in.Flags))
	s(l.Version, in.Version)
	copy(b[l.Block.Off:l.Block.End()], in.Block[:])
	p(l.Generation, uint64(in.Generation))
	s(l.FileACL, in.FileACL)
	p(l.ExtraIsize, uint64(in.ExtraIsize))
	s(l.Checksum, uint64(in.Checksum))
	p(l.Projid, uint64(in.Projid))
	if f.Csum {
		c := InodeChecksum(f.Seed, ino, b)
		if l.Checksum.Hi.Size == 0 {
			c &= 0xffff
		}
		l.Checksum.Put(order, b, uint64(c))
		in.Checksum = c
	}
	return nil
}

// FileType is Mode's S_IFMT part.
func (in *Inode) FileType() uint16 { return in.Mode & S_IFMT }

// BlockWord returns i_block[i].
func (in *Inode) BlockWord(i int) uint32 { return le32(in.Block[:], 4*i) }

// Blocks512 is i_blocks in 512-byte units; blockSize converts huge_file
// inodes whose count is in file system blocks.
func (in *Inode) Blocks512(blockSize int) uint64 {
	return Blocks512(in.BlocksRaw, in.Flags, blockSize)
}

// Blocks512 converts a stored i_blocks value of an inode with flags to
// 512-byte units.
func Blocks512(raw uint64, flags uint32, blockSize int) uint64 {
	if flags&FlagHugeFile != 0 {
		return raw * uint64(blockSize/512)
	}
	return raw
}

// Rdev decodes the device number of a character or block device inode:
// the old 8:8 encoding in i_block[0], or the new 12:20 one in i_block[1].
func (in *Inode) Rdev() (major, minor uint32) { return Rdev(&in.Block) }

// Rdev decodes the device number held in i_block.
func Rdev(block *[BlockArea]byte) (major, minor uint32) {
	if w := le32(block[:], 0); w != 0 {
		return (w >> 8) & 0xff, w & 0xff
	}
	w := le32(block[:], 4)
	return (w & 0xfff00) >> 8, (w & 0xff) | ((w >> 12) & 0xfff00)
}

// InodeChecksum computes the metadata_csum checksum of raw inode bytes b
// of inode ino; it is 16 bits wide in a 128-byte inode.
func InodeChecksum(fsSeed, ino uint32, b []byte) uint32 {
	gen := uint32(ext4Inode.Generation.UintLE(b))
	c := InodeSeed(fsSeed, ino, gen)
	c = Crc32c(c, b[:inoChecksumLo])
	c = Crc32c(c, zeros[:2])
	c = Crc32c(c, b[inoChecksumLo+2:GoodOldInodeSize])
	if len(b) > GoodOldInodeSize {
		c = Crc32c(c, b[GoodOldInodeSize:inoChecksumHi])
		extra := int(ext4Inode.ExtraIsize.UintLE(b))
		if GoodOldInodeSize+extra >= inoChecksumHi+2 {
			c = Crc32c(c, zeros[:2])
			c = Crc32c(c, b[inoChecksumHi+2:])
		} else {
			c = Crc32c(c, b[inoChecksumHi:])
		}
	}
	return c
}

// VerifyInode checks the checksum of raw inode bytes against in.
func VerifyInode(fsSeed, ino uint32, b []byte, in *Inode) error {
	c := InodeChecksum(fsSeed, ino, b)
	stored := in.Checksum
	if len(b) <= GoodOldInodeSize || GoodOldInodeSize+int(in.ExtraIsize) < inoChecksumHi+2 {
		c &= 0xffff
	}
	if c != stored {
		return fmt.Errorf("inode %d: checksum %#x, computed %#x", ino, stored, c)
	}
	return nil
}

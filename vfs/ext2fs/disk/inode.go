package disk

import "fmt"

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

const (
	inoChecksumLo = 0x7c
	inoChecksumHi = 0x82
)

// ParseInode decodes an on-disk inode of len(b) bytes (the superblock's
// inode size). hugeFile says whether the file system has huge_file.
// InlineXattr aliases b. The Inode is returned by value: the driver keeps
// only a part of it, and a pointer would cost an allocation per read.
func ParseInode(b []byte, hugeFile bool) (Inode, error) {
	if len(b) < GoodOldInodeSize || (len(b) > GoodOldInodeSize && len(b) < 0xa0) {
		return Inode{}, fmt.Errorf("inode: size %d", len(b))
	}
	in := Inode{
		Mode:       le16(b, 0x0),
		Uid:        uint32(le16(b, 0x2)) | uint32(le16(b, 0x78))<<16,
		Size:       uint64(le32(b, 0x4)) | uint64(le32(b, 0x6c))<<32,
		Dtime:      le32(b, 0x14),
		Gid:        uint32(le16(b, 0x18)) | uint32(le16(b, 0x7a))<<16,
		LinksCount: le16(b, 0x1a),
		BlocksRaw:  uint64(le32(b, 0x1c)),
		Flags:      le32(b, 0x20),
		Version:    uint64(le32(b, 0x24)),
		Generation: le32(b, 0x64),
		FileACL:    uint64(le32(b, 0x68)) | uint64(le16(b, 0x76))<<32,
		Checksum:   uint32(le16(b, inoChecksumLo)),
	}
	if hugeFile {
		in.BlocksRaw |= uint64(le16(b, 0x74)) << 32
	}
	copy(in.Block[:], b[0x28:0x28+BlockArea])
	in.Atime.Lo = le32(b, 0x8)
	in.Ctime.Lo = le32(b, 0xc)
	in.Mtime.Lo = le32(b, 0x10)
	if len(b) > GoodOldInodeSize {
		in.ExtraIsize = le16(b, 0x80)
		if in.ExtraIsize&3 != 0 || GoodOldInodeSize+int(in.ExtraIsize) > len(b) {
			return Inode{}, fmt.Errorf("inode: i_extra_isize %d does not fit a %d-byte inode", in.ExtraIsize, len(b))
		}
		end := GoodOldInodeSize + int(in.ExtraIsize)
		fits := func(off, size int) bool { return off+size <= end }
		if fits(inoChecksumHi, 2) {
			in.Checksum |= uint32(le16(b, inoChecksumHi)) << 16
		}
		if fits(0x84, 4) {
			in.Ctime.Extra = le32(b, 0x84)
		}
		if fits(0x88, 4) {
			in.Mtime.Extra = le32(b, 0x88)
		}
		if fits(0x8c, 4) {
			in.Atime.Extra = le32(b, 0x8c)
		}
		if fits(0x90, 4) {
			in.Crtime.Lo = le32(b, 0x90)
			in.HasCrtime = true
		}
		if fits(0x94, 4) {
			in.Crtime.Extra = le32(b, 0x94)
		}
		if fits(0x98, 4) {
			in.Version |= uint64(le32(b, 0x98)) << 32
		}
		if fits(0x9c, 4) {
			in.Projid = le32(b, 0x9c)
		}
		if end+4 <= len(b) && le32(b, end) == XattrMagic {
			in.InlineXattr = b[end:]
		}
	}
	return in, nil
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
	gen := le32(b, 0x64)
	c := InodeSeed(fsSeed, ino, gen)
	c = Crc32c(c, b[:inoChecksumLo])
	c = Crc32c(c, zeros[:2])
	c = Crc32c(c, b[inoChecksumLo+2:GoodOldInodeSize])
	if len(b) > GoodOldInodeSize {
		c = Crc32c(c, b[GoodOldInodeSize:inoChecksumHi])
		extra := int(le16(b, 0x80))
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

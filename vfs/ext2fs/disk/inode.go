package disk

import (
	"encoding/binary"
	"fmt"
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

const (
	inoChecksumLo = 0x7c
	inoChecksumHi = 0x82
	inoExtraIsize = 0x80
)

// inodeField names a field of Inode that inodeLayout places.
type inodeField uint8

const (
	fMode inodeField = iota
	fUid
	fGid
	fSize
	fAtime
	fCtime
	fMtime
	fCrtime
	fAtimeExtra
	fCtimeExtra
	fMtimeExtra
	fCrtimeExtra
	fDtime
	fLinksCount
	fBlocksRaw
	fFlags
	fVersion
	fBlock
	fGeneration
	fFileACL
	fExtraIsize
	fChecksum
	fProjid
)

// ptr returns where field f lives in in: a *uint16, *uint32, *uint64 or
// *[BlockArea]byte.
func (in *Inode) ptr(f inodeField) any {
	switch f {
	case fMode:
		return &in.Mode
	case fUid:
		return &in.Uid
	case fGid:
		return &in.Gid
	case fSize:
		return &in.Size
	case fAtime:
		return &in.Atime.Lo
	case fCtime:
		return &in.Ctime.Lo
	case fMtime:
		return &in.Mtime.Lo
	case fCrtime:
		return &in.Crtime.Lo
	case fAtimeExtra:
		return &in.Atime.Extra
	case fCtimeExtra:
		return &in.Ctime.Extra
	case fMtimeExtra:
		return &in.Mtime.Extra
	case fCrtimeExtra:
		return &in.Crtime.Extra
	case fDtime:
		return &in.Dtime
	case fLinksCount:
		return &in.LinksCount
	case fBlocksRaw:
		return &in.BlocksRaw
	case fFlags:
		return &in.Flags
	case fVersion:
		return &in.Version
	case fBlock:
		return &in.Block
	case fGeneration:
		return &in.Generation
	case fFileACL:
		return &in.FileACL
	case fExtraIsize:
		return &in.ExtraIsize
	case fChecksum:
		return &in.Checksum
	case fProjid:
		return &in.Projid
	}
	panic("disk: unknown inode field")
}

// inodePart is one stored piece of an inode field: size bytes at off,
// holding the field's bits from shift up.
type inodePart struct {
	off, size int
	shift     uint
	field     inodeField
	where     partWhere
}

// partWhere says when a part is stored.
type partWhere uint8

const (
	always partWhere = iota
	huge             // only with huge_file (l_i_blocks_high)
	large            // only in an inode larger than 128 bytes
	extra            // only where i_extra_isize covers it
)

// inodeLayout is struct ext4_inode: the one declaration ParseInode and
// Encode both follow. Bytes it does not list (obsolete and reserved
// fields, the attribute area) are neither decoded nor written.
var inodeLayout = [...]inodePart{
	{0x00, 2, 0, fMode, always},
	{0x02, 2, 0, fUid, always},
	{0x04, 4, 0, fSize, always},
	{0x08, 4, 0, fAtime, always},
	{0x0c, 4, 0, fCtime, always},
	{0x10, 4, 0, fMtime, always},
	{0x14, 4, 0, fDtime, always},
	{0x18, 2, 0, fGid, always},
	{0x1a, 2, 0, fLinksCount, always},
	{0x1c, 4, 0, fBlocksRaw, always},
	{0x20, 4, 0, fFlags, always},
	{0x24, 4, 0, fVersion, always},
	{0x28, BlockArea, 0, fBlock, always},
	{0x64, 4, 0, fGeneration, always},
	{0x68, 4, 0, fFileACL, always},
	{0x6c, 4, 32, fSize, always},
	{0x74, 2, 32, fBlocksRaw, huge},
	{0x76, 2, 32, fFileACL, always},
	{0x78, 2, 16, fUid, always},
	{0x7a, 2, 16, fGid, always},
	{inoChecksumLo, 2, 0, fChecksum, always},
	{inoExtraIsize, 2, 0, fExtraIsize, large},
	{inoChecksumHi, 2, 16, fChecksum, extra},
	{0x84, 4, 0, fCtimeExtra, extra},
	{0x88, 4, 0, fMtimeExtra, extra},
	{0x8c, 4, 0, fAtimeExtra, extra},
	{0x90, 4, 0, fCrtime, extra},
	{0x94, 4, 0, fCrtimeExtra, extra},
	{0x98, 4, 32, fVersion, extra},
	{0x9c, 4, 0, fProjid, extra},
}

// stored reports whether part p is in an inode of n bytes whose extra
// part ends at end.
func (p *inodePart) stored(n, end int, hugeFile bool) bool {
	switch p.where {
	case huge:
		return hugeFile
	case large:
		return n > GoodOldInodeSize
	case extra:
		return p.off+p.size <= end
	}
	return true
}

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
	var in Inode
	end := GoodOldInodeSize
	if len(b) > GoodOldInodeSize {
		x := le16(b, inoExtraIsize)
		if x&3 != 0 || GoodOldInodeSize+int(x) > len(b) {
			return Inode{}, fmt.Errorf("inode: i_extra_isize %d does not fit a %d-byte inode", x, len(b))
		}
		end = extraEnd(len(b), x)
	}
	for i := range inodeLayout {
		p := &inodeLayout[i]
		if !p.stored(len(b), end, hugeFile) {
			continue
		}
		var v uint64
		switch p.size {
		case 2:
			v = uint64(le16(b, p.off)) << p.shift
		case 4:
			v = uint64(le32(b, p.off)) << p.shift
		}
		switch f := in.ptr(p.field).(type) {
		case *uint16:
			*f |= uint16(v)
		case *uint32:
			*f |= uint32(v)
		case *uint64:
			*f |= v
		case *[BlockArea]byte:
			copy(f[:], b[p.off:p.off+p.size])
		}
		if p.field == fCrtime {
			in.HasCrtime = true
		}
	}
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
	for i := range inodeLayout {
		p := &inodeLayout[i]
		if !p.stored(len(b), end, f.HugeFile) {
			continue
		}
		var v uint64
		switch fp := in.ptr(p.field).(type) {
		case *uint16:
			v = uint64(*fp)
		case *uint32:
			v = uint64(*fp)
		case *uint64:
			v = *fp
		case *[BlockArea]byte:
			copy(b[p.off:p.off+p.size], fp[:])
			continue
		}
		v >>= p.shift
		switch p.size {
		case 2:
			binary.LittleEndian.PutUint16(b[p.off:], uint16(v))
		case 4:
			binary.LittleEndian.PutUint32(b[p.off:], uint32(v))
		}
	}
	if f.Csum {
		c := InodeChecksum(f.Seed, ino, b)
		binary.LittleEndian.PutUint16(b[inoChecksumLo:], uint16(c))
		if end >= inoChecksumHi+2 {
			binary.LittleEndian.PutUint16(b[inoChecksumHi:], uint16(c>>16))
		} else {
			c &= 0xffff
		}
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

package ffs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/rumpfs/rumpfs/vfs/ufs"
)

// Superblock magics (FS_UFS1_MAGIC, FS_UFS2_MAGIC, and NetBSD 10's
// FS_UFS2EA_MAGIC: a UFS2 whose kernels keep extended attributes; its
// on-disk format is UFS2's) and where the superblock may sit, in the
// order they are searched (SBLOCKSEARCH, with the floppy location too).
const (
	MagicUFS1   = 0x011954
	MagicUFS2   = 0x19540119
	MagicUFS2EA = 0x19012038

	SBlockSize = 8192 // SBLOCKSIZE: bytes read at each location
	sbMinSize  = 1376 // sizeof(struct fs)
	magicOff   = 1372 // offset of fs_magic
)

// SBlockSearch lists the byte offsets of the standard superblock:
// SBLOCK_UFS2, SBLOCK_UFS1, SBLOCK_FLOPPY, SBLOCK_PIGGY.
var SBlockSearch = []int64{65536, 8192, 0, 262144}

// Limits from fs.h.
const (
	MinBSize     = 4096  // MINBSIZE
	MaxBSize     = 65536 // MAXBSIZE
	MaxFrag      = 8     // MAXFRAG
	MaxContig    = 16    // FS_MAXCONTIG
	cgHeaderSize = 168   // sizeof(struct cg) without the maps
	csumSize     = 16    // sizeof(struct csum)
)

// Flags in fs_flags (and fs_old_flags for old UFS1 superblocks).
const (
	FlagUnclean     = 0x001
	FlagSoftDep     = 0x002
	FlagFlagsMoved  = 0x080 // FS_FLAGS_UPDATED: fs_flags is authoritative
	FlagWAPBL       = 0x100 // FS_DOWAPBL: a write-ahead log is in use
	FlagQuota2      = 0x200
	FlagKnown       = FlagSoftDep | FlagWAPBL | FlagQuota2
	cleanIsClean    = 0x01 // FS_ISCLEAN in fs_clean
	inodeFmt44      = 2    // FS_44INODEFMT
	sizeofPtrUFS1   = 4
	sizeofPtrUFS2   = 8
	devBShift       = 9
	maxInodeNumbers = 1 << 32 // directory entries hold 32-bit inode numbers
)

// CSum is one cylinder group's summary (struct csum); the superblock's
// total uses the same fields, 64 bits wide.
type CSum struct {
	NDir, NBFree, NIFree, NFFree int64
}

// Superblock is the decoded superblock (struct fs) with the derived
// fields of old UFS1 superblocks already moved to their new places
// (ffs_oldfscompat_read). Raw is the on-disk bytes, in disk byte order,
// kept for write-back.
type Superblock struct {
	Order      binary.ByteOrder
	UFS2       bool
	Location   int64 // byte offset it was found at
	Magic      uint32
	SBlkNo     int32 // fragment offsets within a cylinder group
	CBlkNo     int32
	IBlkNo     int32
	DBlkNo     int32
	OldCGOff   int32
	OldCGMask  int32
	NCG        int32
	BSize      int32
	FSize      int32
	Frag       int32
	MinFree    int32
	BMask      int32
	FMask      int32
	BShift     int32
	FShift     int32
	MaxContig  int32
	MaxBPG     int32
	FragShift  int32
	FSBToDB    int32
	SBSize     int32
	NIndir     int32
	InoPB      int32
	Optim      int32
	ID         [2]int32
	CSSize     int32
	CGSize     int32
	IPG        int32
	FPG        int32
	Fmod       uint8
	Clean      uint8
	Ronly      uint8
	OldFlags   uint8
	FSMnt      string
	VolName    string
	SBlockLoc  int64
	CSTotal    CSum
	Time       int64
	Size       int64 // fragments in the file system
	DSize      int64 // data fragments
	CSAddr     int64 // fragment address of the summary array
	PendBlocks int64
	PendInodes int32
	Flags      uint32
	ContigSum  int32 // fs_contigsumsize
	MaxSymLink int32
	InodeFmt   int32 // fs_old_inodefmt
	MaxFile    uint64
	Raw        []byte
}

// CGBase is the first fragment of cylinder group c (cgbase).
func (sb *Superblock) CGBase(c int64) int64 { return int64(sb.FPG) * c }

// CGStart is where group c's metadata starts (cgstart): UFS1 staggers it.
func (sb *Superblock) CGStart(c int64) int64 {
	if sb.UFS2 {
		return sb.CGBase(c)
	}
	return sb.CGBase(c) + int64(sb.OldCGOff)*(c&^int64(sb.OldCGMask))
}

// CGSBlock, CGTod, CGIMin and CGDMin locate group c's superblock copy,
// cylinder group block, first inode block and first data fragment.
func (sb *Superblock) CGSBlock(c int64) int64 { return sb.CGStart(c) + int64(sb.SBlkNo) }
func (sb *Superblock) CGTod(c int64) int64    { return sb.CGStart(c) + int64(sb.CBlkNo) }
func (sb *Superblock) CGIMin(c int64) int64   { return sb.CGStart(c) + int64(sb.IBlkNo) }
func (sb *Superblock) CGDMin(c int64) int64   { return sb.CGStart(c) + int64(sb.DBlkNo) }

// CGFrags is how many fragments group c covers: FPG but for the last.
func (sb *Superblock) CGFrags(c int64) int64 {
	return min(int64(sb.FPG), sb.Size-sb.CGBase(c))
}

// DinodeSize is the size of one on-disk inode.
func (sb *Superblock) DinodeSize() int { return ufs.DinodeSize(sb.UFS2) }

// NInodes is the number of inode slots (ncg * ipg); numbers run below it.
func (sb *Superblock) NInodes() int64 { return int64(sb.NCG) * int64(sb.IPG) }

// InoToFsba is the fragment address of the block holding inode ino, and
// InoToFsbo its index in that block.
func (sb *Superblock) InoToFsba(ino uint64) int64 {
	c := int64(ino / uint64(sb.IPG))
	return sb.CGIMin(c) + int64((ino%uint64(sb.IPG))/uint64(sb.InoPB))<<sb.FragShift
}
func (sb *Superblock) InoToFsbo(ino uint64) int { return int(ino % uint64(sb.InoPB)) }

// Clean reports whether the clean flag is set.
func (sb *Superblock) IsClean() bool { return sb.Clean&cleanIsClean != 0 }

// FindMagic reports the version and byte order of the superblock magic in
// b (at least magicOff+4 bytes), ok false when there is none.
func FindMagic(b []byte) (ufs2 bool, order binary.ByteOrder, ok bool) {
	if len(b) < magicOff+4 {
		return false, nil, false
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch bo.Uint32(b[magicOff:]) {
		case MagicUFS1:
			return false, bo, true
		case MagicUFS2, MagicUFS2EA:
			return true, bo, true
		}
	}
	return false, nil, false
}

// ParseSuperblock decodes and validates the superblock in b, read at byte
// offset loc. A missing magic, an alternate superblock (one that says it
// belongs elsewhere), or any inconsistent geometry is an error naming the
// field: nothing a caller computes from a returned Superblock can divide
// by zero, overflow or index past a map.
func ParseSuperblock(b []byte, loc int64) (*Superblock, error) {
	ufs2, bo, ok := FindMagic(b)
	if !ok {
		return nil, fmt.Errorf("no superblock magic at %d", loc)
	}
	sb := &Superblock{Order: bo, UFS2: ufs2, Location: loc}
	i32 := func(off int) int32 { return int32(bo.Uint32(b[off:])) }
	i64 := func(off int) int64 { return int64(bo.Uint64(b[off:])) }
	sb.Magic = bo.Uint32(b[magicOff:])
	sb.SBlkNo, sb.CBlkNo, sb.IBlkNo, sb.DBlkNo = i32(8), i32(12), i32(16), i32(20)
	sb.OldCGOff, sb.OldCGMask = i32(24), i32(28)
	sb.NCG, sb.BSize, sb.FSize, sb.Frag = i32(44), i32(48), i32(52), i32(56)
	sb.MinFree = i32(60)
	sb.BMask, sb.FMask, sb.BShift, sb.FShift = i32(72), i32(76), i32(80), i32(84)
	sb.MaxContig, sb.MaxBPG, sb.FragShift, sb.FSBToDB = i32(88), i32(92), i32(96), i32(100)
	sb.SBSize, sb.NIndir, sb.InoPB, sb.Optim = i32(104), i32(116), i32(120), i32(128)
	sb.ID = [2]int32{i32(144), i32(148)}
	sb.CSSize, sb.CGSize = i32(156), i32(160)
	sb.IPG, sb.FPG = i32(184), i32(188)
	sb.Fmod, sb.Clean, sb.Ronly, sb.OldFlags = b[208], b[209], b[210], b[211]
	sb.FSMnt = cString(b[212:680])
	sb.VolName = cString(b[680:712])
	sb.SBlockLoc = i64(1000)
	sb.CSTotal = CSum{i64(1008), i64(1016), i64(1024), i64(1032)}
	sb.Time, sb.Size, sb.DSize, sb.CSAddr = i64(1072), i64(1080), i64(1088), i64(1096)
	sb.PendBlocks, sb.PendInodes = i64(1104), i32(1112)
	sb.Flags = uint32(i32(1312))
	sb.ContigSum, sb.MaxSymLink, sb.InodeFmt = i32(1316), i32(1320), i32(1324)
	sb.MaxFile = uint64(i64(1328))

	if !ufs2 && sb.OldFlags&FlagFlagsMoved == 0 {
		// An old UFS1 superblock: the 64-bit fields are not kept.
		if loc == 65536 {
			return nil, fmt.Errorf("UFS1 superblock at 65536 is an alternate (64 KiB blocks)")
		}
		sb.CSTotal = CSum{int64(i32(192)), int64(i32(196)), int64(i32(200)), int64(i32(204))}
		sb.Time, sb.Size, sb.DSize, sb.CSAddr = int64(i32(32)), int64(i32(36)), int64(i32(40)), int64(i32(152))
		sb.SBlockLoc = loc
		sb.Flags = uint32(sb.OldFlags)
	}
	if sb.SBlockLoc != loc {
		return nil, fmt.Errorf("superblock at %d says it belongs at %d (an alternate)", loc, sb.SBlockLoc)
	}
	if err := sb.validate(); err != nil {
		return nil, fmt.Errorf("superblock at %d: %v", loc, err)
	}
	n := int(sb.SBSize)
	sb.Raw = bytes.Clone(b[:n])
	return sb, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func isPow2(v int32) bool { return v > 0 && v&(v-1) == 0 }

// log2 of a power of two.
func log2(v int32) int32 { return int32(bits.TrailingZeros32(uint32(v))) }

// validate checks every field the driver computes with, in an order where
// each check may rely on the ones before it.
func (sb *Superblock) validate() error {
	switch {
	case sb.SBSize < sbMinSize || sb.SBSize > SBlockSize:
		return fmt.Errorf("sbsize %d out of range", sb.SBSize)
	case !isPow2(sb.BSize) || sb.BSize < MinBSize || sb.BSize > MaxBSize:
		return fmt.Errorf("block size %d not a power of two in %d..%d", sb.BSize, MinBSize, MaxBSize)
	case !isPow2(sb.FSize) || sb.FSize < 1<<devBShift || sb.FSize > sb.BSize:
		return fmt.Errorf("fragment size %d invalid for block size %d", sb.FSize, sb.BSize)
	case sb.BSize/sb.FSize > MaxFrag:
		return fmt.Errorf("%d fragments per block (max %d)", sb.BSize/sb.FSize, MaxFrag)
	case sb.Frag != sb.BSize/sb.FSize:
		return fmt.Errorf("frag %d, want %d", sb.Frag, sb.BSize/sb.FSize)
	case sb.BShift != log2(sb.BSize) || sb.FShift != log2(sb.FSize) || sb.FragShift != log2(sb.Frag):
		return fmt.Errorf("shifts %d/%d/%d disagree with sizes", sb.BShift, sb.FShift, sb.FragShift)
	case sb.BMask != ^(sb.BSize-1) || sb.FMask != ^(sb.FSize-1):
		return fmt.Errorf("masks %#x/%#x disagree with sizes", sb.BMask, sb.FMask)
	case sb.FSBToDB != sb.FShift-devBShift:
		return fmt.Errorf("fsbtodb %d, want %d", sb.FSBToDB, sb.FShift-devBShift)
	case sb.InoPB != sb.BSize/int32(sb.DinodeSize()):
		return fmt.Errorf("inopb %d, want %d", sb.InoPB, sb.BSize/int32(sb.DinodeSize()))
	case sb.NIndir != sb.BSize/int32(sb.ptrSize()):
		return fmt.Errorf("nindir %d, want %d", sb.NIndir, sb.BSize/int32(sb.ptrSize()))
	case sb.NCG < 1:
		return fmt.Errorf("ncg %d", sb.NCG)
	case sb.FPG < sb.Frag || sb.FPG%sb.Frag != 0:
		return fmt.Errorf("fpg %d not a positive multiple of frag %d", sb.FPG, sb.Frag)
	case sb.IPG < 1 || sb.IPG%sb.InoPB != 0:
		return fmt.Errorf("ipg %d not a positive multiple of inopb %d", sb.IPG, sb.InoPB)
	case sb.NInodes() > maxInodeNumbers:
		return fmt.Errorf("%d inodes do not fit 32-bit inode numbers", sb.NInodes())
	case sb.Size < 1 || (sb.Size+int64(sb.FPG)-1)/int64(sb.FPG) != int64(sb.NCG):
		return fmt.Errorf("size %d fragments does not make %d groups of %d", sb.Size, sb.NCG, sb.FPG)
	case sb.DSize < 0 || sb.DSize > sb.Size:
		return fmt.Errorf("dsize %d out of range (size %d)", sb.DSize, sb.Size)
	case sb.SBlkNo < 0 || sb.CBlkNo < sb.SBlkNo || sb.IBlkNo <= sb.CBlkNo || sb.DBlkNo <= sb.IBlkNo:
		return fmt.Errorf("group layout sblkno %d cblkno %d iblkno %d dblkno %d out of order",
			sb.SBlkNo, sb.CBlkNo, sb.IBlkNo, sb.DBlkNo)
	case sb.CGSize < cgHeaderSize || sb.CGSize > sb.BSize || int64(sb.CGSize) > int64(sb.IBlkNo-sb.CBlkNo)<<sb.FShift:
		return fmt.Errorf("cgsize %d does not fit between cblkno and iblkno", sb.CGSize)
	case int64(sb.IPG)*int64(sb.DinodeSize()) > int64(sb.DBlkNo-sb.IBlkNo)<<sb.FShift:
		return fmt.Errorf("%d inodes per group do not fit between iblkno and dblkno", sb.IPG)
	case sb.DBlkNo > sb.FPG:
		return fmt.Errorf("dblkno %d past fpg %d", sb.DBlkNo, sb.FPG)
	case !sb.UFS2 && (sb.OldCGOff < 0 || sb.OldCGOff >= sb.FPG):
		return fmt.Errorf("cgoffset %d", sb.OldCGOff)
	case sb.CGDMin(int64(sb.NCG)-1) > sb.Size:
		return fmt.Errorf("last group's metadata ends past the file system")
	case sb.CSSize < sb.NCG*csumSize || sb.CSSize > 1<<30:
		return fmt.Errorf("cssize %d too small for %d groups", sb.CSSize, sb.NCG)
	case sb.CSAddr < 0 || sb.CSAddr+(int64(sb.CSSize)+int64(sb.FSize)-1)>>sb.FShift > sb.Size:
		return fmt.Errorf("summary area at %d out of range", sb.CSAddr)
	case sb.ContigSum < 0 || sb.ContigSum > MaxContig:
		return fmt.Errorf("contigsumsize %d", sb.ContigSum)
	case sb.MaxSymLink < 0 || int(sb.MaxSymLink) > sb.maxShortLink():
		return fmt.Errorf("maxsymlinklen %d", sb.MaxSymLink)
	}
	return nil
}

func (sb *Superblock) ptrSize() int {
	if sb.UFS2 {
		return sizeofPtrUFS2
	}
	return sizeofPtrUFS1
}

func (sb *Superblock) maxShortLink() int {
	if sb.UFS2 {
		return ufs.MaxSymlinkLen2
	}
	return ufs.MaxSymlinkLen1
}

// OldDirFmt reports 4.2BSD directories (FS_42INODEFMT UFS1).
func (sb *Superblock) OldDirFmt() bool { return !sb.UFS2 && sb.InodeFmt < inodeFmt44 }

// MaxFileSize is the largest file the geometry can address: twelve
// direct blocks and three levels of indirection, capped as NetBSD caps it.
func (sb *Superblock) MaxFileSize() uint64 {
	n := uint64(sb.NIndir)
	blocks := uint64(ufs.NDAddr) + n + n*n + n*n*n
	limit := blocks << uint(sb.BShift)
	if c := uint64(0x80000000)*uint64(sb.BSize) - 1; !sb.UFS2 && limit > c {
		limit = c
	}
	return limit
}

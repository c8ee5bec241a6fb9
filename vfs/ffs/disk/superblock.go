package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	ufsdisk "github.com/rumpfs/rumpfs/vfs/ufs/disk"
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
	MagicOff   = 1372 // offset of fs_magic
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
	CSumSize     = 16    // sizeof(struct csum)
)

// Flags in fs_flags (and fs_old_flags for old UFS1 superblocks).
const (
	FlagUnclean     = 0x001
	FlagSoftDep     = 0x002
	FlagFlagsMoved  = 0x080 // FS_FLAGS_UPDATED: fs_flags is authoritative
	FlagWAPBL       = 0x100 // FS_DOWAPBL: a write-ahead log is in use
	FlagQuota2      = 0x200
	FlagKnown       = FlagSoftDep | FlagWAPBL | FlagQuota2
	CleanIsClean    = 0x01 // FS_ISCLEAN in fs_clean
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

// csumFields is struct csum: the summary array holds one per group, the
// cylinder group block one at cgCS; csumFields64 is the superblock's
// total (struct csum_total) and csumFieldsOld the total of old UFS1
// superblocks. Each in the order of CSum's fields.
var (
	csumFields    = [4]Field{fld(0, 4), fld(4, 4), fld(8, 4), fld(12, 4)}
	csumFields64  = [4]Field{fld(1008, 8), fld(1016, 8), fld(1024, 8), fld(1032, 8)}
	csumFieldsOld = [4]Field{fld(192, 4), fld(196, 4), fld(200, 4), fld(204, 4)}
)

func (c *CSum) ptrs() [4]*int64 { return [4]*int64{&c.NDir, &c.NBFree, &c.NIFree, &c.NFFree} }

// decodeCSum reads the summary whose fields are fs, relative to base.
func decodeCSum(bo binary.ByteOrder, b []byte, base int, fs [4]Field) CSum {
	var c CSum
	for i, p := range c.ptrs() {
		*p = fld(base+fs[i].Off, fs[i].Size).Get(bo, b)
	}
	return c
}

func (c CSum) encode(bo binary.ByteOrder, b []byte, base int, fs [4]Field) {
	for i, p := range c.ptrs() {
		fld(base+fs[i].Off, fs[i].Size).Put(bo, b, *p)
	}
}

// DecodeCSum reads entry i of a summary array (fs_csp) from b.
func DecodeCSum(bo binary.ByteOrder, b []byte, i int) CSum {
	return decodeCSum(bo, b, i*CSumSize, csumFields)
}

// EncodeCSum writes c as entry i of a summary array into b.
func EncodeCSum(bo binary.ByteOrder, b []byte, i int, c CSum) {
	c.encode(bo, b, i*CSumSize, csumFields)
}

func (c CSum) String() string {
	return fmt.Sprintf("dirs %d, free blocks %d, free inodes %d, free frags %d", c.NDir, c.NBFree, c.NIFree, c.NFFree)
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
func (sb *Superblock) DinodeSize() int { return ufsdisk.DinodeSize(sb.UFS2) }

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
func (sb *Superblock) IsClean() bool { return sb.Clean&CleanIsClean != 0 }

// FindMagic reports the version and byte order of the superblock magic in
// b (at least MagicOff+4 bytes), ok false when there is none.
func FindMagic(b []byte) (ufs2 bool, order binary.ByteOrder, ok bool) {
	if len(b) < MagicOff+4 {
		return false, nil, false
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch bo.Uint32(b[MagicOff:]) {
		case MagicUFS1:
			return false, bo, true
		case MagicUFS2, MagicUFS2EA:
			return true, bo, true
		}
	}
	return false, nil, false
}

// sbField is a field of struct fs and the Superblock member it decodes
// into (an *int32, *int64, *uint32, *uint64 or *uint8).
type sbField struct {
	Field
	v any
}

func (f sbField) get(bo binary.ByteOrder, b []byte) {
	x := f.Get(bo, b)
	switch p := f.v.(type) {
	case *int32:
		*p = int32(x)
	case *int64:
		*p = x
	case *uint32:
		*p = uint32(x)
	case *uint64:
		*p = uint64(x)
	case *uint8:
		*p = uint8(x)
	}
}

func (f sbField) put(bo binary.ByteOrder, b []byte) {
	var x int64
	switch p := f.v.(type) {
	case *int32:
		x = int64(*p)
	case *int64:
		x = *p
	case *uint32:
		x = int64(*p)
	case *uint64:
		x = int64(*p)
	case *uint8:
		x = int64(*p)
	}
	f.Put(bo, b, x)
}

// fields is the layout of struct fs (fs.h) for the members Superblock
// models, bound to sb. The names (FSMnt, VolName) and the totals
// (CSTotal) are decoded beside it.
func (sb *Superblock) fields() []sbField {
	return []sbField{
		{fld(8, 4), &sb.SBlkNo}, {fld(12, 4), &sb.CBlkNo},
		{fld(16, 4), &sb.IBlkNo}, {fld(20, 4), &sb.DBlkNo},
		{fld(24, 4), &sb.OldCGOff}, {fld(28, 4), &sb.OldCGMask},
		{fld(44, 4), &sb.NCG}, {fld(48, 4), &sb.BSize},
		{fld(52, 4), &sb.FSize}, {fld(56, 4), &sb.Frag},
		{fld(60, 4), &sb.MinFree},
		{fld(72, 4), &sb.BMask}, {fld(76, 4), &sb.FMask},
		{fld(80, 4), &sb.BShift}, {fld(84, 4), &sb.FShift},
		{fld(88, 4), &sb.MaxContig}, {fld(92, 4), &sb.MaxBPG},
		{fld(96, 4), &sb.FragShift}, {fld(100, 4), &sb.FSBToDB},
		{fld(104, 4), &sb.SBSize}, {fld(116, 4), &sb.NIndir},
		{fld(120, 4), &sb.InoPB}, {fld(128, 4), &sb.Optim},
		{fld(144, 4), &sb.ID[0]}, {fld(148, 4), &sb.ID[1]},
		{fld(156, 4), &sb.CSSize}, {fld(160, 4), &sb.CGSize},
		{fld(184, 4), &sb.IPG}, {fld(188, 4), &sb.FPG},
		{fsFmod, &sb.Fmod}, {fsClean, &sb.Clean},
		{fsRonly, &sb.Ronly}, {fld(211, 1), &sb.OldFlags},
		{fld(1000, 8), &sb.SBlockLoc},
		{fsTime, &sb.Time}, {fld(1080, 8), &sb.Size},
		{fld(1088, 8), &sb.DSize}, {fld(1096, 8), &sb.CSAddr},
		{fld(1104, 8), &sb.PendBlocks}, {fld(1112, 4), &sb.PendInodes},
		{fld(1312, 4), &sb.Flags}, {fld(1316, 4), &sb.ContigSum},
		{fld(1320, 4), &sb.MaxSymLink}, {fld(1324, 4), &sb.InodeFmt},
		{fld(1328, 8), &sb.MaxFile},
		{fld(MagicOff, 4), &sb.Magic},
	}
}

// oldFields are where an old UFS1 superblock (one without
// FS_FLAGS_UPDATED) keeps the members that later moved to 64-bit fields.
func (sb *Superblock) oldFields() []sbField {
	return []sbField{
		{fsOldTime, &sb.Time}, {fld(36, 4), &sb.Size},
		{fld(40, 4), &sb.DSize}, {fld(152, 4), &sb.CSAddr},
	}
}

// The fields a writer changes (Encode).
var (
	fsFmod    = fld(208, 1)
	fsClean   = fld(209, 1)
	fsRonly   = fld(210, 1)
	fsTime    = fld(1072, 8)
	fsOldTime = fld(32, 4)
)

// Encode writes the members a mounted file system changes (Fmod, Clean,
// Ronly, Time and CSTotal) into b, the superblock's bytes (Raw), through
// the same layout ParseSuperblock reads: the 64-bit time and totals
// where the superblock keeps them (UFS2, and UFS1 with FS_FLAGS_UPDATED),
// and UFS1's 32-bit copies, which its older readers use, in every UFS1.
func (sb *Superblock) Encode(b []byte) {
	bo := sb.Order
	for _, f := range []sbField{{fsFmod, &sb.Fmod}, {fsClean, &sb.Clean}, {fsRonly, &sb.Ronly}} {
		f.put(bo, b)
	}
	if sb.UFS2 || sb.OldFlags&FlagFlagsMoved != 0 {
		sbField{fsTime, &sb.Time}.put(bo, b)
		sb.CSTotal.encode(bo, b, 0, csumFields64)
	}
	if !sb.UFS2 {
		sbField{fsOldTime, &sb.Time}.put(bo, b)
		sb.CSTotal.encode(bo, b, 0, csumFieldsOld)
	}
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
	for _, f := range sb.fields() {
		f.get(bo, b)
	}
	sb.FSMnt = cString(b[212:680])
	sb.VolName = cString(b[680:712])
	sb.CSTotal = decodeCSum(bo, b, 0, csumFields64)
	if !ufs2 && sb.OldFlags&FlagFlagsMoved == 0 {
		// An old UFS1 superblock: the 64-bit fields are not kept.
		if loc == 65536 {
			return nil, fmt.Errorf("UFS1 superblock at 65536 is an alternate (64 KiB blocks)")
		}
		for _, f := range sb.oldFields() {
			f.get(bo, b)
		}
		sb.CSTotal = decodeCSum(bo, b, 0, csumFieldsOld)
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
	case sb.CSSize < sb.NCG*CSumSize || sb.CSSize > 1<<30:
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
		return ufsdisk.MaxSymlinkLen2
	}
	return ufsdisk.MaxSymlinkLen1
}

// OldDirFmt reports 4.2BSD directories (FS_42INODEFMT UFS1).
func (sb *Superblock) OldDirFmt() bool { return !sb.UFS2 && sb.InodeFmt < inodeFmt44 }

// MaxFileSize is the largest file the geometry can address: twelve
// direct blocks and three levels of indirection, capped as NetBSD caps it.
func (sb *Superblock) MaxFileSize() uint64 {
	n := uint64(sb.NIndir)
	blocks := uint64(ufsdisk.NDAddr) + n + n*n + n*n*n
	limit := blocks << uint(sb.BShift)
	if c := uint64(0x80000000)*uint64(sb.BSize) - 1; !sb.UFS2 && limit > c {
		limit = c
	}
	return limit
}

package disk

import (
	"fmt"
	"strings"
)

// Superblock location and size.
const (
	SuperblockOffset = 1024
	SuperblockSize   = 1024
	Magic            = 0xef53
)

// Feature bits: s_feature_compat.
const (
	CompatDirPrealloc   = 0x1
	CompatImagicInodes  = 0x2
	CompatHasJournal    = 0x4
	CompatExtAttr       = 0x8
	CompatResizeInode   = 0x10
	CompatDirIndex      = 0x20
	CompatLazyBG        = 0x40
	CompatExcludeInode  = 0x80
	CompatExcludeBitmap = 0x100
	CompatSparseSuper2  = 0x200
	CompatFastCommit    = 0x400
	CompatStableInodes  = 0x800
	CompatOrphanFile    = 0x1000
)

// Feature bits: s_feature_ro_compat.
const (
	RoCompatSparseSuper   = 0x1
	RoCompatLargeFile     = 0x2
	RoCompatBtreeDir      = 0x4
	RoCompatHugeFile      = 0x8
	RoCompatGdtCsum       = 0x10
	RoCompatDirNlink      = 0x20
	RoCompatExtraIsize    = 0x40
	RoCompatHasSnapshot   = 0x80
	RoCompatQuota         = 0x100
	RoCompatBigalloc      = 0x200
	RoCompatMetadataCsum  = 0x400
	RoCompatReplica       = 0x800
	RoCompatReadonly      = 0x1000
	RoCompatProject       = 0x2000
	RoCompatSharedBlocks  = 0x4000
	RoCompatVerity        = 0x8000
	RoCompatOrphanPresent = 0x10000
)

// Feature bits: s_feature_incompat.
const (
	IncompatCompression = 0x1
	IncompatFiletype    = 0x2
	IncompatRecover     = 0x4
	IncompatJournalDev  = 0x8
	IncompatMetaBG      = 0x10
	IncompatExtents     = 0x40
	Incompat64bit       = 0x80
	IncompatMMP         = 0x100
	IncompatFlexBG      = 0x200
	IncompatEAInode     = 0x400
	IncompatDirdata     = 0x1000
	IncompatCsumSeed    = 0x2000
	IncompatLargedir    = 0x4000
	IncompatInlineData  = 0x8000
	IncompatEncrypt     = 0x10000
	IncompatCasefold    = 0x20000
)

// The names e2fsprogs uses for each feature bit, for messages.
var (
	CompatNames = map[uint32]string{
		CompatDirPrealloc: "dir_prealloc", CompatImagicInodes: "imagic_inodes",
		CompatHasJournal: "has_journal", CompatExtAttr: "ext_attr",
		CompatResizeInode: "resize_inode", CompatDirIndex: "dir_index",
		CompatLazyBG: "lazy_bg", CompatExcludeInode: "snapshot_exclude_inode",
		CompatExcludeBitmap: "snapshot_exclude_bitmap", CompatSparseSuper2: "sparse_super2",
		CompatFastCommit: "fast_commit", CompatStableInodes: "stable_inodes",
		CompatOrphanFile: "orphan_file",
	}
	RoCompatNames = map[uint32]string{
		RoCompatSparseSuper: "sparse_super", RoCompatLargeFile: "large_file",
		RoCompatBtreeDir: "btree_dir", RoCompatHugeFile: "huge_file",
		RoCompatGdtCsum: "uninit_bg", RoCompatDirNlink: "dir_nlink",
		RoCompatExtraIsize: "extra_isize", RoCompatHasSnapshot: "snapshot",
		RoCompatQuota: "quota", RoCompatBigalloc: "bigalloc",
		RoCompatMetadataCsum: "metadata_csum", RoCompatReplica: "replica",
		RoCompatReadonly: "read-only", RoCompatProject: "project",
		RoCompatSharedBlocks: "shared_blocks", RoCompatVerity: "verity",
		RoCompatOrphanPresent: "orphan_present",
	}
	IncompatNames = map[uint32]string{
		IncompatCompression: "compression", IncompatFiletype: "filetype",
		IncompatRecover: "needs_recovery", IncompatJournalDev: "journal_dev",
		IncompatMetaBG: "meta_bg", IncompatExtents: "extent", Incompat64bit: "64bit",
		IncompatMMP: "mmp", IncompatFlexBG: "flex_bg", IncompatEAInode: "ea_inode",
		IncompatDirdata: "dirdata", IncompatCsumSeed: "metadata_csum_seed",
		IncompatLargedir: "large_dir", IncompatInlineData: "inline_data",
		IncompatEncrypt: "encrypt", IncompatCasefold: "casefold",
	}
)

// FeatureNames lists the names of the bits set in mask, unknown bits as
// FEATURE_<prefix><bit> the way e2fsprogs prints them.
func FeatureNames(mask uint32, names map[uint32]string, prefix string) []string {
	var out []string
	for bit := 0; bit < 32; bit++ {
		m := uint32(1) << bit
		if mask&m == 0 {
			continue
		}
		if n, ok := names[m]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("FEATURE_%s%d", prefix, bit))
		}
	}
	return out
}

// s_flags bits.
const (
	FlagSignedHash   = 0x1
	FlagUnsignedHash = 0x2
	FlagTestFS       = 0x4
)

// s_state bits.
const (
	StateValid  = 0x1
	StateError  = 0x2
	StateOrphan = 0x4
)

// Superblock is struct ext4_super_block, every field.
type Superblock struct {
	InodesCount       uint32
	BlocksCount       uint64 // lo | hi<<32 (hi only with 64bit)
	RBlocksCount      uint64
	FreeBlocksCount   uint64
	FreeInodesCount   uint32
	FirstDataBlock    uint32
	LogBlockSize      uint32
	LogClusterSize    uint32
	BlocksPerGroup    uint32
	ClustersPerGroup  uint32
	InodesPerGroup    uint32
	Mtime             int64
	Wtime             int64
	MntCount          uint16
	MaxMntCount       int16
	Magic             uint16
	State             uint16
	Errors            uint16
	MinorRevLevel     uint16
	Lastcheck         int64
	Checkinterval     uint32
	CreatorOS         uint32
	RevLevel          uint32
	DefResuid         uint16
	DefResgid         uint16
	FirstIno          uint32
	InodeSize         uint16
	BlockGroupNr      uint16
	FeatureCompat     uint32
	FeatureIncompat   uint32
	FeatureRoCompat   uint32
	UUID              [16]byte
	VolumeName        string
	LastMounted       string
	AlgorithmUsage    uint32
	PreallocBlocks    uint8
	PreallocDirBlocks uint8
	ReservedGdtBlocks uint16
	JournalUUID       [16]byte
	JournalInum       uint32
	JournalDev        uint32
	LastOrphan        uint32
	HashSeed          [4]uint32
	DefHashVersion    uint8
	JnlBackupType     uint8
	DescSize          uint16
	DefaultMountOpts  uint32
	FirstMetaBG       uint32
	MkfsTime          int64
	JnlBlocks         [17]uint32
	MinExtraIsize     uint16
	WantExtraIsize    uint16
	Flags             uint32
	RaidStride        uint16
	MMPInterval       uint16
	MMPBlock          uint64
	RaidStripeWidth   uint32
	LogGroupsPerFlex  uint8
	ChecksumType      uint8
	EncryptionLevel   uint8
	KbytesWritten     uint64
	SnapshotInum      uint32
	SnapshotID        uint32
	SnapshotRBlocks   uint64
	SnapshotList      uint32
	ErrorCount        uint32
	FirstErrorTime    int64
	FirstErrorIno     uint32
	FirstErrorBlock   uint64
	FirstErrorFunc    string
	FirstErrorLine    uint32
	LastErrorTime     int64
	LastErrorIno      uint32
	LastErrorLine     uint32
	LastErrorBlock    uint64
	LastErrorFunc     string
	MountOpts         string
	UsrQuotaInum      uint32
	GrpQuotaInum      uint32
	OverheadClusters  uint32
	BackupBGs         [2]uint32
	EncryptAlgos      [4]uint8
	EncryptPwSalt     [16]byte
	LpfIno            uint32
	PrjQuotaInum      uint32
	ChecksumSeed      uint32
	FirstErrorErrcode uint8
	LastErrorErrcode  uint8
	Encoding          uint16
	EncodingFlags     uint16
	OrphanFileInum    uint32
	Checksum          uint32
}

// superblock checksum covers everything before s_checksum.
const sbChecksumOff = 0x3fc

// ParseSuperblock decodes the 1024-byte superblock. It checks the magic and
// the geometry a reader relies on (block size, group sizes, inode size,
// descriptor size); features and the checksum are the caller's to judge.
func ParseSuperblock(b []byte) (*Superblock, error) {
	s, err := decodeSuperblock(b)
	if err != nil {
		return nil, err
	}
	bs := s.BlockSize()
	if s.BlocksPerGroup == 0 || (s.BlocksPerGroup > 8*uint32(bs) && s.FeatureRoCompat&RoCompatBigalloc == 0) {
		return nil, fmt.Errorf("superblock: %d blocks per group, block size %d", s.BlocksPerGroup, bs)
	}
	if s.InodesPerGroup == 0 || s.InodesPerGroup > 8*uint32(bs) {
		return nil, fmt.Errorf("superblock: %d inodes per group, block size %d", s.InodesPerGroup, bs)
	}
	if s.InodeSize < 128 || s.InodeSize&(s.InodeSize-1) != 0 || int(s.InodeSize) > bs {
		return nil, fmt.Errorf("superblock: inode size %d", s.InodeSize)
	}
	if s.FirstIno < 11 && s.RevLevel >= 1 {
		return nil, fmt.Errorf("superblock: first inode %d", s.FirstIno)
	}
	if s.BlocksCount <= uint64(s.FirstDataBlock) {
		return nil, fmt.Errorf("superblock: %d blocks, first data block %d", s.BlocksCount, s.FirstDataBlock)
	}
	if s.FirstDataBlock > 1 {
		return nil, fmt.Errorf("superblock: first data block %d", s.FirstDataBlock)
	}
	if s.Has64bit() && (s.DescSize < 32 || s.DescSize&(s.DescSize-1) != 0 || int(s.DescSize) > bs) {
		return nil, fmt.Errorf("superblock: group descriptor size %d", s.DescSize)
	}
	if uint64(s.InodesCount) > uint64(s.GroupCount())*uint64(s.InodesPerGroup) {
		return nil, fmt.Errorf("superblock: %d inodes do not fit %d groups of %d", s.InodesCount, s.GroupCount(), s.InodesPerGroup)
	}
	return s, nil
}

// ParseJournalDevSuperblock decodes the superblock of an external journal
// device (mke2fs -O journal_dev). Such a device has no groups or inodes:
// only the magic, the journal_dev feature and the block size are checked.
// Its UUID is the one a file system names in s_journal_uuid; the jbd2
// superblock is in the block after this one.
func ParseJournalDevSuperblock(b []byte) (*Superblock, error) {
	s, err := decodeSuperblock(b)
	if err != nil {
		return nil, err
	}
	if s.FeatureIncompat&IncompatJournalDev == 0 {
		return nil, fmt.Errorf("superblock: no journal_dev feature (features: %s)", s.FeatureString())
	}
	return s, nil
}

// decodeSuperblock decodes every field and checks the magic and the block
// size.
func decodeSuperblock(b []byte) (*Superblock, error) {
	if len(b) < SuperblockSize {
		return nil, fmt.Errorf("superblock: short (%d bytes)", len(b))
	}
	s := &Superblock{}
	s.Magic = le16(b, 0x38)
	if s.Magic != Magic {
		return nil, fmt.Errorf("superblock: bad magic %#x", s.Magic)
	}
	s.InodesCount = le32(b, 0x0)
	s.BlocksCount = uint64(le32(b, 0x4))
	s.RBlocksCount = uint64(le32(b, 0x8))
	s.FreeBlocksCount = uint64(le32(b, 0xc))
	s.FreeInodesCount = le32(b, 0x10)
	s.FirstDataBlock = le32(b, 0x14)
	s.LogBlockSize = le32(b, 0x18)
	s.LogClusterSize = le32(b, 0x1c)
	s.BlocksPerGroup = le32(b, 0x20)
	s.ClustersPerGroup = le32(b, 0x24)
	s.InodesPerGroup = le32(b, 0x28)
	s.Mtime = int64(le32(b, 0x2c)) | int64(b[0x275])<<32
	s.Wtime = int64(le32(b, 0x30)) | int64(b[0x274])<<32
	s.MntCount = le16(b, 0x34)
	s.MaxMntCount = int16(le16(b, 0x36))
	s.State = le16(b, 0x3a)
	s.Errors = le16(b, 0x3c)
	s.MinorRevLevel = le16(b, 0x3e)
	s.Lastcheck = int64(le32(b, 0x40)) | int64(b[0x277])<<32
	s.Checkinterval = le32(b, 0x44)
	s.CreatorOS = le32(b, 0x48)
	s.RevLevel = le32(b, 0x4c)
	s.DefResuid = le16(b, 0x50)
	s.DefResgid = le16(b, 0x52)
	s.FirstIno = 11
	s.InodeSize = 128
	if s.RevLevel >= 1 {
		s.FirstIno = le32(b, 0x54)
		s.InodeSize = le16(b, 0x58)
		s.FeatureCompat = le32(b, 0x5c)
		s.FeatureIncompat = le32(b, 0x60)
		s.FeatureRoCompat = le32(b, 0x64)
	}
	s.BlockGroupNr = le16(b, 0x5a)
	copy(s.UUID[:], b[0x68:0x78])
	s.VolumeName = cstring(b[0x78:0x88])
	s.LastMounted = cstring(b[0x88:0xc8])
	s.AlgorithmUsage = le32(b, 0xc8)
	s.PreallocBlocks = b[0xcc]
	s.PreallocDirBlocks = b[0xcd]
	s.ReservedGdtBlocks = le16(b, 0xce)
	copy(s.JournalUUID[:], b[0xd0:0xe0])
	s.JournalInum = le32(b, 0xe0)
	s.JournalDev = le32(b, 0xe4)
	s.LastOrphan = le32(b, 0xe8)
	for i := range s.HashSeed {
		s.HashSeed[i] = le32(b, 0xec+4*i)
	}
	s.DefHashVersion = b[0xfc]
	s.JnlBackupType = b[0xfd]
	s.DescSize = le16(b, 0xfe)
	s.DefaultMountOpts = le32(b, 0x100)
	s.FirstMetaBG = le32(b, 0x104)
	s.MkfsTime = int64(le32(b, 0x108)) | int64(b[0x276])<<32
	for i := range s.JnlBlocks {
		s.JnlBlocks[i] = le32(b, 0x10c+4*i)
	}
	if s.Has64bit() {
		s.BlocksCount |= uint64(le32(b, 0x150)) << 32
		s.RBlocksCount |= uint64(le32(b, 0x154)) << 32
		s.FreeBlocksCount |= uint64(le32(b, 0x158)) << 32
	}
	s.MinExtraIsize = le16(b, 0x15c)
	s.WantExtraIsize = le16(b, 0x15e)
	s.Flags = le32(b, 0x160)
	s.RaidStride = le16(b, 0x164)
	s.MMPInterval = le16(b, 0x166)
	s.MMPBlock = le64(b, 0x168)
	s.RaidStripeWidth = le32(b, 0x170)
	s.LogGroupsPerFlex = b[0x174]
	s.ChecksumType = b[0x175]
	s.EncryptionLevel = b[0x176]
	s.KbytesWritten = le64(b, 0x178)
	s.SnapshotInum = le32(b, 0x180)
	s.SnapshotID = le32(b, 0x184)
	s.SnapshotRBlocks = le64(b, 0x188)
	s.SnapshotList = le32(b, 0x190)
	s.ErrorCount = le32(b, 0x194)
	s.FirstErrorTime = int64(le32(b, 0x198)) | int64(b[0x278])<<32
	s.FirstErrorIno = le32(b, 0x19c)
	s.FirstErrorBlock = le64(b, 0x1a0)
	s.FirstErrorFunc = cstring(b[0x1a8:0x1c8])
	s.FirstErrorLine = le32(b, 0x1c8)
	s.LastErrorTime = int64(le32(b, 0x1cc)) | int64(b[0x279])<<32
	s.LastErrorIno = le32(b, 0x1d0)
	s.LastErrorLine = le32(b, 0x1d4)
	s.LastErrorBlock = le64(b, 0x1d8)
	s.LastErrorFunc = cstring(b[0x1e0:0x200])
	s.MountOpts = cstring(b[0x200:0x240])
	s.UsrQuotaInum = le32(b, 0x240)
	s.GrpQuotaInum = le32(b, 0x244)
	s.OverheadClusters = le32(b, 0x248)
	s.BackupBGs = [2]uint32{le32(b, 0x24c), le32(b, 0x250)}
	copy(s.EncryptAlgos[:], b[0x254:0x258])
	copy(s.EncryptPwSalt[:], b[0x258:0x268])
	s.LpfIno = le32(b, 0x268)
	s.PrjQuotaInum = le32(b, 0x26c)
	s.ChecksumSeed = le32(b, 0x270)
	s.FirstErrorErrcode = b[0x27a]
	s.LastErrorErrcode = b[0x27b]
	s.Encoding = le16(b, 0x27c)
	s.EncodingFlags = le16(b, 0x27e)
	s.OrphanFileInum = le32(b, 0x280)
	s.Checksum = le32(b, sbChecksumOff)

	if s.LogBlockSize > 6 { // 1 KiB << 6 = 64 KiB
		return nil, fmt.Errorf("superblock: block size 2^%d KiB unsupported", s.LogBlockSize)
	}
	return s, nil
}

// BlockSize is the file system block size in bytes.
func (s *Superblock) BlockSize() int { return 1024 << s.LogBlockSize }

// Has64bit reports the 64bit incompat feature.
func (s *Superblock) Has64bit() bool { return s.FeatureIncompat&Incompat64bit != 0 }

// HasMetadataCsum reports the metadata_csum ro_compat feature.
func (s *Superblock) HasMetadataCsum() bool { return s.FeatureRoCompat&RoCompatMetadataCsum != 0 }

// HasGdtCsum reports the uninit_bg (gdt_csum) ro_compat feature; with
// metadata_csum present the crc32c variant wins.
func (s *Superblock) HasGdtCsum() bool {
	return s.FeatureRoCompat&RoCompatGdtCsum != 0 && !s.HasMetadataCsum()
}

// GroupDescSize is the size of one group descriptor on disk.
func (s *Superblock) GroupDescSize() int {
	if s.Has64bit() {
		return int(s.DescSize)
	}
	return GroupDescSize32
}

// GroupCount is the number of block groups.
func (s *Superblock) GroupCount() uint32 {
	n := (s.BlocksCount - uint64(s.FirstDataBlock) + uint64(s.BlocksPerGroup) - 1) / uint64(s.BlocksPerGroup)
	if n > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(n)
}

// CsumSeed returns the seed of every metadata_csum checksum: the
// stored seed with metadata_csum_seed, else crc32c of the uuid.
func (s *Superblock) CsumSeed() uint32 {
	if s.FeatureIncompat&IncompatCsumSeed != 0 {
		return s.ChecksumSeed
	}
	return Crc32c(^uint32(0), s.UUID[:])
}

// SuperblockChecksum computes s_checksum of raw superblock bytes.
func SuperblockChecksum(b []byte) uint32 {
	return Crc32c(^uint32(0), b[:sbChecksumOff])
}

// Verify checks s_checksum when metadata_csum is on.
func (s *Superblock) Verify(raw []byte) error {
	if !s.HasMetadataCsum() {
		return nil
	}
	if s.ChecksumType != 1 {
		return fmt.Errorf("superblock: unknown checksum type %d", s.ChecksumType)
	}
	if c := SuperblockChecksum(raw); c != s.Checksum {
		return fmt.Errorf("superblock: checksum %#x, computed %#x", s.Checksum, c)
	}
	return nil
}

// FeatureString lists every feature set, for messages.
func (s *Superblock) FeatureString() string {
	var all []string
	all = append(all, FeatureNames(s.FeatureCompat, CompatNames, "C")...)
	all = append(all, FeatureNames(s.FeatureIncompat, IncompatNames, "I")...)
	all = append(all, FeatureNames(s.FeatureRoCompat, RoCompatNames, "R")...)
	return strings.Join(all, " ")
}

// HashUnsigned reports whether directory hashes treat name bytes as
// unsigned chars (s_flags), which selects the _unsigned hash variants.
func (s *Superblock) HashUnsigned() bool { return s.Flags&FlagUnsignedHash != 0 }

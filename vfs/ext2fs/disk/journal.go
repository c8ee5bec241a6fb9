package disk

import (
	"encoding/binary"
	"fmt"
)

// jbd2 constants. Journal structures are big-endian.
const (
	JournalMagic = 0xc03b3998

	JBlockDescriptor = 1
	JBlockCommit     = 2
	JBlockSuperV1    = 3
	JBlockSuperV2    = 4
	JBlockRevoke     = 5
	JBlockFastCommit = 6 // not a header type on disk; kept for messages

	JCompatChecksum = 0x1

	JIncompatRevoke      = 0x1
	JIncompat64bit       = 0x2
	JIncompatAsyncCommit = 0x4
	JIncompatCsumV2      = 0x8
	JIncompatCsumV3      = 0x10
	JIncompatFastCommit  = 0x20

	JKnownIncompat = JIncompatRevoke | JIncompat64bit | JIncompatAsyncCommit |
		JIncompatCsumV2 | JIncompatCsumV3 | JIncompatFastCommit

	// Tag flags.
	JFlagEscape   = 1
	JFlagSameUUID = 2
	JFlagDeleted  = 4
	JFlagLastTag  = 8

	JHeaderSize     = 12
	JSuperSize      = 1024
	JBlockTailSize  = 4
	JChecksumCRC32C = 4
	JUsersMax       = 48 // uuids in s_users, at 0x100
)

// JournalIncompatNames names the jbd2 incompat bits for messages.
var JournalIncompatNames = map[uint32]string{
	JIncompatRevoke: "journal_incompat_revoke", JIncompat64bit: "journal_64bit",
	JIncompatAsyncCommit: "journal_async_commit", JIncompatCsumV2: "journal_checksum_v2",
	JIncompatCsumV3: "journal_checksum_v3", JIncompatFastCommit: "journal_fast_commit",
}

// JournalHeader is journal_header_t.
type JournalHeader struct {
	Magic     uint32
	BlockType uint32
	Sequence  uint32
}

// ParseJournalHeader decodes the header at the start of a journal block;
// ok is false when the magic does not match.
func ParseJournalHeader(b []byte) (h JournalHeader, ok bool) {
	if len(b) < JHeaderSize {
		return h, false
	}
	h = JournalHeader{be32(b, 0), be32(b, 4), be32(b, 8)}
	return h, h.Magic == JournalMagic
}

// JournalSuperblock is journal_superblock_t.
type JournalSuperblock struct {
	Header          JournalHeader
	BlockSize       uint32
	MaxLen          uint32
	First           uint32
	Sequence        uint32 // first transaction expected in the log
	Start           uint32 // log block of that transaction; 0 = clean
	Errno           int32
	FeatureCompat   uint32
	FeatureIncompat uint32
	FeatureRoCompat uint32
	UUID            [16]byte
	NrUsers         uint32
	Dynsuper        uint32
	MaxTransaction  uint32
	MaxTransData    uint32
	ChecksumType    uint8
	NumFCBlocks     uint32
	Head            uint32
	Checksum        uint32
	// Users are the file systems sharing an external journal:
	// s_users[:min(NrUsers, JUsersMax)].
	Users [][16]byte
}

// ParseJournalSuperblock decodes and sanity-checks a journal superblock.
func ParseJournalSuperblock(b []byte) (*JournalSuperblock, error) {
	if len(b) < JSuperSize {
		return nil, fmt.Errorf("journal superblock: short")
	}
	h, ok := ParseJournalHeader(b)
	if !ok {
		return nil, fmt.Errorf("journal superblock: bad magic %#x", h.Magic)
	}
	if h.BlockType != JBlockSuperV1 && h.BlockType != JBlockSuperV2 {
		return nil, fmt.Errorf("journal superblock: block type %d", h.BlockType)
	}
	s := &JournalSuperblock{
		Header:    h,
		BlockSize: be32(b, 0xc),
		MaxLen:    be32(b, 0x10),
		First:     be32(b, 0x14),
		Sequence:  be32(b, 0x18),
		Start:     be32(b, 0x1c),
		Errno:     int32(be32(b, 0x20)),
	}
	if h.BlockType == JBlockSuperV2 {
		s.FeatureCompat = be32(b, 0x24)
		s.FeatureIncompat = be32(b, 0x28)
		s.FeatureRoCompat = be32(b, 0x2c)
		copy(s.UUID[:], b[0x30:0x40])
		s.NrUsers = be32(b, 0x40)
		s.Dynsuper = be32(b, 0x44)
		s.MaxTransaction = be32(b, 0x48)
		s.MaxTransData = be32(b, 0x4c)
		s.ChecksumType = b[0x50]
		s.NumFCBlocks = be32(b, 0x54)
		s.Head = be32(b, 0x58)
		s.Checksum = be32(b, 0xfc)
		for i := range min(s.NrUsers, JUsersMax) {
			var u [16]byte
			copy(u[:], b[0x100+16*i:])
			s.Users = append(s.Users, u)
		}
	}
	if s.BlockSize < 1024 || s.BlockSize > 65536 || s.BlockSize&(s.BlockSize-1) != 0 {
		return nil, fmt.Errorf("journal superblock: block size %d", s.BlockSize)
	}
	if s.First == 0 || s.First >= s.MaxLen {
		return nil, fmt.Errorf("journal superblock: first %d, maxlen %d", s.First, s.MaxLen)
	}
	if s.Start != 0 && (s.Start < s.First || s.Start >= s.MaxLen) {
		return nil, fmt.Errorf("journal superblock: start %d outside [%d,%d)", s.Start, s.First, s.MaxLen)
	}
	return s, nil
}

// HasUser reports whether uuid is among the journal's users.
func (s *JournalSuperblock) HasUser(uuid [16]byte) bool {
	for _, u := range s.Users {
		if u == uuid {
			return true
		}
	}
	return false
}

// CsumV2or3 reports whether blocks carry v2 or v3 checksums.
func (s *JournalSuperblock) CsumV2or3() bool {
	return s.FeatureIncompat&(JIncompatCsumV2|JIncompatCsumV3) != 0
}

// CsumSeed is the journal's checksum seed: crc32c of its uuid.
func (s *JournalSuperblock) CsumSeed() uint32 { return Crc32c(^uint32(0), s.UUID[:]) }

// Verify checks the superblock checksum (v2/v3 only).
func (s *JournalSuperblock) Verify(b []byte) error {
	if !s.CsumV2or3() {
		return nil
	}
	if s.ChecksumType != JChecksumCRC32C {
		return fmt.Errorf("journal superblock: checksum type %d", s.ChecksumType)
	}
	c := Crc32c(^uint32(0), b[:0xfc])
	c = Crc32c(c, zeros[:])
	c = Crc32c(c, b[0x100:JSuperSize])
	if c != s.Checksum {
		return fmt.Errorf("journal superblock: checksum %#x, computed %#x", s.Checksum, c)
	}
	return nil
}

// TagBytes is the size of one block tag in a descriptor block (without
// the 16-byte uuid that follows a tag lacking SAME_UUID).
func (s *JournalSuperblock) TagBytes() int {
	if s.FeatureIncompat&JIncompatCsumV3 != 0 {
		return 16
	}
	sz := 12
	if s.FeatureIncompat&JIncompatCsumV2 != 0 {
		sz += 2
	}
	if s.FeatureIncompat&JIncompat64bit != 0 {
		return sz
	}
	return sz - 4
}

// JournalTag is one block tag: log block i after the descriptor holds
// the new contents of file system block Block.
type JournalTag struct {
	Block    uint64
	Flags    uint32
	Checksum uint32 // 16 bits with v2, 32 with v3
}

// ParseDescriptor decodes the tags of a descriptor block.
func (s *JournalSuperblock) ParseDescriptor(b []byte) ([]JournalTag, error) {
	end := len(b)
	if s.CsumV2or3() {
		end -= JBlockTailSize
	}
	tb := s.TagBytes()
	v3 := s.FeatureIncompat&JIncompatCsumV3 != 0
	b64 := s.FeatureIncompat&JIncompat64bit != 0
	var tags []JournalTag
	off := JHeaderSize
	for {
		if off+tb > end {
			return nil, fmt.Errorf("journal descriptor: tags run past the block")
		}
		t := JournalTag{Block: uint64(be32(b, off))}
		if v3 {
			t.Flags = be32(b, off+4)
			if b64 {
				t.Block |= uint64(be32(b, off+8)) << 32
			}
			t.Checksum = be32(b, off+12)
		} else {
			t.Checksum = uint32(be16(b, off+4))
			t.Flags = uint32(be16(b, off+6))
			if b64 {
				t.Block |= uint64(be32(b, off+8)) << 32
			}
		}
		off += tb
		if t.Flags&JFlagSameUUID == 0 {
			off += 16
		}
		tags = append(tags, t)
		if t.Flags&JFlagLastTag != 0 {
			return tags, nil
		}
		if off+tb > end {
			// Old journals end the list by running out of room.
			return tags, nil
		}
	}
}

// VerifyDescriptorTail checks the block tail checksum of a descriptor or
// revoke block (v2/v3).
func (s *JournalSuperblock) VerifyDescriptorTail(b []byte) error {
	if !s.CsumV2or3() {
		return nil
	}
	off := len(b) - JBlockTailSize
	if off < JHeaderSize {
		return fmt.Errorf("journal descriptor block: short")
	}
	c := Crc32c(s.CsumSeed(), b[:off])
	c = Crc32c(c, zeros[:])
	if stored := be32(b, off); c != stored {
		return fmt.Errorf("journal descriptor block: checksum %#x, computed %#x", stored, c)
	}
	return nil
}

// VerifyTag checks a data block against its tag's checksum (v2/v3).
func (s *JournalSuperblock) VerifyTag(t JournalTag, sequence uint32, data []byte) error {
	if !s.CsumV2or3() {
		return nil
	}
	var seq [4]byte
	binary.BigEndian.PutUint32(seq[:], sequence)
	c := Crc32c(s.CsumSeed(), seq[:])
	c = Crc32c(c, data)
	if s.FeatureIncompat&JIncompatCsumV3 == 0 {
		c &= 0xffff
	}
	if c != t.Checksum {
		return fmt.Errorf("journal data block for %d: checksum %#x, computed %#x", t.Block, t.Checksum, c)
	}
	return nil
}

// VerifyCommit checks a commit block's checksum (v2/v3).
func (s *JournalSuperblock) VerifyCommit(b []byte) error {
	if !s.CsumV2or3() {
		return nil
	}
	if len(b) < 64 {
		return fmt.Errorf("journal commit block: short")
	}
	c := Crc32c(s.CsumSeed(), b[:16])
	c = Crc32c(c, zeros[:])
	c = Crc32c(c, b[20:])
	if stored := be32(b, 16); c != stored {
		return fmt.Errorf("journal commit block: checksum %#x, computed %#x", stored, c)
	}
	return nil
}

// ParseRevoke decodes the block numbers of a revoke block.
func (s *JournalSuperblock) ParseRevoke(b []byte) ([]uint64, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("journal revoke block: short")
	}
	count := int(be32(b, 12))
	limit := len(b)
	if s.CsumV2or3() {
		limit -= JBlockTailSize
	}
	if count < 16 || count > limit {
		return nil, fmt.Errorf("journal revoke block: r_count %d", count)
	}
	rec := 4
	if s.FeatureIncompat&JIncompat64bit != 0 {
		rec = 8
	}
	var out []uint64
	for off := 16; off+rec <= count; off += rec {
		if rec == 8 {
			out = append(out, binary.BigEndian.Uint64(b[off:]))
		} else {
			out = append(out, uint64(be32(b, off)))
		}
	}
	return out, nil
}

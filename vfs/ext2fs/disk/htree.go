package disk

import "fmt"

// Hash versions (dx_root_info.hash_version and s_def_hash_version).
const (
	HashLegacy          = 0
	HashHalfMD4         = 1
	HashTea             = 2
	HashLegacyUnsigned  = 3
	HashHalfMD4Unsigned = 4
	HashTeaUnsigned     = 5
	HashSipHash         = 6
)

// HashNames names the hash versions for messages.
var HashNames = map[uint8]string{
	HashLegacy: "legacy", HashHalfMD4: "half_md4", HashTea: "tea",
	HashLegacyUnsigned: "legacy_unsigned", HashHalfMD4Unsigned: "half_md4_unsigned",
	HashTeaUnsigned: "tea_unsigned", HashSipHash: "siphash",
}

// DxEntry is struct dx_entry: names hashing to Hash and above (up to the
// next entry's hash) live under logical directory block Block. Entry 0's
// hash is implied to be 0 (its slot holds the count and limit).
type DxEntry struct {
	Hash  uint32
	Block uint32
}

// DxRootInfo is struct dx_root_info.
type DxRootInfo struct {
	HashVersion    uint8
	InfoLength     uint8
	IndirectLevels uint8
	UnusedFlags    uint8
}

// DxNode is a checked htree node: the root (block 0) or an internal node.
// Entry reads its entries from the block it was parsed from: a lookup
// parses a node per level and should not allocate.
type DxNode struct {
	Info        DxRootInfo // root only
	Limit       uint16
	Count       uint16 // entries, at least 1
	CountOffset int    // byte offset of the count/limit pair in the block
	b           []byte
}

// Entry returns entry i (i < Count); entry 0's hash is 0.
func (n *DxNode) Entry(i int) DxEntry {
	e := n.b[n.CountOffset+8*i:]
	if i == 0 {
		return DxEntry{Block: le32(e, 4)}
	}
	return DxEntry{Hash: le32(e, 0), Block: le32(e, 4)}
}

// Htree geometry.
const (
	dxRootInfoOff = 0x18
	DxTailSize    = 8
	// Without largedir an htree has at most 2 levels of index below the
	// root; with it, 3.
	DxMaxLevels      = 2
	DxMaxLevelsLarge = 3
)

// ParseDxRoot decodes block 0 of an indexed directory. csum reports
// metadata_csum, which reserves room for a dx_tail. The node aliases b.
func ParseDxRoot(b []byte, blockSize int, csum bool) (DxNode, error) {
	if len(b) < 0x20+8 {
		return DxNode{}, fmt.Errorf("htree root: short block")
	}
	// "." then ".." (rec_len to the end of the block).
	dot, err := ParseDirent(b, 0, blockSize, true)
	if err != nil || string(dot.Name) != "." {
		return DxNode{}, fmt.Errorf("htree root: no \".\" entry")
	}
	dotdot, err := ParseDirent(b, dot.RecLen, blockSize, true)
	if err != nil || string(dotdot.Name) != ".." {
		return DxNode{}, fmt.Errorf("htree root: no \"..\" entry")
	}
	n := DxNode{Info: DxRootInfo{
		HashVersion:    b[dxRootInfoOff+4],
		InfoLength:     b[dxRootInfoOff+5],
		IndirectLevels: b[dxRootInfoOff+6],
		UnusedFlags:    b[dxRootInfoOff+7],
	}}
	if le32(b, dxRootInfoOff) != 0 {
		return DxNode{}, fmt.Errorf("htree root: reserved_zero is not zero")
	}
	if n.Info.InfoLength != 8 {
		return DxNode{}, fmt.Errorf("htree root: info length %d", n.Info.InfoLength)
	}
	if err := parseDxEntries(&n, b, dxRootInfoOff+int(n.Info.InfoLength), csum, "htree root"); err != nil {
		return DxNode{}, err
	}
	return n, nil
}

// ParseDxNode decodes an internal htree node: a fake empty entry spanning
// the block, then the count/limit pair and entries. The node aliases b.
func ParseDxNode(b []byte, blockSize int, csum bool) (DxNode, error) {
	if len(b) < 16 {
		return DxNode{}, fmt.Errorf("htree node: short block")
	}
	if le32(b, 0) != 0 || RecLen(le16(b, 4), blockSize) != len(b) {
		return DxNode{}, fmt.Errorf("htree node: not an index block")
	}
	var n DxNode
	if err := parseDxEntries(&n, b, 8, csum, "htree node"); err != nil {
		return DxNode{}, err
	}
	return n, nil
}

func parseDxEntries(n *DxNode, b []byte, off int, csum bool, what string) error {
	n.CountOffset = off
	n.Limit = le16(b, off)
	n.Count = le16(b, off+2)
	room := (len(b) - off) / 8
	if csum {
		room = (len(b) - off - DxTailSize) / 8
	}
	if int(n.Limit) != room {
		return fmt.Errorf("%s: limit %d, room for %d", what, n.Limit, room)
	}
	if n.Count == 0 || n.Count > n.Limit {
		return fmt.Errorf("%s: count %d, limit %d", what, n.Count, n.Limit)
	}
	n.b = b
	for i := 2; i < int(n.Count); i++ {
		if n.Entry(i).Hash < n.Entry(i-1).Hash {
			return fmt.Errorf("%s: hashes out of order at entry %d", what, i)
		}
	}
	return nil
}

// VerifyDxNode checks the dx_tail checksum of an htree root or node.
func VerifyDxNode(inodeSeed uint32, b []byte, n *DxNode) error {
	tail := n.CountOffset + int(n.Limit)*8
	if tail+DxTailSize > len(b) {
		return fmt.Errorf("htree node: no room for the checksum tail")
	}
	c := Crc32c(inodeSeed, b[:n.CountOffset+int(n.Count)*8])
	c = Crc32c(c, b[tail:tail+4])
	c = Crc32c(c, zeros[:])
	if stored := le32(b, tail+4); c != stored {
		return fmt.Errorf("htree node: checksum %#x, computed %#x", stored, c)
	}
	return nil
}

// Lookup returns the index of the entry whose subtree holds hash.
func (n *DxNode) Lookup(hash uint32) int {
	lo, hi := 1, int(n.Count)
	for lo < hi {
		m := (lo + hi) / 2
		if n.Entry(m).Hash > hash {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo - 1
}

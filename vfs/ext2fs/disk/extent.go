package disk

import "fmt"

// Extent tree constants.
const (
	ExtentMagic    = 0xf30a
	ExtentHdrSize  = 12
	ExtentSize     = 12 // leaf and index entries alike
	MaxExtentDepth = 5
	// An ee_len above InitMaxLen marks an uninitialised extent of
	// ee_len-InitMaxLen blocks.
	InitMaxLen = 1 << 15
)

// ExtentHeader is struct ext4_extent_header.
type ExtentHeader struct {
	Entries    uint16
	Max        uint16
	Depth      uint16
	Generation uint32
}

// ExtentIndex is struct ext4_extent_idx: the subtree for logical blocks
// from Block on lives in physical block Leaf.
type ExtentIndex struct {
	Block uint32
	Leaf  uint64
}

// Extent is struct ext4_extent: Len logical blocks from Block map to
// physical blocks from Start.
type Extent struct {
	Block  uint32
	Len    uint16
	Start  uint64
	Uninit bool // reads as zeros
}

// ExtentNode is one checked node of an extent tree: the in-inode root
// (i_block) or a tree block. It reads its entries from the bytes it was
// parsed from (Index, Extent) instead of copying them out: a lookup
// parses a node per tree level and should not allocate.
type ExtentNode struct {
	Header ExtentHeader
	b      []byte
}

// ParseExtentNode checks a node in b (60 bytes of i_block, or a block):
// the magic, that eh_max fits b and eh_entries fits eh_max, the depth
// limit, and that entries are in increasing logical order without
// overlaps, so that callers may binary-search them. The node aliases b.
func ParseExtentNode(b []byte) (ExtentNode, error) {
	if len(b) < ExtentHdrSize {
		return ExtentNode{}, fmt.Errorf("extent node: short (%d bytes)", len(b))
	}
	n := ExtentNode{Header: ExtentHeader{
		Entries:    le16(b, 2),
		Max:        le16(b, 4),
		Depth:      le16(b, 6),
		Generation: le32(b, 8),
	}, b: b}
	if m := le16(b, 0); m != ExtentMagic {
		return ExtentNode{}, fmt.Errorf("extent node: bad magic %#x", m)
	}
	h := &n.Header
	if h.Max == 0 || ExtentHdrSize+int(h.Max)*ExtentSize > len(b) {
		return ExtentNode{}, fmt.Errorf("extent node: eh_max %d does not fit %d bytes", h.Max, len(b))
	}
	if h.Entries > h.Max {
		return ExtentNode{}, fmt.Errorf("extent node: %d entries, max %d", h.Entries, h.Max)
	}
	if h.Depth > MaxExtentDepth {
		return ExtentNode{}, fmt.Errorf("extent node: depth %d", h.Depth)
	}
	for i := 0; i < n.Len(); i++ {
		if h.Depth > 0 {
			if ix := n.Index(i); i > 0 && ix.Block <= n.Index(i-1).Block {
				return ExtentNode{}, fmt.Errorf("extent index: block %d after %d", ix.Block, n.Index(i-1).Block)
			}
			continue
		}
		x := n.Extent(i)
		if x.Len == 0 {
			return ExtentNode{}, fmt.Errorf("extent: zero length at block %d", x.Block)
		}
		if uint64(x.Block)+uint64(x.Len) > 1<<32 {
			return ExtentNode{}, fmt.Errorf("extent: block %d+%d past 2^32", x.Block, x.Len)
		}
		if i > 0 {
			p := n.Extent(i - 1)
			if x.Block < p.Block+uint32(p.Len) {
				return ExtentNode{}, fmt.Errorf("extent: block %d overlaps %d+%d", x.Block, p.Block, p.Len)
			}
		}
	}
	return n, nil
}

// Len is the number of entries (eh_entries).
func (n *ExtentNode) Len() int { return int(n.Header.Entries) }

// Index returns index entry i of an interior node (depth > 0).
func (n *ExtentNode) Index(i int) ExtentIndex {
	e := n.b[ExtentHdrSize+i*ExtentSize:]
	return ExtentIndex{Block: le32(e, 0), Leaf: uint64(le32(e, 4)) | uint64(le16(e, 8))<<32}
}

// Extent returns extent i of a leaf (depth 0).
func (n *ExtentNode) Extent(i int) Extent {
	e := n.b[ExtentHdrSize+i*ExtentSize:]
	x := Extent{Block: le32(e, 0), Len: le16(e, 4), Start: uint64(le16(e, 6))<<32 | uint64(le32(e, 8))}
	if x.Len > InitMaxLen {
		x.Len -= InitMaxLen
		x.Uninit = true
	}
	return x
}

// Find returns the last entry whose first logical block is at or before
// lblk, or -1 when lblk precedes them all. Index and extent entries
// alike start with their logical block.
func (n *ExtentNode) Find(lblk uint32) int {
	lo, hi := 0, n.Len() // entries before lo start at or before lblk; from hi on, after
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if le32(n.b, ExtentHdrSize+m*ExtentSize) <= lblk {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// ExtentTailOffset is where the checksum tail of an extent block sits.
func ExtentTailOffset(max uint16) int { return ExtentHdrSize + int(max)*ExtentSize }

// VerifyExtentBlock checks the metadata_csum tail of an extent tree block
// of the inode whose checksum seed is inodeSeed.
func VerifyExtentBlock(inodeSeed uint32, b []byte, n *ExtentNode) error {
	off := ExtentTailOffset(n.Header.Max)
	if off+4 > len(b) {
		return fmt.Errorf("extent block: no room for the checksum tail")
	}
	stored := le32(b, off)
	if c := Crc32c(inodeSeed, b[:off]); c != stored {
		return fmt.Errorf("extent block: checksum %#x, computed %#x", stored, c)
	}
	return nil
}

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

// ExtentNode is one decoded node of an extent tree: the in-inode root
// (i_block) or a tree block.
type ExtentNode struct {
	Header  ExtentHeader
	Index   []ExtentIndex // depth > 0
	Extents []Extent      // depth == 0
}

// ParseExtentNode decodes a node from b (60 bytes of i_block, or a block).
// It checks the magic, that eh_max fits b and eh_entries fits eh_max, the
// depth limit, and that entries are in increasing logical order.
func ParseExtentNode(b []byte) (*ExtentNode, error) {
	if len(b) < ExtentHdrSize {
		return nil, fmt.Errorf("extent node: short (%d bytes)", len(b))
	}
	n := &ExtentNode{Header: ExtentHeader{
		Entries:    le16(b, 2),
		Max:        le16(b, 4),
		Depth:      le16(b, 6),
		Generation: le32(b, 8),
	}}
	if m := le16(b, 0); m != ExtentMagic {
		return nil, fmt.Errorf("extent node: bad magic %#x", m)
	}
	h := &n.Header
	if h.Max == 0 || ExtentHdrSize+int(h.Max)*ExtentSize > len(b) {
		return nil, fmt.Errorf("extent node: eh_max %d does not fit %d bytes", h.Max, len(b))
	}
	if h.Entries > h.Max {
		return nil, fmt.Errorf("extent node: %d entries, max %d", h.Entries, h.Max)
	}
	if h.Depth > MaxExtentDepth {
		return nil, fmt.Errorf("extent node: depth %d", h.Depth)
	}
	for i := 0; i < int(h.Entries); i++ {
		e := b[ExtentHdrSize+i*ExtentSize:]
		if h.Depth > 0 {
			ix := ExtentIndex{Block: le32(e, 0), Leaf: uint64(le32(e, 4)) | uint64(le16(e, 8))<<32}
			if i > 0 && ix.Block <= n.Index[i-1].Block {
				return nil, fmt.Errorf("extent index: block %d after %d", ix.Block, n.Index[i-1].Block)
			}
			n.Index = append(n.Index, ix)
			continue
		}
		x := Extent{Block: le32(e, 0), Len: le16(e, 4), Start: uint64(le16(e, 6))<<32 | uint64(le32(e, 8))}
		if x.Len > InitMaxLen {
			x.Len -= InitMaxLen
			x.Uninit = true
		}
		if x.Len == 0 {
			return nil, fmt.Errorf("extent: zero length at block %d", x.Block)
		}
		if uint64(x.Block)+uint64(x.Len) > 1<<32 {
			return nil, fmt.Errorf("extent: block %d+%d past 2^32", x.Block, x.Len)
		}
		if i > 0 {
			p := n.Extents[i-1]
			if x.Block < p.Block+uint32(p.Len) {
				return nil, fmt.Errorf("extent: block %d overlaps %d+%d", x.Block, p.Block, p.Len)
			}
		}
		n.Extents = append(n.Extents, x)
	}
	return n, nil
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

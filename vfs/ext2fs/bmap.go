package ext2fs

import (
	"encoding/binary"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// Run maps Len file blocks starting at file block Logical to device
// blocks starting at Physical. Zero runs (holes and unwritten extents)
// read as zeros and have no Physical; Unwritten tells an allocated but
// unwritten extent from a hole.
type Run struct {
	Logical   uint64
	Physical  uint64
	Len       uint64
	Zero      bool
	Unwritten bool
}

// maxLogical bounds logical block numbers: extents address 2^32 blocks.
const maxLogical = 1 << 32

// Bmap maps file block lblk to the longest run that starts there and is
// contiguous on the device (or a hole). It works on block-mapped and
// extent-mapped files alike; inline-data files have no blocks (EINVAL).
// Large reads call it once per run and read each run with one pread.
func (ip Inode) Bmap(l *kernel.LWP, lblk uint64) (Run, unix.Errno) {
	if ip.Flags&disk.FlagInlineData != 0 {
		return Run{}, unix.EINVAL
	}
	if ip.FileType() != disk.S_IFREG && ip.FileType() != disk.S_IFDIR && ip.FileType() != disk.S_IFLNK {
		return Run{}, unix.EINVAL
	}
	if ip.Flags&disk.FlagExtents != 0 {
		return ip.extentMap(l, lblk)
	}
	return ip.indirectMap(l, lblk)
}

func (ip Inode) extentMap(l *kernel.LWP, lblk uint64) (Run, unix.Errno) {
	fs := ip.fs
	if lblk >= maxLogical {
		return Run{Logical: lblk, Len: 1 << 62, Zero: true}, 0
	}
	node, err := disk.ParseExtentNode(ip.block[:])
	if err != nil {
		return Run{}, fs.corrupt("inode %d: extent root: %v", ip.Ino, err)
	}
	limit := uint64(maxLogical) // end of the subtree being searched
	// held is the block node was parsed from (nil for the root in the
	// inode), busy while node is used.
	var held *bio.Buf
	defer func() {
		if held != nil {
			held.Brelse()
		}
	}()
	for node.Header.Depth > 0 {
		if node.Len() == 0 {
			return Run{}, fs.corrupt("inode %d: empty extent index node", ip.Ino)
		}
		// The first subtree also holds blocks before its start.
		i := max(node.Find(uint32(lblk)), 0)
		if i+1 < node.Len() {
			limit = min(limit, uint64(node.Index(i+1).Block))
		}
		child := node.Index(i).Leaf
		if !fs.validBlock(child, 1) {
			return Run{}, fs.corrupt("inode %d: extent index points to block %d out of range", ip.Ino, child)
		}
		if held != nil && held.Blkno == int64(child)*fs.bd.per {
			return Run{}, fs.corrupt("inode %d: extent block %d points to itself", ip.Ino, child)
		}
		buf, e := fs.bd.bread(l, child)
		if e != 0 {
			return Run{}, fs.corrupt("inode %d: cannot read extent block %d: %v", ip.Ino, child, e)
		}
		if held != nil {
			held.Brelse()
		}
		held = buf
		b := buf.Data
		next, err := disk.ParseExtentNode(b)
		if err != nil {
			return Run{}, fs.corrupt("inode %d: extent block %d: %v", ip.Ino, child, err)
		}
		if next.Header.Depth != node.Header.Depth-1 {
			return Run{}, fs.corrupt("inode %d: extent block %d has depth %d under depth %d", ip.Ino, child, next.Header.Depth, node.Header.Depth)
		}
		if fs.sb.HasMetadataCsum() {
			if err := disk.VerifyExtentBlock(ip.csumSeed(), b, &next); err != nil {
				return Run{}, fs.corrupt("inode %d: block %d: %v", ip.Ino, child, err)
			}
		}
		node = next
	}
	i := node.Find(uint32(lblk))
	if i+1 < node.Len() {
		limit = min(limit, uint64(node.Extent(i+1).Block))
	}
	if i >= 0 {
		x := node.Extent(i)
		if end := uint64(x.Block) + uint64(x.Len); lblk < end {
			if !fs.validBlock(x.Start, uint64(x.Len)) {
				return Run{}, fs.corrupt("inode %d: extent %d+%d at block %d out of range", ip.Ino, x.Block, x.Len, x.Start)
			}
			r := Run{Logical: lblk, Len: end - lblk, Zero: x.Uninit, Unwritten: x.Uninit}
			if !x.Uninit {
				r.Physical = x.Start + (lblk - uint64(x.Block))
			}
			return r, 0
		}
	}
	if limit <= lblk {
		limit = lblk + 1
	}
	return Run{Logical: lblk, Len: limit - lblk, Zero: true}, 0
}

// indirectMap maps through the classic direct, indirect, double and
// triple indirect block pointers.
func (ip Inode) indirectMap(l *kernel.LWP, lblk uint64) (Run, unix.Errno) {
	fs := ip.fs
	apb := uint64(fs.bsize / 4)
	if lblk < disk.NDirect {
		return ip.runFrom(func(i uint64) (uint32, bool) {
			if i >= disk.NDirect {
				return 0, false
			}
			return ip.blockWord(int(i)), true
		}, lblk, lblk)
	}
	rel := lblk - disk.NDirect
	span := apb // blocks covered by the tree rooted at this level
	levels := 1
	root := ip.blockWord(disk.IndBlock)
	for rel >= span {
		rel -= span
		levels++
		if levels > 3 {
			return Run{Logical: lblk, Len: 1 << 62, Zero: true}, 0
		}
		span *= apb
		root = ip.blockWord(disk.NDirect + levels - 1)
	}
	blk := uint64(root)
	for level := levels; ; level-- {
		if blk == 0 {
			return Run{Logical: lblk, Len: span - rel%span, Zero: true}, 0
		}
		if !fs.validBlock(blk, 1) {
			return Run{}, fs.corrupt("inode %d: indirect block %d out of range", ip.Ino, blk)
		}
		buf, e := fs.bd.bread(l, blk)
		if e != 0 {
			return Run{}, fs.corrupt("inode %d: cannot read indirect block %d: %v", ip.Ino, blk, e)
		}
		b := buf.Data
		span /= apb
		idx := (rel / span) % apb
		if level == 1 {
			r, e := ip.runFrom(func(i uint64) (uint32, bool) {
				if i >= apb {
					return 0, false
				}
				return binary.LittleEndian.Uint32(b[4*i:]), true
			}, idx, lblk)
			buf.Brelse()
			return r, e
		}
		blk = uint64(binary.LittleEndian.Uint32(b[4*idx:]))
		buf.Brelse()
		rel %= span
	}
}

// runFrom builds a run from consecutive pointers ptr(i), ptr(i+1), ...
// of one pointer array, starting at index i for file block lblk.
func (ip Inode) runFrom(ptr func(uint64) (uint32, bool), i, lblk uint64) (Run, unix.Errno) {
	first, _ := ptr(i)
	r := Run{Logical: lblk, Physical: uint64(first), Len: 1, Zero: first == 0}
	for {
		p, ok := ptr(i + r.Len)
		if !ok {
			break
		}
		if r.Zero && p != 0 || !r.Zero && uint64(p) != r.Physical+r.Len {
			break
		}
		r.Len++
	}
	if r.Zero {
		r.Physical = 0
	} else if !ip.fs.validBlock(r.Physical, r.Len) {
		return Run{}, ip.fs.corrupt("inode %d: data block %d out of range", ip.Ino, r.Physical)
	}
	return r, 0
}

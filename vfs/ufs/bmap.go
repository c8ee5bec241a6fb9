package ufs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// maxRun caps the contiguous run Bmap reports, so one device read stays
// bounded.
const maxRun = 64

// BlockSize is the allocated size of logical block lbn (ffs_blksize): a
// full block except the last direct block, which holds only the fragments
// the file size needs.
func (ip *Inode) BlockSize(lbn int64) int {
	m := ip.M
	if lbn >= NDAddr || ip.Size >= uint64(lbn+1)<<m.BShift {
		return m.BSize
	}
	off := int(ip.Size & uint64(m.BSize-1))
	return (off + m.FSize - 1) &^ (m.FSize - 1)
}

// Bmap maps logical block lbn of the file to a fragment address
// (ufs_bmap): 0 is a hole. run is how many following logical blocks are
// physically contiguous with it (0 for a hole), at most maxRun. A pointer
// outside the file system, or an lbn past what triple indirection reaches,
// is EIO.
func (ip *Inode) Bmap(l *kernel.LWP, lbn int64) (fsb int64, run int, err unix.Errno) {
	m := ip.M
	if lbn < 0 {
		return 0, 0, unix.EINVAL
	}
	frag := int64(m.FragsPerBlock())
	if lbn < NDAddr {
		fsb = ip.DB[lbn]
		if fsb == 0 {
			return 0, 0, 0
		}
		if !m.checkExtent(fsb, ip.BlockSize(lbn)) {
			return 0, 0, m.corrupt("inode %d: block %d at %d out of range", ip.Number, lbn, fsb)
		}
		for i := lbn + 1; i < NDAddr && run < maxRun && ip.DB[i] == fsb+frag*(i-lbn); i++ {
			run++
		}
		return fsb, run, 0
	}
	// Find the level: how many indirections, and lbn's index below it.
	rel := lbn - NDAddr
	span := int64(1)
	nindir := int64(m.NIndir)
	level := 0
	for ; level < NIAddr; level++ {
		span *= nindir
		if rel < span {
			break
		}
		rel -= span
	}
	if level == NIAddr {
		return 0, 0, unix.EFBIG
	}
	fsb = ip.IB[level]
	for {
		if fsb == 0 {
			return 0, 0, 0
		}
		if !m.checkExtent(fsb, m.BSize) {
			return 0, 0, m.corrupt("inode %d: indirect block at %d (level %d) out of range", ip.Number, fsb, level)
		}
		span /= nindir
		idx := rel / span
		rel %= span
		last := span == 1
		e := m.Meta.ReadMeta(l, fsb, m.BSize, func(b []byte) {
			fsb = m.pointer(b, idx)
			if !last || fsb == 0 {
				return
			}
			for i := idx + 1; i < nindir && run < maxRun && m.pointer(b, i) == fsb+frag*(i-idx); i++ {
				run++
			}
		})
		if e != 0 {
			return 0, 0, e
		}
		if last {
			break
		}
	}
	if fsb == 0 {
		return 0, 0, 0
	}
	if !m.checkExtent(fsb, m.BSize) {
		return 0, 0, m.corrupt("inode %d: block %d at %d out of range", ip.Number, lbn, fsb)
	}
	return fsb, run, 0
}

// pointer is entry i of an indirect block.
func (m *Mount) pointer(b []byte, i int64) int64 {
	if m.UFS2 {
		return int64(m.Order.Uint64(b[8*i:]))
	}
	return int64(int32(m.Order.Uint32(b[4*i:])))
}

// Pointer is entry i of indirect block b (for the checker and writers).
func (m *Mount) Pointer(b []byte, i int) int64 { return m.pointer(b, int64(i)) }

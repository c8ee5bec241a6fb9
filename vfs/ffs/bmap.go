package ffs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// Block mapping for writes (ffs_balloc), fragment growth (ffs_realloccg)
// and truncation (ffs_truncate). File data goes to the device directly;
// directory blocks and indirect blocks ("meta") live in the buffer cache,
// so moving or freeing them moves or drops their buffers. The inode's
// vnode lock is held exclusively throughout; allocMu is taken per
// allocation.

// blksize is the allocated size of lbn in a file of size bytes.
func (fs *FS) blksize(size uint64, lbn int64) int {
	m := fs.M
	if lbn >= ufs.NDAddr || size >= uint64(lbn+1)<<m.BShift {
		return m.BSize
	}
	off := int(size & uint64(m.BSize-1))
	return (off + m.FSize - 1) &^ (m.FSize - 1)
}

func (fs *FS) inoCG(ip *inode) int64 { return int64(ip.Number / uint64(fs.SB.IPG)) }

func (fs *FS) alloc(l *kernel.LWP, ip *inode, pref int64, n int) (int64, unix.Errno) {
	fs.allocMu.Enter(l)
	defer fs.allocMu.Exit()
	return fs.allocFrags(l, pref, fs.inoCG(ip), n, l == nil || l.Cred() == nil || l.Cred().IsRoot())
}

// free returns size bytes at fsb; meta blocks lose their buffer too.
func (fs *FS) free(l *kernel.LWP, fsb int64, size int, meta bool) unix.Errno {
	if meta {
		fs.dropBuf(l, fsb, size)
	}
	fs.allocMu.Enter(l)
	defer fs.allocMu.Exit()
	return fs.freeFrags(l, fsb, size>>fs.SB.FShift)
}

func (fs *FS) dropBuf(l *kernel.LWP, fsb int64, size int) {
	if b := fs.bdev.Getblk(l, fsb<<fs.SB.FSBToDB, size); b != nil {
		b.Invalidate()
	}
}

// devWrite and devRead move bytes at a byte offset of the device.
func (fs *FS) devWrite(l *kernel.LWP, p []byte, off int64) unix.Errno {
	n, e := fs.bdev.Device().WriteAt(l, p, off)
	if e == 0 && n != len(p) {
		e = unix.EIO
	}
	return e
}

func (fs *FS) devRead(l *kernel.LWP, p []byte, off int64) unix.Errno {
	n, e := fs.bdev.Device().ReadAt(l, p, off)
	if e == 0 && n != len(p) {
		e = fs.corrupt("read of %d bytes at %d past the end of the device", len(p), off)
	}
	return e
}

// ioError is genfs's report of a failed device request: one past the end
// of the device (a block address the image cannot hold) is corruption.
func (fs *FS) ioError(off int64, n int, e unix.Errno) unix.Errno {
	if off+int64(n) > fs.bdev.Device().Size() {
		return fs.corrupt("I/O of %d bytes at %d past the end of the device", n, off)
	}
	return e
}

// readMeta copies a metadata block out of the cache.
func (fs *FS) readMeta(l *kernel.LWP, fsb int64, size int) ([]byte, unix.Errno) {
	b, e := fs.bdev.Bread(l, fsb<<fs.SB.FSBToDB, size)
	if e != 0 {
		return nil, e
	}
	out := append([]byte(nil), b.Data...)
	b.Brelse()
	return out, 0
}

// modifyMeta changes a metadata block in the cache (delayed write).
func (fs *FS) modifyMeta(l *kernel.LWP, fsb int64, size int, fn func(b []byte)) unix.Errno {
	b, e := fs.bdev.Bread(l, fsb<<fs.SB.FSBToDB, size)
	if e != 0 {
		return e
	}
	fn(b.Data)
	b.Bdwrite()
	return 0
}

// newMeta gives a freshly allocated metadata block its contents.
func (fs *FS) newMeta(l *kernel.LWP, fsb int64, size int, fn func(b []byte)) unix.Errno {
	b := fs.bdev.Getblk(l, fsb<<fs.SB.FSBToDB, size)
	if b == nil {
		return unix.EIO
	}
	clear(b.Data)
	if fn != nil {
		fn(b.Data)
	}
	b.Bdwrite()
	return 0
}

func (fs *FS) setPointer(b []byte, i int64, v int64) {
	if fs.SB.UFS2 {
		fs.SB.Order.PutUint64(b[8*i:], uint64(v))
	} else {
		fs.SB.Order.PutUint32(b[4*i:], uint32(v))
	}
}

// realloc grows the fragment run of lbn (a direct block) at bprev from
// osize to nsize bytes, in place when the next fragments are free, else
// by moving it; the added bytes read as zeros.
func (fs *FS) realloc(l *kernel.LWP, ip *inode, lbn int64, osize, nsize int, meta bool) unix.Errno {
	sb := fs.SB
	bprev := ip.DB[lbn]
	fs.allocMu.Enter(l)
	ok, e := fs.extendFrags(l, bprev, osize>>sb.FShift, nsize>>sb.FShift)
	fs.allocMu.Exit()
	if e != 0 {
		return e
	}
	nb := bprev
	if !ok {
		if nb, e = fs.alloc(l, ip, bprev, nsize>>sb.FShift); e != 0 {
			return e
		}
	}
	if meta {
		old, e := fs.readMeta(l, bprev, osize)
		if e != 0 {
			return e
		}
		if nb != bprev {
			fs.dropBuf(l, bprev, osize)
		}
		if e := fs.newMeta(l, nb, nsize, func(b []byte) { copy(b, old) }); e != 0 {
			return e
		}
	} else if nb == bprev {
		if e := genfs.ZeroBytes(l, fs.bdev.Device(), bprev<<sb.FShift+int64(osize), int64(nsize-osize)); e != 0 {
			return e
		}
	} else {
		buf := make([]byte, nsize)
		if e := fs.devRead(l, buf[:osize], bprev<<sb.FShift); e != 0 {
			return e
		}
		if e := fs.devWrite(l, buf, nb<<sb.FShift); e != 0 {
			return e
		}
	}
	if nb != bprev {
		fs.allocMu.Enter(l)
		e = fs.freeFrags(l, bprev, osize>>sb.FShift)
		fs.allocMu.Exit()
		if e != 0 {
			return e
		}
	}
	ip.DB[lbn] = nb
	ip.Blocks += uint64(nsize-osize) >> 9
	return 0
}

// undo records blocks balloc allocated so that a failure can give them
// back.
type undoAlloc struct {
	fsb    int64
	size   int
	meta   bool
	parent int64 // indirect block holding the pointer; 0: the inode
	idx    int64
	level  int // for parent 0: -1 direct DB[idx], else IB[level]
}

// balloc makes sure bytes [off, off+n) of the file (within one block)
// have a block, allocating or growing it, and promoting a fragment-sized
// last block to a full one when the file grows past it. It returns the
// block's address and allocated size, and fresh when the block is new
// (its contents are the caller's to write in full). On failure nothing
// has changed.
func (fs *FS) balloc(l *kernel.LWP, ip *inode, off int64, n int, meta bool) (fsb int64, bsize int, fresh bool, err unix.Errno) {
	m := fs.M
	sb := fs.SB
	lbn := off >> m.BShift
	end := off + int64(n)
	oldSize := ip.Size
	newSize := max(oldSize, uint64(end))
	lastlbn := int64(-1)
	if oldSize > 0 {
		lastlbn = int64((oldSize - 1) >> m.BShift)
	}
	frag := int(sb.Frag)
	var undo []undoAlloc
	fail := func(e unix.Errno) (int64, int, bool, unix.Errno) {
		for i := len(undo) - 1; i >= 0; i-- {
			u := undo[i]
			if u.parent != 0 {
				fs.modifyMeta(l, u.parent, m.BSize, func(b []byte) { fs.setPointer(b, u.idx, 0) })
			} else if u.level < 0 {
				ip.DB[u.idx] = 0
			} else {
				ip.IB[u.level] = 0
			}
			ip.Blocks -= uint64(u.size) >> 9
			fs.free(l, u.fsb, u.size, u.meta)
		}
		return 0, 0, false, e
	}
	// The preferred place: after the previous logical block.
	pref := func(lbn int64) int64 {
		if lbn > 0 && lbn-1 < ufs.NDAddr && ip.DB[lbn-1] != 0 {
			return ip.DB[lbn-1] + int64(frag)
		}
		return 0
	}
	if lbn < ufs.NDAddr {
		nsize := fs.blksize(newSize, lbn)
		if ip.DB[lbn] == 0 {
			nb, e := fs.alloc(l, ip, pref(lbn), nsize>>sb.FShift)
			if e != 0 {
				return 0, 0, false, e
			}
			ip.DB[lbn] = nb
			ip.Blocks += uint64(nsize) >> 9
			undo = append(undo, undoAlloc{fsb: nb, size: nsize, meta: meta, idx: lbn, level: -1})
			fsb, bsize, fresh = nb, nsize, true
		} else {
			if lbn > lastlbn {
				return 0, 0, false, fs.corrupt("inode %d: block %d past the end of file is allocated", ip.Number, lbn)
			}
			osize := fs.blksize(oldSize, lbn)
			if nsize > osize {
				if e := fs.realloc(l, ip, lbn, osize, nsize, meta); e != 0 {
					return 0, 0, false, e
				}
			}
			fsb, bsize = ip.DB[lbn], nsize
		}
	} else {
		// Indirect: find the level and the index at each step.
		rel := lbn - ufs.NDAddr
		span := int64(1)
		nindir := int64(m.NIndir)
		level := 0
		for ; level < ufs.NIAddr; level++ {
			span *= nindir
			if rel < span {
				break
			}
			rel -= span
		}
		if level == ufs.NIAddr {
			return 0, 0, false, unix.EFBIG
		}
		prefB := pref(ufs.NDAddr)
		if ip.IB[level] == 0 {
			nb, e := fs.alloc(l, ip, prefB, frag)
			if e != 0 {
				return fail(e)
			}
			if e := fs.newMeta(l, nb, m.BSize, nil); e != 0 {
				return fail(e)
			}
			ip.IB[level] = nb
			ip.Blocks += uint64(m.BSize) >> 9
			undo = append(undo, undoAlloc{fsb: nb, size: m.BSize, meta: true, level: level})
		}
		cur := ip.IB[level]
		for {
			span /= nindir
			idx := rel / span
			rel %= span
			last := span == 1
			var p int64
			if e := m.Meta.ReadMeta(l, cur, m.BSize, func(b []byte) { p = m.Pointer(b, int(idx)) }); e != 0 {
				return fail(e)
			}
			if p != 0 && (p <= 0 || p+int64(frag) > sb.Size) {
				return fail(fs.corrupt("inode %d: block pointer %d out of range", ip.Number, p))
			}
			if p == 0 {
				nb, e := fs.alloc(l, ip, cur+int64(frag), frag)
				if e != 0 {
					return fail(e)
				}
				isMeta := !last || meta
				if !last {
					if e := fs.newMeta(l, nb, m.BSize, nil); e != 0 {
						return fail(e)
					}
				}
				if e := fs.modifyMeta(l, cur, m.BSize, func(b []byte) { fs.setPointer(b, idx, nb) }); e != 0 {
					fs.free(l, nb, m.BSize, isMeta)
					return fail(e)
				}
				ip.Blocks += uint64(m.BSize) >> 9
				undo = append(undo, undoAlloc{fsb: nb, size: m.BSize, meta: isMeta, parent: cur, idx: idx})
				p = nb
				if last {
					fresh = true
				}
			}
			cur = p
			if last {
				break
			}
		}
		fsb, bsize = cur, m.BSize
	}
	// Growing past a fragment-sized last block makes it a full block.
	if lastlbn >= 0 && lastlbn < lbn && lastlbn < ufs.NDAddr && ip.DB[lastlbn] != 0 {
		if osize := fs.blksize(oldSize, lastlbn); osize < m.BSize {
			if e := fs.realloc(l, ip, lastlbn, osize, m.BSize, meta); e != 0 {
				return fail(e)
			}
		}
	}
	return fsb, bsize, fresh, 0
}

// truncate sets the file's size (ffs_truncate): shrinking frees the
// blocks past the end, indirect blocks included, trims the last block to
// the fragments it needs and zeroes its tail; growing leaves a hole,
// growing the last block's fragments if they were a partial block.
func (fs *FS) truncate(l *kernel.LWP, ip *inode, size uint64) unix.Errno {
	m := fs.M
	sb := fs.SB
	if size > m.MaxFileSize {
		return unix.EFBIG
	}
	meta := ip.Type() == ufs.IFDIR
	old := ip.Size
	if ip.Type() == ufs.IFLNK && ip.IsFastLink() {
		clear(ip.DB[:])
		clear(ip.IB[:])
		ip.Size = 0
		return 0
	}
	if size >= old {
		if old > 0 {
			last := int64((old - 1) >> m.BShift)
			if last < ufs.NDAddr && ip.DB[last] != 0 {
				osize, nsize := fs.blksize(old, last), fs.blksize(size, last)
				if nsize > osize {
					if e := fs.realloc(l, ip, last, osize, nsize, meta); e != 0 {
						return e
					}
				}
			}
		}
		ip.Size = size
		return 0
	}
	// Zero the new last block's tail past the end.
	if boff := int(size & uint64(m.BSize-1)); boff != 0 && !meta {
		lbn := int64(size >> m.BShift)
		fsb, _, e := ip.Bmap(l, lbn)
		if e != 0 {
			return e
		}
		if nalloc := fs.blksize(size, lbn); fsb != 0 && boff < nalloc {
			if e := genfs.ZeroBytes(l, fs.bdev.Device(), fsb<<sb.FShift+int64(boff), int64(nalloc-boff)); e != 0 {
				return e
			}
		}
	}
	lastKeep := int64(-1)
	if size > 0 {
		lastKeep = int64((size - 1) >> m.BShift)
	}
	var first unix.Errno
	note := func(e unix.Errno) {
		if first == 0 {
			first = e
		}
	}
	var freed uint64
	for i := int64(ufs.NDAddr - 1); i >= 0; i-- {
		fsb := ip.DB[i]
		if fsb == 0 || i < lastKeep {
			continue
		}
		osz := fs.blksize(old, i)
		if i > lastKeep {
			note(fs.free(l, fsb, osz, meta))
			ip.DB[i] = 0
			freed += uint64(osz)
		} else if nsz := fs.blksize(size, i); nsz < osz {
			note(fs.free(l, fsb+int64(nsz>>sb.FShift), osz-nsz, meta))
			freed += uint64(osz - nsz)
		}
	}
	base := int64(ufs.NDAddr)
	span := int64(1)
	for level := 0; level < ufs.NIAddr; level++ {
		span *= int64(m.NIndir)
		if fsb := ip.IB[level]; fsb != 0 {
			if base > lastKeep {
				freed += fs.freeTree(l, fsb, level, meta, note)
				ip.IB[level] = 0
			} else if base+span-1 > lastKeep {
				freed += fs.trimTree(l, fsb, level, base, span, lastKeep, meta, note)
			}
		}
		base += span
	}
	ip.Blocks -= min(ip.Blocks, freed>>9)
	ip.Size = size
	return first
}

// pointers copies the pointers out of indirect block fsb.
func (fs *FS) pointers(l *kernel.LWP, fsb int64) ([]int64, unix.Errno) {
	m := fs.M
	if fsb <= 0 || fsb+int64(fs.SB.Frag) > fs.SB.Size {
		return nil, fs.corrupt("indirect block %d out of range", fsb)
	}
	out := make([]int64, m.NIndir)
	e := m.Meta.ReadMeta(l, fsb, m.BSize, func(b []byte) {
		for i := range out {
			out[i] = m.Pointer(b, i)
		}
	})
	return out, e
}

// freeTree frees indirect block fsb at level (0: single) and everything
// below it, returning the bytes freed.
func (fs *FS) freeTree(l *kernel.LWP, fsb int64, level int, meta bool, note func(unix.Errno)) uint64 {
	bs := fs.M.BSize
	ptrs, e := fs.pointers(l, fsb)
	if e != 0 {
		note(e)
		return 0
	}
	var freed uint64
	for _, p := range ptrs {
		if p == 0 {
			continue
		}
		if level == 0 {
			note(fs.free(l, p, bs, meta))
			freed += uint64(bs)
		} else {
			freed += fs.freeTree(l, p, level-1, meta, note)
		}
	}
	note(fs.free(l, fsb, bs, true))
	return freed + uint64(bs)
}

// trimTree frees what indirect block fsb (mapping span blocks from base)
// maps past lastKeep, keeping the block itself.
func (fs *FS) trimTree(l *kernel.LWP, fsb int64, level int, base, span, lastKeep int64, meta bool, note func(unix.Errno)) uint64 {
	bs := fs.M.BSize
	ptrs, e := fs.pointers(l, fsb)
	if e != 0 {
		note(e)
		return 0
	}
	child := span / int64(fs.M.NIndir)
	var freed uint64
	var cleared []int64
	for i, p := range ptrs {
		cb := base + int64(i)*child
		if p == 0 {
			continue
		}
		if cb > lastKeep {
			if level == 0 {
				note(fs.free(l, p, bs, meta))
				freed += uint64(bs)
			} else {
				freed += fs.freeTree(l, p, level-1, meta, note)
			}
			cleared = append(cleared, int64(i))
		} else if level > 0 && cb+child-1 > lastKeep {
			freed += fs.trimTree(l, p, level-1, cb, child, lastKeep, meta, note)
		}
	}
	if len(cleared) > 0 {
		note(fs.modifyMeta(l, fsb, bs, func(b []byte) {
			for _, i := range cleared {
				fs.setPointer(b, i, 0)
			}
		}))
	}
	return freed
}

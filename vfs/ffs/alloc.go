package ffs

import (
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"math/rand/v2"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// Allocation of inodes and fragments in the cylinder groups (ffs_alloc.c
// in spirit): every change to a group's maps goes through changeFrags,
// which keeps the group's counts, its fragment-run summary (frsum), its
// cluster map and summary, the summary array (fs.CS) and the superblock
// totals in step. Callers hold fs.allocMu; a group block is held busy
// only while it is changed, never while another buffer is taken.

// cgw is a cylinder group block being changed in its buffer.
type cgw struct {
	fs *FS
	g  int64
	b  *bio.Buf
	cg *CG // parsed copy: map offsets only, the buffer is the truth
}

// openCG reads group g's block busy and checks it. The first time in a
// mount, its counts are also checked against its maps (CG.Verify): a
// group that disagrees is never changed, and the mount turns read-only.
// Our own changes keep a verified group consistent, so once is enough.
func (fs *FS) openCG(l *kernel.LWP, g int64) (*cgw, unix.Errno) {
	sb := fs.SB
	b, e := fs.bdev.Bread(l, sb.CGTod(g)<<sb.FSBToDB, int(sb.CGSize))
	if e != 0 {
		return nil, e
	}
	cg, err := disk.ParseCG(b.Data, sb, g)
	if err != nil {
		b.Brelse()
		return nil, fs.corruptRO("%v", err)
	}
	if fs.cgVerified == nil {
		fs.cgVerified = make([]bool, sb.NCG)
	}
	if !fs.cgVerified[g] {
		if err := cg.Verify(sb, g, fs.CS[g]); err != nil {
			b.Brelse()
			return nil, fs.corruptRO("cylinder group %d: %v", g, err)
		}
		fs.cgVerified[g] = true
	}
	return &cgw{fs: fs, g: g, b: b, cg: cg}, 0
}

func (w *cgw) done(dirty bool) {
	if dirty {
		sb := w.fs.SB
		disk.SetCGTime(sb, w.b.Data, vnow().Sec)
		w.b.Bdwrite()
		return
	}
	w.b.Brelse()
}

// get, set and add read and change a field of the group block's header.
func (w *cgw) get(f disk.Field) int64    { return f.Get(w.fs.SB.Order, w.b.Data) }
func (w *cgw) set(f disk.Field, v int64) { f.Put(w.fs.SB.Order, w.b.Data, v) }
func (w *cgw) add(f disk.Field, d int64) { w.set(f, int64(int32(w.get(f)+d))) }

func bit(m []byte, i int64) bool { return m[i>>3]&(1<<(i&7)) != 0 }
func setBit(m []byte, i int64, v bool) {
	if v {
		m[i>>3] |= 1 << (i & 7)
	} else {
		m[i>>3] &^= 1 << (i & 7)
	}
}

func (w *cgw) fragFree(f int64) bool { return bit(w.b.Data[w.cg.FreeOff:], f) }
func (w *cgw) inoUsed(i int64) bool  { return bit(w.b.Data[w.cg.IUsedOff:], i) }

// addCS adds d to the group's counts, the summary array and the totals.
func (w *cgw) addCS(d CSum) {
	disk.CGAddCS(w.fs.SB.Order, w.b.Data, d)
	cs := &w.fs.CS[w.g]
	cs.NDir += d.NDir
	cs.NBFree += d.NBFree
	cs.NIFree += d.NIFree
	cs.NFFree += d.NFFree
	t := &w.fs.SB.CSTotal
	t.NDir += d.NDir
	t.NBFree += d.NBFree
	t.NIFree += d.NIFree
	t.NFFree += d.NFFree
}

func (w *cgw) cs() CSum {
	return disk.CGCS(w.fs.SB.Order, w.b.Data)
}

// blockState is how block blk of the group counts: a whole free block, or
// free fragments and their runs.
type blockState struct {
	whole  bool
	nffree int
	runs   [disk.MaxFrag + 1]int
}

func (w *cgw) acct(blk int64) blockState {
	sb := w.fs.SB
	frag := int64(sb.Frag)
	ndblk := sb.CGFrags(w.g)
	var s blockState
	full := (blk+1)*frag <= ndblk
	free, run := 0, 0
	for j := int64(0); j < frag && blk*frag+j < ndblk; j++ {
		if w.fragFree(blk*frag + j) {
			free++
			run++
		} else if run > 0 {
			s.runs[run]++
			run = 0
		}
	}
	if full && free == int(frag) {
		s.whole = true
		return s
	}
	if run > 0 {
		s.runs[run]++
	}
	s.nffree = free
	return s
}

// changeFrags marks n fragments from f (group-relative, within one block)
// free or in use, and accounts for it.
func (w *cgw) changeFrags(f int64, n int, free bool) {
	sb := w.fs.SB
	frag := int64(sb.Frag)
	blk := f / frag
	before := w.acct(blk)
	m := w.b.Data[w.cg.FreeOff:]
	for i := int64(0); i < int64(n); i++ {
		setBit(m, f+i, free)
	}
	after := w.acct(blk)
	var d CSum
	if before.whole != after.whole {
		if after.whole {
			d.NBFree = 1
		} else {
			d.NBFree = -1
		}
		if w.cg.ClusterOff != 0 && (blk+1)*frag <= sb.CGFrags(w.g) {
			w.clusterAcct(blk, after.whole)
		}
	}
	d.NFFree = int64(after.nffree - before.nffree)
	w.addCS(d)
	for i := 1; i < int(frag); i++ {
		if dd := after.runs[i] - before.runs[i]; dd != 0 {
			w.add(disk.CGFrSum.At(i), int64(dd))
		}
	}
}

// clusterAcct keeps the cluster map and summary (ffs_clusteracct).
func (w *cgw) clusterAcct(blk int64, free bool) {
	sb := w.fs.SB
	m := w.b.Data[w.cg.ClusterOff:]
	setBit(m, blk, free)
	n := sb.CGFrags(w.g) / int64(sb.Frag)
	csz := int(sb.ContigSum)
	fwd := 0
	for i := blk + 1; i < n && fwd < csz && bit(m, i); i++ {
		fwd++
	}
	back := 0
	for i := blk - 1; i >= 0 && back < csz && bit(m, i); i-- {
		back++
	}
	cnt := int64(1)
	if !free {
		cnt = -1
	}
	sum := disk.Field{Off: w.cg.ClusterSumOff, Size: 4} // cg_clustersum[0]
	w.add(sum.At(min(fwd+back+1, csz)), cnt)
	if back > 0 {
		w.add(sum.At(back), -cnt)
	}
	if fwd > 0 {
		w.add(sum.At(fwd), -cnt)
	}
}

// wholeFree reports whether block blk is a whole free block.
func (w *cgw) wholeFree(blk int64) bool {
	sb := w.fs.SB
	frag := int64(sb.Frag)
	if (blk+1)*frag > sb.CGFrags(w.g) {
		return false
	}
	for j := int64(0); j < frag; j++ {
		if !w.fragFree(blk*frag + j) {
			return false
		}
	}
	return true
}

// isMetadata reports whether fragment fsb lies in a group's metadata or
// the summary area: a map that offers it is corrupt.
func (fs *FS) isMetadata(fsb int64) bool {
	sb := fs.SB
	g := fsb / int64(sb.FPG)
	if fsb >= sb.CGSBlock(g) && fsb < sb.CGDMin(g) || g == 0 && fsb < sb.CGDMin(0) {
		return true
	}
	cs := (int64(sb.CSSize) + int64(sb.FSize) - 1) >> sb.FShift
	return fsb >= sb.CSAddr && fsb < sb.CSAddr+cs
}

// allocFrags allocates n fragments (n == Frag: a whole block) near
// fragment pref, in pref's group first (inoCG when pref is 0), then the
// others (ffs_alloc + ffs_hashalloc, a linear probe). ENOSPC when no
// group has room. The caller holds allocMu.
func (fs *FS) allocFrags(l *kernel.LWP, pref int64, inoCG int64, n int, root bool) (int64, unix.Errno) {
	sb := fs.SB
	frag := int64(sb.Frag)
	free := sb.CSTotal.NBFree*frag + sb.CSTotal.NFFree
	if free < int64(n) {
		return 0, unix.ENOSPC
	}
	if !root && free-int64(n) < sb.DSize*int64(sb.MinFree)/100 {
		return 0, unix.ENOSPC
	}
	g0 := inoCG
	if pref > 0 && pref < sb.Size {
		g0 = pref / int64(sb.FPG)
	} else {
		pref = 0
	}
	ncg := int64(sb.NCG)
	for i := int64(0); i < ncg; i++ {
		g := (g0 + i) % ncg
		cs := fs.CS[g]
		if cs.NBFree == 0 && (n == int(frag) || cs.NFFree < int64(n)) {
			continue
		}
		p := int64(-1)
		if i == 0 && pref > 0 {
			p = pref - sb.CGBase(g)
		}
		fsb, e := fs.allocInCG(l, g, p, n)
		if e != 0 {
			return 0, e
		}
		if fsb != 0 {
			return fsb, 0
		}
	}
	return 0, unix.ENOSPC
}

// allocInCG allocates n fragments in group g near group-relative pref
// (-1: the group's rotor); 0 when it has no room.
func (fs *FS) allocInCG(l *kernel.LWP, g int64, pref int64, n int) (int64, unix.Errno) {
	sb := fs.SB
	frag := int64(sb.Frag)
	w, e := fs.openCG(l, g)
	if e != 0 {
		return 0, e
	}
	nblk := (sb.CGFrags(g) + frag - 1) / frag
	cs := w.cs()
	found := int64(-1)
	if n < int(frag) {
		// A run in a partly used block first (ffs_alloccg's frsum test).
		have := false
		for i := n; i < int(frag); i++ {
			have = have || w.get(disk.CGFrSum.At(i)) > 0
		}
		if have {
			start := w.get(disk.CGFRotor) / frag
			if pref >= 0 {
				start = pref / frag
			}
			for k := int64(0); k < nblk && found < 0; k++ {
				blk := (start + k) % nblk
				if w.wholeFree(blk) {
					continue
				}
				run := 0
				for j := int64(0); j < frag && blk*frag+j < sb.CGFrags(g); j++ {
					if w.fragFree(blk*frag + j) {
						run++
						if run == n {
							found = blk*frag + j - int64(n) + 1
							break
						}
					} else {
						run = 0
					}
				}
			}
			if found >= 0 {
				w.set(disk.CGFRotor, found)
			}
		}
	}
	if found < 0 {
		if cs.NBFree == 0 {
			w.done(false)
			return 0, 0
		}
		start := w.get(disk.CGRotor) / frag
		if pref >= 0 {
			start = pref / frag
		}
		for k := int64(0); k < nblk; k++ {
			blk := (start + k) % nblk
			if w.wholeFree(blk) {
				found = blk * frag
				break
			}
		}
		if found < 0 {
			w.done(false)
			return 0, fs.corruptRO("cylinder group %d: %d free blocks counted, none in the map", g, cs.NBFree)
		}
		w.set(disk.CGRotor, found)
	}
	fsb := sb.CGBase(g) + found
	if fs.isMetadata(fsb) || fs.isMetadata(fsb+int64(n)-1) {
		w.done(false)
		return 0, fs.corruptRO("cylinder group %d: map offers metadata fragment %d", g, fsb)
	}
	w.changeFrags(found, n, false)
	w.done(true)
	return fsb, 0
}

// extendFrags takes the nnew-nold fragments after an nold-fragment run at
// fsb in place, if they are free and in the same block (ffs_fragextend).
func (fs *FS) extendFrags(l *kernel.LWP, fsb int64, nold, nnew int) (bool, unix.Errno) {
	sb := fs.SB
	frag := int64(sb.Frag)
	if fsb%frag+int64(nnew) > frag {
		return false, 0
	}
	g := fsb / int64(sb.FPG)
	w, e := fs.openCG(l, g)
	if e != 0 {
		return false, e
	}
	rel := fsb - sb.CGBase(g)
	if rel+int64(nnew) > sb.CGFrags(g) {
		w.done(false)
		return false, 0
	}
	for i := int64(nold); i < int64(nnew); i++ {
		if !w.fragFree(rel + i) {
			w.done(false)
			return false, 0
		}
	}
	w.changeFrags(rel+int64(nold), nnew-nold, false)
	w.done(true)
	return true, 0
}

// freeFrags returns n fragments at fsb (within one block) to their group
// (ffs_blkfree). Freeing a free fragment is corruption, and nothing
// changes then.
func (fs *FS) freeFrags(l *kernel.LWP, fsb int64, n int) unix.Errno {
	sb := fs.SB
	if fsb <= 0 || fsb+int64(n) > sb.Size || fs.isMetadata(fsb) || fsb%int64(sb.Frag)+int64(n) > int64(sb.Frag) {
		return fs.corruptRO("freeing fragments %d+%d: out of range or metadata", fsb, n)
	}
	g := fsb / int64(sb.FPG)
	w, e := fs.openCG(l, g)
	if e != 0 {
		return e
	}
	rel := fsb - sb.CGBase(g)
	for i := int64(0); i < int64(n); i++ {
		if w.fragFree(rel + i) {
			w.done(false)
			return fs.corruptRO("freeing free fragment %d", fsb+i)
		}
	}
	w.changeFrags(rel, n, true)
	w.done(true)
	return 0
}

// dirPref picks the group for a new directory: one with at least the
// average free inodes and the fewest directories (ffs_dirpref, the old
// policy).
func (fs *FS) dirPref() int64 {
	sb := fs.SB
	avg := sb.CSTotal.NIFree / int64(sb.NCG)
	best, bestDirs := int64(-1), int64(0)
	for g := range int64(sb.NCG) {
		cs := fs.CS[g]
		if cs.NIFree > 0 && cs.NIFree >= avg && (best < 0 || cs.NDir < bestDirs) {
			best, bestDirs = g, cs.NDir
		}
	}
	if best < 0 {
		return 0
	}
	return best
}

// allocInode takes a free inode, in group pref first, and returns its
// number and previous generation (ffs_valloc). The dinode is checked to
// be free and zeroed (clearDinode). UFS2 groups initialise inode blocks
// lazily (cg_initediblk): blocks handed out for the first time are zeroed
// here.
func (fs *FS) allocInode(l *kernel.LWP, pref int64, dir bool) (uint64, int32, unix.Errno) {
	sb := fs.SB
	ncg := int64(sb.NCG)
	ipg := int64(sb.IPG)
	for k := int64(0); k < ncg; k++ {
		g := (pref + k) % ncg
		if fs.CS[g].NIFree <= 0 {
			continue
		}
		w, e := fs.openCG(l, g)
		if e != 0 {
			return 0, 0, e
		}
		start := w.get(disk.CGIRotor)
		if start < 0 || start >= ipg {
			start = 0
		}
		idx := int64(-1)
		for i := int64(0); i < ipg; i++ {
			c := (start + i) % ipg
			if g*ipg+c >= 2 && !w.inoUsed(c) {
				idx = c
				break
			}
		}
		inited := w.get(disk.CGInited)
		w.done(false)
		if idx < 0 {
			return 0, 0, fs.corruptRO("cylinder group %d: %d free inodes counted, none in the map", g, fs.CS[g].NIFree)
		}
		// Zero inode blocks not yet initialised up to the one needed.
		newInited := inited
		if sb.UFS2 {
			for newInited < ipg && idx+int64(sb.InoPB) > newInited {
				fsba := sb.InoToFsba(uint64(g*ipg + newInited))
				b := fs.bdev.Getblk(l, fsba<<sb.FSBToDB, int(sb.BSize))
				if b == nil {
					return 0, 0, unix.EIO
				}
				clear(b.Data)
				for j := 0; j < int(sb.InoPB); j++ {
					sb.Order.PutUint32(b.Data[j*256+80:], rand.Uint32())
				}
				b.Bdwrite()
				newInited += int64(sb.InoPB)
			}
		}
		ino := uint64(g*ipg + idx)
		gen, e := fs.clearDinode(l, ino, g)
		if e != 0 {
			return 0, 0, e
		}
		w, e = fs.openCG(l, g)
		if e != 0 {
			return 0, 0, e
		}
		setBit(w.b.Data[w.cg.IUsedOff:], idx, true)
		w.set(disk.CGIRotor, idx)
		if newInited != inited {
			w.set(disk.CGInited, newInited)
		}
		d := CSum{NIFree: -1}
		if dir {
			d.NDir = 1
		}
		w.addCS(d)
		w.done(true)
		return ino, gen, 0
	}
	return 0, 0, unix.ENOSPC
}

// clearDinode checks that inode ino of group g is free on disk and zeroes
// its dinode, as a new inode starts (ffs_valloc: the in-core dinode is
// cleared before ffs_update writes it): iupdate then writes the fields
// ufs.Dinode models over zeros. It returns the old generation, which the
// new one follows.
func (fs *FS) clearDinode(l *kernel.LWP, ino uint64, g int64) (int32, unix.Errno) {
	sb := fs.SB
	b, e := fs.bdev.Bread(l, sb.InoToFsba(ino)<<sb.FSBToDB, int(sb.BSize))
	if e != 0 {
		return 0, e
	}
	size := sb.DinodeSize()
	slot := b.Data[sb.InoToFsbo(ino)*size:][:size]
	d, _ := ufs.ParseDinode(slot, sb.Order, sb.UFS2)
	if d.Mode != 0 {
		b.Brelse()
		return 0, fs.corruptRO("inode %d: free in the map of group %d but in use (mode %#o)", ino, g, d.Mode)
	}
	clear(slot)
	b.Bdwrite()
	return d.Gen, 0
}

// freeInode clears inode ino's bit in its group (ffs_freefile).
func (fs *FS) freeInode(l *kernel.LWP, ino uint64, dir bool) unix.Errno {
	sb := fs.SB
	g := int64(ino / uint64(sb.IPG))
	idx := int64(ino % uint64(sb.IPG))
	w, e := fs.openCG(l, g)
	if e != 0 {
		return e
	}
	if !w.inoUsed(idx) {
		w.done(false)
		return fs.corruptRO("freeing free inode %d", ino)
	}
	setBit(w.b.Data[w.cg.IUsedOff:], idx, false)
	d := CSum{NIFree: 1}
	if dir {
		d.NDir = -1
	}
	w.addCS(d)
	w.done(true)
	return 0
}

package ffs

import (
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// Problem is one inconsistency the checker found.
type Problem struct {
	Where string // "superblock", "cg 3", "inode 17", "directory 2"
	What  string
}

func (p Problem) String() string { return p.Where + ": " + p.What }

// Report is what Check found: the problems (at most maxProblems listed,
// Dropped counts the rest) and what the file system holds.
type Report struct {
	Problems  []Problem
	Dropped   int
	UFS2      bool
	BigEndian bool
	Clean     bool
	WAPBL     bool
	Files     int64 // allocated inodes, directories included
	Dirs      int64
	UsedFrags int64 // fragments held by inodes (data and indirect)
	FreeFrags int64
	Size      int64 // fragments in the file system
	FSize     int
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Dropped == 0 }

const (
	maxProblems      = 1000
	maxInodeProblems = 10
)

// Check is a read-only consistency check of the FFS on dev, the oracle
// for the write tests (`rumpfs fsck -n`). It checks the superblock and
// summary area, every cylinder group header and map, every allocated
// inode's block pointers (range, metadata overlap, duplicates, block
// count, blocks past EOF) and UFS2 extended attribute area (blocks and
// records), the directory tree ("." and "..", entries that
// point at free inodes, d_type, directories with two parents, unreachable
// files), link counts, and the fragment, inode and cluster maps and every
// summary count against what the inodes hold. The error is non-nil only
// when there is nothing to check: no valid superblock, or I/O failing.
func Check(l *kernel.LWP, dev bio.Device) (*Report, error) {
	c := &checker{l: l, r: &Report{}}
	fs, err := Open(l, dev, Options{Logf: func(format string, args ...any) {
		c.problem("read", format, args...)
	}})
	if err != nil {
		return nil, err
	}
	c.fs, c.sb = fs, fs.SB
	c.r.UFS2, c.r.Clean, c.r.WAPBL = fs.SB.UFS2, fs.SB.IsClean(), fs.SB.Flags&disk.FlagWAPBL != 0
	c.r.BigEndian = fs.SB.Order.String() == "BigEndian"
	c.r.Size, c.r.FSize = fs.SB.Size, int(fs.SB.FSize)
	if err := c.run(); err != nil {
		return nil, err
	}
	return c.r, nil
}

type inodeInfo struct {
	mode   uint16
	nlink  int16
	refs   int32
	parent uint32 // directories: the directory that names it (0: none yet)
	held   int64  // bytes of blocks the inode holds alone
}

type checker struct {
	l       *kernel.LWP
	r       *Report
	fs      *FS
	sb      *Superblock
	cgs     []*CG // nil where the group block is bad
	inodes  []inodeInfo
	claimed []uint64 // bit per fragment: metadata or held by an inode
	dirs    []uint64 // allocated directories, in inode order
	curIno  uint64
	curN    int // problems reported for curIno
}

func (c *checker) problem(where, format string, args ...any) {
	if len(c.r.Problems) >= maxProblems {
		c.r.Dropped++
		return
	}
	c.r.Problems = append(c.r.Problems, Problem{where, fmt.Sprintf(format, args...)})
}

func (c *checker) inodeProblem(ino uint64, format string, args ...any) {
	if ino != c.curIno {
		c.curIno, c.curN = ino, 0
	}
	c.curN++
	switch {
	case c.curN < maxInodeProblems:
		c.problem(fmt.Sprintf("inode %d", ino), format, args...)
	case c.curN == maxInodeProblems:
		c.problem(fmt.Sprintf("inode %d", ino), "more problems not listed")
	default:
		c.r.Dropped++
	}
}

func (c *checker) run() error {
	sb := c.sb
	c.claimed = make([]uint64, (sb.Size+63)/64)
	c.inodes = make([]inodeInfo, sb.NInodes())
	c.claimMetadata()
	c.cgs = make([]*CG, sb.NCG)
	for g := int64(0); g < int64(sb.NCG); g++ {
		var cg *CG
		var err error
		e := c.fs.M.Meta.ReadMeta(c.l, sb.CGTod(g), int(sb.CGSize), func(b []byte) {
			cg, err = disk.ParseCG(b, sb, g)
		})
		if e != 0 {
			return fmt.Errorf("ffs: reading cylinder group %d: %w", g, e)
		}
		if err != nil {
			c.problem(fmt.Sprintf("cg %d", g), "%v", err)
			continue
		}
		c.cgs[g] = cg
	}
	if err := c.scanInodes(); err != nil {
		return err
	}
	c.walkTree()
	c.checkLinks()
	c.checkMaps()
	return nil
}

// claimMetadata marks each group's superblock copy, group block and
// inode blocks, the boot area of group 0, and the summary area.
func (c *checker) claimMetadata() {
	sb := c.sb
	for g := int64(0); g < int64(sb.NCG); g++ {
		from := sb.CGSBlock(g)
		if g == 0 {
			from = sb.CGBase(0)
		}
		for f := from; f < sb.CGDMin(g) && f < sb.Size; f++ {
			c.setClaimed(f)
		}
	}
	cs := (int64(sb.CSSize) + int64(sb.FSize) - 1) >> sb.FShift
	for f := sb.CSAddr; f < sb.CSAddr+cs; f++ {
		c.setClaimed(f)
	}
}

func (c *checker) isClaimed(f int64) bool { return c.claimed[f>>6]&(1<<(f&63)) != 0 }
func (c *checker) setClaimed(f int64)     { c.claimed[f>>6] |= 1 << (f & 63) }

// claim takes n fragments at fsb for inode ino; false when any is out of
// range or already taken (then nothing is taken past the first clash).
func (c *checker) claim(ino uint64, fsb int64, n int, what string) bool {
	if fsb <= 0 || fsb+int64(n) > c.sb.Size {
		c.inodeProblem(ino, "%s at fragment %d out of range", what, fsb)
		return false
	}
	for f := fsb; f < fsb+int64(n); f++ {
		if c.isClaimed(f) {
			if c.inDataArea(f) {
				c.inodeProblem(ino, "%s at fragment %d: fragment %d already in use (duplicate)", what, fsb, f)
			} else {
				c.inodeProblem(ino, "%s at fragment %d overlaps file system metadata", what, fsb)
			}
			return false
		}
	}
	for f := fsb; f < fsb+int64(n); f++ {
		c.setClaimed(f)
	}
	c.r.UsedFrags += int64(n)
	return true
}

// inDataArea reports whether fragment f is outside the metadata areas.
func (c *checker) inDataArea(f int64) bool {
	sb := c.sb
	g := f / int64(sb.FPG)
	if f >= sb.CGSBlock(g) && f < sb.CGDMin(g) || g == 0 && f < sb.CGDMin(0) {
		return false
	}
	cs := (int64(sb.CSSize) + int64(sb.FSize) - 1) >> sb.FShift
	return f < sb.CSAddr || f >= sb.CSAddr+cs
}

// scanInodes reads every inode slot: type, map bit, blocks.
func (c *checker) scanInodes() error {
	sb := c.sb
	ipg := int64(sb.IPG)
	for g := int64(0); g < int64(sb.NCG); g++ {
		cg := c.cgs[g]
		for i := int64(0); i < ipg; i++ {
			ino := uint64(g*ipg + i)
			if ino < ufs.RootIno {
				if cg != nil && !cg.InodeUsed(i) {
					c.problem(fmt.Sprintf("cg %d", g), "reserved inode %d marked free", ino)
				}
				continue
			}
			var mode uint16
			var ip *ufs.Inode
			if !(sb.UFS2 && cg != nil && i >= int64(cg.InitedIBlk)) {
				var e unix.Errno
				if ip, e = c.fs.inode(c.l, ino); e != 0 {
					return fmt.Errorf("ffs: reading inode %d: %w", ino, e)
				}
				mode = ip.Mode
			}
			if cg != nil && cg.InodeUsed(i) != (mode != 0) {
				if mode != 0 {
					c.inodeProblem(ino, "allocated (mode %#o) but marked free in cg %d", mode, g)
				} else {
					c.inodeProblem(ino, "free but marked in use in cg %d", g)
				}
			}
			if mode == 0 {
				continue
			}
			c.r.Files++
			c.inodes[ino] = inodeInfo{mode: mode, nlink: ip.Nlink}
			c.checkInode(ip)
		}
	}
	return nil
}

// checkInode checks one allocated inode's type, size and blocks.
func (c *checker) checkInode(ip *ufs.Inode) {
	ino := ip.Number
	switch ip.Type() {
	case ufs.IFDIR:
		c.r.Dirs++
		c.dirs = append(c.dirs, ino)
		if ip.Size%ufs.DirBlkSize != 0 || ip.Size == 0 {
			c.inodeProblem(ino, "directory size %d not a positive multiple of %d", ip.Size, ufs.DirBlkSize)
		}
	case ufs.IFREG, ufs.IFLNK, ufs.IFCHR, ufs.IFBLK, ufs.IFIFO, ufs.IFSOCK:
	default:
		c.inodeProblem(ino, "bad file type (mode %#o)", ip.Mode)
		return
	}
	if ip.Nlink <= 0 {
		c.inodeProblem(ino, "link count %d on an allocated inode", ip.Nlink)
	}
	if ip.Size > c.fs.M.MaxFileSize {
		c.inodeProblem(ino, "size %d past the largest file", ip.Size)
		return
	}
	sb := c.sb
	ext := c.checkExtArea(ip)
	hasBlocks := ip.Type() == ufs.IFREG || ip.Type() == ufs.IFDIR ||
		ip.Type() == ufs.IFLNK && !ip.IsFastLink()
	if !hasBlocks {
		if want := uint64(ext) << sb.FShift >> 9; ip.Blocks != want {
			c.inodeProblem(ino, "holds %d blocks but has no data (%d in its extattr area)", ip.Blocks, want)
		}
		return
	}
	frags := int64(0)
	lastLbn := int64(-1)
	if ip.Size > 0 {
		lastLbn = int64((ip.Size - 1) >> sb.BShift)
	}
	for lbn := int64(0); lbn < ufs.NDAddr; lbn++ {
		fsb := ip.DB[lbn]
		if fsb == 0 {
			continue
		}
		if lbn > lastLbn {
			c.inodeProblem(ino, "block %d past end of file (size %d)", lbn, ip.Size)
			continue
		}
		n := ip.BlockSize(lbn) >> sb.FShift
		if n < int(sb.Frag) && fsb/int64(sb.Frag) != (fsb+int64(n)-1)/int64(sb.Frag) {
			c.inodeProblem(ino, "fragment run at %d crosses a block boundary", fsb)
			continue
		}
		if c.claim(ino, fsb, n, fmt.Sprintf("block %d", lbn)) {
			frags += int64(n)
		}
	}
	base := int64(ufs.NDAddr)
	span := int64(1)
	for level := 0; level < ufs.NIAddr; level++ {
		span *= int64(sb.NIndir)
		if fsb := ip.IB[level]; fsb != 0 {
			if base > lastLbn {
				c.inodeProblem(ino, "indirect block (level %d) past end of file", level)
			} else {
				frags += c.walkIndirect(ip, fsb, level, base, span, lastLbn)
			}
		}
		base += span
	}
	c.inodes[ino].held = frags << sb.FShift
	if want := uint64(frags+ext) << sb.FShift >> 9; ip.Blocks != want {
		c.inodeProblem(ino, "holds %d sectors by di_blocks, %d counted", ip.Blocks, want)
	}
}

// walkIndirect claims indirect block fsb at level (0 = single) mapping
// logical blocks from base, span of them, and everything below it;
// it returns the fragments claimed.
func (c *checker) walkIndirect(ip *ufs.Inode, fsb int64, level int, base, span, lastLbn int64) int64 {
	sb := c.sb
	if fsb%int64(sb.Frag) != 0 {
		c.inodeProblem(ip.Number, "indirect block at %d not block-aligned", fsb)
		return 0
	}
	if !c.claim(ip.Number, fsb, int(sb.Frag), fmt.Sprintf("indirect block (level %d)", level)) {
		return 0 // never descend into a block someone else holds: no loops
	}
	frags := int64(sb.Frag)
	ptrs := make([]int64, sb.NIndir) // the block is not ours while we recurse
	e := c.fs.M.Meta.ReadMeta(c.l, fsb, int(sb.BSize), func(b []byte) {
		for i := range ptrs {
			ptrs[i] = c.fs.M.Pointer(b, i)
		}
	})
	if e != 0 {
		c.inodeProblem(ip.Number, "reading indirect block at %d: %v", fsb, e)
		return frags
	}
	child := span / int64(sb.NIndir)
	for i, p := range ptrs {
		if p == 0 {
			continue
		}
		lbn := base + int64(i)*child
		if lbn > lastLbn {
			c.inodeProblem(ip.Number, "block %d past end of file (size %d)", lbn, ip.Size)
			continue
		}
		if level == 0 {
			if p%int64(sb.Frag) != 0 {
				c.inodeProblem(ip.Number, "block %d at %d not block-aligned", lbn, p)
			} else if c.claim(ip.Number, p, int(sb.Frag), fmt.Sprintf("block %d", lbn)) {
				frags += int64(sb.Frag)
			}
			continue
		}
		frags += c.walkIndirect(ip, p, level-1, lbn, child, lastLbn)
	}
	return frags
}

// walkTree visits directories from the root: entry syntax, "." and "..",
// targets, d_type, one parent per directory; it counts references.
func (c *checker) walkTree() {
	if c.inodes[ufs.RootIno].mode&ufs.IFMT != ufs.IFDIR {
		c.problem("inode 2", "root inode is not an allocated directory (mode %#o)", c.inodes[ufs.RootIno].mode)
		return
	}
	c.inodes[ufs.RootIno].parent = ufs.RootIno
	queue := []uint64{ufs.RootIno}
	visited := map[uint64]bool{ufs.RootIno: true}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		for _, child := range c.checkDir(dir) {
			if !visited[child] {
				visited[child] = true
				queue = append(queue, child)
			}
		}
	}
	for _, d := range c.dirs {
		if !visited[d] {
			c.problem(fmt.Sprintf("directory %d", d), "not reachable from the root")
		}
	}
}

// checkDir checks one directory and returns its subdirectories.
func (c *checker) checkDir(dir uint64) []uint64 {
	where := fmt.Sprintf("directory %d", dir)
	ip, e := c.fs.inode(c.l, dir)
	if e != 0 {
		c.problem(where, "unreadable: %v", e)
		return nil
	}
	m := c.fs.M
	if int64(ip.Size) > c.inodes[dir].held || ip.Size > uint64(m.NFrags)<<m.FShift {
		// Its blocks are shared or missing: walking it could run long.
		c.problem(where, "size %d larger than the %d bytes of blocks it holds; not walked", ip.Size, c.inodes[dir].held)
		return nil
	}
	var subdirs []uint64
	n := 0
	e = ip.ForEachChunk(c.l, 0, func(chunk []byte, base int64) bool {
		ents, err := ufs.ParseDirChunk(chunk, base, m.Order, m.OldDirFmt, m.MaxIno)
		if err != nil {
			c.problem(where, "%v", err)
		}
		for _, d := range ents {
			if d.Ino == 0 {
				continue
			}
			n++
			switch {
			case n == 1 && (d.Name != "." || uint64(d.Ino) != dir):
				c.problem(where, "first entry %q -> %d, want \".\" -> %d", d.Name, d.Ino, dir)
			case n == 2 && (d.Name != ".." || d.Ino != c.inodes[dir].parent):
				c.problem(where, "second entry %q -> %d, want \"..\" -> %d", d.Name, d.Ino, c.inodes[dir].parent)
			case n > 2 && (d.Name == "." || d.Name == ".."):
				c.problem(where, "extra %q entry at offset %d", d.Name, d.Off)
			}
			t := &c.inodes[d.Ino]
			if t.mode == 0 {
				c.problem(where, "entry %q -> inode %d, which is free", d.Name, d.Ino)
				continue
			}
			t.refs++
			if !m.OldDirFmt && d.Type != ufs.IFToDT(t.mode) {
				c.problem(where, "entry %q has type %d, inode %d has %d", d.Name, d.Type, d.Ino, ufs.IFToDT(t.mode))
			}
			if t.mode&ufs.IFMT == ufs.IFDIR && d.Name != "." && d.Name != ".." {
				if t.parent != 0 {
					c.problem(where, "entry %q -> directory %d, already named in directory %d", d.Name, d.Ino, t.parent)
					continue
				}
				t.parent = uint32(dir)
				subdirs = append(subdirs, uint64(d.Ino))
			}
		}
		return true
	})
	if e != 0 {
		c.problem(where, "unreadable: %v", e)
	}
	if n < 2 {
		c.problem(where, "missing \".\" or \"..\"")
	}
	return subdirs
}

// checkLinks compares link counts with the references found.
func (c *checker) checkLinks() {
	for ino := uint64(ufs.RootIno); ino < uint64(len(c.inodes)); ino++ {
		t := c.inodes[ino]
		if t.mode == 0 {
			continue
		}
		if t.refs == 0 && t.mode&ufs.IFMT != ufs.IFDIR {
			c.inodeProblem(ino, "not referenced by any directory")
		} else if int32(t.nlink) != t.refs {
			c.inodeProblem(ino, "link count %d, %d references", t.nlink, t.refs)
		}
	}
}

// checkMaps compares each group's maps and counts with what the scan
// found, then the summary area and the superblock totals.
func (c *checker) checkMaps() {
	sb := c.sb
	var total CSum
	frag := int64(sb.Frag)
	ipg := int64(sb.IPG)
	for g := int64(0); g < int64(sb.NCG); g++ {
		where := fmt.Sprintf("cg %d", g)
		var got CSum
		var frsum [disk.MaxFrag]int32
		base := sb.CGBase(g)
		ndblk := sb.CGFrags(g)
		cg := c.cgs[g]
		var wrongFree, wrongUsed int64
		var firstFree, firstUsed int64 = -1, -1
		var clusterBad int64
		var clusters []int32
		if cg != nil && sb.ContigSum > 0 {
			clusters = make([]int32, sb.ContigSum+1)
		}
		run := int64(0)
		flushRun := func() {
			if run > 0 && clusters != nil {
				clusters[min(run, int64(sb.ContigSum))]++
			}
			run = 0
		}
		for blk := int64(0); blk*frag < ndblk; blk++ {
			free := 0
			freeRun := 0
			full := (blk+1)*frag <= ndblk
			for j := int64(0); j < frag && blk*frag+j < ndblk; j++ {
				f := blk*frag + j
				inUse := c.isClaimed(base + f)
				if cg != nil && cg.FragFree(f) == inUse {
					if inUse {
						wrongFree++
						if firstFree < 0 {
							firstFree = base + f
						}
					} else {
						wrongUsed++
						if firstUsed < 0 {
							firstUsed = base + f
						}
					}
				}
				if !inUse {
					free++
					freeRun++
				} else if freeRun > 0 {
					frsum[freeRun]++
					freeRun = 0
				}
			}
			if full && free == int(frag) {
				got.NBFree++
				run++
			} else {
				flushRun()
				got.NFFree += int64(free)
				if freeRun > 0 && freeRun < int(frag) {
					frsum[freeRun]++
				}
			}
			if cg != nil && cg.ClustersFree != nil && full && cg.ClusterFree(blk) != (free == int(frag)) {
				clusterBad++
			}
		}
		flushRun()
		for i := int64(0); i < ipg; i++ {
			t := c.inodes[g*ipg+i]
			if g*ipg+i >= ufs.RootIno && t.mode == 0 {
				got.NIFree++
			}
			if t.mode&ufs.IFMT == ufs.IFDIR {
				got.NDir++
			}
		}
		c.r.FreeFrags += got.NBFree*frag + got.NFFree
		total.NDir += got.NDir
		total.NBFree += got.NBFree
		total.NIFree += got.NIFree
		total.NFFree += got.NFFree
		if cg == nil {
			continue
		}
		if wrongFree > 0 {
			c.problem(where, "%d fragments in use but marked free (first %d)", wrongFree, firstFree)
		}
		if wrongUsed > 0 {
			c.problem(where, "%d fragments marked in use but free (first %d)", wrongUsed, firstUsed)
		}
		if clusterBad > 0 {
			c.problem(where, "%d blocks wrong in the cluster map", clusterBad)
		}
		for i := 1; clusters != nil && i <= int(sb.ContigSum); i++ {
			if cg.ClusterSum[i] != clusters[i] {
				c.problem(where, "%d free clusters of %d blocks recorded, %d found", cg.ClusterSum[i], i, clusters[i])
			}
		}
		for i := 1; i < int(frag); i++ {
			if cg.FrSum[i] != frsum[i] {
				c.problem(where, "%d free fragment runs of %d recorded, %d found", cg.FrSum[i], i, frsum[i])
			}
		}
		if cg.CS != got {
			c.problem(where, "summary %s, counted %s", cg.CS.String(), got.String())
		}
		if c.fs.CS[g] != got {
			c.problem("summary area", "group %d: %s, counted %s", g, c.fs.CS[g].String(), got.String())
		}
	}
	if sb.CSTotal != total {
		c.problem("superblock", "totals %s, counted %s", sb.CSTotal.String(), total.String())
	}
}

// checkExtArea checks a UFS2 inode's extended attribute area: its size,
// that each of its blocks is there, in range, of the size the area needs
// and held by no one else, and that its records parse. It returns the
// fragments claimed.
func (c *checker) checkExtArea(ip *ufs.Inode) int64 {
	if !ip.UFS2 {
		return 0
	}
	ino := ip.Number
	m := c.fs.M
	size := int(ip.ExtSize)
	if size < 0 || size > m.MaxExtSize() {
		c.inodeProblem(ino, "extattr area size %d out of range (at most %d)", ip.ExtSize, m.MaxExtSize())
		return 0
	}
	frag := int64(c.sb.Frag)
	var frags int64
	whole := true
	for i := range ufs.NXAddr {
		bs := m.ExtBlockSize(size, i)
		fsb := ip.ExtB[i]
		n := int64(bs >> c.sb.FShift)
		switch {
		case bs == 0 && fsb != 0:
			c.inodeProblem(ino, "extattr block %d at %d past the end of the area (size %d)", i, fsb, size)
		case bs == 0:
		case fsb == 0:
			c.inodeProblem(ino, "extattr block %d missing (area size %d)", i, size)
			whole = false
		case fsb > 0 && fsb/frag != (fsb+n-1)/frag:
			c.inodeProblem(ino, "extattr block %d at %d crosses a block boundary", i, fsb)
			whole = false
		case c.claim(ino, fsb, int(n), fmt.Sprintf("extattr block %d", i)):
			frags += n
		default:
			whole = false
		}
	}
	if whole && size > 0 {
		area, e := ip.ReadExtArea(c.l)
		if e != 0 {
			c.inodeProblem(ino, "reading the extattr area: %v", e)
		} else if _, err := ufs.ParseExtattrs(area, m.Order); err != nil {
			c.inodeProblem(ino, "%v", err)
		}
	}
	return frags
}

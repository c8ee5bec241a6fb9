package disk

import (
	"encoding/binary"
	"fmt"
)

// CGMagic is cg_magic (CG_MAGIC).
const CGMagic = 0x090255

// CG is a decoded cylinder group block (struct cg) with its maps. The
// maps are slices of Raw, a private copy of the block in disk order.
type CG struct {
	Magic        int32
	Time         int64
	Cgx          int32
	NDBlk        int32 // fragments this group covers
	CS           CSum
	Rotor        int32
	FRotor       int32
	IRotor       int32
	FrSum        [MaxFrag]int32 // free runs of each length, in partly used blocks
	NClusterBlk  int32
	NIBlk        int32
	InitedIBlk   int32  // UFS2: inodes below this are initialised
	InosUsed     []byte // bit per inode: 1 = in use
	BlksFree     []byte // bit per fragment: 1 = free
	ClusterSum   []int32
	ClustersFree []byte // bit per block: 1 = whole block free
	// Map offsets in Raw, for writers.
	IUsedOff, FreeOff, ClusterSumOff, ClusterOff int
	Raw                                          []byte
}

// The layout of struct cg's header (fs.h), in the members CG models;
// writers change a group block's header through the same Fields.
var (
	cgMagic   = fld(4, 4)
	CGOldTime = fld(8, 4) // cg_old_time (UFS1)
	cgCgx     = fld(12, 4)
	cgNDBlk   = fld(20, 4)
	CGRotor   = fld(40, 4)  // last block allocated
	CGFRotor  = fld(44, 4)  // last fragment allocated
	CGIRotor  = fld(48, 4)  // last inode allocated
	CGFrSum   = fld(52, 4)  // cg_frsum[0]; CGFrSum.At(i) is cg_frsum[i]
	cgIUsed   = fld(92, 4)  // offset of the inode map
	cgFree    = fld(96, 4)  // offset of the fragment map
	cgCSumOff = fld(104, 4) // offset of the cluster summary
	cgCluster = fld(108, 4) // offset of the cluster map
	cgNClBlk  = fld(112, 4)
	cgNIBlk   = fld(116, 4)
	CGInited  = fld(120, 4) // cg_initediblk (UFS2)
	CGTime    = fld(136, 8) // cg_time (UFS2)
	cgCSBase  = 24          // cg_cs, a struct csum
)

// CGCS reads the group's summary (cg_cs) from a group block b.
func CGCS(bo binary.ByteOrder, b []byte) CSum { return decodeCSum(bo, b, cgCSBase, csumFields) }

// CGAddCS adds d to the group's summary (cg_cs) in a group block b.
func CGAddCS(bo binary.ByteOrder, b []byte, d CSum) {
	c := CGCS(bo, b)
	c.NDir += d.NDir
	c.NBFree += d.NBFree
	c.NIFree += d.NIFree
	c.NFFree += d.NFFree
	c.encode(bo, b, cgCSBase, csumFields)
}

// SetCGTime sets the group's last-written time in a group block b of sb.
func SetCGTime(sb *Superblock, b []byte, t int64) {
	if sb.UFS2 {
		CGTime.Put(sb.Order, b, t)
	} else {
		CGOldTime.Put(sb.Order, b, t)
	}
}

// Set bits.
func isSet(m []byte, i int64) bool { return m[i>>3]&(1<<(i&7)) != 0 }

// InodeUsed reports whether inode i (relative to the group) is in use.
func (cg *CG) InodeUsed(i int64) bool { return isSet(cg.InosUsed, i) }

// FragFree reports whether fragment i (relative to the group) is free.
func (cg *CG) FragFree(i int64) bool { return isSet(cg.BlksFree, i) }

// ClusterFree reports whether block i of the group is free in the
// cluster map (present only when the file system keeps clusters).
func (cg *CG) ClusterFree(i int64) bool { return isSet(cg.ClustersFree, i) }

// ParseCG decodes cylinder group c of sb from b (sb.CGSize bytes or more)
// and checks that its header agrees with sb and its maps fit.
func ParseCG(b []byte, sb *Superblock, c int64) (*CG, error) {
	if len(b) < int(sb.CGSize) {
		return nil, fmt.Errorf("cylinder group %d: %d bytes, want %d", c, len(b), sb.CGSize)
	}
	b = b[:sb.CGSize]
	bo := sb.Order
	i32 := func(f Field) int32 { return int32(f.Get(bo, b)) }
	cg := &CG{Raw: append([]byte(nil), b...)}
	b = cg.Raw
	cg.Magic = i32(cgMagic)
	cg.Cgx = i32(cgCgx)
	cg.NDBlk = i32(cgNDBlk)
	cg.CS = CGCS(bo, b)
	cg.Rotor, cg.FRotor, cg.IRotor = i32(CGRotor), i32(CGFRotor), i32(CGIRotor)
	for i := range cg.FrSum {
		cg.FrSum[i] = i32(CGFrSum.At(i))
	}
	iusedOff, freeOff := i32(cgIUsed), i32(cgFree)
	csumOff, clusterOff := i32(cgCSumOff), i32(cgCluster)
	cg.NClusterBlk, cg.NIBlk, cg.InitedIBlk = i32(cgNClBlk), i32(cgNIBlk), i32(CGInited)
	if sb.UFS2 {
		cg.Time = CGTime.Get(bo, b)
	} else {
		cg.Time = int64(i32(CGOldTime))
	}
	bad := func(format string, args ...any) (*CG, error) {
		return nil, fmt.Errorf("cylinder group %d: "+format, append([]any{c}, args...)...)
	}
	if cg.Magic != CGMagic {
		return bad("bad magic %#x", uint32(cg.Magic))
	}
	if int64(cg.Cgx) != c {
		return bad("cgx %d", cg.Cgx)
	}
	if int64(cg.NDBlk) != sb.CGFrags(c) {
		return bad("ndblk %d, want %d", cg.NDBlk, sb.CGFrags(c))
	}
	span := func(off int32, n int64) ([]byte, bool) {
		if off < cgHeaderSize || int64(off)+n > int64(len(b)) {
			return nil, false
		}
		return b[off : int64(off)+n], true
	}
	var ok bool
	if cg.InosUsed, ok = span(iusedOff, (int64(sb.IPG)+7)/8); !ok {
		return bad("inode map at %d does not fit", iusedOff)
	}
	if cg.BlksFree, ok = span(freeOff, (int64(sb.FPG)+7)/8); !ok {
		return bad("fragment map at %d does not fit", freeOff)
	}
	cg.IUsedOff, cg.FreeOff = int(iusedOff), int(freeOff)
	if sb.ContigSum > 0 {
		sum, ok := span(csumOff, 4*int64(sb.ContigSum+1))
		if !ok || csumOff%4 != 0 {
			return bad("cluster summary at %d does not fit", csumOff)
		}
		cg.ClusterSumOff, cg.ClusterOff = int(csumOff), int(clusterOff)
		cg.ClusterSum = make([]int32, sb.ContigSum+1)
		for i := 1; i <= int(sb.ContigSum); i++ {
			cg.ClusterSum[i] = int32(bo.Uint32(sum[4*i:]))
		}
		nblk := int64(sb.FPG >> sb.FragShift)
		if cg.ClustersFree, ok = span(clusterOff, (nblk+7)/8); !ok {
			return bad("cluster map at %d does not fit", clusterOff)
		}
	}
	if sb.UFS2 && (cg.InitedIBlk < 0 || cg.InitedIBlk > sb.IPG) {
		return bad("initediblk %d out of range", cg.InitedIBlk)
	}
	return cg, nil
}

// Verify checks the group's redundant counts against the maps they
// summarise: the free block, fragment and inode counts, the fragment-run
// summary, the cluster map and cluster summary, and the group's entry
// in the summary array (fs_cs, passed as summary). It returns the first
// disagreement. Writers call it before changing a group: a count that
// disagrees with its map is corruption, never a value to build on.
func (cg *CG) Verify(sb *Superblock, g int64, summary CSum) error {
	frag := int64(sb.Frag)
	ndblk := sb.CGFrags(g)
	var got CSum
	var frsum [MaxFrag]int32
	var clusters []int32
	if cg.ClusterSum != nil {
		clusters = make([]int32, len(cg.ClusterSum))
	}
	run := 0 // whole free blocks in a row
	endRun := func() {
		if run > 0 && clusters != nil {
			clusters[min(run, len(clusters)-1)]++
		}
		run = 0
	}
	for blk := int64(0); blk*frag < ndblk; blk++ {
		full := (blk+1)*frag <= ndblk
		free, fr := 0, 0
		var runs [MaxFrag + 1]int32
		for j := int64(0); j < frag && blk*frag+j < ndblk; j++ {
			if cg.FragFree(blk*frag + j) {
				free++
				fr++
			} else if fr > 0 {
				runs[fr]++
				fr = 0
			}
		}
		runs[fr]++
		whole := full && free == int(frag)
		if cg.ClustersFree != nil && full && cg.ClusterFree(blk) != whole {
			return fmt.Errorf("cluster map says block %d is %s, the fragment map says %s",
				blk, freeWord(cg.ClusterFree(blk)), freeWord(whole))
		}
		if whole {
			got.NBFree++
			run++
			continue
		}
		endRun()
		got.NFFree += int64(free)
		for i := 1; i < int(frag); i++ {
			frsum[i] += runs[i]
		}
	}
	endRun()
	for i := int64(0); i < int64(sb.IPG); i++ {
		if !cg.InodeUsed(i) {
			got.NIFree++
		}
	}
	switch {
	case cg.CS.NBFree != got.NBFree:
		return fmt.Errorf("%d free blocks counted, %d in the map", cg.CS.NBFree, got.NBFree)
	case cg.CS.NFFree != got.NFFree:
		return fmt.Errorf("%d free fragments counted, %d in the map", cg.CS.NFFree, got.NFFree)
	case cg.CS.NIFree != got.NIFree:
		return fmt.Errorf("%d free inodes counted, %d in the map", cg.CS.NIFree, got.NIFree)
	}
	for i := 1; i < int(frag); i++ {
		if cg.FrSum[i] != frsum[i] {
			return fmt.Errorf("%d free runs of %d fragments counted, %d in the map", cg.FrSum[i], i, frsum[i])
		}
	}
	for i := 1; i < len(clusters); i++ {
		if cg.ClusterSum[i] != clusters[i] {
			return fmt.Errorf("cluster summary has %d free clusters of %d blocks, %d in the map", cg.ClusterSum[i], i, clusters[i])
		}
	}
	if summary != cg.CS {
		return fmt.Errorf("summary area says %s, the group block %s", summary, cg.CS)
	}
	return nil
}

func freeWord(free bool) string {
	if free {
		return "free"
	}
	return "in use"
}

package vfs

import (
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// The vnode cache (vfs_vnode.c's vcache) keeps one vnode per (mount,
// inode). Vnodes whose last reference went stay cached on a free list,
// oldest first, and are reclaimed when the cache holds more than the
// kernel's MaxVnodes.

const vcacheShards = 64

type vkey struct {
	mp  *Mount
	ino uint64
}

// vshard is one shard of a mount's vnodes, keyed by inode number. A
// vnode being loaded or reclaimed stays in the shard, so that a Vget of
// its inode waits on settled for it instead of loading a second copy.
//
// The vnodes of vleafSize consecutive inode numbers share a leaf, and a
// leaf's shard follows from its number: a walk loads neighbouring inodes,
// which then share a small map entry and cache lines instead of scattering
// over a large hash table.
type vshard struct {
	mu      sync.Mutex
	leaves  map[uint64]*vleaf // by ino >> vleafBits
	settled sync.Cond         // broadcast when a loading or reclaiming vnode settles
}

const (
	vleafBits = 6
	vleafSize = 1 << vleafBits
)

type vleaf struct {
	n  int // vnodes in vp
	vp [vleafSize]*Vnode
}

func (s *vshard) get(ino uint64) *Vnode {
	if lf := s.leaves[ino>>vleafBits]; lf != nil {
		return lf.vp[ino&(vleafSize-1)]
	}
	return nil
}

func (s *vshard) put(ino uint64, vp *Vnode) {
	lf := s.leaves[ino>>vleafBits]
	if lf == nil {
		lf = &vleaf{}
		s.leaves[ino>>vleafBits] = lf
	}
	lf.vp[ino&(vleafSize-1)] = vp
	lf.n++
}

// del removes vp, if it is the vnode of its key.
func (s *vshard) del(vp *Vnode) {
	k := vp.key.Load()
	lf := s.leaves[k>>vleafBits]
	if lf == nil || lf.vp[k&(vleafSize-1)] != vp {
		return
	}
	lf.vp[k&(vleafSize-1)] = nil
	if lf.n--; lf.n == 0 {
		delete(s.leaves, k>>vleafBits)
	}
}

// waitLocked waits, off CPU, for a vnode of the shard to settle. The
// shard lock is held on entry and on return, but not while taking the
// CPU back (a shard lock holder may wait for nothing).
func (s *vshard) waitLocked(l *kernel.LWP) {
	d := l.BlockBegin()
	s.settled.Wait()
	s.mu.Unlock()
	l.BlockEnd(d)
	s.mu.Lock()
}

// mountCache is a mount's part of the vnode cache: sharded maps keyed by
// inode number alone (the cheap 64-bit map path).
type mountCache [vcacheShards]vshard

func (mc *mountCache) init() {
	for i := range mc {
		mc[i].leaves = map[uint64]*vleaf{}
		mc[i].settled.L = &mc[i].mu
	}
}

// genericOpsBox is a loading vnode's operations until its driver sets them.
var genericOpsBox = opsBox(GenericOps{})

type vcache struct {
	v *VFS

	freeMu   sync.Mutex
	freeHead *Vnode // oldest
	freeTail *Vnode
	nfree    int
	max      int
	total    *atomic.Int64
}

func (c *vcache) init(v *VFS, max int) {
	c.v = v
	c.max = max
	c.total = &v.nvnodes
}

func (c *vcache) shard(k vkey) *vshard {
	return &k.mp.cache[shardIndex(k.ino)]
}

func shardIndex(ino uint64) int {
	h := (ino >> vleafBits) * 0x9e3779b97f4a7c15
	return int((h >> 32) % vcacheShards)
}

// lockShard locks and returns the shard vp is filed in; its key does not
// change while the lock is held (Rekey holds it to change the key).
func (c *vcache) lockShard(vp *Vnode) *vshard {
	for {
		k := vp.key.Load()
		s := c.shard(vkey{vp.Mount, k})
		s.mu.Lock()
		if vp.key.Load() == k {
			return s
		}
		s.mu.Unlock()
	}
}

// Vget returns the vnode of inode ino of mp, referenced and unlocked,
// loading it through the driver's LoadVnode on a miss. Concurrent misses
// load once.
func (mp *Mount) Vget(l *kernel.LWP, ino uint64) (*Vnode, unix.Errno) {
	c := &mp.vfs.vcache
	k := vkey{mp, ino}
	s := c.shard(k)
	s.mu.Lock()
	for {
		vp := s.get(ino)
		if vp == nil {
			break
		}
		if vp.state == vsReady {
			if vp.usecount.Add(1) == 1 {
				c.unfree(vp)
			}
			s.mu.Unlock()
			return vp, 0
		}
		s.waitLocked(l)
	}
	if mp.unmounting.Load() {
		s.mu.Unlock()
		return nil, unix.ENOENT
	}
	vp := &Vnode{Mount: mp, Ino: ino, state: vsLoading, cached: true}
	vp.key.Store(ino)
	vp.ops.Store(genericOpsBox)
	s.put(ino, vp)
	s.mu.Unlock()

	e := mp.FS.LoadVnode(l, vp, ino)

	s.mu.Lock()
	if e != 0 {
		s.del(vp)
		vp.state = vsDead
	} else {
		vp.state = vsReady
		vp.usecount.Store(1)
		c.total.Add(1)
	}
	s.settled.Broadcast()
	s.mu.Unlock()
	if e != 0 {
		return nil, e
	}
	c.recycle(l)
	return vp, 0
}

// Rekey files vp, which the caller holds referenced, under newKey instead
// of its current key (vcache_rekey_enter and vcache_rekey_exit): for
// drivers whose name for a file changes when it moves, as FAT names a
// file by the position of its directory entry. newKey is reserved first:
// if a vnode has it, Rekey fails with EEXIST and move is not run (a vnode
// being loaded or reclaimed there is waited for, as Vget does, since the
// load may fail and the reclaim ends). Then move runs (nil for none) and changes the
// driver's own state and the disk; while it does, Vget of newKey waits,
// and Vget of the old key finds vp. If move fails, vp keeps its key, the
// reservation goes, and move's error is returned; otherwise vp is filed
// under newKey, and Vget of the old key misses from then on (and loads
// whatever the driver then finds there). A vnode outside the cache, or
// not of mp, cannot be rekeyed (EINVAL). The driver keeps two renames of
// one vnode from running at once (its vnode lock).
func (mp *Mount) Rekey(l *kernel.LWP, vp *Vnode, newKey uint64, move func() unix.Errno) unix.Errno {
	c := &mp.vfs.vcache
	if vp.Mount != mp {
		return unix.EINVAL
	}
	s := c.lockShard(vp)
	ok, same := vp.cached && vp.state == vsReady, vp.key.Load() == newKey
	s.mu.Unlock()
	if !ok {
		return unix.EINVAL
	}
	if same {
		if move != nil {
			return move()
		}
		return 0
	}

	ns := c.shard(vkey{mp, newKey})
	ns.mu.Lock()
	for {
		t := ns.get(newKey)
		if t == nil {
			break
		}
		if t.state == vsReady {
			ns.mu.Unlock()
			return unix.EEXIST
		}
		ns.waitLocked(l) // as Vget does: a load may fail, a reclaim ends
	}
	// The placeholder looks like a vnode being loaded, so Vget waits.
	hold := &Vnode{Mount: mp, Ino: newKey, state: vsLoading, cached: true}
	hold.key.Store(newKey)
	hold.ops.Store(genericOpsBox)
	ns.put(newKey, hold)
	ns.mu.Unlock()

	var e unix.Errno
	if move != nil {
		e = move()
	}

	var old uint64
	for {
		old = vp.key.Load()
		mp.cache.lockPair(old, newKey)
		if vp.key.Load() == old {
			break
		}
		mp.cache.unlockPair(old, newKey)
	}
	s = c.shard(vkey{mp, old})
	ns.del(hold)
	hold.state = vsDead
	// A vnode revoked meanwhile (Vgone) has left the cache: nothing to file.
	if e == 0 && vp.cached && s.get(old) == vp {
		s.del(vp)
		vp.key.Store(newKey)
		ns.put(newKey, vp)
	}
	ns.settled.Broadcast()
	mp.cache.unlockPair(old, newKey)
	return e
}

// lockPair locks the shards of keys a and b (one lock if they share it),
// in shard order: Rekey is the only holder of two shard locks.
func (mc *mountCache) lockPair(a, b uint64) {
	i, j := shardIndex(a), shardIndex(b)
	if i > j {
		i, j = j, i
	}
	mc[i].mu.Lock()
	if j != i {
		mc[j].mu.Lock()
	}
}

func (mc *mountCache) unlockPair(a, b uint64) {
	i, j := shardIndex(a), shardIndex(b)
	mc[i].mu.Unlock()
	if j != i {
		mc[j].mu.Unlock()
	}
}

// release finishes the last Vrele of a vnode after VOP_INACTIVE.
func (c *vcache) release(l *kernel.LWP, vp *Vnode, recycle bool) {
	if !vp.cached {
		if vp.usecount.Add(-1) == 0 {
			vp.Ops().Reclaim(l, vp)
			c.total.Add(-1)
		}
		return
	}
	s := c.lockShard(vp)
	if vp.usecount.Add(-1) != 0 || vp.state != vsReady {
		s.mu.Unlock()
		return
	}
	if recycle || vp.Mount.unmounting.Load() {
		c.startReclaimLocked(vp)
		s.mu.Unlock()
		c.finishReclaim(l, s, vp)
		return
	}
	c.freeMu.Lock()
	c.pushFreeLocked(vp)
	c.freeMu.Unlock()
	s.mu.Unlock()
	c.recycle(l)
}

// startReclaimLocked marks an unreferenced vnode as going; it stays in
// its shard's map until finishReclaim has run the driver's VOP_RECLAIM, so
// that a new load of the inode never overtakes the old one's write-back.
func (c *vcache) startReclaimLocked(vp *Vnode) {
	vp.state = vsReclaiming
	c.unfree(vp)
}

func (c *vcache) finishReclaim(l *kernel.LWP, s *vshard, vp *Vnode) {
	vp.Ops().Reclaim(l, vp)
	c.total.Add(-1)
	s.mu.Lock()
	s.del(vp)
	vp.state = vsDead
	s.settled.Broadcast()
	s.mu.Unlock()
}

// recycle reclaims the oldest free vnodes while the cache is over its bound.
func (c *vcache) recycle(l *kernel.LWP) {
	for c.total.Load() > int64(c.max) {
		c.freeMu.Lock()
		vp := c.freeHead
		c.freeMu.Unlock()
		if vp == nil {
			return
		}
		s := c.lockShard(vp)
		if vp.state != vsReady || vp.usecount.Load() != 0 || s.get(vp.key.Load()) != vp {
			s.mu.Unlock()
			continue
		}
		c.startReclaimLocked(vp)
		s.mu.Unlock()
		c.finishReclaim(l, s, vp)
	}
}

// remove takes a revoked vnode out of the cache. The caller holds a
// reference.
func (c *vcache) remove(vp *Vnode) {
	if !vp.cached {
		return
	}
	s := c.lockShard(vp)
	// The vnode is still counted: its last Vrele, now down the uncached
	// path, uncounts it.
	s.del(vp)
	vp.cached = false
	c.unfree(vp)
	s.mu.Unlock()
}

// Free list, oldest at the head. Callers hold the vnode's shard lock.
func (c *vcache) pushFreeLocked(vp *Vnode) {
	vp.freeP, vp.free = c.freeTail, nil
	if c.freeTail != nil {
		c.freeTail.free = vp
	} else {
		c.freeHead = vp
	}
	c.freeTail = vp
	vp.onFree = true
	c.nfree++
}

func (c *vcache) unfree(vp *Vnode) {
	c.freeMu.Lock()
	defer c.freeMu.Unlock()
	if !vp.onFree {
		return
	}
	if vp.freeP != nil {
		vp.freeP.free = vp.free
	} else {
		c.freeHead = vp.free
	}
	if vp.free != nil {
		vp.free.freeP = vp.freeP
	} else {
		c.freeTail = vp.freeP
	}
	vp.free, vp.freeP, vp.onFree = nil, nil, false
	c.nfree--
}

// ready reports whether vp is loaded and not going.
func (c *vcache) ready(vp *Vnode) bool {
	s := c.lockShard(vp)
	defer s.mu.Unlock()
	return vp.state == vsReady
}

// mountVnodes returns the cached vnodes of mp.
func (c *vcache) mountVnodes(mp *Mount) []*Vnode {
	var out []*Vnode
	for i := range mp.cache {
		s := &mp.cache[i]
		s.mu.Lock()
		for _, lf := range s.leaves {
			for _, vp := range lf.vp {
				if vp != nil {
					out = append(out, vp)
				}
			}
		}
		s.mu.Unlock()
	}
	return out
}

// vflush reclaims every unreferenced vnode of mp and reports EBUSY if
// others stay referenced, unless force, which revokes them. skip (the root
// vnode the mount holds) may keep one reference.
func (c *vcache) vflush(l *kernel.LWP, mp *Mount, skip *Vnode, force bool) unix.Errno {
	for _, vp := range c.mountVnodes(mp) {
		s := c.lockShard(vp)
		busy := vp.usecount.Load()
		if vp == skip {
			busy--
		}
		if vp.state != vsReady {
			s.mu.Unlock()
			continue
		}
		if busy > 0 {
			s.mu.Unlock()
			if !force {
				return unix.EBUSY
			}
			continue
		}
		if vp == skip {
			s.mu.Unlock()
			continue
		}
		c.startReclaimLocked(vp)
		s.mu.Unlock()
		c.finishReclaim(l, s, vp)
	}
	if force {
		for _, vp := range c.mountVnodes(mp) {
			if vp != skip && c.ready(vp) {
				Vgone(l, vp)
			}
		}
	}
	return 0
}

// NumVnodes returns the number of live vnodes and how many of them are
// unreferenced, waiting on the free list.
func (v *VFS) NumVnodes() (total, free int) {
	v.vcache.freeMu.Lock()
	free = v.vcache.nfree
	v.vcache.freeMu.Unlock()
	return int(v.nvnodes.Load()), free
}

// Reloadable reports whether mp.Vget(vp.Ino) will always give back vp's
// file, even after the cache reclaimed vp: vp came from the vnode cache
// under its own inode number, and its mount is read-only, so the file can
// neither go nor its number be reused. A client may then name vp by its
// number alone, as NFS names files by handle, instead of holding a
// reference that keeps it cached.
func Reloadable(vp *Vnode) bool {
	if vp.Mount == nil || !vp.Mount.ReadOnly() {
		return false
	}
	s := vp.Mount.vfs.vcache.lockShard(vp)
	ok := vp.cached && vp.state == vsReady && vp.key.Load() == vp.Ino
	s.mu.Unlock()
	return ok
}

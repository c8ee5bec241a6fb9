package p2k

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// The node table maps FUSE node ids to vnodes and back. A node id names a
// slot in one of the table's shards: the shard in its low bits, the slot
// above them and the slot's generation in the high 32 bits, so an id is
// never reused for another vnode while the host could still hold it. The
// way back, vnode to id, is the vnode's Cookie, which puts a new vnode in
// the shard its pointer hashes to; a vnode whose cookie another bridge
// holds is found through its shard's small map instead.
//
// A bridge serving a read-only tree names the vnodes it can load again
// (vfs.Reloadable) by number instead, without a slot: the weak bit, the
// mount's index in the table's mount list and the inode number. Such a
// node holds no vnode reference and counts no lookups, so the vnode cache
// bounds what the server keeps however many files the host has looked up
// (a walk over 50,000 files kept 50,000 vnodes and inodes before); a
// request on it gets the vnode from the cache, or loads it again.
const (
	shardBits = 6
	nshards   = 1 << shardBits
	slotBits  = 32 - shardBits
	slotMask  = 1<<slotBits - 1
	genMask   = 1<<31 - 1 // a slot id's generation leaves the weak bit clear

	weakBit      = 1 << 63
	weakInoBits  = 40
	weakMountMax = 1 << 22 // never all ones: go-fuse reserves ^0
)

// node is one FUSE node: a vnode reference and the host's lookup count.
// A free slot has no vnode and keeps its generation.
type node struct {
	vp      *vfs.Vnode
	nlookup uint64
	gen     uint32
}

type shard struct {
	mu    sync.RWMutex
	slots []node   // slot number n at slots[n-1]
	free  []uint32 // free slot numbers
	other map[*vfs.Vnode]uint64
}

type nodeTable struct {
	shards  [nshards]shard
	root    node
	count   atomic.Int64 // nodes, root excluded
	lookups atomic.Int64 // sum of nlookup, root excluded

	// weak allows ids by number (a read-only bridge); mounts lists the
	// mounts they name, copied on write (mountsMu) and read lock-free.
	weak     bool
	mountsMu sync.Mutex
	mounts   atomic.Pointer[[]*vfs.Mount]
}

func (t *nodeTable) init(root *vfs.Vnode) {
	t.root = node{vp: root}
}

func shardOf(vp *vfs.Vnode) uint64 {
	h := uint64(uintptr(unsafe.Pointer(vp)))
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	return h >> (64 - shardBits)
}

// nodeLocked returns the live node named by id, or nil; id's shard lock
// is held.
func (s *shard) nodeLocked(id uint64) *node {
	slot := id >> shardBits & slotMask
	if slot == 0 || slot > uint64(len(s.slots)) {
		return nil
	}
	n := &s.slots[slot-1]
	if n.vp == nil || n.gen != uint32(id>>32) {
		return nil
	}
	return n
}

// idLocked returns vp's node id in shard s, vp's own shard number si, or
// 0 if vp has no node here.
func (s *shard) idLocked(vp *vfs.Vnode, si uint64) uint64 {
	if id := vp.ClientCookie.Load(); id != 0 && id&(nshards-1) == si {
		if n := s.nodeLocked(id); n != nil && n.vp == vp {
			return id
		}
	}
	return s.other[vp]
}

// get returns the vnode of node id with a new reference, which the caller
// drops with vfs.Vrele: a FORGET racing with the request cannot free it.
// ESTALE for an unknown id. A weak id's vnode comes from the vnode cache
// (mp.Vget), so l must be in the kernel.
func (t *nodeTable) get(l *kernel.LWP, id uint64) (*vfs.Vnode, unix.Errno) {
	if id == fuse.FUSE_ROOT_ID {
		vfs.Vref(t.root.vp)
		return t.root.vp, 0
	}
	if id&weakBit != 0 {
		return t.getWeak(l, id)
	}
	s := &t.shards[id&(nshards-1)]
	s.mu.RLock()
	n := s.nodeLocked(id)
	if n == nil {
		s.mu.RUnlock()
		return nil, unix.ESTALE
	}
	vfs.Vref(n.vp)
	s.mu.RUnlock()
	return n.vp, 0
}

// add enters vp, which the caller holds a reference on, and counts one
// lookup. The reference goes to the node; when vp already has one the
// extra reference is dropped at once (p2k.c's getp2n rule).
func (t *nodeTable) add(l *kernel.LWP, vp *vfs.Vnode) uint64 {
	if vp == t.root.vp {
		vfs.Vrele(l, vp)
		return fuse.FUSE_ROOT_ID
	}
	si := shardOf(vp)
	s := &t.shards[si]
	if t.weak && vp.ClientCookie.Load() == 0 {
		if id, ok := t.weakID(vp); ok {
			vfs.Vrele(l, vp)
			return id
		}
	}
	s.mu.Lock()
	if id := s.idLocked(vp, si); id != 0 {
		s.nodeLocked(id).nlookup++
		s.mu.Unlock()
		t.lookups.Add(1)
		vfs.Vrele(l, vp) // not the last: the node holds one
		return id
	}
	var slot uint32
	if k := len(s.free); k > 0 {
		slot, s.free = s.free[k-1], s.free[:k-1]
	} else {
		s.slots = append(s.slots, node{})
		slot = uint32(len(s.slots)) // 2^26 slots a shard: far beyond memory
	}
	n := &s.slots[slot-1]
	var id uint64
	for {
		n.gen = (n.gen + 1) & genMask
		id = uint64(n.gen)<<32 | uint64(slot)<<shardBits | si
		if id != ^uint64(0) { // go-fuse's reserved id
			break
		}
	}
	n.vp, n.nlookup = vp, 1
	if !vp.ClientCookie.CompareAndSwap(0, id) {
		if s.other == nil {
			s.other = map[*vfs.Vnode]uint64{}
		}
		s.other[vp] = id
	}
	s.mu.Unlock()
	t.count.Add(1)
	t.lookups.Add(1)
	return id
}

// forget subtracts n lookups from node id and returns its vnode when the
// count reached zero and the node left the table; the caller then owes
// the vnode its release.
func (t *nodeTable) forget(id, n uint64) *vfs.Vnode {
	if id == fuse.FUSE_ROOT_ID || id&weakBit != 0 {
		return nil
	}
	s := &t.shards[id&(nshards-1)]
	s.mu.Lock()
	nd := s.nodeLocked(id)
	if nd == nil {
		s.mu.Unlock()
		return nil
	}
	n = min(n, nd.nlookup)
	nd.nlookup -= n
	t.lookups.Add(-int64(n))
	if nd.nlookup > 0 {
		s.mu.Unlock()
		return nil
	}
	vp := s.removeLocked(id, nd)
	s.mu.Unlock()
	t.count.Add(-1)
	return vp
}

// idOf returns the id the host knows vp by, if any.
func (t *nodeTable) idOf(vp *vfs.Vnode) (uint64, bool) {
	if vp == t.root.vp {
		return fuse.FUSE_ROOT_ID, true
	}
	si := shardOf(vp)
	s := &t.shards[si]
	s.mu.RLock()
	id := s.idLocked(vp, si)
	s.mu.RUnlock()
	if id != 0 {
		return id, true
	}
	if t.weak {
		return t.weakID(vp)
	}
	return 0, false
}

// weakID returns the id naming vp by number, if it has one: vp can be
// loaded again, its number fits and the table has room for its mount.
func (t *nodeTable) weakID(vp *vfs.Vnode) (uint64, bool) {
	if vp.Ino >= 1<<weakInoBits || !vfs.Reloadable(vp) {
		return 0, false
	}
	mi, ok := t.mountIndex(vp.Mount)
	if !ok {
		return 0, false
	}
	return weakBit | mi<<weakInoBits | vp.Ino, true
}

// mountIndex returns mp's index in the mount list, adding it if new.
func (t *nodeTable) mountIndex(mp *vfs.Mount) (uint64, bool) {
	if ms := t.mounts.Load(); ms != nil {
		for i, m := range *ms {
			if m == mp {
				return uint64(i), true
			}
		}
	}
	t.mountsMu.Lock()
	defer t.mountsMu.Unlock()
	var ms []*vfs.Mount
	if p := t.mounts.Load(); p != nil {
		ms = *p
	}
	for i, m := range ms {
		if m == mp {
			return uint64(i), true
		}
	}
	if len(ms) >= weakMountMax {
		return 0, false
	}
	ms = append(ms[:len(ms):len(ms)], mp)
	t.mounts.Store(&ms)
	return uint64(len(ms) - 1), true
}

// getWeak loads a weak id's vnode from its mount's cache. A number that
// no longer loads (the mount went) is ESTALE.
func (t *nodeTable) getWeak(l *kernel.LWP, id uint64) (*vfs.Vnode, unix.Errno) {
	mi := id &^ weakBit >> weakInoBits
	ms := t.mounts.Load()
	if ms == nil || mi >= uint64(len(*ms)) {
		return nil, unix.ESTALE
	}
	vp, e := (*ms)[mi].Vget(l, id&(1<<weakInoBits-1))
	if e != 0 {
		return nil, unix.ESTALE
	}
	return vp, 0
}

// removeLocked frees node id's slot and returns its vnode.
func (s *shard) removeLocked(id uint64, n *node) *vfs.Vnode {
	vp := n.vp
	if !vp.ClientCookie.CompareAndSwap(id, 0) {
		delete(s.other, vp)
	}
	n.vp, n.nlookup = nil, 0
	s.free = append(s.free, uint32(id>>shardBits&slotMask))
	return vp
}

// drain empties the table and returns every node's vnode (root excluded);
// the caller releases them.
func (t *nodeTable) drain() []*vfs.Vnode {
	var out []*vfs.Vnode
	for si := range t.shards {
		s := &t.shards[si]
		s.mu.Lock()
		for i := range s.slots {
			n := &s.slots[i]
			if n.vp == nil {
				continue
			}
			t.lookups.Add(-int64(n.nlookup))
			t.count.Add(-1)
			id := uint64(n.gen)<<32 | uint64(i+1)<<shardBits | uint64(si)
			out = append(out, s.removeLocked(id, n))
		}
		s.mu.Unlock()
	}
	return out
}

// lookupCount returns node id's lookup count (tests).
func (t *nodeTable) lookupCount(id uint64) (uint64, bool) {
	s := &t.shards[id&(nshards-1)]
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.nodeLocked(id)
	if n == nil {
		return 0, false
	}
	return n.nlookup, true
}

// releaser drops the vnode references of forgotten nodes in the
// background: the last release runs VOP_INACTIVE, which may write, and
// FORGET must not wait for that.
type releaser struct {
	k    *kernel.Kernel
	l    *kernel.LWP
	mu   sync.Mutex
	q    []*vfs.Vnode
	busy int // vnodes taken off q and not yet released
	idle *sync.Cond
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newReleaser(k *kernel.Kernel, l *kernel.LWP) *releaser {
	r := &releaser{k: k, l: l, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	r.idle = sync.NewCond(&r.mu)
	go r.run()
	return r
}

func (r *releaser) push(vp *vfs.Vnode) {
	r.mu.Lock()
	r.q = append(r.q, vp)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *releaser) run() {
	defer close(r.done)
	for {
		select {
		case <-r.wake:
		case <-r.stop:
			r.flush()
			return
		}
		r.flush()
	}
}

// flush releases everything queued, as r.l.
func (r *releaser) flush() {
	for {
		r.mu.Lock()
		q := r.q
		r.q = nil
		r.busy += len(q)
		if len(q) == 0 {
			r.idle.Broadcast()
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		for _, vp := range q {
			kernelVrele(r.l, vp)
		}
		r.mu.Lock()
		r.busy -= len(q)
		r.mu.Unlock()
	}
}

// wait blocks until every queued vnode has been released.
func (r *releaser) wait() {
	r.mu.Lock()
	for len(r.q) > 0 || r.busy > 0 {
		r.idle.Wait()
	}
	r.mu.Unlock()
}

func (r *releaser) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.q) + r.busy
}

// close stops the worker after it released what was queued.
func (r *releaser) close() {
	close(r.stop)
	<-r.done
}

// kernelVrele drops a reference as l outside a request, on a CPU, even
// after the kernel halted (then only dead vnodes are left), and logs a
// panic instead of dying.
func kernelVrele(l *kernel.LWP, vp *vfs.Vnode) {
	l.Schedule()
	defer l.Unschedule()
	defer func() {
		if r := recover(); r != nil {
			l.Kernel().Warnf("p2k: recovered panic releasing a vnode: %v", r)
		}
	}()
	vfs.Vrele(l, vp)
}

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

// The node table maps FUSE node ids to vnodes and back. It is split into
// shards by vnode pointer; a node id carries its shard in its low bits,
// so both directions find the same shard without a global lock.
const (
	shardBits = 6
	nshards   = 1 << shardBits
)

// node is one FUSE node: a vnode reference and the host's lookup count.
type node struct {
	id      uint64
	vp      *vfs.Vnode
	nlookup uint64 // guarded by the shard lock
}

type shard struct {
	mu   sync.RWMutex
	byID map[uint64]*node
	byVp map[*vfs.Vnode]*node
}

type nodeTable struct {
	shards  [nshards]shard
	seq     atomic.Uint64
	root    node
	count   atomic.Int64 // nodes, root excluded
	lookups atomic.Int64 // sum of nlookup, root excluded
}

func (t *nodeTable) init(root *vfs.Vnode) {
	t.root = node{id: fuse.FUSE_ROOT_ID, vp: root}
	for i := range t.shards {
		t.shards[i].byID = map[uint64]*node{}
		t.shards[i].byVp = map[*vfs.Vnode]*node{}
	}
}

func shardOf(vp *vfs.Vnode) uint64 {
	h := uint64(uintptr(unsafe.Pointer(vp)))
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	return h >> (64 - shardBits)
}

// get returns the vnode of node id with a new reference, which the caller
// drops with vfs.Vrele: a FORGET racing with the request cannot free it.
// ESTALE for an unknown id.
func (t *nodeTable) get(id uint64) (*vfs.Vnode, unix.Errno) {
	if id == fuse.FUSE_ROOT_ID {
		vfs.Vref(t.root.vp)
		return t.root.vp, 0
	}
	s := &t.shards[id&(nshards-1)]
	s.mu.RLock()
	n := s.byID[id]
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
	s.mu.Lock()
	if n := s.byVp[vp]; n != nil {
		n.nlookup++
		s.mu.Unlock()
		t.lookups.Add(1)
		vfs.Vrele(l, vp) // not the last: the node holds one
		return n.id
	}
	var id uint64
	for {
		id = t.seq.Add(1)<<shardBits | si
		if id != ^uint64(0) { // go-fuse's reserved id
			break
		}
	}
	n := &node{id: id, vp: vp, nlookup: 1}
	s.byID[id] = n
	s.byVp[vp] = n
	s.mu.Unlock()
	t.count.Add(1)
	t.lookups.Add(1)
	return id
}

// forget subtracts n lookups from node id and returns its vnode when the
// count reached zero and the node left the table; the caller then owes
// the vnode its release.
func (t *nodeTable) forget(id, n uint64) *vfs.Vnode {
	if id == fuse.FUSE_ROOT_ID {
		return nil
	}
	s := &t.shards[id&(nshards-1)]
	s.mu.Lock()
	nd := s.byID[id]
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
	delete(s.byID, id)
	delete(s.byVp, nd.vp)
	s.mu.Unlock()
	t.count.Add(-1)
	return nd.vp
}

// drain empties the table and returns every node's vnode (root excluded);
// the caller releases them.
func (t *nodeTable) drain() []*vfs.Vnode {
	var out []*vfs.Vnode
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for id, n := range s.byID {
			out = append(out, n.vp)
			t.lookups.Add(-int64(n.nlookup))
			t.count.Add(-1)
			delete(s.byID, id)
			delete(s.byVp, n.vp)
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
	n := s.byID[id]
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

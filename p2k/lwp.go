package p2k

import (
	"sync"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
)

// ctx is one request's kernel context: an LWP and scratch space that would
// otherwise escape to the heap on every request (the VOP arguments pass
// through interface calls).
type ctx struct {
	l    *kernel.LWP
	kern bool // an LWP of proc0, for requests the host kernel makes

	cn      vfs.ComponentName
	va      vfs.Vattr
	sb      vfs.Statvfs
	iov     [][]byte
	dir     dirFill
	linkbuf [vfs.PathMax]byte

	// Last caller seen, so a repeated caller costs no cache lookup.
	tid, pid uint32 // pid 0: none yet
	uid, gid uint32
	cred     *kernel.Cred // nil: none yet

	// Trace state.
	start time.Time
	ino   uint64 // vnode inode of the request's node, 0 until pinned
	line  []byte
}

// ctxPool is a free list of contexts. LWPs are kernel objects that must be
// released explicitly, so a sync.Pool (which drops entries silently) will
// not do.
type ctxPool struct {
	mu   sync.Mutex
	free []*ctx
	all  []*ctx
}

func (p *ctxPool) get() *ctx {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return c
	}
	p.mu.Unlock()
	return nil
}

func (p *ctxPool) put(c *ctx) {
	p.mu.Lock()
	p.free = append(p.free, c)
	p.mu.Unlock()
}

func (p *ctxPool) track(c *ctx) {
	p.mu.Lock()
	p.all = append(p.all, c)
	p.mu.Unlock()
}

// takeAll empties the pool and returns every context it ever made.
func (p *ctxPool) takeAll() []*ctx {
	p.mu.Lock()
	defer p.mu.Unlock()
	all := p.all
	p.all, p.free = nil, nil
	return all
}

func (p *ctxPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// newCtx makes a context. A user context's LWP is the one LWP of a new
// child of p2k's process with a clean descriptor table; a kernel context's
// is a new LWP of proc0.
func (b *Bridge) newCtx(kern bool) (*ctx, error) {
	var l *kernel.LWP
	var err error
	if kern {
		l, err = b.k.NewLWP(0)
	} else {
		l, err = b.k.Rfork(b.base, kernel.RFCFDG)
	}
	if err != nil {
		return nil, err
	}
	c := &ctx{l: l, kern: kern}
	if kern {
		b.kpool.track(c)
	} else {
		b.upool.track(c)
	}
	return c, nil
}

// credCache holds one immutable cred per (uid, gid) without groups, for
// the host kernel's own requests and callers whose groups cannot be read.
type credCache struct {
	mu sync.RWMutex
	m  map[uint64]*kernel.Cred
}

const credCacheMax = 4096

func (cc *credCache) get(uid, gid uint32) *kernel.Cred {
	key := uint64(uid)<<32 | uint64(gid)
	cc.mu.RLock()
	c := cc.m[key]
	cc.mu.RUnlock()
	if c != nil {
		return c
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if c = cc.m[key]; c != nil {
		return c
	}
	if cc.m == nil || len(cc.m) >= credCacheMax {
		cc.m = map[uint64]*kernel.Cred{}
	}
	c = kernel.CredCreate(uid, gid, nil)
	cc.m[key] = c
	return c
}

// callerCache maps the id the FUSE header names a caller by (a thread id
// on Linux, a process id on macOS) to the caller's process id and a cred
// with its supplementary groups. An entry holds a handle on the host
// process (a pidfd on Linux) and is used only while that process lives,
// so a reused id never inherits another process's groups; a hit costs a
// map lookup and a poll, no /proc read. The uid and gid come from each
// request: a caller that changed them is looked up again.
type callerCache struct {
	mu    sync.RWMutex
	m     map[uint32]*caller
	creds credCache // for callers the host tells nothing about
}

type caller struct {
	proc     hostProc
	uid, gid uint32
	cred     *kernel.Cred
}

const callerCacheMax = 512

// get returns the process id and cred of caller id with uid and gid.
func (cc *callerCache) get(id, uid, gid uint32) (uint32, *kernel.Cred) {
	cc.mu.RLock()
	if e := cc.m[id]; e != nil && e.uid == uid && e.gid == gid && e.proc.alive() {
		pid, cred := e.proc.pid, e.cred
		cc.mu.RUnlock()
		return pid, cred
	}
	cc.mu.RUnlock()
	hp, ok := lookupHostProc(id, uid)
	if !ok {
		// Gone already, or the host does not say: the header's ids
		// alone, as the host kernel's own requests have.
		return id, cc.creds.get(uid, gid)
	}
	cred := kernel.CredCreate(uid, gid, hp.groups)
	hp.groups = nil
	if !hp.cacheable() {
		return hp.pid, cred
	}
	e := &caller{proc: hp, uid: uid, gid: gid, cred: cred}
	cc.mu.Lock()
	if cc.m == nil {
		cc.m = map[uint32]*caller{}
	}
	if old := cc.m[id]; old != nil {
		old.proc.release()
	} else if len(cc.m) >= callerCacheMax {
		cc.evictLocked()
	}
	cc.m[id] = e
	cc.mu.Unlock()
	return hp.pid, cred
}

// evictLocked drops the entries of processes that ended, or, if all
// live, about half of them.
func (cc *callerCache) evictLocked() {
	for id, e := range cc.m {
		if !e.proc.alive() {
			e.proc.release()
			delete(cc.m, id)
		}
	}
	for id, e := range cc.m {
		if len(cc.m) < callerCacheMax/2 {
			break
		}
		e.proc.release()
		delete(cc.m, id)
	}
}

// close releases every entry's host handle.
func (cc *callerCache) close() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for id, e := range cc.m {
		e.proc.release()
		delete(cc.m, id)
	}
}

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

	cn, cn2 vfs.ComponentName
	va      vfs.Vattr
	sb      vfs.Statvfs
	iov     [][]byte
	dirbuf  []byte
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

// credCache holds one immutable cred per (uid, gid), shared by requests.
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

// tgidCache maps host thread ids to their process ids. Entries can go
// stale when a thread id is reused by another process; the cache is
// bounded and starts over when full, which bounds that too.
type tgidCache struct {
	mu sync.RWMutex
	m  map[uint32]uint32
}

const tgidCacheMax = 4096

func (tc *tgidCache) get(tid uint32) uint32 {
	if !threadIDs {
		return tid
	}
	tc.mu.RLock()
	pid, ok := tc.m[tid]
	tc.mu.RUnlock()
	if ok {
		return pid
	}
	pid, ok = hostTgid(tid)
	if !ok {
		// The thread is gone already; its id is the best we have.
		return tid
	}
	tc.mu.Lock()
	if tc.m == nil || len(tc.m) >= tgidCacheMax {
		tc.m = map[uint32]uint32{}
	}
	tc.m[tid] = pid
	tc.mu.Unlock()
	return pid
}

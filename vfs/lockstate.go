package vfs

import (
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
)

// What tests need to check the lock rules of VnodeOps: how a vnode's lock
// and a mount's namespace lock are held, and a way to wrap every vnode's
// operations (vfstest's lock-asserting wrapper).

// LockState is how a lock is held.
type LockState uint8

// Lock states.
const (
	Unlocked LockState = iota
	Shared
	Exclusive
)

func (s LockState) String() string { return [...]string{"unlocked", "shared", "exclusive"}[s] }

// probe finds how rw is held by trying to take it. It is exact only
// while nobody else takes or waits for the lock (a waiting writer makes
// a shared lock look exclusive): for single-threaded tests.
func probe(rw *kernel.RWLock) LockState {
	if rw.TryEnter(true) {
		rw.Exit(true)
		return Unlocked
	}
	if rw.TryEnter(false) {
		rw.Exit(false)
		return Shared
	}
	return Exclusive
}

// LockState reports how vp's lock is held (for tests; see probe).
func (vp *Vnode) LockState() LockState { return probe(&vp.lock) }

// NamespaceLockState reports how mp's namespace lock is held (for tests;
// see probe).
func (mp *Mount) NamespaceLockState() LockState { return probe(&mp.ns) }

var opsWrapper atomic.Pointer[func(VnodeOps) VnodeOps]

// SetOpsWrapper makes SetOps wrap every vnode's operations with w from now
// on (nil stops it): for tests, which see every VOP call this way. It is
// process-wide; a test that sets it must not run in parallel with others.
func SetOpsWrapper(w func(VnodeOps) VnodeOps) {
	if w == nil {
		opsWrapper.Store(nil)
		return
	}
	opsWrapper.Store(&w)
}

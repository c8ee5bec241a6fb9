package drivertest

import (
	"fmt"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// LockChecker is a recording driver: it wraps every vnode's operations
// (vfs.SetOpsWrapper) and, on every call, checks that the locks the
// table in vop.go promises are held (namespace lock where listed, vnode
// locks shared or exclusive), counting each call and recording each
// breach; after Trace it also keeps the calls themselves, with the
// caller's pid and lid (the VOP trace).
type LockChecker struct {
	mu       sync.Mutex
	calls    map[string]int
	breaches []string
	tracing  bool
	trace    []Call
}

// Call is one traced vnode operation: its name, the caller's process and
// LWP ids, and the inode number of the first vnode it was given.
type Call struct {
	Op       string
	Pid, Lid int32
	Ino      uint64
}

func (c Call) String() string { return fmt.Sprintf("%d.%d %s %d", c.Pid, c.Lid, c.Op, c.Ino) }

// maxTrace bounds a trace; later calls are counted but not kept.
const maxTrace = 1 << 20

// Trace starts keeping every call in order (Trace returns them).
func (c *LockChecker) Trace() {
	c.mu.Lock()
	c.tracing = true
	c.mu.Unlock()
}

// Traced returns the calls kept since Trace, in order, and forgets them.
func (c *LockChecker) Traced() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.trace
	c.trace = nil
	return t
}

// InstallLockChecker wraps every vnode made from now until the test ends.
// The test must not run in parallel with others (the hook is global).
func InstallLockChecker(t TB) *LockChecker {
	c := &LockChecker{calls: map[string]int{}}
	vfs.SetOpsWrapper(func(ops vfs.VnodeOps) vfs.VnodeOps {
		if w, ok := ops.(lockOps); ok {
			ops = w.VnodeOps
		}
		return lockOps{ops, c}
	})
	t.Cleanup(func() { vfs.SetOpsWrapper(nil) })
	return c
}

// Calls returns how many times op was called through the checker.
func (c *LockChecker) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// Breaches returns the recorded rule breaches.
func (c *LockChecker) Breaches() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.breaches...)
}

// want is one lock a rule promises: on the namespace (vp's mount) or on
// vp itself, at least shared or exclusive.
type want struct {
	vp   *vfs.Vnode
	ns   bool
	excl bool
}

func (c *LockChecker) check(l *kernel.LWP, op string, ws ...want) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
	if c.tracing && len(c.trace) < maxTrace {
		call := Call{Op: op}
		if l != nil {
			call.Pid, call.Lid = l.Proc().Pid(), l.Lid()
		}
		if len(ws) > 0 && ws[0].vp != nil {
			call.Ino = ws[0].vp.Ino
		}
		c.trace = append(c.trace, call)
	}
	for _, w := range ws {
		if w.vp == nil {
			continue
		}
		var st vfs.LockState
		what := fmt.Sprintf("vnode %d", w.vp.Ino)
		if w.ns {
			if w.vp.Mount == nil {
				continue
			}
			st, what = w.vp.Mount.NamespaceLockState(), "namespace lock"
		} else {
			st = w.vp.LockState()
		}
		if st == vfs.Unlocked || w.excl && st != vfs.Exclusive {
			need := "shared"
			if w.excl {
				need = "exclusive"
			}
			if len(c.breaches) < 100 {
				c.breaches = append(c.breaches, fmt.Sprintf("%s: %s is %v, want %s", op, what, st, need))
			}
		}
	}
}

func nsS(vp *vfs.Vnode) want { return want{vp: vp, ns: true} }
func nsE(vp *vfs.Vnode) want { return want{vp: vp, ns: true, excl: true} }
func vS(vp *vfs.Vnode) want  { return want{vp: vp} }
func vE(vp *vfs.Vnode) want  { return want{vp: vp, excl: true} }

// lockOps is the wrapper; operations vop.go lists without locks (Reclaim,
// Bmap, Strategy) and the ACL operations it does not list pass through
// embedded.
type lockOps struct {
	vfs.VnodeOps
	c *LockChecker
}

func (o lockOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	o.c.check(l, "Lookup", nsS(dvp), vS(dvp))
	return o.VnodeOps.Lookup(l, dvp, cn)
}
func (o lockOps) Create(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	o.c.check(l, "Create", nsE(dvp), vE(dvp))
	return o.VnodeOps.Create(l, dvp, cn, va)
}
func (o lockOps) Mknod(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	o.c.check(l, "Mknod", nsE(dvp), vE(dvp))
	return o.VnodeOps.Mknod(l, dvp, cn, va)
}
func (o lockOps) Mkdir(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	o.c.check(l, "Mkdir", nsE(dvp), vE(dvp))
	return o.VnodeOps.Mkdir(l, dvp, cn, va)
}
func (o lockOps) Symlink(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr, target string) (*vfs.Vnode, unix.Errno) {
	o.c.check(l, "Symlink", nsE(dvp), vE(dvp))
	return o.VnodeOps.Symlink(l, dvp, cn, va, target)
}
func (o lockOps) Remove(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	o.c.check(l, "Remove", nsE(dvp), vE(dvp), vE(vp))
	return o.VnodeOps.Remove(l, dvp, vp, cn)
}
func (o lockOps) Rmdir(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	o.c.check(l, "Rmdir", nsE(dvp), vE(dvp), vE(vp))
	return o.VnodeOps.Rmdir(l, dvp, vp, cn)
}
func (o lockOps) Link(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	o.c.check(l, "Link", nsE(dvp), vE(dvp), vE(vp))
	return o.VnodeOps.Link(l, dvp, vp, cn)
}
func (o lockOps) Rename(l *kernel.LWP, fdvp, fvp *vfs.Vnode, fcn *vfs.ComponentName, tdvp, tvp *vfs.Vnode, tcn *vfs.ComponentName) unix.Errno {
	o.c.check(l, "Rename", nsE(fdvp), vE(fdvp), vE(fvp), vE(tdvp), vE(tvp))
	return o.VnodeOps.Rename(l, fdvp, fvp, fcn, tdvp, tvp, tcn)
}
func (o lockOps) Exchange(l *kernel.LWP, fdvp, fvp *vfs.Vnode, fcn *vfs.ComponentName, tdvp, tvp *vfs.Vnode, tcn *vfs.ComponentName) unix.Errno {
	o.c.check(l, "Exchange", nsE(fdvp), vE(fdvp), vE(fvp), vE(tdvp), vE(tvp))
	return o.VnodeOps.Exchange(l, fdvp, fvp, fcn, tdvp, tvp, tcn)
}
func (o lockOps) Readdir(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	o.c.check(l, "Readdir", nsS(vp), vS(vp))
	return o.VnodeOps.Readdir(l, vp, uio)
}
func (o lockOps) Open(l *kernel.LWP, vp *vfs.Vnode, fflags int) unix.Errno {
	o.c.check(l, "Open", vS(vp))
	return o.VnodeOps.Open(l, vp, fflags)
}
func (o lockOps) Close(l *kernel.LWP, vp *vfs.Vnode, fflags int) unix.Errno {
	o.c.check(l, "Close", vS(vp))
	return o.VnodeOps.Close(l, vp, fflags)
}
func (o lockOps) Access(l *kernel.LWP, vp *vfs.Vnode, acc uint32) unix.Errno {
	o.c.check(l, "Access", vS(vp))
	return o.VnodeOps.Access(l, vp, acc)
}
func (o lockOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	o.c.check(l, "Getattr", vS(vp))
	return o.VnodeOps.Getattr(l, vp, va)
}
func (o lockOps) Readlink(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) unix.Errno {
	o.c.check(l, "Readlink", vS(vp))
	return o.VnodeOps.Readlink(l, vp, uio)
}
func (o lockOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	o.c.check(l, "Read", vS(vp))
	return o.VnodeOps.Read(l, vp, uio, ioflag)
}
func (o lockOps) Pathconf(l *kernel.LWP, vp *vfs.Vnode, name int) (int64, unix.Errno) {
	o.c.check(l, "Pathconf", vS(vp))
	return o.VnodeOps.Pathconf(l, vp, name)
}
func (o lockOps) Getextattr(l *kernel.LWP, vp *vfs.Vnode, name string, uio *kernel.Uio) (int, unix.Errno) {
	o.c.check(l, "Getextattr", vS(vp))
	return o.VnodeOps.Getextattr(l, vp, name, uio)
}
func (o lockOps) Listextattr(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (int, unix.Errno) {
	o.c.check(l, "Listextattr", vS(vp))
	return o.VnodeOps.Listextattr(l, vp, uio)
}
func (o lockOps) Setattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	o.c.check(l, "Setattr", vE(vp))
	return o.VnodeOps.Setattr(l, vp, va)
}
func (o lockOps) Write(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	o.c.check(l, "Write", vE(vp))
	return o.VnodeOps.Write(l, vp, uio, ioflag)
}
func (o lockOps) Fsync(l *kernel.LWP, vp *vfs.Vnode, flags int, lo, hi int64) unix.Errno {
	o.c.check(l, "Fsync", vE(vp))
	return o.VnodeOps.Fsync(l, vp, flags, lo, hi)
}
func (o lockOps) Setextattr(l *kernel.LWP, vp *vfs.Vnode, name string, value []byte, flags int) unix.Errno {
	o.c.check(l, "Setextattr", vE(vp))
	return o.VnodeOps.Setextattr(l, vp, name, value, flags)
}
func (o lockOps) Deleteextattr(l *kernel.LWP, vp *vfs.Vnode, name string) unix.Errno {
	o.c.check(l, "Deleteextattr", vE(vp))
	return o.VnodeOps.Deleteextattr(l, vp, name)
}
func (o lockOps) Seek(l *kernel.LWP, vp *vfs.Vnode, off int64, whence int) (int64, unix.Errno) {
	o.c.check(l, "Seek", vE(vp))
	return o.VnodeOps.Seek(l, vp, off, whence)
}
func (o lockOps) Advlock(l *kernel.LWP, vp *vfs.Vnode, owner uint64, op int, fl *unix.Flock_t) unix.Errno {
	o.c.check(l, "Advlock", vE(vp))
	return o.VnodeOps.Advlock(l, vp, owner, op, fl)
}
func (o lockOps) Inactive(l *kernel.LWP, vp *vfs.Vnode) bool {
	o.c.check(l, "Inactive", vE(vp))
	return o.VnodeOps.Inactive(l, vp)
}

package kernel

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Rfork flags (rump_lwproc_rfork).
const (
	RFFDG  = 0x4    // copy the descriptor table
	RFCFDG = 0x1000 // start with a clean descriptor table
)

// ProcState is what the VFS keeps per process: descriptors, cwd and root.
// The kernel only forks and frees it.
type ProcState interface {
	// Fork returns the child's state: flags 0 shares the descriptor table,
	// RFFDG copies it, RFCFDG starts clean; cwd and root are copied.
	Fork(l *LWP, flags int) (ProcState, error)
	// Exit closes the descriptors and drops cwd and root.
	Exit(l *LWP)
}

// Proc is a kernel process.
type Proc struct {
	k      *Kernel
	pid    atomic.Int32
	tabPid int32 // key in the proc table; AllBetsAreOffSetID leaves it
	parent *Proc
	Comm   string

	cred   atomic.Pointer[Cred]
	limits atomic.Pointer[rlimits] // replaced whole by Setrlimit

	mu    sync.Mutex
	lwps  map[*LWP]struct{}
	dead  bool
	State ProcState
}

// LWP is a light-weight process: the unit that runs kernel code. It is
// passed explicitly to every kernel entry point.
type LWP struct {
	k    *Kernel
	lid  atomic.Int32
	proc *Proc

	// Scheduling state; only the goroutine running as l touches it.
	cpu   *CPU
	depth int

	cred    *Cred // overrides the proc's cred when set (p2k per request)
	running atomic.Bool
	exiting bool

	// Cancel, when set, is closed when the host caller gives up (FUSE
	// INTERRUPT). Blocking waits may return EINTR.
	Cancel <-chan struct{}
}

// Pid returns the process id (as rewritten by AllBetsAreOffSetID).
func (p *Proc) Pid() int32 { return p.pid.Load() }

// Parent returns the parent process.
func (p *Proc) Parent() *Proc { return p.parent }

// Cred returns the process credentials.
func (p *Proc) Cred() *Cred { return p.cred.Load() }

// SetCred replaces the process credentials.
func (p *Proc) SetCred(c *Cred) { p.cred.Store(c) }

// Kernel returns the kernel the process lives in.
func (p *Proc) Kernel() *Kernel { return p.k }

// NLWP returns the number of LWPs in the process.
func (p *Proc) NLWP() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lwps)
}

// Lid returns the LWP id (as rewritten by AllBetsAreOffSetID).
func (l *LWP) Lid() int32 { return l.lid.Load() }

// Proc returns the LWP's process.
func (l *LWP) Proc() *Proc { return l.proc }

// Kernel returns the LWP's kernel.
func (l *LWP) Kernel() *Kernel { return l.k }

// Cred returns the credentials the LWP acts with: its own when set,
// otherwise its process's.
func (l *LWP) Cred() *Cred {
	if l == nil {
		return RootCred
	}
	if l.cred != nil {
		return l.cred
	}
	return l.proc.Cred()
}

// SetCred sets the LWP's own credentials (nil returns to the process's).
// p2k sets the host caller's cred on each request.
func (l *LWP) SetCred(c *Cred) { l.cred = c }

func (k *Kernel) newProc(parent *Proc, cred *Cred, comm string) *Proc {
	p := &Proc{k: k, parent: parent, Comm: comm, lwps: map[*LWP]struct{}{}}
	p.cred.Store(cred)
	if parent != nil {
		p.limits.Store(parent.limits.Load())
	} else {
		p.limits.Store(defaultRlimits())
	}
	k.procMu.Lock()
	var pid int32 // proc0's
	if parent != nil {
		for {
			k.nextPid++
			if k.nextPid > 1<<30 {
				k.nextPid = 2
			}
			if _, used := k.procs[k.nextPid]; !used {
				break
			}
		}
		pid = k.nextPid
	}
	p.pid.Store(pid)
	p.tabPid = pid
	k.procs[pid] = p
	k.procMu.Unlock()
	return p
}

func (k *Kernel) newLWP(p *Proc) *LWP {
	l := &LWP{k: k, proc: p}
	l.lid.Store(k.nextLid.Add(1))
	p.mu.Lock()
	p.lwps[l] = struct{}{}
	p.mu.Unlock()
	return l
}

// SetProcStateFactory installs the VFS's per-process state maker. Processes
// that exist already (proc0, initproc) get theirs now; later ones inherit
// through ProcState.Fork.
func (k *Kernel) SetProcStateFactory(f func(p *Proc) ProcState) {
	k.procMu.Lock()
	k.newState = f
	var ps []*Proc
	for _, p := range k.procs {
		if p.State == nil {
			ps = append(ps, p)
		}
	}
	k.procMu.Unlock()
	for _, p := range ps {
		p.State = f(p)
	}
}

// FindProc returns the process with the given table pid, or nil.
func (k *Kernel) FindProc(pid int32) *Proc {
	k.procMu.Lock()
	defer k.procMu.Unlock()
	return k.procs[pid]
}

// NProcs returns the number of live processes.
func (k *Kernel) NProcs() int {
	k.procMu.Lock()
	defer k.procMu.Unlock()
	return len(k.procs)
}

// Rfork makes a child of l's process and returns the child's one LWP
// (rump_lwproc_rfork). flags: 0 shares the descriptor table, RFFDG copies
// it, RFCFDG gives a clean one; both together are EINVAL. The child inherits
// the parent's credentials and resource limits; EAGAIN when a user has as
// many processes as RLIMIT_NPROC allows.
func (k *Kernel) Rfork(l *LWP, flags int) (*LWP, error) {
	if flags&^(RFFDG|RFCFDG) != 0 || flags == RFFDG|RFCFDG {
		return nil, unix.EINVAL
	}
	parent := k.initproc
	if l != nil {
		parent = l.proc
	}
	if parent == nil {
		parent = k.proc0
	}
	if !k.procLimitOK(parent, parent.Cred()) {
		return nil, unix.EAGAIN
	}
	child := k.newProc(parent, parent.Cred(), parent.Comm)
	if parent.State != nil {
		st, err := parent.State.Fork(l, flags)
		if err != nil {
			k.removeProc(child)
			return nil, err
		}
		child.State = st
	}
	return k.newLWP(child), nil
}

// NewLWP adds an LWP to the process pid (rump_lwproc_newlwp): ESRCH when
// there is no such process, EBUSY when it is exiting.
func (k *Kernel) NewLWP(pid int32) (*LWP, error) {
	p := k.FindProc(pid)
	if p == nil {
		return nil, unix.ESRCH
	}
	p.mu.Lock()
	dead := p.dead
	p.mu.Unlock()
	if dead {
		return nil, unix.EBUSY
	}
	return k.newLWP(p), nil
}

// Switch marks next as the LWP the caller now runs as and cur as no longer
// running (rump_lwproc_switch). Switching to an LWP that is running is
// EBUSY (rump panics).
func (k *Kernel) Switch(cur, next *LWP) error {
	if next != nil && next != cur && !next.running.CompareAndSwap(false, true) {
		return unix.EBUSY
	}
	if cur != nil && cur != next {
		cur.running.Store(false)
	}
	return nil
}

// ReleaseLWP frees l (rump_lwproc_releaselwp). When the last LWP of a
// process leaves, the process is freed: descriptors closed, cwd and root
// dropped, children handed to initproc.
func (k *Kernel) ReleaseLWP(l *LWP) {
	if l == nil || l.exiting {
		return
	}
	l.exiting = true
	l.running.Store(false)
	for l.depth > 0 {
		l.Unschedule()
	}
	p := l.proc
	p.mu.Lock()
	delete(p.lwps, l)
	last := len(p.lwps) == 0 && p != k.proc0
	if last {
		p.dead = true
	}
	p.mu.Unlock()
	if !last {
		return
	}
	if p.State != nil {
		// Closing descriptors runs kernel code: do it as a fresh LWP of
		// the dying process, on a CPU.
		x := &LWP{k: k, proc: p}
		x.lid.Store(l.Lid())
		x.Schedule()
		p.State.Exit(x)
		x.Unschedule()
	}
	k.removeProc(p)
}

func (k *Kernel) removeProc(p *Proc) {
	k.procMu.Lock()
	defer k.procMu.Unlock()
	delete(k.procs, p.tabPid)
	for _, c := range k.procs {
		if c.parent == p {
			c.parent = k.initproc
		}
	}
}

// AllBetsAreOffSetID rewrites the pid of l's process and l's lid in place,
// without touching the proc table (rump_allbetsareoff_setid). p2k calls it
// on every request so kernel-side ids equal the host caller's. The pid is
// the whole process's: LWPs that run concurrently with different host
// callers need processes of their own.
func AllBetsAreOffSetID(l *LWP, pid, lid int32) {
	l.proc.pid.Store(pid)
	l.lid.Store(lid)
}

package kernel

import "golang.org/x/sys/unix"

// Resource limits (RLIMIT_*), NetBSD's numbers; only those the kernel
// enforces.
const (
	RLIMIT_NPROC  = 7 // processes of the real uid (Rfork's EAGAIN past it)
	RLIMIT_NOFILE = 8 // descriptors a process may have open (EMFILE past it)
	numRlimits    = 9
)

// RLIM_INFINITY is an unlimited limit.
const RLIM_INFINITY = ^uint64(0) >> 1

// MaxFiles is the default (and highest) RLIMIT_NOFILE: the size bound
// of a descriptor table.
const MaxFiles = 1 << 16

// Rlimit is a soft and a hard limit.
type Rlimit struct{ Cur, Max uint64 }

type rlimits [numRlimits]Rlimit

func defaultRlimits() *rlimits {
	var r rlimits
	for i := range r {
		r[i] = Rlimit{RLIM_INFINITY, RLIM_INFINITY}
	}
	r[RLIMIT_NOFILE] = Rlimit{MaxFiles, MaxFiles}
	return &r
}

// Getrlimit returns one of the process's limits (getrlimit(2)); EINVAL
// for a resource the kernel does not know.
func (p *Proc) Getrlimit(res int) (Rlimit, unix.Errno) {
	if res < 0 || res >= numRlimits {
		return Rlimit{}, unix.EINVAL
	}
	return p.limits.Load()[res], 0
}

// Setrlimit changes one of l's process's limits (setrlimit(2)): EINVAL
// when the soft limit exceeds the hard one, EPERM when a caller other
// than root raises the hard limit. RLIMIT_NOFILE is capped at MaxFiles.
// Children forked afterwards inherit the limits.
func (l *LWP) Setrlimit(res int, lim Rlimit) unix.Errno {
	if res < 0 || res >= numRlimits || lim.Cur > lim.Max {
		return unix.EINVAL
	}
	p := l.proc
	if res == RLIMIT_NOFILE {
		lim.Cur, lim.Max = min(lim.Cur, MaxFiles), min(lim.Max, MaxFiles)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.limits.Load()
	if lim.Max > old[res].Max && !l.Cred().IsRoot() {
		return unix.EPERM
	}
	n := *old
	n[res] = lim
	p.limits.Store(&n)
	return 0
}

// procLimitOK reports whether a process with cred c may fork under
// parent's RLIMIT_NPROC: root always may, others while fewer processes
// than the limit run as their real uid.
func (k *Kernel) procLimitOK(parent *Proc, c *Cred) bool {
	lim := parent.limits.Load()[RLIMIT_NPROC].Cur
	if lim == RLIM_INFINITY || c.IsRoot() {
		return true
	}
	k.procMu.Lock()
	defer k.procMu.Unlock()
	n := uint64(0)
	for _, p := range k.procs {
		if p.Cred().RUid() == c.RUid() {
			n++
		}
	}
	return n < lim
}

package kernel

// CPU is a virtual CPU: a token an LWP must hold to run kernel code.
type CPU struct {
	Index int
}

func (k *Kernel) initCPUs(n int) {
	k.cpus = make([]*CPU, n)
	k.free = make(chan *CPU, n)
	for i := range k.cpus {
		k.cpus[i] = &CPU{Index: i}
		k.free <- k.cpus[i]
		k.Printf("cpu%d at thinair0: rump virtual cpu", i)
	}
}

// NCPU returns the number of virtual CPUs.
func (k *Kernel) NCPU() int { return len(k.cpus) }

// Schedule binds a virtual CPU to l, waiting for one if all are busy.
// Calls nest: only the outermost takes a CPU. A nil LWP (pure unit tests
// of drivers) is a no-op.
func (l *LWP) Schedule() {
	if l == nil {
		return
	}
	if l.depth > 0 {
		l.depth++
		return
	}
	l.cpu = <-l.k.free
	l.depth = 1
}

// Unschedule undoes one Schedule; the outermost gives the CPU back.
func (l *LWP) Unschedule() {
	if l == nil || l.depth == 0 {
		return
	}
	l.depth--
	if l.depth == 0 {
		c := l.cpu
		l.cpu = nil
		l.k.free <- c
	}
}

// CPU returns the CPU l runs on, or nil when it is not scheduled.
func (l *LWP) CPU() *CPU {
	if l == nil {
		return nil
	}
	return l.cpu
}

// BlockBegin gives l's CPU back before a blocking host call or a wait on a
// lock, and returns what BlockEnd needs to take one again. Both are no-ops
// for an unscheduled or nil LWP.
func (l *LWP) BlockBegin() int {
	if l == nil || l.depth == 0 {
		return 0
	}
	d := l.depth
	c := l.cpu
	l.cpu, l.depth = nil, 0
	l.k.free <- c
	return d
}

// BlockEnd takes a CPU again after BlockBegin.
func (l *LWP) BlockEnd(d int) {
	if d == 0 {
		return
	}
	l.cpu = <-l.k.free
	l.depth = d
}

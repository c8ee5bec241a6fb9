package kernel

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Class orders component initialisation at boot, as rump's component
// classes do.
type Class int

// Component classes in boot order.
const (
	ClassKern Class = iota
	ClassVFS
	ClassNet
	ClassDev
	ClassKernVFS
	ClassPostInit
	ClassSysCall
	numClasses
)

var classNames = [numClasses]string{"KERN", "VFS", "NET", "DEV", "KERN_VFS", "POSTINIT", "SYSCALL"}

func (c Class) String() string { return enumName(classNames[:], int(c), "class") }

// enumName names value v of an enumeration from its table of names.
func enumName(names []string, v int, kind string) string {
	if v < 0 || v >= len(names) {
		return fmt.Sprintf("%s(%d)", kind, v)
	}
	return names[v]
}

// Component is a piece of the kernel linked in by a blank import. Its Init
// runs once per booted kernel.
type Component struct {
	Name  string
	Class Class
	Init  func(k *Kernel) error
}

var (
	componentsMu sync.Mutex
	components   []Component
)

// RegisterComponent links a component into every kernel booted afterwards.
// Drivers call it from init.
func RegisterComponent(c Component) {
	componentsMu.Lock()
	defer componentsMu.Unlock()
	components = append(components, c)
}

// Kernel is one booted rump kernel. Several may live in one process.
type Kernel struct {
	cfg Config

	bootMu sync.Mutex
	booted bool
	halted atomic.Bool
	howto  atomic.Int32

	cpus []*CPU
	free chan *CPU

	procMu   sync.Mutex
	procs    map[int32]*Proc
	nextPid  int32
	nextLid  atomic.Int32
	proc0    *Proc
	lwp0     *LWP
	initproc *Proc
	newState func(p *Proc) ProcState

	ran [numClasses]int

	evMu       sync.Mutex
	evcnts     []*EvCnt
	msgbuf     msgbuf
	sysctlM    sync.Mutex
	sysctlRoot *SysctlNode
	kauth      kauth
	mods       modules

	hookMu   sync.Mutex
	finis    []func(l *LWP) error
	shutdown []func(howto int)

	subMu sync.Mutex
	subs  map[string]any

	BootTime time.Time
}

// New makes an unbooted kernel from cfg. Most callers want Boot.
func New(cfg Config) *Kernel {
	return &Kernel{cfg: cfg}
}

// Boot makes and boots a kernel.
func Boot(cfg Config) (*Kernel, error) {
	k := New(cfg)
	if err := k.Boot(); err != nil {
		return nil, err
	}
	return k, nil
}

// Boot boots k. A second call is a no-op, as rump_init is.
func (k *Kernel) Boot() error {
	k.bootMu.Lock()
	defer k.bootMu.Unlock()
	if k.booted {
		return nil
	}
	cfg, warns := k.cfg.resolve()
	k.cfg = cfg
	k.howto.Store(int32(cfg.Howto))
	k.BootTime = time.Now()
	k.msgbuf.init(msgbufSize)
	k.subs = map[string]any{}
	k.procs = map[int32]*Proc{}
	k.Printf("%s booting, %d virtual CPUs", Banner(), cfg.NCPU)
	for _, w := range warns {
		k.Warnf("boot: %s", w)
	}

	k.initCPUs(cfg.NCPU)
	k.proc0 = k.newProc(nil, RootCred, "swapper")
	k.lwp0 = k.newLWP(k.proc0)
	k.initKauth()
	k.initSysctl()
	k.initModuleSysctl()

	componentsMu.Lock()
	comps := append([]Component(nil), components...)
	componentsMu.Unlock()
	sort.SliceStable(comps, func(i, j int) bool { return comps[i].Class < comps[j].Class })

	run := func(cl Class) error {
		for _, c := range comps {
			if c.Class != cl {
				continue
			}
			if err := c.Init(k); err != nil {
				return fmt.Errorf("boot: component %s (%s): %w", c.Name, cl, err)
			}
			k.ran[cl]++
		}
		return nil
	}
	for cl := ClassKern; cl <= ClassKernVFS; cl++ {
		if err := run(cl); err != nil {
			return err
		}
		if cl == ClassKern {
			// Before the VFS: the root file system is a module too.
			k.initModules()
		}
	}
	// initproc: pid 1, as rump's "rumplocal". Boot fails without it.
	k.procMu.Lock()
	k.nextPid = 0
	k.procMu.Unlock()
	k.initproc = k.newProc(k.proc0, RootCred, "rumplocal")
	if k.newState != nil {
		k.initproc.State = k.newState(k.initproc)
	}
	if k.initproc.Pid() != 1 {
		return fmt.Errorf("boot: initproc got pid %d", k.initproc.Pid())
	}
	for cl := ClassPostInit; cl <= ClassSysCall; cl++ {
		if err := run(cl); err != nil {
			return err
		}
	}
	k.booted = true
	return nil
}

// Config returns the resolved configuration.
func (k *Kernel) Config() Config { return k.cfg }

// ComponentCounts reports how many components of each class ran at boot,
// keyed by class name.
func (k *Kernel) ComponentCounts() map[string]int {
	m := make(map[string]int, numClasses)
	for c := Class(0); c < numClasses; c++ {
		m[c.String()] = k.ran[c]
	}
	return m
}

// ComponentsRan reports how many components of class c ran at boot.
func (k *Kernel) ComponentsRan(c Class) int {
	if c < 0 || c >= numClasses {
		return 0
	}
	return k.ran[c]
}

// Halted reports whether the kernel has been rebooted.
func (k *Kernel) Halted() bool { return k.halted.Load() }

// Proc0 returns the kernel's own process; LWP0 its first LWP.
func (k *Kernel) Proc0() *Proc { return k.proc0 }

// LWP0 returns lwp0, used for work the kernel does on its own behalf.
func (k *Kernel) LWP0() *LWP { return k.lwp0 }

// InitProc returns initproc (pid 1).
func (k *Kernel) InitProc() *Proc { return k.initproc }

// SetSubsystem attaches per-kernel state of a layer above (the VFS, etfs)
// under name; Subsystem returns it.
func (k *Kernel) SetSubsystem(name string, v any) {
	k.subMu.Lock()
	k.subs[name] = v
	k.subMu.Unlock()
}

// Subsystem returns the state attached under name, or nil.
func (k *Kernel) Subsystem(name string) any {
	k.subMu.Lock()
	defer k.subMu.Unlock()
	return k.subs[name]
}

// RegisterFini adds a hook run by Reboot unless RB_NOSYNC or RB_DUMP is
// given, in registration order. The VFS uses it to sync and unmount
// everything.
func (k *Kernel) RegisterFini(fn func(l *LWP) error) {
	k.hookMu.Lock()
	k.finis = append(k.finis, fn)
	k.hookMu.Unlock()
}

// RegisterShutdown adds a hook run by every Reboot except RB_DUMP, after
// the fini hooks, whatever the flags.
func (k *Kernel) RegisterShutdown(fn func(howto int)) {
	k.hookMu.Lock()
	k.shutdown = append(k.shutdown, fn)
	k.hookMu.Unlock()
}

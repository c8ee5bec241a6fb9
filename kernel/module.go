package kernel

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ModClass is a module's class (modclass_t), NetBSD's values.
type ModClass int

// Module classes.
const (
	ModClassAny ModClass = iota
	ModClassMisc
	ModClassVFS
	ModClassDriver
	ModClassExec
	ModClassSecmodel
	ModClassBufq
	numModClasses
)

var modClassNames = [numModClasses]string{"any", "misc", "vfs", "driver", "exec", "secmodel", "bufq"}

func (c ModClass) String() string { return enumName(modClassNames[:], int(c), "class") }

// modBootOrder is the order builtin modules are initialised in at boot,
// as NetBSD's main() initialises them: security models first, then file
// systems, drivers, and the rest.
var modBootOrder = []ModClass{ModClassSecmodel, ModClassVFS, ModClassDriver, ModClassMisc, ModClassExec, ModClassBufq, ModClassAny}

// ModuleInfo describes a module (struct modinfo): its name, class, the
// modules it requires, and what loading and unloading it do in a kernel.
type ModuleInfo struct {
	Name     string
	Class    ModClass
	Requires []string
	// Init runs when the module is loaded into k; nil does nothing. It
	// must not load or unload modules.
	Init func(k *Kernel) error
	// Fini runs when it is unloaded; an error keeps it loaded. The kernel
	// refuses the unload itself (EBUSY) while the module is held
	// (ModuleHold) or a loaded module requires it.
	Fini func(k *Kernel) error
}

var (
	builtinMu sync.Mutex
	builtins  []*ModuleInfo
	// builtinGen counts registrations, so a kernel notices modules linked
	// in (registered) after it booted.
	builtinGen atomic.Int64
)

// RegisterModule links a module into every kernel (MODULE() and the link
// set): kernels booted later initialise it at boot, kernels already
// running find it when asked for it. Drivers call it from init; two
// modules of one name are a build mistake and panic.
func RegisterModule(mi *ModuleInfo) {
	builtinMu.Lock()
	defer builtinMu.Unlock()
	for _, o := range builtins {
		if o.Name == mi.Name {
			if o == mi {
				return
			}
			panic("kernel: two modules named " + mi.Name)
		}
	}
	builtins = append(builtins, mi)
	builtinGen.Add(1)
}

type module struct {
	info    *ModuleInfo
	builtin bool
	loaded  bool
	refs    int
}

type modules struct {
	mu    sync.Mutex
	tab   map[string]*module
	order []string // names in the order they were added
	gen   int64    // builtinGen last seen
	// autoload is kern.module.autoload: a missing file system module is
	// loaded when a mount asks for it.
	autoload atomic.Bool
}

// adoptBuiltinsLocked adds builtin modules this kernel has not seen.
func (k *Kernel) adoptBuiltinsLocked() {
	g := builtinGen.Load()
	if g == k.mods.gen {
		return
	}
	builtinMu.Lock()
	list := slices.Clone(builtins)
	builtinMu.Unlock()
	k.mods.gen = g
	for _, mi := range list {
		if _, ok := k.mods.tab[mi.Name]; !ok {
			k.mods.tab[mi.Name] = &module{info: mi, builtin: true}
			k.mods.order = append(k.mods.order, mi.Name)
		}
	}
}

// initModules loads every builtin module, class by class in
// modBootOrder. A module that fails is a warning, as in NetBSD: the
// kernel boots without it.
func (k *Kernel) initModules() {
	k.mods.tab = map[string]*module{}
	k.mods.autoload.Store(true)
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	k.adoptBuiltinsLocked()
	names := slices.Clone(k.mods.order)
	sort.Strings(names)
	for _, c := range modBootOrder {
		for _, n := range names {
			m := k.mods.tab[n]
			if m.info.Class != c || m.loaded {
				continue
			}
			if err := k.loadLocked(n, 0); err != nil {
				k.Warnf("module %s: %v", n, err)
			}
		}
	}
}

// maxModDepth bounds a chain of requirements (NetBSD's MODULE_MAX_DEPTH):
// deeper is a cycle.
const maxModDepth = 6

func (k *Kernel) loadLocked(name string, depth int) error {
	if depth > maxModDepth {
		return fmt.Errorf("requirements of %s too deep (a cycle?): %w", name, unix.EMLINK)
	}
	k.adoptBuiltinsLocked()
	m := k.mods.tab[name]
	if m == nil {
		return fmt.Errorf("no module %s: %w", name, unix.ENOENT)
	}
	if m.loaded {
		return nil
	}
	for _, r := range m.info.Requires {
		if err := k.loadLocked(r, depth+1); err != nil {
			return fmt.Errorf("%s requires %s: %w", name, r, err)
		}
	}
	if m.info.Init != nil {
		if err := m.info.Init(k); err != nil {
			return err
		}
	}
	m.loaded = true
	k.Printf("module %s (%s) loaded", name, m.info.Class)
	return nil
}

// ModuleLoad loads a module and those it requires, as l (modload):
// EEXIST when it is loaded already, ENOENT when there is no such module
// (or a requirement is missing), EPERM unless kauth allows.
func (k *Kernel) ModuleLoad(l *LWP, name string) error {
	if e := k.Authorize(l.Cred(), ActionModule, name); e != 0 {
		return e
	}
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	k.adoptBuiltinsLocked()
	if m := k.mods.tab[name]; m != nil && m.loaded {
		return unix.EEXIST
	}
	return k.loadLocked(name, 0)
}

// ModuleUnload unloads a module as l (modunload): ENOENT when it is not
// loaded, EBUSY while it is held (something is mounted from it) or a
// loaded module requires it, EPERM unless kauth allows. It can be loaded
// again afterwards.
func (k *Kernel) ModuleUnload(l *LWP, name string) error {
	if e := k.Authorize(l.Cred(), ActionModule, name); e != 0 {
		return e
	}
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	return k.unloadLocked(name)
}

func (k *Kernel) unloadLocked(name string) error {
	m := k.mods.tab[name]
	if m == nil || !m.loaded {
		return unix.ENOENT
	}
	if m.refs > 0 {
		return unix.EBUSY
	}
	for _, o := range k.mods.tab {
		if o.loaded && slices.Contains(o.info.Requires, name) {
			return unix.EBUSY
		}
	}
	if m.info.Fini != nil {
		if err := m.info.Fini(k); err != nil {
			return err
		}
	}
	m.loaded = false
	k.Printf("module %s unloaded", name)
	return nil
}

// ModuleInit adds a module that is not linked in and loads it, as l
// (rump_module_init): EEXIST when a module of that name exists.
func (k *Kernel) ModuleInit(l *LWP, mi *ModuleInfo) error {
	if e := k.Authorize(l.Cred(), ActionModule, mi.Name); e != 0 {
		return e
	}
	if mi.Name == "" {
		return unix.EINVAL
	}
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	k.adoptBuiltinsLocked()
	if _, ok := k.mods.tab[mi.Name]; ok {
		return unix.EEXIST
	}
	k.mods.tab[mi.Name] = &module{info: mi}
	k.mods.order = append(k.mods.order, mi.Name)
	if err := k.loadLocked(mi.Name, 0); err != nil {
		delete(k.mods.tab, mi.Name)
		k.mods.order = k.mods.order[:len(k.mods.order)-1]
		return err
	}
	return nil
}

// ModuleFini unloads a module added by ModuleInit and forgets it, as l
// (rump_module_fini); a builtin one is only unloaded.
func (k *Kernel) ModuleFini(l *LWP, name string) error {
	if err := k.ModuleUnload(l, name); err != nil {
		return err
	}
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	if m := k.mods.tab[name]; m != nil && !m.builtin && !m.loaded {
		delete(k.mods.tab, name)
		k.mods.order = slices.DeleteFunc(k.mods.order, func(n string) bool { return n == name })
	}
	return nil
}

// ModuleHold takes a reference on a loaded module, so that it cannot be
// unloaded while something uses it (a mount holds its file system's).
// With autoload a module of class class that is not loaded is loaded
// first (module_autoload). ENOENT when it is neither loaded nor loadable.
func (k *Kernel) ModuleHold(name string, class ModClass) unix.Errno {
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	k.adoptBuiltinsLocked()
	m := k.mods.tab[name]
	if m == nil {
		return unix.ENOENT
	}
	if !m.loaded {
		if !k.mods.autoload.Load() || m.info.Class != class {
			return unix.ENOENT
		}
		if err := k.loadLocked(name, 0); err != nil {
			k.Warnf("module %s: autoload: %v", name, err)
			return unix.ENOENT
		}
	}
	m.refs++
	return 0
}

// ModuleRele drops a reference ModuleHold took.
func (k *Kernel) ModuleRele(name string) {
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	if m := k.mods.tab[name]; m != nil && m.refs > 0 {
		m.refs--
	}
}

// ModStat is one module as modstat lists it.
type ModStat struct {
	Name     string   `json:"name"`
	Class    ModClass `json:"class"`
	Requires []string `json:"requires,omitempty"`
	Source   string   `json:"source"` // "builtin" or "added" (ModuleInit)
	Loaded   bool     `json:"loaded"`
	Refs     int      `json:"refs"`
}

// Modstat lists every module the kernel knows, loaded or not, by name.
func (k *Kernel) Modstat() []ModStat {
	k.mods.mu.Lock()
	defer k.mods.mu.Unlock()
	k.adoptBuiltinsLocked()
	out := make([]ModStat, 0, len(k.mods.tab))
	for _, m := range k.mods.tab {
		src := "added"
		if m.builtin {
			src = "builtin"
		}
		out = append(out, ModStat{Name: m.info.Name, Class: m.info.Class, Requires: slices.Clone(m.info.Requires),
			Source: src, Loaded: m.loaded, Refs: m.refs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (k *Kernel) initModuleSysctl() {
	k.SysctlCreate("kern.module.autoload", SysctlNode{Type: CTLTYPE_BOOL, ReadWrite: true,
		Desc: "Enable automatic load of modules",
		Get:  func() any { return k.mods.autoload.Load() },
		Set:  func(v any) unix.Errno { k.mods.autoload.Store(v.(bool)); return 0 }})
}

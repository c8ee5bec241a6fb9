package kernel

import (
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// Scope is a kauth scope: a family of actions with its own listeners.
type Scope string

// Scopes, NetBSD's names.
const (
	ScopeGeneric Scope = "org.netbsd.kauth.generic"
	ScopeSystem  Scope = "org.netbsd.kauth.system"
	ScopeProcess Scope = "org.netbsd.kauth.process"
	ScopeNetwork Scope = "org.netbsd.kauth.network"
	ScopeMachdep Scope = "org.netbsd.kauth.machdep"
	ScopeDevice  Scope = "org.netbsd.kauth.device"
	ScopeCred    Scope = "org.netbsd.kauth.cred"
	ScopeVnode   Scope = "org.netbsd.kauth.vnode"
)

// Scopes lists the scopes every kernel has.
var Scopes = []Scope{ScopeGeneric, ScopeSystem, ScopeProcess, ScopeNetwork, ScopeMachdep, ScopeDevice, ScopeCred, ScopeVnode}

// Result is a listener's answer (KAUTH_RESULT_*).
type Result int

// Listener answers.
const (
	Allow Result = iota // allow, unless another listener denies
	Deny                // deny, whatever the others say
	Defer               // let the others decide
)

// Action is something kauth is asked to allow. Each belongs to a scope.
type Action int

// Actions.
const (
	ActionReboot      Action = iota + 1 // system: halt the kernel
	ActionMount                         // system: mount; args: what the VFS passes
	ActionUnmount                       // system: unmount; args: what the VFS passes
	ActionSysctlWrite                   // system: write a sysctl node; args: its name
	ActionMknod                         // system: make device nodes
	ActionModule                        // system: load or unload a module; args: its name
	ActionChown                         // vnode: give a file away
	ActionSetGid                        // vnode: keep setgid on a file whose group we are not in
	ActionChflags                       // vnode: change system flags
	ActionIsSuser                       // generic: is the caller the superuser
)

var actionInfo = map[Action]struct {
	name  string
	scope Scope
}{
	ActionReboot: {"reboot", ScopeSystem}, ActionMount: {"mount", ScopeSystem},
	ActionUnmount: {"unmount", ScopeSystem}, ActionSysctlWrite: {"sysctl-write", ScopeSystem},
	ActionMknod: {"mknod", ScopeSystem}, ActionModule: {"module", ScopeSystem},
	ActionChown: {"chown", ScopeVnode}, ActionSetGid: {"setgid", ScopeVnode},
	ActionChflags: {"chflags", ScopeVnode}, ActionIsSuser: {"issuser", ScopeGeneric},
}

func (a Action) String() string {
	if i, ok := actionInfo[a]; ok {
		return i.name
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Scope returns the scope the action is asked in.
func (a Action) Scope() Scope {
	if i, ok := actionInfo[a]; ok {
		return i.scope
	}
	return ScopeGeneric
}

// Listener is a policy on a scope (kauth_listen_scope's callback): it
// sees the caller's credentials, the action and the action's arguments.
type Listener func(c *Cred, a Action, args []any) Result

type listener struct {
	name string
	fn   Listener
}

type kauth struct {
	mu     sync.RWMutex
	scopes map[Scope][]*listener
}

// initKauth makes the scopes and installs the suser secmodel, which allows
// everything to uid 0 and leaves everyone else to other listeners.
func (k *Kernel) initKauth() {
	k.kauth.scopes = map[Scope][]*listener{}
	for _, s := range Scopes {
		k.kauth.scopes[s] = nil
		k.ListenScope(s, "suser", secmodelSuser)
	}
}

func secmodelSuser(c *Cred, a Action, args []any) Result {
	if c.IsRoot() {
		return Allow
	}
	return Defer
}

// ListenScope adds a listener to a scope, new scopes included
// (kauth_listen_scope); name identifies it in KauthListeners. The returned
// function removes it (kauth_unlisten_scope).
func (k *Kernel) ListenScope(s Scope, name string, fn Listener) (unlisten func()) {
	ln := &listener{name: name, fn: fn}
	k.kauth.mu.Lock()
	k.kauth.scopes[s] = append(k.kauth.scopes[s], ln)
	k.kauth.mu.Unlock()
	return func() {
		k.kauth.mu.Lock()
		defer k.kauth.mu.Unlock()
		// A new slice: Authorize may be walking the old one.
		k.kauth.scopes[s] = slices.DeleteFunc(slices.Clone(k.kauth.scopes[s]), func(o *listener) bool { return o == ln })
	}
}

// KauthListeners names the listeners of a scope, in the order they are
// asked.
func (k *Kernel) KauthListeners(s Scope) []string {
	k.kauth.mu.RLock()
	defer k.kauth.mu.RUnlock()
	var out []string
	for _, ln := range k.kauth.scopes[s] {
		out = append(out, ln.name)
	}
	return out
}

// Authorize asks every listener of a's scope about c doing a
// (kauth_authorize_action): any Deny is EPERM, otherwise any Allow is
// allowed, otherwise (everyone deferred) EPERM.
func (k *Kernel) Authorize(c *Cred, a Action, args ...any) unix.Errno {
	if c == nil {
		c = RootCred
	}
	k.kauth.mu.RLock()
	ls := k.kauth.scopes[a.Scope()]
	k.kauth.mu.RUnlock()
	allow := false
	for _, ln := range ls {
		switch ln.fn(c, a, args) {
		case Deny:
			return unix.EPERM
		case Allow:
			allow = true
		}
	}
	if allow {
		return 0
	}
	return unix.EPERM
}

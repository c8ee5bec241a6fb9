package kernel

import (
	"runtime"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"
)

// SysctlNode is a leaf of the sysctl tree. Get returns the value as text;
// Set, when non-nil, makes the node writable.
type SysctlNode struct {
	Get func() string
	Set func(v string) unix.Errno
}

// Version strings reported by kern.ostype and kern.osrelease.
const (
	OSType    = "NetBSD"
	OSRelease = "10.1"
)

func (k *Kernel) initSysctl() {
	host := k.cfg.Hostname
	var hostMu = &k.sysctlM
	k.SysctlRegister("kern.hostname", &SysctlNode{
		Get: func() string { hostMu.Lock(); defer hostMu.Unlock(); return host },
		Set: func(v string) unix.Errno {
			if len(v) > 255 {
				return unix.EINVAL
			}
			hostMu.Lock()
			host = v
			hostMu.Unlock()
			return 0
		},
	})
	k.SysctlRegister("kern.ostype", &SysctlNode{Get: func() string { return OSType }})
	k.SysctlRegister("kern.osrelease", &SysctlNode{Get: func() string { return OSRelease }})
	k.SysctlRegister("hw.ncpu", &SysctlNode{Get: func() string { return strconv.Itoa(k.NCPU()) }})
	k.SysctlRegister("hw.machine", &SysctlNode{Get: func() string { return runtime.GOARCH }})
}

// SysctlRegister adds a node; drivers add theirs under vfs.<name>.
func (k *Kernel) SysctlRegister(name string, n *SysctlNode) {
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	k.sysctl[name] = n
}

func (k *Kernel) sysctlNode(name string) *SysctlNode {
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	return k.sysctl[name]
}

// SysctlGet reads a node: ENOENT when there is none.
func (k *Kernel) SysctlGet(name string) (string, unix.Errno) {
	n := k.sysctlNode(name)
	if n == nil {
		return "", unix.ENOENT
	}
	return n.Get(), 0
}

// SysctlSet writes a node as l: ENOENT when there is none, EPERM when it is
// read-only or l is not privileged.
func (k *Kernel) SysctlSet(l *LWP, name, value string) unix.Errno {
	n := k.sysctlNode(name)
	if n == nil {
		return unix.ENOENT
	}
	if n.Set == nil {
		return unix.EPERM
	}
	if e := Authorize(l.Cred(), ActionSysctlWrite); e != 0 {
		return e
	}
	return n.Set(value)
}

// SysctlNames lists every node, sorted.
func (k *Kernel) SysctlNames() []string {
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	out := make([]string, 0, len(k.sysctl))
	for n := range k.sysctl {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

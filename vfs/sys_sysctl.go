package vfs

import (
	"strconv"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Sysctl reads the sysctl node name (dotted names or numbers) and, when
// newval is not nil, writes it as l, returning the old value: sysctl(2)
// as a kernel entry. See kernel.Kernel.Sysctl for the errors.
func Sysctl(l *kernel.LWP, name string, newval any) (old any, e unix.Errno) {
	e = Run(l, func() unix.Errno {
		old, e = l.Kernel().Sysctl(l, name, newval)
		return e
	})
	return old, e
}

// SysctlText is Sysctl with values as sysctl(8) prints and parses them:
// an empty newval only reads.
func SysctlText(l *kernel.LWP, name, newval string) (old string, e unix.Errno) {
	e = Run(l, func() unix.Errno {
		k := l.Kernel()
		if old, e = k.SysctlGet(name); e != 0 || newval == "" {
			return e
		}
		return k.SysctlSet(l, name, newval)
	})
	return old, e
}

// MountStats is a mount's sysctl node, vfs.mount.<id>.
type MountStats struct {
	ID       uint64
	FSType   string
	From, On string
	Flags    int
	Vnodes   int // vnodes of the mount in the vnode cache
}

// registerSysctl adds the VFS's nodes at boot: the buffer cache's size and
// counts, the vnode bound and the usermount knob.
func (v *VFS) registerSysctl() {
	k := v.k
	bc := v.Bufcache
	for _, n := range []struct {
		path string
		node kernel.SysctlNode
	}{
		{"kern.maxvnodes", kernel.SysctlNode{Num: 5, Type: kernel.CTLTYPE_INT, Desc: "Maximum number of vnodes",
			Get: func() any { return int64(k.Config().MaxVnodes) }}},
		{"vfs.bio.maxbytes", kernel.SysctlInt("Buffer cache bound in bytes", func() int64 { return bc.MaxBytes() })},
		{"vfs.bio.bytes", kernel.SysctlInt("Bytes in the buffer cache", func() int64 { return bc.Stats().Bytes })},
		{"vfs.bio.hits", kernel.SysctlInt("Buffer cache hits", func() int64 { return int64(bc.Stats().Hits) })},
		{"vfs.bio.misses", kernel.SysctlInt("Buffer cache misses", func() int64 { return int64(bc.Stats().Misses) })},
		{"vfs.bio.stats", kernel.SysctlStruct("Buffer cache statistics", func() any { return bc.Stats() })},
		{"vfs.generic.usermount", kernel.SysctlNode{Type: kernel.CTLTYPE_INT, ReadWrite: true,
			Desc: "Whether unprivileged users may mount filesystems",
			Get:  func() any { return int64(v.usermount.Load()) },
			Set: func(x any) unix.Errno {
				n := x.(int64)
				if n != 0 && n != 1 {
					return unix.EINVAL
				}
				v.usermount.Store(int32(n))
				return 0
			}}},
	} {
		if _, e := k.SysctlCreate(n.path, n.node); e != 0 {
			k.Warnf("sysctl %s: %v", n.path, e)
		}
	}
}

// mountSysctlName is mp's node: named mount<id> and numbered <id>, so
// vfs.mount.<id> finds it too.
func mountSysctlName(mp *Mount) string { return "vfs.mount.mount" + strconv.FormatUint(mp.id, 10) }

// addMountSysctl publishes mp's statistics while it is mounted.
func (v *VFS) addMountSysctl(mp *Mount) {
	n := kernel.SysctlStruct("Statistics of the mount on "+mp.On, func() any {
		return MountStats{ID: mp.id, FSType: mp.Type.Name, From: mp.From, On: mp.On, Flags: mp.Flags(), Vnodes: mp.cache.count()}
	})
	n.Num = int32(mp.id)
	if _, e := v.k.SysctlCreate(mountSysctlName(mp), n); e != 0 {
		v.k.Warnf("sysctl %s: %v", mountSysctlName(mp), e)
	}
}

// count returns the number of vnodes in a mount's part of the cache.
func (mc *mountCache) count() int {
	n := 0
	for i := range mc {
		s := &mc[i]
		s.mu.Lock()
		for _, lf := range s.leaves {
			n += lf.n
		}
		s.mu.Unlock()
	}
	return n
}

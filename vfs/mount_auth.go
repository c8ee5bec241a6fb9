package vfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// MountAuth is the argument kauth listeners get with ActionMount and
// ActionUnmount: what is mounted where, or which mount goes.
type MountAuth struct {
	Type *FSType
	// Covered is the directory mounted on (nil for the root) and
	// CoveredUID its owner; Mount is the mount being unmounted.
	Covered    *Vnode
	CoveredUID uint32
	Mount      *Mount
	Flags      int // MNT_* flags asked for
}

// authorizeMount asks kauth whether l may mount typ on covered.
func (v *VFS) authorizeMount(l *kernel.LWP, typ *FSType, covered *Vnode, flags int) unix.Errno {
	ma := &MountAuth{Type: typ, Covered: covered, Flags: flags}
	if covered != nil && !l.Cred().IsRoot() {
		var va Vattr
		if e := VOPGetattr(l, covered, &va); e != 0 {
			return e
		}
		ma.CoveredUID = va.Uid
	}
	return v.k.Authorize(l.Cred(), kernel.ActionMount, ma)
}

// usermountPolicy is the kauth listener behind vfs.generic.usermount (as
// NetBSD's secmodel extensions): when it is 1, a user may mount on a
// directory they own and unmount what they mounted. Updating a mount
// stays root's. Otherwise it defers.
func (v *VFS) usermountPolicy(c *kernel.Cred, a kernel.Action, args []any) kernel.Result {
	if v.usermount.Load() == 0 || len(args) != 1 {
		return kernel.Defer
	}
	ma, ok := args[0].(*MountAuth)
	if !ok {
		return kernel.Defer
	}
	switch {
	case a == kernel.ActionMount && ma.Covered != nil && ma.Flags&MNT_UPDATE == 0 && ma.CoveredUID == c.Uid():
		return kernel.Allow
	case a == kernel.ActionUnmount && ma.Mount != nil && ma.Mount.owner == c.Uid():
		return kernel.Allow
	}
	return kernel.Defer
}

// mountDeviceAccess checks that a caller other than root may open the
// device it mounts: for reading, and for writing unless read-only.
func mountDeviceAccess(l *kernel.LWP, dev *Vnode, flags int) unix.Errno {
	if l.Cred().IsRoot() {
		return 0
	}
	acc := uint32(kernel.VREAD)
	if flags&MNT_RDONLY == 0 {
		acc |= kernel.VWRITE
	}
	return VOPAccess(l, dev, acc)
}

package vfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// POSIX ACLs in the shared VOP layer, as Linux's VFS handles them: the
// attribute names system.posix_acl_access and system.posix_acl_default
// never reach a driver's extended attribute operations; the VOP* functions
// validate, check permission, keep the mode in step (setting an access
// ACL, chmod, create under a default ACL) and hand drivers a parsed ACL
// through Getacl and Setacl, to store in their own format. The access
// ACL is cached on the vnode for the permission check.

// ACLType says which of a file's two ACLs (ACL_TYPE_ACCESS, ACL_TYPE_DEFAULT).
type ACLType uint8

// ACL types.
const (
	ACLAccess ACLType = iota
	ACLDefault
)

// Xattr is the attribute name that carries the ACL.
func (t ACLType) Xattr() string {
	if t == ACLDefault {
		return kernel.ACLDefaultXattr
	}
	return kernel.ACLAccessXattr
}

// aclType maps an attribute name to the ACL it names.
func aclType(name string) (ACLType, bool) {
	switch name {
	case kernel.ACLAccessXattr:
		return ACLAccess, true
	case kernel.ACLDefaultXattr:
		return ACLDefault, true
	}
	return 0, false
}

// noACL is the cached answer "this vnode has no access ACL".
var noACL = new(kernel.ACL)

// accessACL returns vp's access ACL (nil for none), from the vnode's cache
// or the driver. The caller holds vp's lock, shared or exclusive; the
// cache changes only under the exclusive lock (aclChanged).
func accessACL(l *kernel.LWP, vp *Vnode) (kernel.ACL, unix.Errno) {
	if p := vp.acl.Load(); p != nil {
		return *p, 0
	}
	a, e := vp.Ops().Getacl(l, vp, ACLAccess)
	switch e {
	case 0:
	case unix.ENOTSUP:
		a = nil
	default:
		return nil, e // not cached: it may be transient
	}
	if a == nil {
		vp.acl.Store(noACL)
	} else {
		vp.acl.Store(&a)
	}
	return a, 0
}

// aclChanged forgets vp's cached access ACL; the caller holds vp
// exclusively.
func aclChanged(vp *Vnode) { vp.acl.Store(nil) }

// GenericGetacl serves Getacl from the driver's Getextattr in the xattr
// form, for drivers (ext2fs) that present stored ACLs under the Linux
// names. A stored ACL that does not parse is EIO.
func GenericGetacl(l *kernel.LWP, vp *Vnode, t ACLType) (kernel.ACL, unix.Errno) {
	ops := vp.Ops()
	n, e := ops.Getextattr(l, vp, t.Xattr(), nil)
	if e == unix.ENODATA {
		return nil, 0
	}
	if e != 0 {
		return nil, e
	}
	buf := make([]byte, n)
	u := kernel.UioSetup(buf, 0, kernel.UioRead)
	n, e = ops.Getextattr(l, vp, t.Xattr(), u)
	kernel.UioFree(u)
	if e != 0 {
		return nil, e
	}
	a, e := kernel.ParseACLXattr(buf[:n])
	if e != 0 {
		l.Kernel().Printf("vfs: inode %d: stored %s does not parse (%v)", vp.Ino, t.Xattr(), e)
		return nil, unix.EIO
	}
	return a, 0
}

// getACLXattr is getxattr of an ACL name: the xattr form, ENODATA when
// there is none.
func getACLXattr(l *kernel.LWP, vp *Vnode, t ACLType, uio *kernel.Uio) (int, unix.Errno) {
	// From the driver, not the cache: ENOTSUP must come through.
	a, e := vp.Ops().Getacl(l, vp, t)
	if e != 0 {
		return 0, e
	}
	if a == nil {
		return 0, unix.ENODATA
	}
	b := a.Xattr()
	if uio != nil {
		if uio.Resid < len(b) {
			return len(b), unix.ERANGE
		}
		if _, e := kernel.Uiomove(b, uio); e != 0 {
			return 0, e
		}
	}
	return len(b), 0
}

// setACL is setxattr (value) or removexattr (nil value) of an ACL name,
// with vp locked exclusively: EINVAL/EOPNOTSUPP for a malformed value,
// EPERM unless the caller owns the file or is root, EACCES for a default
// ACL on a non-directory. An access ACL sets the mode's permission bits
// (and drops setgid for a caller outside the group, as chmod does) and
// is stored only when the mode cannot say it alone (posix_acl_update_mode).
func setACL(l *kernel.LWP, vp *Vnode, t ACLType, value []byte) unix.Errno {
	if vp.Mount != nil && vp.Mount.ReadOnly() {
		return unix.EROFS
	}
	var a kernel.ACL
	if len(value) > 0 {
		var e unix.Errno
		if a, e = kernel.ParseACLXattr(value); e != 0 {
			return e
		}
	}
	ops := vp.Ops()
	var cur Vattr
	if e := ops.Getattr(l, vp, &cur); e != 0 {
		return e
	}
	if vp.Type == VLNK {
		return unix.EOPNOTSUPP // Linux has no ACLs on symbolic links
	}
	if t == ACLDefault && vp.Type != VDIR {
		if a != nil {
			return unix.EACCES
		}
		return 0
	}
	c := l.Cred()
	if !c.IsRoot() && c.Uid() != cur.Uid {
		return unix.EPERM
	}
	if t == ACLDefault {
		return ops.Setacl(l, vp, t, a)
	}
	defer aclChanged(vp)
	if a == nil {
		return ops.Setacl(l, vp, t, nil)
	}
	mode, equiv := a.EquivMode(cur.Mode)
	if !c.IsRoot() && !c.IsMember(cur.Gid) {
		mode &^= 0o2000
	}
	if equiv {
		a = nil
	}
	if e := ops.Setacl(l, vp, t, a); e != 0 {
		return e
	}
	if mode == cur.Mode {
		return 0
	}
	return ops.Setattr(l, vp, &Vattr{Valid: AttrMode, Mode: mode})
}

// chmodACL rewrites vp's access ACL after its mode became mode
// (posix_acl_chmod); vp is locked exclusively.
func chmodACL(l *kernel.LWP, vp *Vnode, mode uint32) unix.Errno {
	a, e := accessACL(l, vp)
	aclChanged(vp)
	if e != 0 || a == nil {
		return e
	}
	return vp.Ops().Setacl(l, vp, ACLAccess, a.Chmod(mode))
}

// inheritACL prepares the creation of a file in dvp (locked exclusively):
// with a default ACL on dvp it sets va.Mode from it and returns the ACLs
// the new file takes (posix_acl_create); without one it applies the
// creator's umask.
func inheritACL(l *kernel.LWP, dvp *Vnode, va *Vattr) (acc, def kernel.ACL, e unix.Errno) {
	def, e = dvp.Ops().Getacl(l, dvp, ACLDefault)
	if e == unix.ENOTSUP {
		def, e = nil, 0
	}
	if e != 0 {
		return nil, nil, e
	}
	if def == nil {
		va.Mode &^= va.Umask & 0o777
		return nil, nil, 0
	}
	va.Mode, acc = kernel.ACLCreate(def, va.Mode)
	if va.Type != VDIR {
		def = nil
	}
	return acc, def, 0
}

// storeInherited gives the new vnode vp the ACLs inheritACL chose. The
// file exists already: a failure leaves it with the mode alone, whose
// group bits are the mask, and a dmesg line.
func storeInherited(l *kernel.LWP, vp *Vnode, acc, def kernel.ACL) {
	if acc == nil && def == nil {
		return
	}
	vp.Lock(l, true)
	defer vp.Unlock(true)
	for _, s := range []struct {
		t ACLType
		a kernel.ACL
	}{{ACLAccess, acc}, {ACLDefault, def}} {
		if s.a == nil {
			continue
		}
		if e := vp.Ops().Setacl(l, vp, s.t, s.a); e != 0 {
			l.Kernel().Printf("vfs: inode %d: inherited %s not stored: %v", vp.Ino, s.t.Xattr(), e)
		}
	}
	aclChanged(vp)
}

// ACLSupported reports whether vp's file system can store POSIX ACLs (its
// Getacl does not answer ENOTSUP): a host bridge asks its host to
// enforce ACLs only then, so that a file system without them answers
// EOPNOTSUPP for every ACL name, as Linux's do. A kernel entry of its own.
func ACLSupported(l *kernel.LWP, vp *Vnode) bool {
	var e2 unix.Errno
	e := Run(l, func() unix.Errno {
		vp.Lock(l, false)
		defer vp.Unlock(false)
		_, e2 = vp.Ops().Getacl(l, vp, ACLAccess)
		return 0
	})
	return e == 0 && e2 != unix.ENOTSUP
}

package vfs

import (
	"slices"
	"strings"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Permission checks the VOP* functions make before calling a driver, so
// that every driver answers alike (NetBSD spreads these over ufs_lookup,
// genfs_rename and ufs_setattr). They run with the VOP's locks held and
// call the driver's Getattr directly.

// dirWriteCheck: adding or removing a name needs write and search on the
// directory, and a read-write mount.
func dirWriteCheck(l *kernel.LWP, dvp *Vnode) unix.Errno {
	if dvp.Mount.ReadOnly() {
		return unix.EROFS
	}
	if dvp.Type != VDIR {
		return unix.ENOTDIR
	}
	if l.Cred().IsRoot() {
		return 0
	}
	var va Vattr
	if e := dvp.Ops().Getattr(l, dvp, &va); e != 0 {
		return e
	}
	return AccessCheck(l, dvp, &va, kernel.VWRITE|kernel.VEXEC)
}

// newOwner decides the owner, group and setgid bit of a file about to be
// made in dvp, for every driver alike: va.Uid and va.Gid are set (and
// marked valid) and drivers use them. The group is the creator's (Linux)
// unless the directory is setgid or the mount keeps BSD's rule, and then
// it is the directory's; a new directory of a setgid directory is setgid
// too; a new setgid, group-executable file whose group the creator is not
// in loses setgid (Linux's inode_init_owner and mode_strip_sgid).
func newOwner(l *kernel.LWP, dvp *Vnode, va *Vattr) unix.Errno {
	var dva Vattr
	if e := dvp.Ops().Getattr(l, dvp, &dva); e != 0 {
		return e
	}
	c := l.Cred()
	va.Uid, va.Gid = c.Uid(), c.Gid()
	va.Valid |= AttrUid | AttrGid
	setgidDir := dva.Mode&0o2000 != 0
	if setgidDir || dvp.Mount.BSDGroups() {
		va.Gid = dva.Gid
	}
	if setgidDir && va.Type == VDIR {
		va.Mode |= 0o2000
	}
	if va.Type != VDIR && va.Mode&0o2010 == 0o2010 && !c.IsRoot() && !c.IsMember(va.Gid) {
		va.Mode &^= 0o2000
	}
	return 0
}

// stickyCheck: in a sticky directory only root and the owners of the
// directory or of the file may remove or rename the file.
func stickyCheck(l *kernel.LWP, dvp, vp *Vnode) unix.Errno {
	if l.Cred().IsRoot() {
		return 0
	}
	var dva, va Vattr
	if e := dvp.Ops().Getattr(l, dvp, &dva); e != 0 {
		return e
	}
	if dva.Mode&0o1000 == 0 {
		return 0
	}
	if e := vp.Ops().Getattr(l, vp, &va); e != 0 {
		return e
	}
	return kernel.StickyCheck(l.Cred(), dva.Mode, dva.Uid, va.Uid)
}

// renameCheck applies the POSIX rules of rename(2) with the namespace lock
// held: permissions, matching types, and no directory into its own
// subtree (EINVAL).
func renameCheck(l *kernel.LWP, fdvp, fvp, tdvp, tvp *Vnode) unix.Errno {
	if e := dirWriteCheck(l, fdvp); e != 0 {
		return e
	}
	if e := stickyCheck(l, fdvp, fvp); e != 0 {
		return e
	}
	if tdvp != fdvp {
		if e := dirWriteCheck(l, tdvp); e != 0 {
			return e
		}
	}
	if tvp != nil {
		if e := stickyCheck(l, tdvp, tvp); e != 0 {
			return e
		}
		if fvp.Type == VDIR && tvp.Type != VDIR {
			return unix.ENOTDIR
		}
		if fvp.Type != VDIR && tvp.Type == VDIR {
			return unix.EISDIR
		}
		if busy(tvp) {
			return unix.EBUSY
		}
	}
	if busy(fvp) {
		return unix.EBUSY
	}
	if fvp.Type != VDIR || fdvp == tdvp {
		return 0
	}
	// Moving a directory: its ".." changes, so it must be writable, and
	// tdvp must not be fvp or below it.
	if !l.Cred().IsRoot() {
		var va Vattr
		if e := fvp.Ops().Getattr(l, fvp, &va); e != 0 {
			return e
		}
		if e := AccessCheck(l, fvp, &va, kernel.VWRITE); e != 0 {
			return e
		}
	}
	return notAncestor(l, fvp, tdvp, fdvp, fvp, tdvp, tvp)
}

// exchangeCheck applies Linux's rules for RENAME_EXCHANGE with the
// namespace lock held: each name is removed from one directory and added
// to the other (write on both, the sticky rule for both entries), a
// directory that changes parent must be writable (its ".." changes), and
// neither may end up inside itself (EINVAL).
func exchangeCheck(l *kernel.LWP, fdvp, fvp, tdvp, tvp *Vnode) unix.Errno {
	if e := dirWriteCheck(l, fdvp); e != 0 {
		return e
	}
	if e := stickyCheck(l, fdvp, fvp); e != 0 {
		return e
	}
	if tdvp != fdvp {
		if e := dirWriteCheck(l, tdvp); e != 0 {
			return e
		}
	}
	if e := stickyCheck(l, tdvp, tvp); e != 0 {
		return e
	}
	if busy(fvp) || busy(tvp) {
		return unix.EBUSY
	}
	if fdvp == tdvp {
		return 0
	}
	for _, vp := range [2]*Vnode{fvp, tvp} {
		if vp.Type != VDIR || l.Cred().IsRoot() {
			continue
		}
		var va Vattr
		if e := vp.Ops().Getattr(l, vp, &va); e != 0 {
			return e
		}
		if e := AccessCheck(l, vp, &va, kernel.VWRITE); e != 0 {
			return e
		}
	}
	if fvp.Type == VDIR {
		if e := notAncestor(l, fvp, tdvp, fdvp, fvp, tdvp, tvp); e != 0 {
			return e
		}
	}
	if tvp.Type == VDIR {
		return notAncestor(l, tvp, fdvp, fdvp, fvp, tdvp, tvp)
	}
	return 0
}

// notAncestor walks ".." from dvp up to its mount's root and answers
// EINVAL if it meets dir. Each directory on the way is locked shared for
// its Lookup, as the rules say, unless it is one of held (the operation's
// own vnodes, locked already); the namespace lock held exclusively keeps
// the path from changing meanwhile.
func notAncestor(l *kernel.LWP, dir, dvp *Vnode, held ...*Vnode) unix.Errno {
	cur := dvp
	Vref(cur)
	defer func() { Vrele(l, cur) }()
	for depth := 0; depth < 1<<16; depth++ {
		if cur == dir {
			return unix.EINVAL
		}
		if cur.Root {
			return 0
		}
		cn := ComponentName{Op: LOOKUP, Name: "..", IsLast: true}
		lock := !slices.Contains(held, cur)
		if lock {
			cur.Lock(l, false)
		}
		up, e := cur.Ops().Lookup(l, cur, &cn)
		if lock {
			cur.Unlock(false)
		}
		if e != 0 {
			return e
		}
		if up == cur {
			Vrele(l, up)
			return 0
		}
		Vrele(l, cur)
		cur = up
	}
	return unix.ELOOP
}

// setattrCheck applies chmod/chown/utimes/truncate permission rules
// (ufs_setattr's), clearing setgid where a non-member sets it.
func setattrCheck(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno {
	if vp.Mount != nil && vp.Mount.ReadOnly() {
		return unix.EROFS
	}
	if va.Valid&AttrSize != 0 {
		switch vp.Type {
		case VDIR:
			return unix.EISDIR
		case VREG:
		default:
			va.Valid &^= AttrSize // ignored on devices and FIFOs
		}
		if va.Size < 0 {
			return unix.EINVAL
		}
	}
	c := l.Cred()
	if c.IsRoot() {
		return 0
	}
	var cur Vattr
	if e := vp.Ops().Getattr(l, vp, &cur); e != 0 {
		return e
	}
	owner := c.Uid() == cur.Uid
	if va.Valid&AttrSize != 0 && va.Valid&AttrOpenWrite == 0 {
		if e := AccessCheck(l, vp, &cur, kernel.VWRITE); e != 0 {
			return e
		}
	}
	if va.Valid&(AttrUid|AttrGid) != 0 {
		if va.Valid&AttrUid != 0 && va.Uid != cur.Uid {
			return unix.EPERM
		}
		if va.Valid&AttrGid != 0 && va.Gid != cur.Gid && (!owner || !c.IsMember(va.Gid)) {
			return unix.EPERM
		}
		if !owner {
			return unix.EPERM
		}
	}
	if va.Valid&(AttrMode|AttrFlags|AttrBirthtime) != 0 && !owner {
		return unix.EPERM
	}
	if va.Valid&AttrMode != 0 && vp.Type != VDIR && va.Mode&0o2000 != 0 && !c.IsMember(cur.Gid) {
		va.Mode &^= 0o2000
	}
	if va.Valid&(AttrAtime|AttrMtime) != 0 && !owner {
		if va.Valid&AttrTimesNow == 0 {
			return unix.EPERM
		}
		if e := AccessCheck(l, vp, &cur, kernel.VWRITE); e != 0 {
			return e
		}
	}
	// A size change by anyone but root drops setuid and setgid, as a
	// write does (Linux's do_truncate).
	if va.Valid&AttrSize != 0 && va.Valid&AttrMode == 0 {
		if m := killPrivMode(c, cur.Mode, cur.Gid); m != cur.Mode {
			va.Valid |= AttrMode
			va.Mode = m
		}
	}
	return 0
}

// killPrivMode is mode without the bits a write by an unprivileged caller
// c drops (Linux's setattr_should_drop_suidgid): setuid always; setgid
// when group execute makes it a real setgid, or else (a mandatory-locking
// mark) when c is not in the file's group gid.
func killPrivMode(c *kernel.Cred, mode, gid uint32) uint32 {
	mode &^= 0o4000
	if mode&0o2010 == 0o2010 || (mode&0o2000 != 0 && !c.IsMember(gid)) {
		mode &^= 0o2000
	}
	return mode
}

// killPriv drops setuid and setgid of a regular file after a write, with
// vp locked exclusively; it needs no ownership (a side effect of a write
// the caller was allowed to make).
func killPriv(l *kernel.LWP, vp *Vnode) unix.Errno {
	if vp.Type != VREG || (vp.Mount != nil && vp.Mount.ReadOnly()) {
		return 0
	}
	var cur Vattr
	if e := vp.Ops().Getattr(l, vp, &cur); e != 0 {
		return e
	}
	m := killPrivMode(l.Cred(), cur.Mode, cur.Gid)
	if m == cur.Mode {
		return 0
	}
	return vp.Ops().Setattr(l, vp, &Vattr{Valid: AttrMode, Mode: m})
}

// xattrCheck applies Linux's rules (xattr_permission) for extended
// attribute name of vp, to read (acc VREAD) or to change (VWRITE).
// system.* is left to the drivers and the ACL code.
func xattrCheck(l *kernel.LWP, vp *Vnode, name string, acc uint32) unix.Errno {
	write := acc&kernel.VWRITE != 0
	c := l.Cred()
	switch {
	case strings.HasPrefix(name, "trusted."):
		if c.IsRoot() {
			return 0
		}
		if write {
			return unix.EPERM
		}
		return unix.ENODATA
	case strings.HasPrefix(name, "security."):
		// Reading is free; changing needs CAP_SYS_ADMIN on Linux (the
		// capability module's inode_setxattr hook).
		if write && !c.IsRoot() {
			return unix.EPERM
		}
		return 0
	case strings.HasPrefix(name, "user."):
		if vp.Type != VREG && vp.Type != VDIR {
			if write {
				return unix.EPERM
			}
			return unix.ENODATA
		}
		if c.IsRoot() {
			if write && vp.Mount != nil && vp.Mount.ReadOnly() {
				return unix.EROFS
			}
			return 0
		}
		var cur Vattr
		if e := vp.Ops().Getattr(l, vp, &cur); e != 0 {
			return e
		}
		if write && vp.Type == VDIR && cur.Mode&0o1000 != 0 && c.Uid() != cur.Uid {
			return unix.EPERM
		}
		return AccessCheck(l, vp, &cur, acc)
	}
	return 0
}

// XattrListable reports whether the caller may see attribute name in a
// listing: trusted.* is root's alone.
func XattrListable(l *kernel.LWP, name string) bool {
	return !strings.HasPrefix(name, "trusted.") || l.Cred().IsRoot()
}

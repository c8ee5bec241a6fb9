package vfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// The VOP* functions call a vnode operation with the locks VnodeOps lists.
// Callers hold references on every vnode they pass and a virtual CPU.

// VOPLookup looks cn up in dvp.
func VOPLookup(l *kernel.LWP, dvp *Vnode, cn *ComponentName) (*Vnode, unix.Errno) {
	mp := dvp.Mount
	mp.ns.Enter(l, false)
	defer mp.ns.Exit(false)
	dvp.Lock(l, false)
	defer dvp.Unlock(false)
	return dvp.Ops().Lookup(l, dvp, cn)
}

// nsEnter takes the namespace lock exclusively and dvp (and vp) exclusively.
func nsEnter(l *kernel.LWP, dvp, vp *Vnode) {
	dvp.Mount.ns.Enter(l, true)
	dvp.Lock(l, true)
	if vp != nil && vp != dvp {
		vp.Lock(l, true)
	}
}

func nsExit(dvp, vp *Vnode) {
	if vp != nil && vp != dvp {
		vp.Unlock(true)
	}
	dvp.Unlock(true)
	dvp.Mount.ns.Exit(true)
}

type makeFn func(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno)

func vopMake(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr, f makeFn) (*Vnode, unix.Errno) {
	nsEnter(l, dvp, nil)
	defer nsExit(dvp, nil)
	if e := dirWriteCheck(l, dvp); e != 0 {
		return nil, e
	}
	if va.Type == VBLK || va.Type == VCHR {
		// Linux asks for CAP_MKNOD after the directory's checks.
		if e := l.Kernel().Authorize(l.Cred(), kernel.ActionMknod); e != 0 {
			return nil, e
		}
	}
	if e := newOwner(l, dvp, va); e != 0 {
		return nil, e
	}
	acc, def, e := inheritACL(l, dvp, va)
	if e != 0 {
		return nil, e
	}
	vp, e := f(l, dvp, cn, va)
	if e == 0 {
		storeInherited(l, vp, acc, def)
	}
	return vp, e
}

// VOPCreate makes a regular file named cn in dvp.
func VOPCreate(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno) {
	return vopMake(l, dvp, cn, va, dvp.Ops().Create)
}

// VOPMknod makes a special file named cn in dvp.
func VOPMknod(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno) {
	return vopMake(l, dvp, cn, va, dvp.Ops().Mknod)
}

// VOPMkdir makes a directory named cn in dvp.
func VOPMkdir(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno) {
	va.Type = VDIR
	return vopMake(l, dvp, cn, va, dvp.Ops().Mkdir)
}

// VOPSymlink makes a symbolic link named cn in dvp.
func VOPSymlink(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr, target string) (*Vnode, unix.Errno) {
	nsEnter(l, dvp, nil)
	defer nsExit(dvp, nil)
	if e := dirWriteCheck(l, dvp); e != 0 {
		return nil, e
	}
	if e := newOwner(l, dvp, va); e != 0 {
		return nil, e
	}
	return dvp.Ops().Symlink(l, dvp, cn, va, target)
}

// VOPRemove unlinks vp, named cn in dvp: EISDIR for a directory.
func VOPRemove(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno {
	return vopUnname(l, dvp, vp, cn, false, dvp.Ops().Remove)
}

// VOPRmdir removes directory vp, named cn in dvp: ENOTDIR for anything
// else.
func VOPRmdir(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno {
	return vopUnname(l, dvp, vp, cn, true, dvp.Ops().Rmdir)
}

// vopUnname takes a name away (remove, rmdir) with the locks and checks
// both need, in Linux's order (may_delete, then the mount point).
func vopUnname(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName, dir bool, f func(*kernel.LWP, *Vnode, *Vnode, *ComponentName) unix.Errno) unix.Errno {
	nsEnter(l, dvp, vp)
	defer nsExit(dvp, vp)
	if e := dirWriteCheck(l, dvp); e != 0 {
		return e
	}
	if e := stickyCheck(l, dvp, vp); e != 0 {
		return e
	}
	switch {
	case dir && vp.Type != VDIR:
		return unix.ENOTDIR
	case !dir && vp.Type == VDIR:
		return unix.EISDIR
	case busy(vp):
		return unix.EBUSY
	}
	return f(l, dvp, vp, cn)
}

// busy reports a vnode no name operation may take away: the root of a
// mount, or a directory something is mounted on.
func busy(vp *Vnode) bool { return vp.Root || vp.MountedHere() != nil }

// VOPLink names vp cn in dvp.
func VOPLink(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno {
	if dvp.Mount != vp.Mount {
		return unix.EXDEV
	}
	nsEnter(l, dvp, vp)
	defer nsExit(dvp, vp)
	if e := dirWriteCheck(l, dvp); e != 0 {
		return e
	}
	if vp.Type == VDIR {
		return unix.EPERM // no hard links to directories
	}
	return dvp.Ops().Link(l, dvp, vp, cn)
}

// VOPRename renames fvp (fcn in fdvp) to tcn in tdvp over tvp (may be nil).
// All vnodes are on one mount (the caller checked EXDEV).
func VOPRename(l *kernel.LWP, fdvp, fvp *Vnode, fcn *ComponentName, tdvp, tvp *Vnode, tcn *ComponentName) unix.Errno {
	if fdvp.Mount != tdvp.Mount || fvp.Mount != fdvp.Mount || (tvp != nil && tvp.Mount != tdvp.Mount) {
		return unix.EXDEV
	}
	unlock := renameLock(l, fdvp, fvp, tdvp, tvp)
	defer unlock()
	e := renameCheck(l, fdvp, fvp, tdvp, tvp)
	if e == 0 && fvp != tvp {
		e = fdvp.Ops().Rename(l, fdvp, fvp, fcn, tdvp, tvp, tcn)
	}
	return e
}

// renameLock takes the namespace lock and the vnodes of a rename (tvp may
// be nil), each once, in Rename's order; the function returned undoes it.
func renameLock(l *kernel.LWP, fdvp, fvp, tdvp, tvp *Vnode) func() {
	mp := fdvp.Mount
	mp.ns.Enter(l, true)
	var locked [4]*Vnode
	n := 0
	for _, vp := range [4]*Vnode{fdvp, tdvp, fvp, tvp} {
		if vp == nil {
			continue
		}
		dup := false
		for _, o := range locked[:n] {
			dup = dup || o == vp
		}
		if !dup {
			vp.Lock(l, true)
			locked[n] = vp
			n++
		}
	}
	return func() {
		for i := n - 1; i >= 0; i-- {
			locked[i].Unlock(true)
		}
		mp.ns.Exit(true)
	}
}

// VOPExchange swaps the names fcn (of fvp, in fdvp) and tcn (of tvp, in
// tdvp); both must exist. Two names of one file are left alone, as Linux
// does before any check.
func VOPExchange(l *kernel.LWP, fdvp, fvp *Vnode, fcn *ComponentName, tdvp, tvp *Vnode, tcn *ComponentName) unix.Errno {
	if fdvp.Mount != tdvp.Mount || fvp.Mount != fdvp.Mount || tvp.Mount != tdvp.Mount {
		return unix.EXDEV
	}
	if fvp == tvp {
		return 0
	}
	unlock := renameLock(l, fdvp, fvp, tdvp, tvp)
	defer unlock()
	e := exchangeCheck(l, fdvp, fvp, tdvp, tvp)
	if e == 0 {
		e = fdvp.Ops().Exchange(l, fdvp, fvp, fcn, tdvp, tvp, tcn)
	}
	return e
}

// VOPReaddir reads directory entries at cookie uio.Offset.
func VOPReaddir(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	mp := vp.Mount
	mp.ns.Enter(l, false)
	defer mp.ns.Exit(false)
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Readdir(l, vp, uio)
}

// VOPOpen opens vp with fflags.
func VOPOpen(l *kernel.LWP, vp *Vnode, fflags int) unix.Errno {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Open(l, vp, fflags)
}

// VOPClose closes vp.
func VOPClose(l *kernel.LWP, vp *Vnode, fflags int) unix.Errno {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Close(l, vp, fflags)
}

// VOPAccess checks access bits acc.
func VOPAccess(l *kernel.LWP, vp *Vnode, acc uint32) unix.Errno {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Access(l, vp, acc)
}

// VOPGetattr fills va.
func VOPGetattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Getattr(l, vp, va)
}

// VOPSetattr changes the fields in va.Valid.
func VOPSetattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno {
	vp.Lock(l, true)
	defer vp.Unlock(true)
	if e := setattrCheck(l, vp, va); e != 0 {
		return e
	}
	if e := vp.Ops().Setattr(l, vp, va); e != 0 || va.Valid&AttrMode == 0 {
		return e
	}
	return chmodACL(l, vp, va.Mode)
}

// VOPRead reads file data into uio.
func VOPRead(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Read(l, vp, uio, ioflag)
}

// VOPWrite writes uio's data to the file.
func VOPWrite(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	if vp.Type == VREG && vp.Mount != nil && vp.Mount.ReadOnly() {
		return unix.EROFS
	}
	vp.Lock(l, true)
	defer vp.Unlock(true)
	resid := uio.Resid
	e := vp.Ops().Write(l, vp, uio, ioflag)
	// A write by anyone but root drops setuid and setgid (Linux's
	// file_remove_privs), on every driver alike.
	if uio.Resid != resid && !l.Cred().IsRoot() {
		if e2 := killPriv(l, vp); e == 0 {
			e = e2
		}
	}
	return e
}

// VOPKillPriv drops vp's setuid and setgid bits as a write by an
// unprivileged caller does, without the ownership chmod needs: for a
// host kernel that asks for it on a write (FUSE's kill-priv flags).
func VOPKillPriv(l *kernel.LWP, vp *Vnode) unix.Errno {
	vp.Lock(l, true)
	defer vp.Unlock(true)
	return killPriv(l, vp)
}

// VOPFsync makes vp durable.
func VOPFsync(l *kernel.LWP, vp *Vnode, flags int, lo, hi int64) unix.Errno {
	vp.Lock(l, true)
	defer vp.Unlock(true)
	return vp.Ops().Fsync(l, vp, flags, lo, hi)
}

// VOPSeek finds data or a hole.
func VOPSeek(l *kernel.LWP, vp *Vnode, off int64, whence int) (int64, unix.Errno) {
	vp.Lock(l, true)
	defer vp.Unlock(true)
	return vp.Ops().Seek(l, vp, off, whence)
}

// VOPReadlink reads a symlink's target into uio.
func VOPReadlink(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) unix.Errno {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Readlink(l, vp, uio)
}

// VOPPathconf answers a pathconf name.
func VOPPathconf(l *kernel.LWP, vp *Vnode, name int) (int64, unix.Errno) {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Pathconf(l, vp, name)
}

// VOPAdvlock does advisory locking.
func VOPAdvlock(l *kernel.LWP, vp *Vnode, owner uint64, op int, fl *unix.Flock_t) unix.Errno {
	vp.Lock(l, true)
	defer vp.Unlock(true)
	return vp.Ops().Advlock(l, vp, owner, op, fl)
}

// VOPGetextattr reads an extended attribute.
func VOPGetextattr(l *kernel.LWP, vp *Vnode, name string, uio *kernel.Uio) (int, unix.Errno) {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	if t, ok := aclType(name); ok {
		return getACLXattr(l, vp, t, uio)
	}
	if e := xattrCheck(l, vp, name, kernel.VREAD); e != 0 {
		return 0, e
	}
	return vp.Ops().Getextattr(l, vp, name, uio)
}

// VOPSetextattr sets an extended attribute.
func VOPSetextattr(l *kernel.LWP, vp *Vnode, name string, value []byte, flags int) unix.Errno {
	vp.Lock(l, true)
	defer vp.Unlock(true)
	if t, ok := aclType(name); ok {
		return setACL(l, vp, t, value)
	}
	if e := xattrCheck(l, vp, name, kernel.VWRITE); e != 0 {
		return e
	}
	return vp.Ops().Setextattr(l, vp, name, value, flags)
}

// VOPListextattr lists extended attribute names.
func VOPListextattr(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) (int, unix.Errno) {
	vp.Lock(l, false)
	defer vp.Unlock(false)
	return vp.Ops().Listextattr(l, vp, uio)
}

// VOPDeleteextattr removes an extended attribute.
func VOPDeleteextattr(l *kernel.LWP, vp *Vnode, name string) unix.Errno {
	vp.Lock(l, true)
	defer vp.Unlock(true)
	if t, ok := aclType(name); ok {
		return setACL(l, vp, t, nil)
	}
	if e := xattrCheck(l, vp, name, kernel.VWRITE); e != 0 {
		return e
	}
	return vp.Ops().Deleteextattr(l, vp, name)
}

// VOPBmap maps a logical block to a device block.
func VOPBmap(l *kernel.LWP, vp *Vnode, lbn int64) (int64, int, unix.Errno) {
	return vp.Ops().Bmap(l, vp, lbn)
}

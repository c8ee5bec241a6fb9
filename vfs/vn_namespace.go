package vfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Making, removing, linking and renaming names: the checks of mkdir(2),
// mknod(2), symlink(2), unlink(2), rmdir(2), link(2) and renameat2(2)
// between the walk to the parent directory and the VOP, once for every
// client. The system calls get the parent from a ParentOnly Namei; p2k
// has it from its node table. Where NetBSD and Linux answer differently
// these answer as Linux does, in Linux's order (unlink of a directory is
// EISDIR, not EPERM; EROFS comes before the last lookup for a removal or
// a rename and after it for a new name), because the comparison tests
// run against the Linux kernel; the VOP wrappers make the permission,
// type and mount-point checks that Linux makes after the lookup.

// VnName is a name in a directory, as a ParentOnly Namei leaves it: Dvp
// (referenced by the caller), the name, and whether the path went on
// with a slash after it.
type VnName struct {
	Dvp   *Vnode
	Name  string
	Slash bool
}

// Last returns the directory and name a ParentOnly Namei found.
func (r *NameiResult) Last() VnName {
	return VnName{Dvp: r.Dvp, Name: r.Name, Slash: r.TrailingSlash}
}

// dots reports "." and "..", the names a path walk never hands to a
// name operation (Linux's LAST_DOT and LAST_DOTDOT).
func dots(name string) bool { return name == "." || name == ".." }

// vnDir checks a directory a name is about to be looked up or made in,
// as a walk checks its last directory: CheckName's answers, ENOTDIR, and
// search permission unless the client checked it (flags).
func vnDir(l *kernel.LWP, n VnName, flags int) unix.Errno {
	if e := CheckName(n.Name); e != 0 {
		return e
	}
	if n.Dvp.Type != VDIR {
		return unix.ENOTDIR
	}
	if flags&ClientChecked == 0 && !l.Cred().IsRoot() {
		return VOPAccess(l, n.Dvp, kernel.VEXEC)
	}
	return 0
}

// vnReadOnly reports whether names in dvp cannot change: a read-only
// mount, or a client serving read-only (flags).
func vnReadOnly(dvp *Vnode, flags int) bool {
	return flags&ClientReadOnly != 0 || dvp.Mount.ReadOnly()
}

// vnLookupLast looks n up for op: ENOENT when it is not there. Unlike
// VnLookup it does not cross into a file system mounted there; the VOP
// refuses a mount point (EBUSY) after its other checks, as Linux does.
// Whatever the answer it returns a pooled ComponentName set for the VOP
// to follow, which the caller puts back (putCN).
func vnLookupLast(l *kernel.LWP, n VnName, op NameiOp) (*Vnode, *ComponentName, unix.Errno) {
	cn := cnPool.Get().(*ComponentName)
	*cn = ComponentName{Op: op, Name: n.Name, IsLast: true}
	vp, e := VOPLookup(l, n.Dvp, cn)
	if e == kernel.EJUSTRETURN {
		e = unix.ENOENT
	}
	*cn = ComponentName{Op: op, Name: n.Name, IsLast: true}
	return vp, cn, e
}

// VnRemove removes n: a directory (rmdir) when dir is set, anything else
// (unlink) otherwise. flags may hold ClientChecked and ClientReadOnly.
//
// In order: the name and search permission; "." and ".." (EISDIR for
// unlink; EINVAL and ENOTEMPTY for rmdir); EROFS; ENOENT; for unlink, a
// trailing slash (EISDIR after a directory, ENOTDIR after anything
// else); then VOP_REMOVE or VOP_RMDIR, which check write permission and
// the sticky bit, the type (EISDIR, ENOTDIR) and mount points (EBUSY).
func VnRemove(l *kernel.LWP, n VnName, dir bool, flags int) unix.Errno {
	if e := vnDir(l, n, flags); e != 0 {
		return e
	}
	switch {
	case dots(n.Name) && !dir:
		return unix.EISDIR
	case n.Name == ".":
		return unix.EINVAL
	case n.Name == "..":
		return unix.ENOTEMPTY
	}
	vp, cn, e := vnLookupVictim(l, n, flags)
	defer putCN(cn)
	if e != 0 {
		return e
	}
	defer Vrele(l, vp)
	if n.Slash && !dir {
		if vp.Type == VDIR {
			return unix.EISDIR
		}
		return unix.ENOTDIR
	}
	if dir {
		e = VOPRmdir(l, n.Dvp, vp, cn)
	} else {
		e = VOPRemove(l, n.Dvp, vp, cn)
	}
	return e
}

// VnLink names vp n too (link(2)). flags may hold ClientChecked and
// ClientReadOnly.
//
// In order: the name and search permission; "." or ".." (EEXIST); an
// existing name (EEXIST); a trailing slash (ENOENT); EROFS; then
// VOP_LINK: another mount (EXDEV), write permission, and a directory
// (EPERM).
func VnLink(l *kernel.LWP, vp *Vnode, n VnName, flags int) unix.Errno {
	cn, e := vnCreateCheck(l, n, VREG, flags)
	if e != 0 {
		return e
	}
	e = VOPLink(l, n.Dvp, vp, cn)
	putCN(cn)
	return e
}

// putCN gives a ComponentName back to the pool, holding no name (nil:
// nothing to give back).
func putCN(cn *ComponentName) {
	if cn != nil {
		*cn = ComponentName{}
		cnPool.Put(cn)
	}
}

// vnLookupVictim finds a name about to be taken away (unlink, rmdir,
// the source of a rename) as Linux does: EROFS first, then the lookup,
// as vnLookupLast (the ComponentName is nil with EROFS).
func vnLookupVictim(l *kernel.LWP, n VnName, flags int) (*Vnode, *ComponentName, unix.Errno) {
	if vnReadOnly(n.Dvp, flags) {
		return nil, nil, unix.EROFS
	}
	return vnLookupLast(l, n, DELETE)
}

// vnCreateCheck checks n is a name free to make a file of type t (Linux's
// filename_create). It returns a pooled ComponentName set for the VOP,
// which the caller puts back.
func vnCreateCheck(l *kernel.LWP, n VnName, t VType, flags int) (*ComponentName, unix.Errno) {
	if e := vnDir(l, n, flags); e != 0 {
		return nil, e
	}
	if dots(n.Name) {
		return nil, unix.EEXIST
	}
	vp, cn, e := vnLookupLast(l, n, CREATE)
	switch {
	case e == 0:
		Vrele(l, vp)
		e = unix.EEXIST
	case e != unix.ENOENT:
	case n.Slash && t != VDIR:
		e = unix.ENOENT
	case vnReadOnly(n.Dvp, flags):
		e = unix.EROFS
	default:
		return cn, 0
	}
	putCN(cn)
	return nil, e
}

// VnMake makes n a file of va.Type: a directory (mkdir), a symlink to
// target, or a regular file, FIFO, socket or device node (mknod). It
// returns the new vnode, referenced. va is the VOP's (mode, umask, rdev).
// flags may hold ClientChecked and ClientReadOnly.
//
// In order: a type mknod cannot make (EINVAL) or a bad target
// (CheckPath); then as VnLink: the name, search permission, EEXIST,
// ENOENT for a trailing slash after anything but a directory, EROFS;
// then the VOP: write permission, and kauth's mknod right for a device.
func VnMake(l *kernel.LWP, n VnName, va *Vattr, target string, flags int) (*Vnode, unix.Errno) {
	switch va.Type {
	case VLNK:
		if e := CheckPath(target); e != 0 {
			return nil, e
		}
	case VDIR, VREG, VFIFO, VSOCK, VBLK, VCHR:
	default:
		return nil, unix.EINVAL
	}
	cn, e := vnCreateCheck(l, n, va.Type, flags)
	if e != 0 {
		return nil, e
	}
	defer putCN(cn)
	var vp *Vnode
	switch va.Type {
	case VDIR:
		vp, e = VOPMkdir(l, n.Dvp, cn, va)
	case VLNK:
		vp, e = VOPSymlink(l, n.Dvp, cn, va, target)
	default:
		vp, e = VOPMknod(l, n.Dvp, cn, va)
	}
	return vp, e
}

// MknodType is the file type mknod(2) makes for mode (S_IFMT bits): a
// regular file for none, EPERM for a directory and EINVAL for a symlink
// or an unknown type, as Linux answers.
func MknodType(mode uint32) (VType, unix.Errno) {
	if mode&unix.S_IFMT == 0 {
		return VREG, 0
	}
	switch t := VTypeFromMode(mode); t {
	case VREG, VFIFO, VSOCK, VBLK, VCHR:
		return t, 0
	case VDIR:
		return VNON, unix.EPERM
	}
	return VNON, unix.EINVAL
}

// Rename flags: renameat2's, with Linux's values (p2k maps macOS's
// renamex_np RENAME_EXCL and RENAME_SWAP onto the first two).
const (
	RenameNoReplace = 1 << 0 // fail with EEXIST when to exists
	RenameExchange  = 1 << 1 // swap from and to, which must both exist
	RenameWhiteout  = 1 << 2 // leave a whiteout at from: not supported (EINVAL)
)

// CheckRenameFlags refuses, as renameat2(2) does, unknown flags and an
// exchange combined with anything else.
func CheckRenameFlags(flags int) unix.Errno {
	if flags&^(RenameNoReplace|RenameExchange|RenameWhiteout) != 0 ||
		flags&RenameExchange != 0 && flags&(RenameNoReplace|RenameWhiteout) != 0 {
		return unix.EINVAL
	}
	return 0
}

// VnRename renames from to to (renameat2(2)) with rflags Rename*: to is
// replaced if it exists (a file by a file, a directory by an empty
// directory), or with RenameNoReplace must not exist, or with
// RenameExchange must exist and the two swap. RenameWhiteout is EINVAL,
// as Linux answers on a file system without whiteouts. flags may hold
// ClientChecked and ClientReadOnly.
//
// In order: the flags (EINVAL); the names and search permission on both
// directories; two mounts (EXDEV); "." or ".." (EBUSY, or EEXIST for a
// target with RenameNoReplace); EROFS; from missing (ENOENT); to there with
// RenameNoReplace (EEXIST) or missing with RenameExchange (ENOENT);
// trailing slashes after non-directories (ENOTDIR); a whiteout (EINVAL);
// then VOP_RENAME or VOP_EXCHANGE: permissions, the sticky bit, types,
// mount points (EBUSY) and moving a directory into itself.
func VnRename(l *kernel.LWP, from, to VnName, rflags, flags int) unix.Errno {
	if e := CheckRenameFlags(rflags); e != 0 {
		return e
	}
	if e := vnDir(l, from, flags); e != 0 {
		return e
	}
	if e := vnDir(l, to, flags); e != 0 {
		return e
	}
	noReplace, exchange := rflags&RenameNoReplace != 0, rflags&RenameExchange != 0
	switch {
	case from.Dvp.Mount != to.Dvp.Mount:
		return unix.EXDEV
	case dots(from.Name):
		return unix.EBUSY
	case dots(to.Name) && noReplace:
		return unix.EEXIST
	case dots(to.Name):
		return unix.EBUSY
	}
	fvp, fcn, e := vnLookupVictim(l, from, flags)
	defer putCN(fcn)
	if e != 0 {
		return e
	}
	defer Vrele(l, fvp)
	tvp, tcn, e := vnLookupLast(l, to, RENAME)
	defer putCN(tcn)
	switch {
	case e == unix.ENOENT && !exchange:
		tvp = nil
	case e != 0:
		return e
	default:
		defer Vrele(l, tvp)
		if noReplace {
			return unix.EEXIST
		}
	}
	switch {
	case exchange && tvp.Type != VDIR && to.Slash:
		return unix.ENOTDIR
	case fvp.Type != VDIR && (from.Slash || to.Slash && !exchange):
		return unix.ENOTDIR
	case rflags&RenameWhiteout != 0:
		return unix.EINVAL
	}
	if exchange {
		e = VOPExchange(l, from.Dvp, fvp, fcn, to.Dvp, tvp, tcn)
	} else {
		e = VOPRename(l, from.Dvp, fvp, fcn, to.Dvp, tvp, tcn)
	}
	return e
}

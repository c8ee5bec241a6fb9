package vfs

import (
	"strings"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// One-component lookup (NetBSD's lookup_once): the step namei repeats, and
// what a client that walks names itself (p2k's LOOKUP) calls directly.

// Flags a client passes to the vn layer, beside Namei's.
const (
	// ClientChecked: the client checked search permission on the
	// directory itself (FUSE's default_permissions), so the lookup does
	// not ask VOP_ACCESS again.
	ClientChecked = ParentOnly << (1 + iota)
	// ClientReadOnly: the client serves the file system read-only (p2k's
	// read-only option), so the vn functions that change names answer
	// EROFS where a read-only mount would.
	ClientReadOnly
)

// CheckName refuses a component no directory can hold: ENOENT for "",
// ENAMETOOLONG past NameMax bytes, EINVAL for a name with a slash or a
// NUL in it.
func CheckName(name string) unix.Errno {
	switch {
	case name == "":
		return unix.ENOENT
	case len(name) > NameMax:
		return unix.ENAMETOOLONG
	case strings.IndexByte(name, '/') >= 0 || strings.IndexByte(name, 0) >= 0:
		return unix.EINVAL
	}
	return 0
}

// VnLookup looks cn.Name up in dvp for cn.Op and returns the vnode,
// referenced, crossed into whatever is mounted on it. ".." at root (the
// process's root, or the top a client serves) stays at root; ".." at the
// root of a mounted file system goes on from the directory it covers.
// flags may hold ClientChecked. ENOENT means the name is not there,
// whatever the driver answered (EJUSTRETURN for a name to create). The
// caller's reference on dvp stays its own.
func VnLookup(l *kernel.LWP, root, dvp *Vnode, cn *ComponentName, flags int) (*Vnode, unix.Errno) {
	if e := CheckName(cn.Name); e != 0 {
		return nil, e
	}
	if cn.Name != ".." {
		return lookupOnce(l, root, &dvp, cn, flags)
	}
	// lookupOnce may trade dvp for a covered directory.
	Vref(dvp)
	vp, e := lookupOnce(l, root, &dvp, cn, flags)
	Vrele(l, dvp)
	return vp, e
}

// lookupOnce is VnLookup without the name checks, on *dvpp, whose
// reference it holds: for "..", *dvpp may come back as the directory a
// mount covers, the reference traded.
func lookupOnce(l *kernel.LWP, root *Vnode, dvpp **Vnode, cn *ComponentName, flags int) (*Vnode, unix.Errno) {
	dvp := *dvpp
	if dvp.Type != VDIR {
		return nil, unix.ENOTDIR
	}
	if flags&ClientChecked == 0 && !l.Cred().IsRoot() {
		if e := VOPAccess(l, dvp, kernel.VEXEC); e != 0 {
			return nil, e
		}
	}
	if cn.Name == ".." {
		dvp = crossUp(l, root, dvp)
		*dvpp = dvp
		if dvp == root {
			Vref(root)
			return root, 0
		}
	}
	vp, e := VOPLookup(l, dvp, cn)
	if e == kernel.EJUSTRETURN {
		e = unix.ENOENT
	}
	if e != 0 {
		return nil, e
	}
	return VnCrossDown(l, vp), 0
}

// crossUp moves dvp, a directory ".." is looked up in, from the root of a
// mounted file system to the directory it covers, as often as that
// applies, but never past root. The reference moves along.
func crossUp(l *kernel.LWP, root, dvp *Vnode) *Vnode {
	for dvp != root && dvp.Root && dvp.Mount.covers != nil {
		c := dvp.Mount.covers
		Vref(c)
		Vrele(l, dvp)
		dvp = c
	}
	return dvp
}

// VnCrossDown moves a looked-up vnode to the root of whatever is mounted
// on it, as often as that applies; the reference moves along.
func VnCrossDown(l *kernel.LWP, vp *Vnode) *Vnode {
	for vp.Type == VDIR {
		m := vp.MountedHere()
		if m == nil {
			break
		}
		r := m.root
		Vref(r)
		Vrele(l, vp)
		vp = r
	}
	return vp
}

// VnReadlink reads symlink vp's target into buf and returns its length
// (cut at len(buf)): EINVAL when vp is no symlink, as readlink(2) says.
func VnReadlink(l *kernel.LWP, vp *Vnode, buf []byte) (int, unix.Errno) {
	if vp.Type != VLNK {
		return 0, unix.EINVAL
	}
	u := kernel.UioSetup(buf, 0, kernel.UioRead)
	e := VOPReadlink(l, vp, u)
	return len(buf) - kernel.UioFree(u), e
}

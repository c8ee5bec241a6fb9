package ffs

import (
	"strings"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// Extended attributes of UFS2 inodes (ffs_getextattr, ffs_setextattr,
// ffs_listextattr, ffs_deleteextattr): the records live in the inode's
// attribute area (ufs/extattr.go), which is rewritten whole on every
// change into blocks allocated like a small file's (the last one only the
// fragments it needs) and counted in di_blocks, as FreeBSD does.
//
// Names: the VFS speaks Linux names, the disk namespaces and bare names.
//
//	user.NAME                    user namespace, NAME
//	system.NAME                  system namespace, NAME
//	trusted.NAME, security.NAME  system namespace, the whole Linux name
//
// so a system record named "trusted.x" or "security.x" lists under its
// Linux name, and "system.trusted.*" and "system.security.*" are refused
// (EOPNOTSUPP) to keep the mapping one to one. POSIX ACLs are the system
// records posix1e.acl_access and posix1e.acl_default, in the BSDs' format
// (ufs/acl.go), listed as system.posix_acl_access and _default and read
// and written only through Getacl and Setacl (the VFS parses and checks);
// "system.posix1e.*" is refused. Other prefixes are
// EOPNOTSUPP; records of other namespaces are kept but not listed.
//
// Permissions (the VOP wrappers check the same first, for every
// driver): user.* only on
// regular files and directories, reading needs read access and changing
// needs write access; trusted.* is root's alone (hidden from others);
// system.* and security.* are readable by anyone and changed by root
// only. Symbolic links take no new attributes (EPERM): the pointer area
// of a fast link must stay where Marshal expects it. UFS1 has no area:
// ENOTSUP, and an empty list.

// maxExtattrValue is Linux's XATTR_SIZE_MAX: larger values are E2BIG.
const maxExtattrValue = 65536

// extName maps a Linux attribute name to its on-disk namespace and name.
func extName(name string) (ns uint8, n string, e unix.Errno) {
	prefix, rest, ok := strings.Cut(name, ".")
	if !ok {
		return 0, "", unix.EOPNOTSUPP
	}
	switch prefix {
	case "user":
		ns, n = ufs.ExtattrNamespaceUser, rest
	case "system":
		if strings.HasPrefix(rest, "trusted.") || strings.HasPrefix(rest, "security.") || strings.HasPrefix(rest, "posix1e.") {
			return 0, "", unix.EOPNOTSUPP
		}
		ns, n = ufs.ExtattrNamespaceSystem, rest
	case "trusted", "security":
		ns, n = ufs.ExtattrNamespaceSystem, name
	default:
		return 0, "", unix.EOPNOTSUPP
	}
	switch {
	case rest == "" || strings.IndexByte(n, 0) >= 0:
		return 0, "", unix.EINVAL
	case len(n) > 255:
		return 0, "", unix.ERANGE
	}
	return ns, n, 0
}

// linuxName is the Linux name of an on-disk record; false for namespaces
// the VFS cannot name.
func linuxName(a *ufs.Extattr) (string, bool) {
	switch a.Namespace {
	case ufs.ExtattrNamespaceUser:
		return "user." + a.Name, true
	case ufs.ExtattrNamespaceSystem:
		if strings.HasPrefix(a.Name, "trusted.") || strings.HasPrefix(a.Name, "security.") {
			return a.Name, true
		}
		switch a.Name {
		case ufs.ACLAccessExtattr:
			return kernel.ACLAccessXattr, true
		case ufs.ACLDefaultExtattr:
			return kernel.ACLDefaultXattr, true
		}
		return "system." + a.Name, true
	}
	return "", false
}

// extVisible reports whether the caller may see attribute name.
func extVisible(l *kernel.LWP, name string) bool {
	return !strings.HasPrefix(name, "trusted.") || l.Cred().IsRoot()
}

// findExt returns the index of the record ns/n, or -1.
func findExt(as []ufs.Extattr, ns uint8, n string) int {
	for i := range as {
		if as[i].Namespace == ns && as[i].Name == n {
			return i
		}
	}
	return -1
}

func (o ffsOps) Getextattr(l *kernel.LWP, vp *vfs.Vnode, name string, uio *kernel.Uio) (int, unix.Errno) {
	ip := vip(vp)
	if !ip.UFS2 {
		return 0, unix.ENOTSUP
	}
	ns, n, e := extName(name)
	if e != 0 {
		return 0, e
	}
	if !extVisible(l, name) {
		return 0, unix.ENODATA
	}
	if ns == ufs.ExtattrNamespaceUser {
		if vp.Type != vfs.VREG && vp.Type != vfs.VDIR {
			return 0, unix.ENODATA
		}
		if e := o.Access(l, vp, kernel.VREAD); e != 0 {
			return 0, e
		}
	}
	as, e := ip.Extattrs(l)
	if e != 0 {
		return 0, e
	}
	i := findExt(as, ns, n)
	if i < 0 {
		return 0, unix.ENODATA
	}
	return genfs.CopyOutXattr(as[i].Value, uio)
}

func (ffsOps) Listextattr(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (int, unix.Errno) {
	ip := vip(vp)
	if !ip.UFS2 {
		return 0, 0
	}
	as, e := ip.Extattrs(l)
	if e != 0 {
		return 0, e
	}
	var list genfs.XattrNames
	for i := range as {
		if name, ok := linuxName(&as[i]); ok && extVisible(l, name) {
			list.Add(name)
		}
	}
	return list.CopyOut(uio)
}

// extWriteCheck is the permission to change attribute name of vp.
func (o ffsOps) extWriteCheck(l *kernel.LWP, vp *vfs.Vnode, name string) (ns uint8, n string, e unix.Errno) {
	ip := vip(vp)
	if ip.fs.ronly {
		return 0, "", unix.EROFS
	}
	if !ip.UFS2 {
		return 0, "", unix.ENOTSUP
	}
	if ns, n, e = extName(name); e != 0 {
		return 0, "", e
	}
	if vp.Type == vfs.VLNK {
		return 0, "", unix.EPERM
	}
	if ns == ufs.ExtattrNamespaceUser {
		if vp.Type != vfs.VREG && vp.Type != vfs.VDIR {
			return 0, "", unix.EPERM
		}
		if e := o.Access(l, vp, kernel.VWRITE); e != 0 {
			return 0, "", e
		}
	} else if !l.Cred().IsRoot() {
		return 0, "", unix.EPERM
	}
	return ns, n, 0
}

func (o ffsOps) Setextattr(l *kernel.LWP, vp *vfs.Vnode, name string, value []byte, flags int) unix.Errno {
	ns, n, e := o.extWriteCheck(l, vp, name)
	if e != 0 {
		return e
	}
	if len(value) > maxExtattrValue {
		return unix.E2BIG
	}
	ip := vip(vp)
	as, e := ip.Extattrs(l)
	if e != 0 {
		return e
	}
	i := findExt(as, ns, n)
	switch {
	case i >= 0 && flags&unix.XATTR_CREATE != 0:
		return unix.EEXIST
	case i < 0 && flags&unix.XATTR_REPLACE != 0:
		return unix.ENODATA
	}
	a := ufs.Extattr{Namespace: ns, Name: n, Value: value}
	if i >= 0 {
		as[i] = a
	} else {
		as = append(as, a)
	}
	return ip.fs.setExtattrs(l, ip, as)
}

func (o ffsOps) Deleteextattr(l *kernel.LWP, vp *vfs.Vnode, name string) unix.Errno {
	ns, n, e := o.extWriteCheck(l, vp, name)
	if e != 0 {
		return e
	}
	ip := vip(vp)
	as, e := ip.Extattrs(l)
	if e != 0 {
		return e
	}
	i := findExt(as, ns, n)
	if i < 0 {
		return unix.ENODATA
	}
	return ip.fs.setExtattrs(l, ip, append(as[:i], as[i+1:]...))
}

// setExtattrs writes as as the inode's whole attribute area and updates
// its change time: ENOSPC when the records do not fit the area's NXAddr
// blocks or the file system is full, and then nothing has changed.
func (fs *FS) setExtattrs(l *kernel.LWP, ip *inode, as []ufs.Extattr) unix.Errno {
	area := ufs.MarshalExtattrs(as, fs.M.Order)
	if len(area) > fs.M.MaxExtSize() {
		return unix.ENOSPC
	}
	if e := fs.writeExtArea(l, ip, area); e != 0 {
		return e
	}
	setNow(&ip.Ctime, &ip.CtimeNsec, vfs.Now())
	return fs.iupdate(l, &ip.Inode)
}

// fragRun is n fragments at fsb.
type fragRun struct {
	fsb int64
	n   int
}

// writeExtArea replaces the inode's attribute area with area (at most
// MaxExtSize bytes; nil frees it), reusing, growing in place, moving or
// trimming each of its blocks. New space is taken before anything is
// written or given back, so a failure leaves the old area whole. The
// caller writes the inode.
func (fs *FS) writeExtArea(l *kernel.LWP, ip *inode, area []byte) unix.Errno {
	m := fs.M
	sb := fs.SB
	oldSize, newSize := int(ip.ExtSize), len(area)
	if oldSize < 0 || oldSize > m.MaxExtSize() {
		return fs.corrupt("inode %d: extattr area size %d out of range", ip.Number, ip.ExtSize)
	}
	var newB [ufs.NXAddr]int64
	var taken, release []fragRun
	fail := func(e unix.Errno) unix.Errno {
		for _, r := range taken {
			fs.free(l, r.fsb, r.n<<sb.FShift, false)
		}
		return e
	}
	for i := range ufs.NXAddr {
		n := int64(m.ExtBlockSize(oldSize, i) >> sb.FShift)
		if old := ip.ExtB[i]; n > 0 && (old <= 0 || old+n > sb.Size || fs.isMetadata(old) || fs.isMetadata(old+n-1)) {
			return fs.corrupt("inode %d: extattr block %d at %d out of range or in metadata", ip.Number, i, old)
		}
	}
	var oldSectors, newSectors uint64
	for i := range ufs.NXAddr {
		osz, nsz := m.ExtBlockSize(oldSize, i)>>sb.FShift, m.ExtBlockSize(newSize, i)>>sb.FShift
		oldSectors += uint64(osz) << sb.FShift >> 9
		newSectors += uint64(nsz) << sb.FShift >> 9
		old := ip.ExtB[i]
		switch {
		case nsz == 0:
			if osz > 0 {
				release = append(release, fragRun{old, osz})
			}
		case osz == 0:
			pref := int64(0)
			if i > 0 {
				pref = newB[i-1] + int64(sb.Frag)
			}
			fsb, e := fs.alloc(l, ip, pref, nsz)
			if e != 0 {
				return fail(e)
			}
			taken = append(taken, fragRun{fsb, nsz})
			newB[i] = fsb
		case nsz <= osz:
			newB[i] = old
			if nsz < osz {
				release = append(release, fragRun{old + int64(nsz), osz - nsz})
			}
		default:
			fs.allocMu.Enter(l)
			grown, e := fs.extendFrags(l, old, osz, nsz)
			fs.allocMu.Exit()
			if e != 0 {
				return fail(e)
			}
			if grown {
				taken = append(taken, fragRun{old + int64(osz), nsz - osz})
				newB[i] = old
				break
			}
			fsb, e := fs.alloc(l, ip, old, nsz)
			if e != 0 {
				return fail(e)
			}
			taken = append(taken, fragRun{fsb, nsz})
			release = append(release, fragRun{old, osz})
			newB[i] = fsb
		}
	}
	for i := range ufs.NXAddr {
		nsz := m.ExtBlockSize(newSize, i)
		if nsz == 0 {
			break
		}
		buf := make([]byte, nsz)
		copy(buf, area[i*m.BSize:])
		if e := fs.devWrite(l, buf, newB[i]<<sb.FShift); e != 0 {
			return fail(e)
		}
	}
	var first unix.Errno
	for _, r := range release {
		if e := fs.free(l, r.fsb, r.n<<sb.FShift, false); e != 0 && first == 0 {
			first = e
		}
	}
	ip.ExtB = newB
	ip.ExtSize = int32(newSize)
	ip.Blocks = ip.Blocks - min(ip.Blocks, oldSectors) + newSectors
	return first
}

// aclExtattr is the on-disk name of an ACL type.
func aclExtattr(t vfs.ACLType) string {
	if t == vfs.ACLDefault {
		return ufs.ACLDefaultExtattr
	}
	return ufs.ACLAccessExtattr
}

// Getacl implements vfs.VnodeOps: the BSDs' posix1e record of the ACL.
func (ffsOps) Getacl(l *kernel.LWP, vp *vfs.Vnode, t vfs.ACLType) (kernel.ACL, unix.Errno) {
	ip := vip(vp)
	if !ip.UFS2 {
		return nil, unix.ENOTSUP
	}
	if ip.ExtSize == 0 {
		return nil, 0 // the common case, without reading anything
	}
	as, e := ip.Extattrs(l)
	if e != 0 {
		return nil, e
	}
	i := findExt(as, ufs.ExtattrNamespaceSystem, aclExtattr(t))
	if i < 0 {
		return nil, 0
	}
	a, err := ufs.ParseACL(as[i].Value, ip.fs.M.Order)
	if err != nil {
		return nil, ip.fs.corrupt("inode %d: %v", ip.Number, err)
	}
	return a, 0
}

// Setacl implements vfs.VnodeOps: an ACL longer than the BSDs' 32 entries
// does not fit their record (ENOSPC).
func (ffsOps) Setacl(l *kernel.LWP, vp *vfs.Vnode, t vfs.ACLType, acl kernel.ACL) unix.Errno {
	ip := vip(vp)
	if ip.fs.ronly {
		return unix.EROFS
	}
	if !ip.UFS2 {
		return unix.ENOTSUP
	}
	if len(acl) > ufs.ACLMaxEntries {
		return unix.ENOSPC
	}
	as, e := ip.Extattrs(l)
	if e != 0 {
		return e
	}
	i := findExt(as, ufs.ExtattrNamespaceSystem, aclExtattr(t))
	switch {
	case acl == nil && i < 0:
		return 0
	case acl == nil:
		as = append(as[:i], as[i+1:]...)
	case i >= 0:
		as[i].Value = ufs.MarshalACL(acl, ip.fs.M.Order)
	default:
		as = append(as, ufs.Extattr{Namespace: ufs.ExtattrNamespaceSystem, Name: aclExtattr(t), Value: ufs.MarshalACL(acl, ip.fs.M.Order)})
	}
	return ip.fs.setExtattrs(l, ip, as)
}

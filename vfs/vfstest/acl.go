package vfstest

import (
	"slices"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// POSIX ACL cases: the VOP layer's rules (vfs/vop_acl.go) over each
// driver's storage. File systems without extended attributes answer
// EOPNOTSUPP and keep chmod working.

func init() { Cases = append(Cases, aclCases...) }

const und = kernel.ACLUndefinedID

// xattrOp runs f on name's vnode as l inside the kernel.
func (e *Env) xattrOp(l *kernel.LWP, name string, f func(vp *vfs.Vnode) unix.Errno) unix.Errno {
	e.T.Helper()
	// Opened by root: the operation's own checks are what is tested.
	vp, err := vfs.OpenVnode(e.L, name, unix.O_RDONLY, 0)
	if err != 0 {
		return err
	}
	if err := vfs.Enter(l); err != 0 {
		return err
	}
	err = f(vp)
	var left unix.Errno
	vfs.VOPClose(l, vp, vfs.FREAD)
	vfs.Vrele(l, vp)
	vfs.Leave(l, &left)
	return err
}

// SetACL sets name's ACL of the given attribute as l (nil removes it).
func (e *Env) SetACL(l *kernel.LWP, name, attr string, a kernel.ACL) unix.Errno {
	e.T.Helper()
	return e.xattrOp(l, name, func(vp *vfs.Vnode) unix.Errno {
		if a == nil {
			return vfs.VOPDeleteextattr(l, vp, attr)
		}
		return vfs.VOPSetextattr(l, vp, attr, a.Xattr(), 0)
	})
}

// GetACL reads name's ACL of the given attribute (nil, ENODATA for none).
func (e *Env) GetACL(name, attr string) (kernel.ACL, unix.Errno) {
	e.T.Helper()
	var a kernel.ACL
	err := e.xattrOp(e.L, name, func(vp *vfs.Vnode) unix.Errno {
		buf := make([]byte, 1024)
		u := kernel.UioSetup(buf, 0, kernel.UioRead)
		n, err := vfs.VOPGetextattr(e.L, vp, attr, u)
		kernel.UioFree(u)
		if err != 0 {
			return err
		}
		a, err = kernel.ParseACLXattr(buf[:n])
		return err
	})
	return a, err
}

// as returns an LWP with the given credentials.
func (e *Env) as(uid, gid uint32, groups ...uint32) *kernel.LWP {
	e.T.Helper()
	l, err := e.K.Rfork(e.L, kernel.RFCFDG)
	if err != nil {
		e.T.Fatal(err)
	}
	l.Proc().SetCred(kernel.CredCreate(uid, gid, groups))
	e.T.Cleanup(func() { e.K.ReleaseLWP(l) })
	return l
}

// canOpen reports whether l may open name with flags.
func canOpen(l *kernel.LWP, name string, flags int) unix.Errno {
	fd, err := vfs.Open(l, name, flags, 0)
	if err == 0 {
		vfs.Close(l, fd)
	}
	return err
}

func needACL(f FS) bool   { return !f.NoXattr }
func needNoACL(f FS) bool { return f.NoXattr }

func acl(es ...kernel.ACLEntry) kernel.ACL { return es }
func ent(tag, perm uint16, id uint32) kernel.ACLEntry {
	return kernel.ACLEntry{Tag: tag, Perm: perm, ID: id}
}

var aclCases = []Case{
	{"ACLAccess", needACL, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, []byte("x"), 0o600)
		u1000, u2000 := e.User, e.as(2000, 2000)
		member := e.as(3000, 3000, 50)
		e.Want(canOpen(u1000, f, unix.O_RDONLY), unix.EACCES, "1000 reads 0600 before the ACL")
		a := acl(ent(kernel.ACLUserObj, 6, und), ent(kernel.ACLUser, 6, 1000),
			ent(kernel.ACLGroupObj, 0, und), ent(kernel.ACLGroup, 4, 50),
			ent(kernel.ACLMask, 6, und), ent(kernel.ACLOther, 0, und))
		e.Must(e.SetACL(e.L, f, kernel.ACLAccessXattr, a), "set access ACL")
		if va := e.Stat(f); va.Mode != 0o660 {
			e.T.Fatalf("mode after setfacl %o, want 660 (the mask)", va.Mode)
		}
		got, err := e.GetACL(f, kernel.ACLAccessXattr)
		if err != 0 || !slices.Equal(got, a) {
			e.T.Fatalf("get = %v %v, want %v", got, err, a)
		}
		e.Must(canOpen(u1000, f, unix.O_RDWR), "named user 1000 opens rw")
		e.Must(canOpen(member, f, unix.O_RDONLY), "named group 50 reads")
		e.Want(canOpen(member, f, unix.O_WRONLY), unix.EACCES, "named group 50 writes")
		e.Want(canOpen(u2000, f, unix.O_RDONLY), unix.EACCES, "other reads")
		// chmod rewrites the mask: 1000 keeps only what the mask allows.
		e.Must(vfs.Chmod(e.L, f, 0o640), "chmod 640")
		got, _ = e.GetACL(f, kernel.ACLAccessXattr)
		if i := slices.IndexFunc(got, func(x kernel.ACLEntry) bool { return x.Tag == kernel.ACLMask }); i < 0 || got[i].Perm != 4 {
			e.T.Fatalf("ACL after chmod 640: %v, want mask r--", got)
		}
		e.Must(canOpen(u1000, f, unix.O_RDONLY), "1000 reads after chmod 640")
		e.Want(canOpen(u1000, f, unix.O_WRONLY), unix.EACCES, "1000 writes after chmod 640")
		// An ACL a mode can say is stored as the mode alone.
		e.Must(e.SetACL(e.L, f, kernel.ACLAccessXattr, kernel.ACLFromMode(0o751)), "set a minimal ACL")
		if va := e.Stat(f); va.Mode != 0o751 {
			e.T.Fatalf("mode after a minimal ACL %o, want 751", va.Mode)
		}
		_, err = e.GetACL(f, kernel.ACLAccessXattr)
		e.Want(err, unix.ENODATA, "get after a minimal ACL")
		e.Want(canOpen(u1000, f, unix.O_WRONLY), unix.EACCES, "1000 writes with the named entry gone")
	}},
	{"ACLDenyNamedUser", needACL, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, []byte("x"), 0o644)
		e.Must(canOpen(e.User, f, unix.O_RDONLY), "1000 reads 0644")
		e.Must(e.SetACL(e.L, f, kernel.ACLAccessXattr, acl(ent(kernel.ACLUserObj, 6, und),
			ent(kernel.ACLUser, 0, 1000), ent(kernel.ACLGroupObj, 4, und),
			ent(kernel.ACLMask, 4, und), ent(kernel.ACLOther, 4, und))), "set user:1000:---")
		e.Want(canOpen(e.User, f, unix.O_RDONLY), unix.EACCES, "1000 reads with user:1000:---")
		e.Must(canOpen(e.as(2000, 2000), f, unix.O_RDONLY), "2000 reads 0644")
		// removing the ACL leaves the mode and lets 1000 in again
		e.Must(e.SetACL(e.L, f, kernel.ACLAccessXattr, nil), "remove")
		e.Must(e.SetACL(e.L, f, kernel.ACLAccessXattr, nil), "remove again (absent is fine)")
		e.Must(canOpen(e.User, f, unix.O_RDONLY), "1000 reads after removal")
	}},
	{"ACLSetRules", needACL, func(e *Env) {
		f, d := e.P("f"), e.P("d")
		e.WriteFile(f, nil, 0o644)
		e.Must(vfs.Mkdir(e.L, d, 0o755), "mkdir")
		e.Must(vfs.Chown(e.L, d, 1000, 1000), "chown d")
		a := kernel.ACLFromMode(0o700)
		e.Want(e.SetACL(e.User, f, kernel.ACLAccessXattr, a), unix.EPERM, "non-owner sets an access ACL")
		e.Want(e.SetACL(e.L, f, kernel.ACLDefaultXattr, a), unix.EACCES, "default ACL on a file")
		e.Must(e.SetACL(e.L, f, kernel.ACLDefaultXattr, nil), "removing a file's default ACL")
		e.Must(e.SetACL(e.User, d, kernel.ACLDefaultXattr, a), "owner sets a directory's default ACL")
		bad := acl(ent(kernel.ACLUserObj, 6, und), ent(kernel.ACLUser, 6, 5), ent(kernel.ACLGroupObj, 4, und), ent(kernel.ACLOther, 4, und))
		err := e.xattrOp(e.L, f, func(vp *vfs.Vnode) unix.Errno {
			return vfs.VOPSetextattr(e.L, vp, kernel.ACLAccessXattr, bad.Xattr(), 0)
		})
		e.Want(err, unix.EINVAL, "named entry without a mask")
		// An empty default ACL removes it.
		err = e.xattrOp(e.User, d, func(vp *vfs.Vnode) unix.Errno {
			return vfs.VOPSetextattr(e.User, vp, kernel.ACLDefaultXattr, []byte{2, 0, 0, 0}, 0)
		})
		e.Must(err, "set a zero-entry default ACL")
		_, err = e.GetACL(d, kernel.ACLDefaultXattr)
		e.Want(err, unix.ENODATA, "default ACL after a zero-entry set")
	}},
	{"ACLInherit", needACL, func(e *Env) {
		d := e.P("d")
		e.Must(vfs.Mkdir(e.L, d, 0o755), "mkdir")
		def := acl(ent(kernel.ACLUserObj, 7, und), ent(kernel.ACLUser, 7, 1000),
			ent(kernel.ACLGroupObj, 5, und), ent(kernel.ACLMask, 7, und), ent(kernel.ACLOther, 5, und))
		e.Must(e.SetACL(e.L, d, kernel.ACLDefaultXattr, def), "set default ACL")
		vfs.Umask(e.L, 0o077) // a default ACL replaces the umask
		e.WriteFile(e.P("d", "f"), nil, 0o666)
		if va := e.Stat(e.P("d", "f")); va.Mode != 0o664 {
			e.T.Fatalf("file under a default ACL: mode %o, want 664", va.Mode)
		}
		want := acl(ent(kernel.ACLUserObj, 6, und), ent(kernel.ACLUser, 7, 1000),
			ent(kernel.ACLGroupObj, 5, und), ent(kernel.ACLMask, 6, und), ent(kernel.ACLOther, 4, und))
		if got, err := e.GetACL(e.P("d", "f"), kernel.ACLAccessXattr); err != 0 || !slices.Equal(got, want) {
			e.T.Fatalf("inherited access ACL %v %v, want %v", got, err, want)
		}
		_, err := e.GetACL(e.P("d", "f"), kernel.ACLDefaultXattr)
		e.Want(err, unix.ENODATA, "a file takes no default ACL")
		e.Must(canOpen(e.User, e.P("d", "f"), unix.O_RDWR), "1000 opens the inherited file rw")
		e.Must(vfs.Mkdir(e.L, e.P("d", "sub"), 0o777), "mkdir under a default ACL")
		if va := e.Stat(e.P("d", "sub")); va.Mode != 0o775 {
			e.T.Fatalf("directory under a default ACL: mode %o, want 775", va.Mode)
		}
		if got, err := e.GetACL(e.P("d", "sub"), kernel.ACLDefaultXattr); err != 0 || !slices.Equal(got, def) {
			e.T.Fatalf("inherited default ACL %v %v, want %v", got, err, def)
		}
		// Without a default ACL the umask applies.
		e.WriteFile(e.P("plain"), nil, 0o666)
		if va := e.Stat(e.P("plain")); va.Mode != 0o600 {
			e.T.Fatalf("file without a default ACL: mode %o, want 600", va.Mode)
		}
		_, err = e.GetACL(e.P("plain"), kernel.ACLAccessXattr)
		e.Want(err, unix.ENODATA, "no ACL without a default")
	}},
	{"ACLNotSupported", needNoACL, func(e *Env) {
		f := e.P("f")
		e.WriteFile(f, nil, 0o644)
		e.Want(e.SetACL(e.L, f, kernel.ACLAccessXattr, kernel.ACLFromMode(0o600)), unix.EOPNOTSUPP, "set a minimal ACL")
		e.Must(vfs.Chmod(e.L, f, 0o600), "chmod")
		if va := e.Stat(f); va.Mode != 0o600 {
			e.T.Fatalf("mode %o after chmod", va.Mode)
		}
		_, err := e.GetACL(f, kernel.ACLAccessXattr)
		if err != unix.ENODATA && err != unix.EOPNOTSUPP {
			e.T.Fatalf("get: %v", err)
		}
	}},
}

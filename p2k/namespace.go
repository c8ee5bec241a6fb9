package p2k

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Operations that change the namespace. The host sends the creator's
// umask beside the mode; with FUSE_DONT_MASK (which the mount asks for
// with POSIX ACLs) the mode is the one the caller passed, and the VOP
// layer applies the umask only when the directory has no default ACL.
// Without it the host has applied the umask already, and applying it
// again changes nothing.

// Mknod implements fuse.RawFileSystem (VOP_MKNOD). Device nodes need
// kauth's mknod right.
func (b *Bridge) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "mknod", name, b.mknod(c, in, name, out))
}

func (b *Bridge) mknod(c *ctx, in *fuse.MknodIn, name string, out *fuse.EntryOut) (e unix.Errno) {
	if c == nil {
		return unix.EIO
	}
	t := vfs.VTypeFromMode(in.Mode)
	switch t {
	case vfs.VBLK, vfs.VCHR:
		if e := kernel.Authorize(c.l.Cred(), kernel.ActionMknod); e != 0 {
			return e
		}
	case vfs.VFIFO, vfs.VSOCK, vfs.VREG:
	default:
		return unix.EINVAL
	}
	return b.makeNode(c, in.NodeId, name, vfs.Vattr{Type: t, Mode: in.Mode & 0o7777, Umask: in.Umask, Rdev: uint64(in.Rdev)}, "", out)
}

// Mkdir implements fuse.RawFileSystem (VOP_MKDIR).
func (b *Bridge) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "mkdir", name, b.makeNode(c, in.NodeId, name, vfs.Vattr{Type: vfs.VDIR, Mode: in.Mode & 0o7777, Umask: in.Umask}, "", out))
}

// Symlink implements fuse.RawFileSystem (VOP_SYMLINK).
func (b *Bridge) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(h, cancel)
	e := vfs.CheckPath(target)
	if e == 0 {
		e = b.makeNode(c, h.NodeId, name, vfs.Vattr{Type: vfs.VLNK, Mode: 0o777}, target, out)
	}
	return b.done(c, "symlink", name, e)
}

// makeNode creates name in directory id with the VOP for va.Type and answers
// with the new entry.
func (b *Bridge) makeNode(c *ctx, id uint64, name string, va vfs.Vattr, target string, out *fuse.EntryOut) unix.Errno {
	return b.onNode(c, id, func(dvp *vfs.Vnode) (e unix.Errno) {
		if e = b.checkNewName(name); e != 0 {
			return e
		}
		c.va = va
		c.cn = vfs.ComponentName{Op: vfs.CREATE, Name: name, IsLast: true}
		var vp *vfs.Vnode
		switch va.Type {
		case vfs.VDIR:
			vp, e = vfs.VOPMkdir(c.l, dvp, &c.cn, &c.va)
		case vfs.VLNK:
			vp, e = vfs.VOPSymlink(c.l, dvp, &c.cn, &c.va, target)
		default:
			vp, e = vfs.VOPMknod(c.l, dvp, &c.cn, &c.va)
		}
		c.cn.Name = ""
		if e != 0 {
			return e
		}
		return b.entry(c, vp, out)
	})
}

// Create implements fuse.RawFileSystem: VOP_CREATE, then VOP_OPEN. Without
// O_EXCL an existing file (made by someone else since the host's lookup)
// is opened instead.
func (b *Bridge) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "create", name, b.create(c, in, name, out))
}

func (b *Bridge) create(c *ctx, in *fuse.CreateIn, name string, out *fuse.CreateOut) unix.Errno {
	return b.onNode(c, in.NodeId, func(dvp *vfs.Vnode) (e unix.Errno) {
		if e = b.checkNewName(name); e != 0 {
			return e
		}
		c.va = vfs.Vattr{Type: vfs.VREG, Mode: in.Mode & 0o7777, Umask: in.Umask}
		c.cn = vfs.ComponentName{Op: vfs.CREATE, Name: name, IsLast: true}
		vp, e := vfs.VOPCreate(c.l, dvp, &c.cn, &c.va)
		c.cn.Name = ""
		created := e == 0
		if e == unix.EEXIST && in.Flags&unix.O_EXCL == 0 {
			vp, e = b.lookupName(c, dvp, name, vfs.LOOKUP)
		}
		if e != 0 {
			return e
		}
		how := 0
		if created {
			how = vfs.VnOpenCreated
		}
		fh, e := b.openVnode(c, vp, in.Flags|unix.O_CREAT, how)
		if e != 0 {
			vfs.Vrele(c.l, vp)
			return e
		}
		vfs.Vref(vp) // one for the handle, one for the node
		if e = b.entry(c, vp, &out.EntryOut); e != 0 {
			if h := b.handles.remove(fh); h != nil {
				vfs.VOPClose(c.l, h.vp, h.fflags)
				vfs.Vrele(c.l, h.vp)
			}
			return e
		}
		out.Fh = fh
		out.OpenFlags = b.openFlags
		return 0
	})
}

// Link implements fuse.RawFileSystem (VOP_LINK).
func (b *Bridge) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "link", name, b.link(c, in, name, out))
}

func (b *Bridge) link(c *ctx, in *fuse.LinkIn, name string, out *fuse.EntryOut) unix.Errno {
	return b.onNode(c, in.NodeId, func(dvp *vfs.Vnode) (e unix.Errno) {
		vp, e := b.pin(c, in.Oldnodeid)
		if e != 0 {
			return e
		}
		e = b.checkNewName(name)
		if e == 0 && vp.Type == vfs.VDIR {
			e = unix.EPERM
		}
		if e == 0 {
			c.cn = vfs.ComponentName{Op: vfs.CREATE, Name: name, IsLast: true}
			e = vfs.VOPLink(c.l, dvp, vp, &c.cn)
			c.cn.Name = ""
		}
		if e != 0 {
			vfs.Vrele(c.l, vp)
			return e
		}
		return b.entry(c, vp, out)
	})
}

// Unlink implements fuse.RawFileSystem (VOP_REMOVE).
func (b *Bridge) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	c := b.begin(h, cancel)
	return b.done(c, "remove", name, b.remove(c, h.NodeId, name, false))
}

// Rmdir implements fuse.RawFileSystem (VOP_RMDIR).
func (b *Bridge) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	c := b.begin(h, cancel)
	return b.done(c, "rmdir", name, b.remove(c, h.NodeId, name, true))
}

func (b *Bridge) remove(c *ctx, id uint64, name string, dir bool) unix.Errno {
	return b.onNode(c, id, func(dvp *vfs.Vnode) (e unix.Errno) {
		switch name {
		case ".":
			return unix.EINVAL
		case "..":
			return unix.ENOTEMPTY
		}
		if b.opts.ReadOnly {
			return unix.EROFS
		}
		vp, e := b.lookupName(c, dvp, name, vfs.DELETE)
		if e != 0 {
			return e
		}
		defer vfs.Vrele(c.l, vp)
		switch {
		case vp.Root || vp.Mount != dvp.Mount:
			return unix.EBUSY // a mount point
		case dir && vp.Type != vfs.VDIR:
			return unix.ENOTDIR
		case !dir && vp.Type == vfs.VDIR:
			return unix.EISDIR
		}
		c.cn = vfs.ComponentName{Op: vfs.DELETE, Name: name, IsLast: true}
		if dir {
			e = vfs.VOPRmdir(c.l, dvp, vp, &c.cn)
		} else {
			e = vfs.VOPRemove(c.l, dvp, vp, &c.cn)
		}
		c.cn.Name = ""
		return e
	})
}

// Rename implements fuse.RawFileSystem (VOP_RENAME, or VOP_EXCHANGE for
// RENAME_EXCHANGE; macOS: RENAME_SWAP). RENAME_NOREPLACE (macOS:
// RENAME_EXCL) is honoured by looking the target up first and then
// renaming with no target vnode: a driver refuses (EEXIST) a name that
// appeared meanwhile, because it checks under the namespace lock.
// RENAME_WHITEOUT cannot be honoured: EINVAL, as Linux answers for a file
// system without whiteouts.
func (b *Bridge) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "rename", oldName, b.rename(c, in, oldName, newName))
}

func (b *Bridge) rename(c *ctx, in *fuse.RenameIn, oldName, newName string) (e unix.Errno) {
	if e = enter(c); e != 0 {
		return e
	}
	defer vfs.Leave(c.l, &e)
	flags := renameFlags(in)
	if e = vfs.CheckRenameFlags(flags); e != 0 {
		return e
	}
	if flags&vfs.RenameWhiteout != 0 {
		return unix.EINVAL
	}
	noReplace, exchange := flags&vfs.RenameNoReplace != 0, flags&vfs.RenameExchange != 0
	fdvp, e := b.pin(c, in.NodeId)
	if e != 0 {
		return e
	}
	defer vfs.Vrele(c.l, fdvp)
	tdvp, e := b.pin(c, in.Newdir)
	if e != 0 {
		return e
	}
	defer vfs.Vrele(c.l, tdvp)
	for _, n := range [2]string{oldName, newName} {
		if n == "." || n == ".." {
			return unix.EINVAL
		}
	}
	if e = b.checkNewName(newName); e != 0 {
		return e
	}
	fvp, e := b.lookupName(c, fdvp, oldName, vfs.DELETE)
	if e != 0 {
		return e
	}
	defer vfs.Vrele(c.l, fvp)
	if fvp.Root || fvp.Mount != fdvp.Mount {
		return unix.EBUSY
	}
	tvp, e := b.lookupName(c, tdvp, newName, vfs.RENAME)
	switch {
	case e == unix.ENOENT && !exchange:
		tvp = nil
	case e != 0:
		return e
	default:
		defer vfs.Vrele(c.l, tvp)
		if noReplace {
			return unix.EEXIST
		}
		if tvp.Root || tvp.Mount != tdvp.Mount {
			return unix.EBUSY
		}
	}
	c.cn = vfs.ComponentName{Op: vfs.DELETE, Name: oldName, IsLast: true}
	c.cn2 = vfs.ComponentName{Op: vfs.RENAME, Name: newName, IsLast: true}
	if exchange {
		e = vfs.VOPExchange(c.l, fdvp, fvp, &c.cn, tdvp, tvp, &c.cn2)
	} else {
		e = vfs.VOPRename(c.l, fdvp, fvp, &c.cn, tdvp, tvp, &c.cn2)
	}
	c.cn.Name, c.cn2.Name = "", ""
	return e
}

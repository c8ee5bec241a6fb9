package p2k

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Operations that change the namespace. The host sends the creator's
// umask beside the mode; with FUSE_DONT_MASK (which the mount asks for
// with POSIX ACLs) the mode is the one the caller passed, and the VOP
// layer applies the umask only when the directory has no default ACL.
// Without it the host has applied the umask already, and applying it
// again changes nothing.

// vnFlags are the vn layer's flags for what the bridge does itself:
// the host checks permissions (default_permissions), the bridge serves
// read-only.
func (b *Bridge) vnFlags() int {
	flags := 0
	if b.opts.DefaultPermissions {
		flags |= vfs.ClientChecked
	}
	if b.opts.ReadOnly {
		flags |= vfs.ClientReadOnly
	}
	return flags
}

// Mknod implements fuse.RawFileSystem (VOP_MKNOD through vfs.VnMake).
func (b *Bridge) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	t, e := vfs.MknodType(in.Mode)
	if e == 0 {
		e = b.makeNode(c, in.NodeId, name, vfs.Vattr{Type: t, Mode: in.Mode & 0o7777, Umask: in.Umask, Rdev: uint64(in.Rdev)}, "", out)
	}
	return b.done(c, "mknod", name, e)
}

// Mkdir implements fuse.RawFileSystem (VOP_MKDIR through vfs.VnMake).
func (b *Bridge) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "mkdir", name, b.makeNode(c, in.NodeId, name, vfs.Vattr{Type: vfs.VDIR, Mode: in.Mode & 0o7777, Umask: in.Umask}, "", out))
}

// Symlink implements fuse.RawFileSystem (VOP_SYMLINK through vfs.VnMake).
func (b *Bridge) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(h, cancel)
	return b.done(c, "symlink", name, b.makeNode(c, h.NodeId, name, vfs.Vattr{Type: vfs.VLNK, Mode: 0o777}, target, out))
}

// makeNode makes name in directory id through the vn layer and answers
// with the new entry.
func (b *Bridge) makeNode(c *ctx, id uint64, name string, va vfs.Vattr, target string, out *fuse.EntryOut) unix.Errno {
	if c == nil {
		return unix.EIO
	}
	return b.onNode(c, id, func(dvp *vfs.Vnode) (e unix.Errno) {
		c.va = va
		vp, e := vfs.VnMake(c.l, vfs.VnName{Dvp: dvp, Name: name}, &c.va, target, b.vnFlags())
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
		if e = vfs.VnLink(c.l, vp, vfs.VnName{Dvp: dvp, Name: name}, b.vnFlags()); e != 0 {
			vfs.Vrele(c.l, vp)
			return e
		}
		return b.entry(c, vp, out)
	})
}

// Unlink implements fuse.RawFileSystem (VOP_REMOVE through vfs.VnRemove).
func (b *Bridge) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	c := b.begin(h, cancel)
	return b.done(c, "remove", name, b.remove(c, h.NodeId, name, false))
}

// Rmdir implements fuse.RawFileSystem (VOP_RMDIR through vfs.VnRemove).
func (b *Bridge) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	c := b.begin(h, cancel)
	return b.done(c, "rmdir", name, b.remove(c, h.NodeId, name, true))
}

func (b *Bridge) remove(c *ctx, id uint64, name string, dir bool) unix.Errno {
	return b.onNode(c, id, func(dvp *vfs.Vnode) unix.Errno {
		return vfs.VnRemove(c.l, vfs.VnName{Dvp: dvp, Name: name}, dir, b.vnFlags())
	})
}

// Rename implements fuse.RawFileSystem (VOP_RENAME, or VOP_EXCHANGE for
// RENAME_EXCHANGE, through vfs.VnRename; macOS's RENAME_EXCL and
// RENAME_SWAP come as RENAME_NOREPLACE and RENAME_EXCHANGE).
func (b *Bridge) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "rename", oldName, b.rename(c, in, oldName, newName))
}

func (b *Bridge) rename(c *ctx, in *fuse.RenameIn, oldName, newName string) (e unix.Errno) {
	if e = enter(c); e != 0 {
		return e
	}
	defer vfs.Leave(c.l, &e)
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
	from := vfs.VnName{Dvp: fdvp, Name: oldName}
	to := vfs.VnName{Dvp: tdvp, Name: newName}
	return vfs.VnRename(c.l, from, to, renameFlags(in), b.vnFlags())
}

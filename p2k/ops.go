package p2k

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Each FUSE operation is a method that begins a request, calls an inner
// function doing the kernel work as one kernel entry, and ends the
// request with done. Inner functions hold a reference on every vnode they
// touch and drop it before leaving. Most work on the request's node and
// use onNode; the rest bracket their work with enter and vfs.Leave.

// enter starts the kernel part of a request; defer vfs.Leave(c.l, &e)
// right after it succeeded.
func enter(c *ctx) unix.Errno {
	if c == nil {
		return unix.EIO
	}
	return vfs.Enter(c.l)
}

// onNode runs fn on node id's vnode as one kernel entry, the vnode held
// for fn's duration. It is vfs.Run with the pin inside, written out to
// spare the hot paths a second closure.
func (b *Bridge) onNode(c *ctx, id uint64, fn func(vp *vfs.Vnode) unix.Errno) (e unix.Errno) {
	if e = enter(c); e != 0 {
		return e
	}
	defer vfs.Leave(c.l, &e)
	vp, e := b.pin(c, id)
	if e != 0 {
		return e
	}
	defer vfs.Vrele(c.l, vp)
	return fn(vp)
}

// checkNewName refuses a name to add: vfs.CheckName's answers, then EROFS
// on a read-only bridge.
func (b *Bridge) checkNewName(name string) unix.Errno {
	if e := vfs.CheckName(name); e != 0 {
		return e
	}
	if b.opts.ReadOnly {
		return unix.EROFS
	}
	return 0
}

// lookupName looks name up in dvp for op through the vn layer, into c.cn:
// name checks, search permission unless the host checks it, mounts
// crossed both ways, never above the bridge's root.
func (b *Bridge) lookupName(c *ctx, dvp *vfs.Vnode, name string, op vfs.NameiOp) (*vfs.Vnode, unix.Errno) {
	flags := 0
	if b.opts.DefaultPermissions {
		flags = vfs.ClientChecked
	}
	c.cn = vfs.ComponentName{Op: op, Name: name, IsLast: true}
	vp, e := vfs.VnLookup(c.l, b.nodes.root.vp, dvp, &c.cn, flags)
	c.cn.Name = ""
	return vp, e
}

// entry answers with vp, whose reference it consumes: its attributes, and
// its node, with one more lookup counted.
func (b *Bridge) entry(c *ctx, vp *vfs.Vnode, out *fuse.EntryOut) unix.Errno {
	if e := vfs.VOPGetattr(c.l, vp, &c.va); e != 0 {
		vfs.Vrele(c.l, vp)
		return e
	}
	out.NodeId = b.nodes.add(c.l, vp)
	out.Generation = c.va.Gen
	b.fillAttr(&out.Attr, &c.va)
	out.SetEntryTimeout(b.entryTTL)
	out.SetAttrTimeout(b.attrTTL)
	return 0
}

// Lookup implements fuse.RawFileSystem (VOP_LOOKUP).
func (b *Bridge) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	c := b.begin(h, cancel)
	e := b.lookup(c, h.NodeId, name, out)
	st := b.done(c, "lookup", name, e)
	if e == unix.ENOENT && b.negTTL > 0 {
		// A negative entry the host may cache.
		*out = fuse.EntryOut{}
		out.SetEntryTimeout(b.negTTL)
		return fuse.OK
	}
	return st
}

func (b *Bridge) lookup(c *ctx, id uint64, name string, out *fuse.EntryOut) unix.Errno {
	return b.onNode(c, id, func(dvp *vfs.Vnode) (e unix.Errno) {
		vp, e := b.lookupName(c, dvp, name, vfs.LOOKUP)
		if e != 0 {
			return e
		}
		return b.entry(c, vp, out)
	})
}

// Forget implements fuse.RawFileSystem. It never waits: a vnode whose
// last lookup went is released by the background releaser.
func (b *Bridge) Forget(id, nlookup uint64) {
	if vp := b.nodes.forget(id, nlookup); vp != nil {
		b.rel.push(vp)
	}
	b.requests.Add(1)
}

// GetAttr implements fuse.RawFileSystem (VOP_GETATTR).
func (b *Bridge) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "getattr", "", b.getattr(c, in.NodeId, out))
}

func (b *Bridge) getattr(c *ctx, id uint64, out *fuse.AttrOut) unix.Errno {
	return b.onNode(c, id, func(vp *vfs.Vnode) (e unix.Errno) {
		if e = vfs.VOPGetattr(c.l, vp, &c.va); e != 0 {
			return e
		}
		b.fillAttr(&out.Attr, &c.va)
		out.SetTimeout(b.attrTTL)
		return 0
	})
}

// SetAttr implements fuse.RawFileSystem (VOP_SETATTR): chmod, chown,
// truncate and ftruncate, utimes; the answer carries the new attributes.
func (b *Bridge) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "setattr", "", b.setattr(c, in, out))
}

func (b *Bridge) setattr(c *ctx, in *fuse.SetAttrIn, out *fuse.AttrOut) unix.Errno {
	return b.onNode(c, in.NodeId, func(vp *vfs.Vnode) (e unix.Errno) {
		if e = setattrIn(in, &c.va); e != 0 {
			return e
		}
		// ftruncate: a handle open for writing decides, not the mode.
		if c.va.Valid&vfs.AttrSize != 0 && in.Valid&fuse.FATTR_FH != 0 && b.handles.fflags(in.Fh)&vfs.FWRITE != 0 {
			c.va.Valid |= vfs.AttrOpenWrite
		}
		if c.va.Valid != 0 {
			if b.opts.ReadOnly {
				return unix.EROFS
			}
			if e = vfs.VOPSetattr(c.l, vp, &c.va); e != 0 {
				return e
			}
		}
		// The host asks for setuid and setgid to go with a truncate or chown
		// (FUSE_HANDLE_KILLPRIV_V2).
		if in.Valid&fattrKillSUIDGID != 0 && !b.opts.ReadOnly {
			if e = vfs.VOPKillPriv(c.l, vp); e != 0 {
				return e
			}
		}
		if e = vfs.VOPGetattr(c.l, vp, &c.va); e != 0 {
			return e
		}
		b.fillAttr(&out.Attr, &c.va)
		out.SetTimeout(b.attrTTL)
		return 0
	})
}

// Access implements fuse.RawFileSystem (VOP_ACCESS).
func (b *Bridge) Access(cancel <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "access", "", b.access(c, in))
}

func (b *Bridge) access(c *ctx, in *fuse.AccessIn) unix.Errno {
	return b.onNode(c, in.NodeId, func(vp *vfs.Vnode) unix.Errno {
		return vfs.VnAccess(c.l, vp, in.Mask&(fuse.R_OK|fuse.W_OK|fuse.X_OK), b.vnFlags())
	})
}

// Readlink implements fuse.RawFileSystem (VOP_READLINK).
func (b *Bridge) Readlink(cancel <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	c := b.begin(h, cancel)
	out, e := b.readlink(c, h.NodeId)
	return out, b.done(c, "readlink", "", e)
}

func (b *Bridge) readlink(c *ctx, id uint64) (out []byte, e unix.Errno) {
	e = b.onNode(c, id, func(vp *vfs.Vnode) unix.Errno {
		n, e := vfs.VnReadlink(c.l, vp, c.linkbuf[:])
		if e == 0 {
			// go-fuse sends the reply after we return and c is
			// reused: copy.
			out = append([]byte(nil), c.linkbuf[:n]...)
		}
		return e
	})
	if e != 0 {
		return nil, e
	}
	return out, 0
}

// StatFs implements fuse.RawFileSystem (VFS_STATVFS of the node's mount).
func (b *Bridge) StatFs(cancel <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	c := b.begin(h, cancel)
	return b.done(c, "statvfs", "", b.statfs(c, h.NodeId, out))
}

func (b *Bridge) statfs(c *ctx, id uint64, out *fuse.StatfsOut) unix.Errno {
	return b.onNode(c, id, func(vp *vfs.Vnode) (e unix.Errno) {
		if vp.Mount == nil {
			return unix.ENOSYS
		}
		sb := &c.sb
		if e = vfs.StatvfsMount(c.l, vp.Mount, sb); e != 0 {
			return e
		}
		*out = fuse.StatfsOut{
			Blocks: sb.Blocks, Bfree: sb.Bfree, Bavail: sb.Bavail,
			Files: sb.Files, Ffree: sb.Ffree,
			Bsize: uint32(sb.Bsize), Frsize: uint32(sb.Frsize), NameLen: uint32(sb.Namemax),
		}
		*sb = vfs.Statvfs{}
		return 0
	})
}

package p2k

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Extended attributes. A request with an empty buffer asks only for the
// size; a buffer too small gets ERANGE with the size needed. A driver
// without extended attributes answers ENOTSUP, a missing attribute is
// ENODATA (ENOATTR on macOS).

// GetXAttr implements fuse.RawFileSystem (VOP_GETEXTATTR).
func (b *Bridge) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	c := b.begin(h, cancel)
	n, e := b.getxattr(c, h.NodeId, attr, dest)
	return uint32(n), b.done(c, "getextattr", attr, e)
}

func (b *Bridge) getxattr(c *ctx, id uint64, attr string, dest []byte) (n int, e unix.Errno) {
	e = b.onNode(c, id, func(vp *vfs.Vnode) (e unix.Errno) {
		if len(dest) == 0 {
			n, e = vfs.VOPGetextattr(c.l, vp, attr, nil)
			return xattrErrno(e)
		}
		u := kernel.UioSetup(dest, 0, kernel.UioRead)
		n, e = vfs.VOPGetextattr(c.l, vp, attr, u)
		kernel.UioFree(u)
		return xattrErrno(e)
	})
	return n, e
}

// ListXAttr implements fuse.RawFileSystem (VOP_LISTEXTATTR).
func (b *Bridge) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	c := b.begin(h, cancel)
	n, e := b.listxattr(c, h.NodeId, dest)
	return uint32(n), b.done(c, "listextattr", "", e)
}

func (b *Bridge) listxattr(c *ctx, id uint64, dest []byte) (n int, e unix.Errno) {
	e = b.onNode(c, id, func(vp *vfs.Vnode) (e unix.Errno) {
		if len(dest) == 0 {
			n, e = vfs.VOPListextattr(c.l, vp, nil)
			return e
		}
		u := kernel.UioSetup(dest, 0, kernel.UioRead)
		n, e = vfs.VOPListextattr(c.l, vp, u)
		kernel.UioFree(u)
		return e
	})
	return n, e
}

// SetXAttr implements fuse.RawFileSystem (VOP_SETEXTATTR; the driver
// copies the value, which lives in the request buffer).
func (b *Bridge) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "setextattr", attr, b.setxattr(c, in, attr, data))
}

func (b *Bridge) setxattr(c *ctx, in *fuse.SetXAttrIn, attr string, data []byte) unix.Errno {
	return b.onNode(c, in.NodeId, func(vp *vfs.Vnode) (e unix.Errno) {
		if b.opts.ReadOnly {
			return unix.EROFS
		}
		return xattrErrno(vfs.VOPSetextattr(c.l, vp, attr, data, int(in.Flags)))
	})
}

// RemoveXAttr implements fuse.RawFileSystem (VOP_DELETEEXTATTR).
func (b *Bridge) RemoveXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string) fuse.Status {
	c := b.begin(h, cancel)
	return b.done(c, "deleteextattr", attr, b.removexattr(c, h.NodeId, attr))
}

func (b *Bridge) removexattr(c *ctx, id uint64, attr string) unix.Errno {
	return b.onNode(c, id, func(vp *vfs.Vnode) (e unix.Errno) {
		if b.opts.ReadOnly {
			return unix.EROFS
		}
		return xattrErrno(vfs.VOPDeleteextattr(c.l, vp, attr))
	})
}

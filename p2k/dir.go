package p2k

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Directory reading keeps no state in the handle: FUSE's readdir offset is
// the driver's cookie of the next entry (each entry's Off), so every
// request reads from the cookie it is given, fills the reply until it is
// full, and an entry that did not fit is read again next time. Entries go
// from the driver through vfs.VnReaddir straight into go-fuse's reply.

// ReadDir implements fuse.RawFileSystem (VOP_READDIR).
func (b *Bridge) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "readdir", "", b.readdir(c, in, out, false))
}

// ReadDirPlus implements fuse.RawFileSystem: VOP_READDIR, and the vnode
// of every entry but "." and "..", each counting as a lookup.
func (b *Bridge) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "readdir", "", b.readdir(c, in, out, true))
}

// dirFill is the vfs.DirentSink that moves entries into go-fuse's reply.
// It lives in the request context, so a readdir allocates nothing once
// warm. READDIRPLUS entries that want attributes are noted in pend (with
// their names in names) and filled after the driver is done, since the
// sink runs with the directory locked.
type dirFill struct {
	out    *fuse.DirEntryList
	plus   bool
	search bool
	pend   []plusPending
	names  []byte
}

type plusPending struct {
	eo     *fuse.EntryOut // in out's buffer, which never moves
	ino    uint64
	off, n int // the name in names
}

// Dirent implements vfs.DirentSink.
func (d *dirFill) Dirent(name string, ino uint64, dtype uint8, next uint64) bool {
	de := fuse.DirEntry{Mode: uint32(dtype) << 12, Ino: ino, Off: next, Name: name}
	if !d.plus {
		return d.out.AddDirEntry(de)
	}
	eo := d.out.AddDirLookupEntry(de)
	if eo == nil {
		return false
	}
	if d.search && name != "." && name != ".." { // the host ignores those two
		d.pend = append(d.pend, plusPending{eo: eo, ino: ino, off: len(d.names), n: len(name)})
		d.names = append(d.names, name...)
	}
	return true
}

func (b *Bridge) readdir(c *ctx, in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) unix.Errno {
	if c == nil {
		return unix.EIO
	}
	if in.Offset > 1<<63-1 {
		return unix.EINVAL
	}
	return b.onNode(c, in.NodeId, func(dvp *vfs.Vnode) unix.Errno {
		// READDIRPLUS looks entries up: a caller who may not search the
		// directory gets names without attributes.
		search := plus
		if plus && dvp.Type == vfs.VDIR && !b.opts.DefaultPermissions && !c.l.Cred().IsRoot() {
			search = vfs.VOPAccess(c.l, dvp, kernel.VEXEC) == 0
		}
		d := &c.dir
		d.out, d.plus, d.search = out, plus, search
		_, _, e := vfs.VnReaddir(c.l, dvp, int64(in.Offset), d)
		d.out = nil
		if e == 0 {
			for i := range d.pend {
				p := &d.pend[i]
				b.plusEntry(c, dvp, p.ino, d.names[p.off:p.off+p.n], p.eo)
			}
		}
		clear(d.pend)
		d.pend, d.names = d.pend[:0], d.names[:0]
		return e
	})
}

// plusEntry fills a READDIRPLUS entry. On failure (the name went away
// meanwhile) it leaves node id 0, which the host takes as "no attributes",
// so nothing is counted.
//
// The entry's inode number already names the file, so its vnode comes from
// the vnode cache or the driver (VFS_VGET, as NFS's readdirplus does)
// rather than from looking the name up again, which costs a directory
// scan per entry in unindexed directories. A name whose number the mount
// cannot load (an etfs key, a driver without stable numbers) is looked up.
func (b *Bridge) plusEntry(c *ctx, dvp *vfs.Vnode, ino uint64, name []byte, eo *fuse.EntryOut) {
	vp, e := dvp.Mount.Vget(c.l, ino)
	if e == 0 {
		vp = vfs.VnCrossDown(c.l, vp)
	} else {
		// A driver may keep the name it looks up: a string of its own.
		// The search permission was checked once for the whole reply.
		c.cn = vfs.ComponentName{Op: vfs.LOOKUP, Name: string(name), IsLast: true}
		vp, e = vfs.VnLookup(c.l, b.nodes.root.vp, dvp, &c.cn, vfs.ClientChecked)
		c.cn.Name = ""
		if e != 0 {
			return
		}
	}
	if e := b.entry(c, vp, eo); e != 0 {
		*eo = fuse.EntryOut{}
	}
}

package p2k

import (
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Directory reading keeps no state in the handle: FUSE's readdir offset is
// the driver's cookie of the next entry (each record's Next), so every
// request reads from the cookie it is given, fills the reply until it is
// full, and an entry that did not fit is read again next time.

// ReadDir implements fuse.RawFileSystem (VOP_READDIR).
func (b *Bridge) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "readdir", "", b.readdir(c, in, out, false))
}

// ReadDirPlus implements fuse.RawFileSystem: VOP_READDIR, and VOP_LOOKUP
// of every entry but "." and "..", each counting as a lookup.
func (b *Bridge) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "readdir", "", b.readdir(c, in, out, true))
}

// maxDirRead bounds one VOP_READDIR (the host asks for a page or so).
const maxDirRead = 128 << 10

func (b *Bridge) readdir(c *ctx, in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) (e unix.Errno) {
	if e = enter(c); e != 0 {
		return e
	}
	defer vfs.Leave(c.l, &e)
	if in.Offset > 1<<63-1 {
		return unix.EINVAL
	}
	dvp, e := b.pin(c, in.NodeId)
	if e != 0 {
		return e
	}
	defer vfs.Vrele(c.l, dvp)
	if dvp.Type != vfs.VDIR {
		return unix.ENOTDIR
	}
	// Driver records are no larger than FUSE's, so a reply's worth of
	// them is enough to fill the reply.
	size := min(max(int(in.Size), vfs.DirentMax), maxDirRead)
	if cap(c.dirbuf) < size {
		c.dirbuf = make([]byte, size)
	}
	buf := c.dirbuf[:size]
	u := kernel.UioSetup(buf, int64(in.Offset), kernel.UioRead)
	eof, e := vfs.VOPReaddir(c.l, dvp, u)
	n := size - kernel.UioFree(u)
	if e != 0 {
		return e
	}
	if n == 0 && !eof {
		return unix.EINVAL // no room for one entry: cannot happen at DirentMax
	}
	// READDIRPLUS looks entries up: a caller who may not search the
	// directory gets names without attributes.
	search := plus
	if plus && !b.opts.DefaultPermissions && !c.l.Cred().IsRoot() {
		search = vfs.VOPAccess(c.l, dvp, kernel.VEXEC) == 0
	}
	for p := buf[:n]; len(p) > 0; {
		ino, next, dt, name, m, ok := vfs.ParseDirentNoCopy(p)
		if !ok {
			c.l.Kernel().Warnf("p2k: driver returned a malformed directory record")
			return unix.EIO
		}
		p = p[m:]
		// The name is copied into the reply at once: no need for a
		// string of its own (plusEntry makes one if it must look the
		// name up).
		de := fuse.DirEntry{Mode: uint32(dt) << 12, Ino: ino, Off: next,
			Name: unsafe.String(unsafe.SliceData(name), len(name))}
		if !plus {
			if !out.AddDirEntry(de) {
				break
			}
			continue
		}
		eo := out.AddDirLookupEntry(de)
		if eo == nil {
			break
		}
		if de.Name == "." || de.Name == ".." || !search {
			continue // the host ignores the entries of "." and ".."
		}
		b.plusEntry(c, dvp, ino, name, eo)
	}
	return 0
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
	if e != 0 {
		// A driver may keep the name it looks up: a string of its own.
		c.cn = vfs.ComponentName{Op: vfs.LOOKUP, Name: string(name), IsLast: true}
		vp, e = vfs.VOPLookup(c.l, dvp, &c.cn)
		c.cn.Name = ""
		if e != 0 {
			return
		}
	}
	vp = vfs.VnCrossDown(c.l, vp)
	if e := b.entry(c, vp, eo); e != 0 {
		*eo = fuse.EntryOut{}
	}
}

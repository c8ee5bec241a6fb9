package ext2fs

import (
	"strings"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// The vnode operations (ext2fs_vnops.c, ext2fs_lookup.c). The VOP*
// callers hold the locks vfs.VnodeOps lists, which also guard the
// vnode's in-core inode; these need none of their own. Everything that
// would change the file system answers EROFS through vfs.GenericOps.

type vnodeOps struct{ vfs.GenericOps }

var _ vfs.VnodeOps = vnodeOps{}

// vip returns a vnode's inode: the mount's FS and the in-core inode that
// the vnode keeps (vp.Data, a *node).
func vip(vp *vfs.Vnode) Inode { return Inode{vp.Mount.Data.(*mount).fs, vp.Data.(*node)} }

func (vnodeOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	d := vip(dvp)
	if !d.IsDir() {
		return nil, unix.ENOTDIR
	}
	dl := genfs.DirLookup{
		Ino: uint64(d.Ino),
		Search: func(l *kernel.LWP, name string) (uint64, unix.Errno) {
			ino, _, e := d.Lookup(l, name)
			return uint64(ino), e
		},
		Parent: func(l *kernel.LWP) (uint64, unix.Errno) {
			ino, e := d.parent(l)
			return uint64(ino), e
		},
		Dangling: func(ino uint64, name string) unix.Errno {
			return d.fs.corrupt("directory inode %d: entry %q names inode %d, which is not in use", d.Ino, name, ino)
		},
	}
	return dl.Lookup(l, dvp, cn)
}

// parent returns the inode number of "..": the second entry of every
// directory (hashed lookups cannot find it: it lives in the htree root).
func (ip Inode) parent(l *kernel.LWP) (uint32, unix.Errno) {
	var ino uint32
	seen := 0
	e := ip.Readdir(l, 0, func(d Dirent) bool {
		seen++
		if d.Name == ".." {
			ino = d.Ino
		}
		return ino == 0 && seen < 2
	})
	if e != 0 {
		return 0, e
	}
	if ino == 0 {
		return 0, ip.fs.corrupt("directory inode %d has no \"..\" entry", ip.Ino)
	}
	return ino, 0
}

// BSD file flags (chflags(2)) that ext2 inode flags map to, as NetBSD's
// ext2fs reports them.
const (
	ufNodump    = 0x00000001
	sfImmutable = 0x00020000
	sfAppend    = 0x00040000
)

func bsdFlags(f uint32) uint32 {
	var out uint32
	if f&disk.FlagNodump != 0 {
		out |= ufNodump
	}
	if f&disk.FlagImmutable != 0 {
		out |= sfImmutable
	}
	if f&disk.FlagAppend != 0 {
		out |= sfAppend
	}
	return out
}

func timespec(t time.Time) vfs.Timespec {
	return vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func (vnodeOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	a := vip(vp).Attr()
	*va = vfs.Vattr{
		Type: vp.Type, Mode: a.Mode & 0o7777, Nlink: a.Nlink, Uid: a.Uid, Gid: a.Gid,
		Fsid: vp.Mount.ID(), Fileid: uint64(a.Ino), Size: int64(a.Size),
		Blocksize: a.BlkSize, Bytes: int64(a.Blocks) * 512,
		Atime: timespec(a.Atime), Mtime: timespec(a.Mtime), Ctime: timespec(a.Ctime),
		Gen: uint64(a.Gen), Flags: bsdFlags(a.Flags), Rdev: vp.Rdev,
	}
	if !a.Btime.IsZero() {
		va.Birthtime = timespec(a.Btime)
	}
	return 0
}

// Read moves file data straight from the image into the uio's buffers.
func (vnodeOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	if e := genfs.Readable(vp); e != 0 {
		return e
	}
	return vip(vp).Read(l, uio)
}

// Readdir emits entries from cookie uio.Offset: the library's cookies are
// byte offsets in the directory, and each entry carries the cookie after
// it.
func (vnodeOps) Readdir(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	ip := vip(vp)
	if !ip.IsDir() {
		return true, unix.ENOTDIR
	}
	ds, e := genfs.Readdir(uio)
	if e != 0 {
		return true, e
	}
	return ds.Done(ip.readdir(l, uio.Offset, true, func(d Dirent) bool {
		return ds.Emit(uint64(d.Ino), uint64(d.Next), d.Type, d.Name)
	}))
}

func (vnodeOps) Readlink(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) unix.Errno {
	if vp.Type != vfs.VLNK {
		return unix.EINVAL
	}
	target, e := vip(vp).Readlink(l)
	if e != 0 {
		return e
	}
	_, e = kernel.Uiomove(target, uio)
	return e
}

// Seek finds data and holes from the block map or extent tree.
// Unwritten (preallocated) extents count as data, as Linux reports them;
// inline-data files are all data.
func (vnodeOps) Seek(l *kernel.LWP, vp *vfs.Vnode, off int64, whence int) (int64, unix.Errno) {
	ip := vip(vp)
	if vp.Type != vfs.VREG || ip.Flags&disk.FlagInlineData != 0 {
		return vfs.GenericOps{}.Seek(l, vp, off, whence)
	}
	if whence != unix.SEEK_DATA && whence != unix.SEEK_HOLE {
		return 0, unix.EINVAL
	}
	size := int64(ip.Size)
	if off < 0 || off >= size {
		return 0, unix.ENXIO
	}
	bs := int64(ip.fs.bsize)
	end := uint64((size + bs - 1) / bs)
	for lblk := uint64(off / bs); lblk < end; {
		r, e := ip.Bmap(l, lblk)
		if e != 0 {
			return 0, e
		}
		if (whence == unix.SEEK_DATA) == (!r.Zero || r.Unwritten) {
			return max(int64(lblk)*bs, off), 0
		}
		lblk += min(max(r.Len, 1), end-lblk)
	}
	if whence == unix.SEEK_HOLE {
		return size, 0
	}
	return 0, unix.ENXIO
}

// Bmap maps file block lbn to a device address in DEV_BSIZE units and the
// number of contiguous blocks after it (-1 for a hole). A block whose
// newest copy lives in the replayed journal maps there, alone.
func (vnodeOps) Bmap(l *kernel.LWP, vp *vfs.Vnode, lbn int64) (int64, int, unix.Errno) {
	ip := vip(vp)
	if lbn < 0 {
		return 0, 0, unix.EINVAL
	}
	r, e := ip.Bmap(l, uint64(lbn))
	if e != 0 {
		return 0, 0, e
	}
	per := int64(ip.fs.bsize / 512)
	run := func(n uint64) int { return int(min(n-1, 1<<30)) }
	if r.Zero {
		return -1, run(r.Len), 0
	}
	phys, n, e := ip.fs.bd.mapOverlay(r.Physical, r.Len)
	if e != 0 {
		return 0, 0, e
	}
	return int64(phys) * per, run(n), 0
}

func (vnodeOps) Pathconf(l *kernel.LWP, vp *vfs.Vnode, name int) (int64, unix.Errno) {
	switch name {
	case vfs.PC_NAME_MAX:
		return disk.NameMax, 0
	case vfs.PC_LINK_MAX:
		return 65000, 0 // EXT4_LINK_MAX; dir_nlink counts past it as 1
	case vfs.PC_FILESIZEBITS:
		return 64, 0
	}
	return vfs.GenericOps{}.Pathconf(l, vp, name)
}

// Inactive keeps the vnode cached: nothing on disk changes.
func (vnodeOps) Inactive(l *kernel.LWP, vp *vfs.Vnode) bool { return false }

// Reclaim drops the in-core inode.
func (vnodeOps) Reclaim(l *kernel.LWP, vp *vfs.Vnode) unix.Errno {
	vp.Data = nil
	return 0
}

// xattrVisible applies Linux's rule for reading a namespace: trusted.*
// exists for the superuser only (others get ENODATA and do not see the
// names).
func xattrVisible(l *kernel.LWP, name string) bool {
	return !strings.HasPrefix(name, "trusted.") || l.Cred().IsRoot()
}

// Getextattr returns an attribute by its Linux name ("user.x",
// "security.selinux", "system.posix_acl_access"); POSIX ACLs come back in
// the xattr form. ERANGE when uio cannot hold the value; a nil uio asks
// for the size.
func (o vnodeOps) Getextattr(l *kernel.LWP, vp *vfs.Vnode, name string, uio *kernel.Uio) (int, unix.Errno) {
	if !xattrVisible(l, name) {
		return 0, unix.ENODATA
	}
	if strings.HasPrefix(name, "user.") {
		if vp.Type != vfs.VREG && vp.Type != vfs.VDIR {
			return 0, unix.ENODATA
		}
		if e := o.Access(l, vp, kernel.VREAD); e != 0 {
			return 0, e
		}
	}
	v, e := vip(vp).GetXattr(l, name)
	if e != 0 {
		return 0, e
	}
	return genfs.CopyOutXattr(v, uio)
}

// Listextattr moves the NUL-terminated names the caller may read into
// uio. ERANGE when uio cannot hold them; a nil uio asks for the size.
func (vnodeOps) Listextattr(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (int, unix.Errno) {
	names, e := vip(vp).ListXattr(l)
	if e != 0 {
		return 0, e
	}
	var list genfs.XattrNames
	for _, n := range names {
		if xattrVisible(l, n) {
			list.Add(n)
		}
	}
	return list.CopyOut(uio)
}

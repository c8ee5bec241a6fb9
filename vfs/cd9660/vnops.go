package cd9660

import (
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// The vnode operations (cd9660_vnops.c, cd9660_lookup.c). A vnode's
// node never changes, so they need no lock of their own; everything that
// would write answers EROFS through vfs.GenericOps.

type vnodeOps struct{ vfs.GenericOps }

var _ vfs.VnodeOps = vnodeOps{}

func vnode(vp *vfs.Vnode) (*FS, *node) { return vp.Mount.Data.(*mount).fs, vp.Data.(*node) }

func (vnodeOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	f, d := vnode(dvp)
	if !d.isDir() {
		return nil, unix.ENOTDIR
	}
	dl := genfs.DirLookup{
		Ino: d.ino,
		Search: func(l *kernel.LWP, name string) (uint64, unix.Errno) {
			return f.lookup(l, d, name)
		},
		Dangling: func(ino uint64, name string) unix.Errno {
			return f.corrupt("directory %d: entry %q names no file (%d)", d.ino, name, ino)
		},
	}
	return dl.Lookup(l, dvp, cn)
}

func timespec(t time.Time) vfs.Timespec {
	return vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func (vnodeOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	f, n := vnode(vp)
	*va = vfs.Vattr{
		Type: vp.Type, Mode: n.mode & 0o7777, Nlink: n.nlink, Uid: n.uid, Gid: n.gid,
		Fsid: vp.Mount.ID(), Fileid: n.ino, Size: n.size,
		Blocksize: uint32(f.bs), Bytes: (n.size + f.bs - 1) / f.bs * f.bs,
		Atime: timespec(n.atime), Mtime: timespec(n.mtime), Ctime: timespec(n.ctime),
		Rdev: vp.Rdev,
	}
	return 0
}

func (vnodeOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	if e := genfs.Readable(vp); e != 0 {
		return e
	}
	f, n := vnode(vp)
	file := f.file(n)
	return file.Read(l, uio)
}

// Readdir emits entries from cookie uio.Offset: byte offsets of records
// in the directory.
func (vnodeOps) Readdir(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	f, d := vnode(vp)
	if !d.isDir() {
		return true, unix.ENOTDIR
	}
	ds, e := genfs.Readdir(uio)
	if e != 0 {
		return true, e
	}
	return ds.Done(f.walkDir(l, d, uio.Offset, func(ent entry) bool {
		return ds.Emit(ent.ino, uint64(ent.next), ent.dtype, ent.name)
	}))
}

func (vnodeOps) Readlink(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) unix.Errno {
	if vp.Type != vfs.VLNK {
		return unix.EINVAL
	}
	_, n := vnode(vp)
	_, e := kernel.Uiomove([]byte(n.link), uio)
	return e
}

func (vnodeOps) Pathconf(l *kernel.LWP, vp *vfs.Vnode, name int) (int64, unix.Errno) {
	switch name {
	case vfs.PC_NAME_MAX:
		return 255, 0
	case vfs.PC_FILESIZEBITS:
		return 64, 0
	}
	return vfs.GenericOps{}.Pathconf(l, vp, name)
}

// Inactive keeps the vnode cached: nothing on the image changes.
func (vnodeOps) Inactive(l *kernel.LWP, vp *vfs.Vnode) bool { return false }

func (vnodeOps) Reclaim(l *kernel.LWP, vp *vfs.Vnode) unix.Errno {
	vp.Data = nil
	return 0
}

package msdosfs

import (
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"github.com/rumpfs/rumpfs/vfs/msdosfs/disk"
	"golang.org/x/sys/unix"
)

// The vnode operations (msdosfs_vnops.c, msdosfs_lookup.c), read-only:
// everything that would change the file system answers EROFS through
// vfs.GenericOps.

type vnodeOps struct{ vfs.GenericOps }

var _ vfs.VnodeOps = vnodeOps{}

func vnode(vp *vfs.Vnode) (*FS, *node) { return vp.Mount.Data.(*mount).fs, vp.Data.(*node) }

func (vnodeOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	f, n := vnode(dvp)
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	dl := genfs.DirLookup{
		Ino: n.ino,
		Search: func(l *kernel.LWP, name string) (uint64, unix.Errno) {
			return f.lookup(l, n, name)
		},
		Parent: func(l *kernel.LWP) (uint64, unix.Errno) { return f.parent(l, n) },
		Dangling: func(ino uint64, name string) unix.Errno {
			return f.corrupt("entry %q names no file", name)
		},
	}
	return dl.Lookup(l, dvp, cn)
}

func timespec(t time.Time) vfs.Timespec {
	if t.IsZero() {
		return vfs.Timespec{}
	}
	return vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func (vnodeOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	f, n := vnode(vp)
	d := &n.de
	mode := 0o777 &^ f.fmask
	if n.isDir() {
		mode = 0o777 &^ f.dmask
	} else if d.Attr&disk.AttrReadOnly != 0 {
		mode &^= 0o222
	}
	cb := int64(f.bpb.ClusterBytes)
	mt := timespec(disk.Time(d.MDate, d.MTime, 0, f.loc))
	*va = vfs.Vattr{
		Type: vp.Type, Mode: mode, Nlink: n.nlink, Uid: f.uid, Gid: f.gid,
		Fsid: vp.Mount.ID(), Fileid: n.ino, Size: int64(n.size),
		Blocksize: uint32(cb), Bytes: (int64(n.size) + cb - 1) / cb * cb,
		Mtime: mt, Ctime: mt,
		Atime:     timespec(disk.Time(d.ADate, 0, 0, f.loc)),
		Birthtime: timespec(disk.Time(d.CDate, d.CTime, d.CTimeCs, f.loc)),
	}
	return 0
}

// file describes n's data for genfs: runs of clusters, read straight
// from the device (lent when the reader takes loans: nothing writes).
func (f *FS) file(n *node) *genfs.File {
	cb := int64(f.bpb.ClusterBytes)
	return &genfs.File{
		Dev: f.dev, BSize: int(cb), Size: n.size, Lend: true,
		Bmap: func(l *kernel.LWP, lbn int64) (genfs.Run, unix.Errno) {
			runs, e := f.runs(l, n)
			if e != 0 {
				return genfs.Run{}, e
			}
			for _, r := range runs {
				if lbn < int64(r.n) {
					return genfs.Run{Addr: f.bpb.ClusterOffset(r.pcn) + lbn*cb, Blocks: int64(r.n) - lbn}, 0
				}
				lbn -= int64(r.n)
			}
			return genfs.Run{}, f.corrupt("file at cluster %d: chain shorter than its size %d", n.first, n.size)
		},
		IOError: func(addr int64, cnt int, e unix.Errno) unix.Errno {
			f.logf("read error at byte %d (%d bytes): %v", addr, cnt, e)
			return unix.EIO
		},
	}
}

// runs returns n's clusters, walking the chain the first time: only as
// far as the size needs.
func (f *FS) runs(l *kernel.LWP, n *node) ([]run, unix.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.runs == nil && n.size > 0 {
		cb := uint64(f.bpb.ClusterBytes)
		runs, e := f.chain(l, n.first, (n.size+cb-1)/cb)
		if e != 0 {
			return nil, e
		}
		n.runs = runs
	}
	return n.runs, 0
}

func (vnodeOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	if e := genfs.Readable(vp); e != 0 {
		return e
	}
	f, n := vnode(vp)
	return f.file(n).Read(l, uio)
}

// Readdir cookies: 0 is ".", 1 is "..", and 2+k the entry whose first
// slot is at byte k of the directory (the root has no dot entries on
// disk, the others have theirs skipped, so every directory looks alike).
func (vnodeOps) Readdir(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	f, n := vnode(vp)
	if !n.isDir() {
		return true, unix.ENOTDIR
	}
	ds, e := genfs.Readdir(uio)
	if e != 0 {
		return true, e
	}
	const dtDir, dtReg = 4, 8
	for uio.Offset < 2 {
		ino, name := n.ino, "."
		if uio.Offset == 1 {
			name = ".."
			if ino, e = f.parent(l, n); e != 0 {
				return false, e
			}
		}
		if !ds.Emit(ino, uint64(uio.Offset+1), dtDir, name) {
			return ds.Done(0)
		}
	}
	return ds.Done(f.walkDir(l, n, uio.Offset-2, false, func(d *entry) bool {
		t := uint8(dtReg)
		if d.de.IsDir() {
			t = dtDir
		}
		return ds.Emit(d.ino(), uint64(d.next+2), t, d.name)
	}))
}

// Seek: FAT files have no holes; GenericOps answers for a file that is
// all data.

func (vnodeOps) Pathconf(l *kernel.LWP, vp *vfs.Vnode, name int) (int64, unix.Errno) {
	switch name {
	case vfs.PC_NAME_MAX:
		return 255, 0
	case vfs.PC_LINK_MAX:
		return 1, 0
	case vfs.PC_FILESIZEBITS:
		return 33, 0
	}
	return vfs.GenericOps{}.Pathconf(l, vp, name)
}

// Inactive keeps the vnode cached: nothing on disk changes.
func (vnodeOps) Inactive(l *kernel.LWP, vp *vfs.Vnode) bool { return false }

func (vnodeOps) Reclaim(l *kernel.LWP, vp *vfs.Vnode) unix.Errno {
	vp.Data = nil
	return 0
}

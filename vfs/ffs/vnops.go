package ffs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
	"math"
)

// maxLink is UFS's LINK_MAX: the on-disk link count is a signed 16-bit
// field, so a file at maxLink takes no more links (EMLINK).
const maxLink = math.MaxInt16

// The vnode operations (ufs_vnops.c, ffs_vnops.c). The VOP* callers hold
// the locks vfs.VnodeOps lists; these only do the operation. Every change
// to an inode is written into its inode block (iupdate) before the
// operation returns, so nothing is dirty outside the buffer cache.

// inode is the driver's node: the in-memory inode.
type inode struct {
	ufs.Inode
	fs *FS
}

func vip(vp *vfs.Vnode) *inode { return vp.Data.(*inode) }

type ffsOps struct{ vfs.GenericOps }

var _ vfs.VnodeOps = ffsOps{}

func setNow(ts *int64, ns *int32, now vfs.Timespec) { *ts, *ns = now.Sec, int32(now.Nsec) }

func (ffsOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	d := vip(dvp)
	if d.Type() != ufs.IFDIR {
		return nil, unix.ENOTDIR
	}
	if d.Nlink <= 0 {
		return nil, unix.ENOENT
	}
	if len(cn.Name) > ufs.MaxNameLen {
		return nil, unix.ENAMETOOLONG
	}
	// ".." is an entry like the others: Search finds it.
	dl := genfs.DirLookup{Ino: d.Number, Search: func(l *kernel.LWP, name string) (uint64, unix.Errno) {
		de, e := d.Lookup(l, name)
		return uint64(de.Ino), e
	}}
	return dl.Lookup(l, dvp, cn)
}

// makeInode allocates and names a new inode of mode in dvp (ufs_makeinode),
// owned by va.Uid and va.Gid (the VFS decided them).
func makeInode(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr, mode uint16, rdev uint64, target string) (*vfs.Vnode, unix.Errno) {
	d := vip(dvp)
	fs := d.fs
	switch {
	case d.Type() != ufs.IFDIR:
		return nil, unix.ENOTDIR
	case d.Nlink <= 0:
		return nil, unix.ENOENT
	case cn.Name == "." || cn.Name == "..":
		return nil, unix.EEXIST
	case len(cn.Name) > ufs.MaxNameLen:
		return nil, unix.ENAMETOOLONG
	}
	if _, e := d.Lookup(l, cn.Name); e == 0 {
		return nil, unix.EEXIST
	} else if e != unix.ENOENT {
		return nil, e
	}
	isDir := mode&ufs.IFMT == ufs.IFDIR
	if isDir && d.Nlink == maxLink {
		return nil, unix.EMLINK
	}
	pref := fs.inoCG(d)
	fs.allocMu.Enter(l)
	if isDir {
		pref = fs.dirPref()
	}
	ino, oldGen, e := fs.allocInode(l, pref, isDir)
	fs.allocMu.Exit()
	if e != 0 {
		return nil, e
	}
	now := vfs.Now()
	ip := &inode{fs: fs, Inode: ufs.Inode{M: fs.M, Number: ino, Dinode: ufs.Dinode{
		UFS2: fs.SB.UFS2, Mode: mode, Nlink: 1, UID: va.Uid, GID: va.Gid, Gen: newGen(oldGen)}}}
	if fs.SB.UFS2 {
		ip.BlkSize = uint32(fs.SB.BSize)
	}
	setNow(&ip.Atime, &ip.AtimeNsec, now)
	setNow(&ip.Mtime, &ip.MtimeNsec, now)
	setNow(&ip.Ctime, &ip.CtimeNsec, now)
	if fs.SB.UFS2 {
		setNow(&ip.Birthtime, &ip.BirthNsec, now)
	}
	undo := func(e unix.Errno) (*vfs.Vnode, unix.Errno) {
		fs.truncate(l, ip, 0)
		ip.Mode, ip.Nlink = 0, 0
		fs.iupdate(l, &ip.Inode)
		fs.allocMu.Enter(l)
		fs.freeInode(l, ino, isDir)
		fs.allocMu.Exit()
		return nil, e
	}
	switch mode & ufs.IFMT {
	case ufs.IFDIR:
		ip.Nlink = 2
		fsb, bsize, _, e := fs.balloc(l, ip, 0, ufs.DirBlkSize, true)
		if e != 0 {
			return undo(e)
		}
		m := fs.M
		e = fs.newMeta(l, fsb, bsize, func(b []byte) {
			ufs.PutDirent(b, ufs.Direct{Ino: uint32(ino), Reclen: 12, Type: ufs.DTDir, Name: "."}, m.Order, m.OldDirFmt)
			ufs.PutDirent(b[12:], ufs.Direct{Ino: uint32(d.Number), Reclen: ufs.DirBlkSize - 12, Type: ufs.DTDir, Name: ".."}, m.Order, m.OldDirFmt)
		})
		if e != 0 {
			return undo(e)
		}
		ip.Size = ufs.DirBlkSize
	case ufs.IFLNK:
		if len(target) < int(fs.SB.MaxSymLink) {
			ip.SetPointerArea([]byte(target), fs.SB.Order)
			ip.Size = uint64(len(target))
		} else {
			fsb, bsize, _, e := fs.balloc(l, ip, 0, len(target), false)
			if e != 0 {
				return undo(e)
			}
			buf := make([]byte, bsize)
			copy(buf, target)
			if e := fs.devWrite(l, buf, fsb<<fs.SB.FShift); e != 0 {
				return undo(e)
			}
			ip.Size = uint64(len(target))
		}
	case ufs.IFCHR, ufs.IFBLK:
		ip.DB[0] = int64(rdev)
		if !fs.SB.UFS2 {
			ip.DB[0] = int64(int32(uint32(rdev)))
		}
	}
	if e := fs.iupdate(l, &ip.Inode); e != 0 {
		return undo(e)
	}
	if e := fs.direnter(l, d, cn.Name, uint32(ino), ufs.IFToDT(mode)); e != 0 {
		return undo(e)
	}
	if isDir {
		d.Nlink++
	}
	setNow(&d.Mtime, &d.MtimeNsec, now)
	setNow(&d.Ctime, &d.CtimeNsec, now)
	if e := fs.iupdate(l, &d.Inode); e != 0 {
		return nil, e
	}
	return dvp.Mount.Vget(l, ino)
}

func (ffsOps) Create(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	return makeInode(l, dvp, cn, va, ufs.IFREG|uint16(va.Mode&0o7777), 0, "")
}

func (ffsOps) Mknod(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	switch va.Type {
	case vfs.VBLK, vfs.VCHR, vfs.VFIFO, vfs.VSOCK, vfs.VREG:
	default:
		return nil, unix.EINVAL
	}
	return makeInode(l, dvp, cn, va, uint16(va.Type.IFMT())|uint16(va.Mode&0o7777), va.Rdev, "")
}

func (ffsOps) Mkdir(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	return makeInode(l, dvp, cn, va, ufs.IFDIR|uint16(va.Mode&0o7777), 0, "")
}

// Symlink keeps a target shorter than MaxSymLink in the inode and a longer
// one in a single data block: up to ufs.MaxLinkLen where the block size
// allows (every FFS block size does: the smallest is 4096).
func (ffsOps) Symlink(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr, target string) (*vfs.Vnode, unix.Errno) {
	if len(target) > ufs.MaxLinkLen || len(target) > int(vip(dvp).fs.SB.BSize) {
		return nil, unix.ENAMETOOLONG
	}
	return makeInode(l, dvp, cn, va, ufs.IFLNK|0o777, 0, target)
}

func (ffsOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	ip := vip(vp)
	*va = vfs.Vattr{
		Type: vp.Type, Mode: uint32(ip.Mode) & 0o7777, Nlink: uint32(max(ip.Nlink, 0)),
		Uid: ip.UID, Gid: ip.GID, Fsid: vp.Mount.ID(), Fileid: ip.Number,
		Size: int64(ip.Size), Blocksize: uint32(ip.fs.M.BSize), Bytes: int64(ip.Blocks) * 512,
		Atime:     vfs.Timespec{Sec: ip.Atime, Nsec: int64(ip.AtimeNsec)},
		Mtime:     vfs.Timespec{Sec: ip.Mtime, Nsec: int64(ip.MtimeNsec)},
		Ctime:     vfs.Timespec{Sec: ip.Ctime, Nsec: int64(ip.CtimeNsec)},
		Birthtime: vfs.Timespec{Sec: ip.Birthtime, Nsec: int64(ip.BirthNsec)},
		Gen:       uint64(uint32(ip.Gen)), Flags: ip.Flags,
	}
	if vp.Type == vfs.VBLK || vp.Type == vfs.VCHR {
		va.Rdev = ip.Rdev()
	}
	return 0
}

func (ffsOps) Setattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	ip := vip(vp)
	fs := ip.fs
	if fs.ronly {
		return unix.EROFS
	}
	now := vfs.Now()
	if va.Valid&vfs.AttrSize != 0 {
		if vp.Type == vfs.VDIR {
			return unix.EISDIR
		}
		if vp.Type == vfs.VREG {
			e := fs.truncate(l, ip, uint64(va.Size))
			if e2 := fs.iupdate(l, &ip.Inode); e == 0 {
				e = e2
			}
			if e != 0 {
				return e
			}
			setNow(&ip.Mtime, &ip.MtimeNsec, now)
		}
	}
	if va.Valid&vfs.AttrMode != 0 {
		ip.Mode = ip.Mode&ufs.IFMT | uint16(va.Mode&0o7777)
	}
	if va.Valid&vfs.AttrUid != 0 {
		ip.UID = va.Uid
	}
	if va.Valid&vfs.AttrGid != 0 {
		ip.GID = va.Gid
	}
	if va.Valid&vfs.AttrAtime != 0 {
		ip.Atime, ip.AtimeNsec = va.Atime.Sec, int32(va.Atime.Nsec)
	}
	if va.Valid&vfs.AttrMtime != 0 {
		ip.Mtime, ip.MtimeNsec = va.Mtime.Sec, int32(va.Mtime.Nsec)
	}
	if va.Valid&vfs.AttrBirthtime != 0 && fs.SB.UFS2 {
		ip.Birthtime, ip.BirthNsec = va.Birthtime.Sec, int32(va.Birthtime.Nsec)
	}
	if va.Valid&vfs.AttrFlags != 0 {
		ip.Flags = va.Flags
	}
	setNow(&ip.Ctime, &ip.CtimeNsec, now)
	if va.Valid&vfs.AttrCtime != 0 {
		ip.Ctime, ip.CtimeNsec = va.Ctime.Sec, int32(va.Ctime.Nsec)
	}
	return fs.iupdate(l, &ip.Inode)
}

// Read reads file data at uio.Offset straight from the device into the
// caller's buffer (genfs); on a read-only mount, where nothing newer sits
// in a buffer, a uio that takes loans may get the device's own bytes.
func (ffsOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	if e := genfs.Readable(vp); e != 0 {
		return e
	}
	ip := vip(vp)
	f := ip.File()
	f.Lend = vp.Type == vfs.VREG && ip.fs.ronly
	return f.Read(l, uio)
}

// Write writes file data through genfs's write helper: balloc finds or
// allocates each block (growing a fragment-sized last block), the data
// goes straight to the device, and the inode follows it.
func (ffsOps) Write(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	ip := vip(vp)
	fs := ip.fs
	switch vp.Type {
	case vfs.VDIR:
		return unix.EISDIR
	case vfs.VREG:
	default:
		return unix.EOPNOTSUPP
	}
	if fs.ronly {
		return unix.EROFS
	}
	m := fs.M
	allocEnd := ip.Size // the file's end as balloc last sized its blocks
	w := genfs.Writer{
		Dev: fs.bdev.Device(), Cache: fs.bdev, BSize: m.BSize, Frag: m.FSize,
		Size: &ip.Size, MaxSize: m.MaxFileSize, IOError: fs.ioError,
		Alloc: func(l *kernel.LWP, off int64, n int) (genfs.Extent, unix.Errno) {
			n = min(n, m.BSize-int(off&int64(m.BSize-1)))
			fsb, bsize, fresh, e := fs.balloc(l, ip, off, n, false)
			if e != 0 {
				return genfs.Extent{}, e
			}
			allocEnd = max(allocEnd, uint64(off)+uint64(n))
			return genfs.Extent{Addr: fsb << fs.SB.FShift, Len: bsize, Fresh: fresh}, 0
		},
	}
	resid := uio.Resid
	e := w.Write(l, uio, ioflag)
	wrote, trimmed := uio.Resid != resid, false
	if e != 0 && allocEnd > ip.Size {
		// Give back what was allocated for data that never got written.
		keep := ip.Size
		ip.Size = allocEnd
		fs.truncate(l, ip, keep)
		trimmed = true
	}
	if wrote {
		now := vfs.Now()
		setNow(&ip.Mtime, &ip.MtimeNsec, now)
		setNow(&ip.Ctime, &ip.CtimeNsec, now)
	}
	if wrote || trimmed {
		if e2 := fs.iupdate(l, &ip.Inode); e2 != 0 {
			return e2
		}
	}
	if e == 0 && ioflag&(vfs.IO_SYNC|vfs.IO_DSYNC) != 0 {
		e = fs.sync(l, true)
	}
	return e
}

// Fsync writes back everything the file system has dirty: a superset of
// what concerns the file.
func (ffsOps) Fsync(l *kernel.LWP, vp *vfs.Vnode, flags int, lo, hi int64) unix.Errno {
	return vip(vp).fs.sync(l, true)
}

func (ffsOps) Seek(l *kernel.LWP, vp *vfs.Vnode, off int64, whence int) (int64, unix.Errno) {
	ip := vip(vp)
	size := int64(ip.Size)
	if off < 0 || off >= size {
		return 0, unix.ENXIO
	}
	if whence != unix.SEEK_DATA && whence != unix.SEEK_HOLE {
		return 0, unix.EINVAL
	}
	shift := ip.fs.M.BShift
	for lbn := off >> shift; lbn<<shift < size; lbn++ {
		fsb, _, e := ip.Bmap(l, lbn)
		if e != 0 {
			return 0, e
		}
		pos := max(lbn<<shift, off)
		if (whence == unix.SEEK_DATA) == (fsb != 0) {
			return pos, 0
		}
	}
	if whence == unix.SEEK_HOLE {
		return size, 0
	}
	return 0, unix.ENXIO
}

func (ffsOps) Remove(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	d, ip := vip(dvp), vip(vp)
	fs := d.fs
	if vp.Type == vfs.VDIR {
		return unix.EPERM
	}
	de, e := d.Lookup(l, cn.Name)
	if e != 0 {
		return e
	}
	if uint64(de.Ino) != ip.Number {
		return unix.ENOENT
	}
	if e := fs.dirremove(l, d, cn.Name); e != 0 {
		return e
	}
	now := vfs.Now()
	setNow(&d.Mtime, &d.MtimeNsec, now)
	setNow(&d.Ctime, &d.CtimeNsec, now)
	ip.Nlink--
	setNow(&ip.Ctime, &ip.CtimeNsec, now)
	if e := fs.iupdate(l, &d.Inode); e != 0 {
		return e
	}
	return fs.iupdate(l, &ip.Inode)
}

func (ffsOps) Link(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	d, ip := vip(dvp), vip(vp)
	fs := d.fs
	switch {
	case vp.Type == vfs.VDIR:
		return unix.EPERM
	case d.Nlink <= 0 || ip.Nlink <= 0:
		return unix.ENOENT
	case ip.Nlink == maxLink:
		return unix.EMLINK
	case len(cn.Name) > ufs.MaxNameLen:
		return unix.ENAMETOOLONG
	}
	if _, e := d.Lookup(l, cn.Name); e == 0 {
		return unix.EEXIST
	} else if e != unix.ENOENT {
		return e
	}
	if e := fs.direnter(l, d, cn.Name, uint32(ip.Number), ufs.IFToDT(ip.Mode)); e != 0 {
		return e
	}
	now := vfs.Now()
	ip.Nlink++
	setNow(&ip.Ctime, &ip.CtimeNsec, now)
	setNow(&d.Mtime, &d.MtimeNsec, now)
	setNow(&d.Ctime, &d.CtimeNsec, now)
	if e := fs.iupdate(l, &d.Inode); e != 0 {
		return e
	}
	return fs.iupdate(l, &ip.Inode)
}

func (ffsOps) Rmdir(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	d, ip := vip(dvp), vip(vp)
	fs := d.fs
	if vp.Type != vfs.VDIR {
		return unix.ENOTDIR
	}
	if dvp == vp {
		return unix.EINVAL
	}
	de, e := d.Lookup(l, cn.Name)
	if e != 0 {
		return e
	}
	if uint64(de.Ino) != ip.Number {
		return unix.ENOENT
	}
	empty, e := fs.dirEmpty(l, ip)
	if e != 0 {
		return e
	}
	if !empty {
		return unix.ENOTEMPTY
	}
	if e := fs.dirremove(l, d, cn.Name); e != 0 {
		return e
	}
	now := vfs.Now()
	d.Nlink--
	setNow(&d.Mtime, &d.MtimeNsec, now)
	setNow(&d.Ctime, &d.CtimeNsec, now)
	ip.Nlink = 0
	setNow(&ip.Ctime, &ip.CtimeNsec, now)
	if e := fs.iupdate(l, &d.Inode); e != 0 {
		return e
	}
	return fs.iupdate(l, &ip.Inode)
}

func (ffsOps) Rename(l *kernel.LWP, fdvp, fvp *vfs.Vnode, fcn *vfs.ComponentName, tdvp, tvp *vfs.Vnode, tcn *vfs.ComponentName) unix.Errno {
	fd, f, td := vip(fdvp), vip(fvp), vip(tdvp)
	fs := fd.fs
	if len(tcn.Name) > ufs.MaxNameLen {
		return unix.ENAMETOOLONG
	}
	if fcn.Name == "." || fcn.Name == ".." || tcn.Name == "." || tcn.Name == ".." {
		return unix.EINVAL
	}
	if td.Nlink <= 0 {
		return unix.ENOENT
	}
	de, e := fd.Lookup(l, fcn.Name)
	if e != 0 {
		return e
	}
	if uint64(de.Ino) != f.Number {
		return unix.ENOENT
	}
	isDir := fvp.Type == vfs.VDIR
	now := vfs.Now()
	if isDir && fd != td && td.Nlink == maxLink && tvp == nil {
		return unix.EMLINK
	}
	if tvp != nil {
		t := vip(tvp)
		te, e := td.Lookup(l, tcn.Name)
		if e != 0 {
			return e
		}
		if uint64(te.Ino) != t.Number {
			return unix.ENOENT
		}
		if tvp.Type == vfs.VDIR {
			empty, e := fs.dirEmpty(l, t)
			if e != 0 {
				return e
			}
			if !empty {
				return unix.ENOTEMPTY
			}
		}
		if e := fs.dirrewrite(l, td, tcn.Name, uint32(f.Number), ufs.IFToDT(f.Mode)); e != 0 {
			return e
		}
		if tvp.Type == vfs.VDIR {
			t.Nlink = 0
			td.Nlink--
		} else {
			t.Nlink--
		}
		setNow(&t.Ctime, &t.CtimeNsec, now)
		if e := fs.iupdate(l, &t.Inode); e != 0 {
			return e
		}
	} else {
		if _, e := td.Lookup(l, tcn.Name); e == 0 {
			return unix.EEXIST
		} else if e != unix.ENOENT {
			return e
		}
		if e := fs.direnter(l, td, tcn.Name, uint32(f.Number), ufs.IFToDT(f.Mode)); e != 0 {
			return e
		}
	}
	if e := fs.dirremove(l, fd, fcn.Name); e != 0 {
		return e
	}
	if isDir && fd != td {
		if e := fs.dirrewrite(l, f, "..", uint32(td.Number), ufs.DTDir); e != 0 {
			return e
		}
		fd.Nlink--
		td.Nlink++
	}
	setNow(&fd.Mtime, &fd.MtimeNsec, now)
	setNow(&fd.Ctime, &fd.CtimeNsec, now)
	setNow(&td.Mtime, &td.MtimeNsec, now)
	setNow(&td.Ctime, &td.CtimeNsec, now)
	setNow(&f.Ctime, &f.CtimeNsec, now)
	for _, x := range []*inode{fd, td, f} {
		if e := fs.iupdate(l, &x.Inode); e != 0 {
			return e
		}
	}
	return 0
}

// Exchange swaps two entries in place (ufs has no such operation; this
// is Linux's RENAME_EXCHANGE): each entry is rewritten to the other inode,
// and a directory that changes parent gets its ".." and the parents' link
// counts fixed.
func (ffsOps) Exchange(l *kernel.LWP, fdvp, fvp *vfs.Vnode, fcn *vfs.ComponentName, tdvp, tvp *vfs.Vnode, tcn *vfs.ComponentName) unix.Errno {
	fd, f, td, t := vip(fdvp), vip(fvp), vip(tdvp), vip(tvp)
	fs := fd.fs
	for _, x := range [2]struct {
		d, ip *inode
		name  string
	}{{fd, f, fcn.Name}, {td, t, tcn.Name}} {
		de, e := x.d.Lookup(l, x.name)
		if e != 0 {
			return e
		}
		if uint64(de.Ino) != x.ip.Number {
			return unix.ENOENT
		}
	}
	fDir, tDir := fvp.Type == vfs.VDIR, tvp.Type == vfs.VDIR
	moved := fd != td && fDir != tDir
	if moved && (fDir && td.Nlink == maxLink || tDir && fd.Nlink == maxLink) {
		return unix.EMLINK
	}
	if e := fs.dirrewrite(l, fd, fcn.Name, uint32(t.Number), ufs.IFToDT(t.Mode)); e != 0 {
		return e
	}
	if e := fs.dirrewrite(l, td, tcn.Name, uint32(f.Number), ufs.IFToDT(f.Mode)); e != 0 {
		return e
	}
	if fd != td {
		if fDir {
			if e := fs.dirrewrite(l, f, "..", uint32(td.Number), ufs.DTDir); e != 0 {
				return e
			}
		}
		if tDir {
			if e := fs.dirrewrite(l, t, "..", uint32(fd.Number), ufs.DTDir); e != 0 {
				return e
			}
		}
		if moved && fDir {
			fd.Nlink--
			td.Nlink++
		}
		if moved && tDir {
			td.Nlink--
			fd.Nlink++
		}
	}
	now := vfs.Now()
	for _, x := range [4]*inode{fd, td, f, t} {
		if x == fd || x == td {
			setNow(&x.Mtime, &x.MtimeNsec, now)
		}
		setNow(&x.Ctime, &x.CtimeNsec, now)
	}
	for _, x := range [4]*inode{fd, td, f, t} {
		if x == td && td == fd {
			continue
		}
		if e := fs.iupdate(l, &x.Inode); e != 0 {
			return e
		}
	}
	return 0
}

func (ffsOps) Readdir(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	ip := vip(vp)
	if ip.Type() != ufs.IFDIR {
		return true, unix.ENOTDIR
	}
	ds, e := genfs.Readdir(uio)
	if e != 0 {
		return true, e
	}
	_, e = ip.ReadDir(l, uio.Offset, func(d ufs.Direct) bool {
		return ds.Emit(uint64(d.Ino), uint64(d.Off)+uint64(d.Reclen), d.Type, d.Name)
	})
	eof, e := ds.Done(e)
	if eof {
		uio.Offset = int64(ip.Size)
	}
	return eof, e
}

func (ffsOps) Readlink(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) unix.Errno {
	s, e := vip(vp).ReadLink(l)
	if e != 0 {
		return e
	}
	_, e = kernel.Uiomove([]byte(s), uio)
	return e
}

// Inactive frees the blocks (data and attribute area) of a file with no
// links left; the inode itself goes back to its group in Reclaim, once
// the vnode is out of the cache, so a new file cannot meet the old vnode.
func (ffsOps) Inactive(l *kernel.LWP, vp *vfs.Vnode) bool {
	ip := vip(vp)
	if ip.Nlink > 0 || ip.Mode == 0 {
		return false
	}
	if !ip.fs.ronly && (ip.Size > 0 || ip.Blocks > 0) {
		ip.fs.truncate(l, ip, 0)
		ip.fs.writeExtArea(l, ip, nil)
		ip.fs.iupdate(l, &ip.Inode)
	}
	return true
}

func (ffsOps) Reclaim(l *kernel.LWP, vp *vfs.Vnode) unix.Errno {
	ip := vip(vp)
	fs := ip.fs
	if ip.Nlink > 0 || ip.Mode == 0 || fs.ronly {
		return 0
	}
	fs.truncate(l, ip, 0)
	fs.writeExtArea(l, ip, nil)
	dir := ip.Type() == ufs.IFDIR
	ip.Mode = 0
	ip.Nlink = 0
	ip.Blocks = 0
	if e := fs.iupdate(l, &ip.Inode); e != 0 {
		return e
	}
	fs.allocMu.Enter(l)
	defer fs.allocMu.Exit()
	return fs.freeInode(l, ip.Number, dir)
}

func (ffsOps) Bmap(l *kernel.LWP, vp *vfs.Vnode, lbn int64) (int64, int, unix.Errno) {
	ip := vip(vp)
	fsb, run, e := ip.Bmap(l, lbn)
	if e != 0 {
		return 0, 0, e
	}
	if fsb == 0 {
		return -1, 0, 0
	}
	return fsb << ip.fs.SB.FSBToDB, run, 0
}

func (ffsOps) Pathconf(l *kernel.LWP, vp *vfs.Vnode, name int) (int64, unix.Errno) {
	switch name {
	case vfs.PC_NAME_MAX:
		return ufs.MaxNameLen, 0
	case vfs.PC_FILESIZEBITS:
		return 64, 0
	}
	return vfs.GenericOps{}.Pathconf(l, vp, name)
}

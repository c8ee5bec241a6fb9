package etfs

import (
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// fileOps are the vnode operations of REG, BLK and CHR keys: I/O is
// pread/pwrite on the key's window, uncached and clamped to the window
// (rump does not clamp). The window's size is fixed at registration: a
// size change is ignored, as rump ignores it, and writing at or past the
// end fails (EFBIG for REG, ENOSPC for devices). Attributes are the host
// file's (permissions, owner, times), with the window's size, and the
// write bits cleared on a read-only registration.
type fileOps struct{ vfs.GenericOps }

var _ vfs.VnodeOps = fileOps{}

func fkey(vp *vfs.Vnode) *key { return vp.Data.(*key) }

// roErr is the errno for a write on a read-only key: EROFS when asked for,
// EACCES when the host refused to open the file for writing.
func (k *key) roErr() unix.Errno {
	if k.dev != nil && k.dev.Fallback() {
		return unix.EACCES
	}
	return unix.EROFS
}

func (fileOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	k := fkey(vp)
	var st unix.Stat_t
	if e := k.dev.WithFD(l, func(fd int) error { return unix.Fstat(fd, &st) }); e != 0 {
		return e
	}
	fillAttr(va, vp, &st, k.readOnly)
	va.Nlink = 1
	va.Size = k.size
	va.Bytes = k.size
	va.Blocksize = uint32(k.dev.SectorSize())
	va.Rdev = vp.Rdev
	return 0
}

// fillAttr sets va from a host stat: type from the vnode, permissions
// (write bits cleared when read-only), owner, times, size.
func fillAttr(va *vfs.Vattr, vp *vfs.Vnode, st *unix.Stat_t, readOnly bool) {
	mode := uint32(st.Mode) & 0o7777
	if readOnly {
		mode &^= 0o222
	}
	*va = vfs.Vattr{
		Type: vp.Type, Mode: mode, Nlink: uint32(st.Nlink),
		Uid: st.Uid, Gid: st.Gid, Fsid: vp.Mount.ID(), Fileid: vp.Ino,
		Size: st.Size, Blocksize: uint32(st.Blksize), Bytes: st.Blocks * 512,
		Atime: vfs.Timespec{Sec: int64(st.Atim.Sec), Nsec: int64(st.Atim.Nsec)},
		Mtime: vfs.Timespec{Sec: int64(st.Mtim.Sec), Nsec: int64(st.Mtim.Nsec)},
		Ctime: vfs.Timespec{Sec: int64(st.Ctim.Sec), Nsec: int64(st.Ctim.Nsec)},
		Gen:   1,
	}
	va.Birthtime = va.Ctime
}

func (fileOps) Access(l *kernel.LWP, vp *vfs.Vnode, acc uint32) unix.Errno {
	if k := fkey(vp); acc&kernel.VWRITE != 0 && k.readOnly {
		return k.roErr()
	}
	return vfs.GenericOps{}.Access(l, vp, acc)
}

func (fileOps) Open(l *kernel.LWP, vp *vfs.Vnode, fflags int) unix.Errno {
	if k := fkey(vp); fflags&vfs.FWRITE != 0 && k.readOnly {
		return k.roErr()
	}
	return 0
}

var bouncePool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

func (fileOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	k := fkey(vp)
	if uio.Offset < 0 {
		return unix.EINVAL
	}
	bp := bouncePool.Get().(*[]byte)
	defer bouncePool.Put(bp)
	buf := *bp
	for uio.Resid > 0 && uio.Offset < k.size {
		n := int(min(int64(len(buf)), int64(uio.Resid), k.size-uio.Offset))
		m, e := k.dev.ReadBytes(l, buf[:n], uio.Offset)
		if m > 0 {
			kernel.Uiomove(buf[:m], uio)
		}
		if e != 0 {
			return e
		}
		if m < n {
			break // the host file shrank under the window
		}
	}
	return 0
}

func (fileOps) Write(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	k := fkey(vp)
	if k.readOnly {
		return k.roErr()
	}
	if ioflag&vfs.IO_APPEND != 0 {
		uio.Offset = k.size
	}
	if uio.Offset < 0 {
		return unix.EINVAL
	}
	if uio.Resid > 0 && uio.Offset >= k.size {
		if vp.Type == vfs.VREG {
			return unix.EFBIG
		}
		return unix.ENOSPC
	}
	bp := bouncePool.Get().(*[]byte)
	defer bouncePool.Put(bp)
	buf := *bp
	for uio.Resid > 0 && uio.Offset < k.size {
		off := uio.Offset
		n := int(min(int64(len(buf)), int64(uio.Resid), k.size-off))
		kernel.Uiomove(buf[:n], uio)
		m, e := k.dev.WriteBytes(l, buf[:n], off)
		if m < n {
			// Give back what did not reach the host: the count
			// is what callers read from a failed uio.
			uio.Resid += n - m
			uio.Offset -= int64(n - m)
			if e == 0 {
				e = unix.EIO
			}
		}
		if e != 0 {
			return e
		}
	}
	if ioflag&(vfs.IO_SYNC|vfs.IO_DSYNC) != 0 {
		return k.dev.Sync(l)
	}
	return 0
}

func (fileOps) Fsync(l *kernel.LWP, vp *vfs.Vnode, flags int, lo, hi int64) unix.Errno {
	return fkey(vp).dev.Sync(l)
}

func (fileOps) Setattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	k := fkey(vp)
	if k.readOnly {
		return k.roErr()
	}
	if va.Valid&(vfs.AttrMode|vfs.AttrUid|vfs.AttrGid|vfs.AttrFlags|vfs.AttrBirthtime|vfs.AttrCtime) != 0 {
		return unix.EOPNOTSUPP
	}
	if va.Valid&(vfs.AttrAtime|vfs.AttrMtime) != 0 {
		var e unix.Errno
		if ce := k.dev.WithFD(l, func(fd int) error { e = hostFutimes(fd, va); return nil }); ce != 0 {
			return ce
		}
		return e
	}
	return 0 // a size change: the window is fixed
}

// hostFutimes applies va's atime and mtime (the ones it sets; the others
// keep the host's) to the open file fd.
func hostFutimes(fd int, va *vfs.Vattr) unix.Errno {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errno(err)
	}
	now := vfs.Now()
	a := vfs.Timespec{Sec: int64(st.Atim.Sec), Nsec: int64(st.Atim.Nsec)}
	m := vfs.Timespec{Sec: int64(st.Mtim.Sec), Nsec: int64(st.Mtim.Nsec)}
	if va.Valid&vfs.AttrAtime != 0 {
		a = va.Atime
		if va.Valid&vfs.AttrTimesNow != 0 {
			a = now
		}
	}
	if va.Valid&vfs.AttrMtime != 0 {
		m = va.Mtime
		if va.Valid&vfs.AttrTimesNow != 0 {
			m = now
		}
	}
	tv := []unix.Timeval{unix.NsecToTimeval(a.Sec*1e9 + a.Nsec), unix.NsecToTimeval(m.Sec*1e9 + m.Nsec)}
	return errno(unix.Futimes(fd, tv))
}

// errno turns a host error into an errno (EIO for anything else).
func errno(err error) unix.Errno { return kernel.ToErrno(err) }

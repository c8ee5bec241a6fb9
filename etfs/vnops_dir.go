package etfs

import (
	"slices"
	"strings"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"golang.org/x/sys/unix"
)

// DIR and DIR_SUBDIRS keys. Every node holds its own host descriptor,
// opened relative to its parent's with O_NOFOLLOW, so a lookup can never
// leave the host directory: ".." is refused (EOPNOTSUPP), and only host
// regular files and directories are shown (a symlink, a device, a FIFO
// look absent). Each lookup makes a new vnode outside the vnode cache (as
// rump does), reclaimed with its last reference. Readdir lists the host
// directory's regular files and directories (rump lists nothing). A
// DIR key's subdirectories show up empty; DIR_SUBDIRS recurses.

type dnode struct {
	key   *key
	isDir bool
	// browsable: lookups and readdir show the host's entries (the key's
	// root, and every directory below a DIR_SUBDIRS key).
	browsable bool
	writable  bool // fd was opened O_RDWR

	rw kernel.RWLock // shared around host calls on fd, exclusive to close
	fd int           // -1 once closed

	snapMu sync.Mutex
	snap   []hostDirent // readdir snapshot, taken at cookie 0
}

type hostDirent struct {
	name string
	ino  uint64
	dt   uint8
}

type dirOps struct{ vfs.GenericOps }

var _ vfs.VnodeOps = dirOps{}

func dn(vp *vfs.Vnode) *dnode { return vp.Data.(*dnode) }

// openDir opens the host directory of a DIR or DIR_SUBDIRS key.
func (e *Etfs) openDir(l *kernel.LWP, hostpath string, typ Type, readOnly bool) (*dnode, uint64, error) {
	var fd int
	var st unix.Stat_t
	err := e.hostCall(l, func() (err error) {
		fd, err = unix.Open(hostpath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err = unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
		}
		return err
	})
	if err != nil {
		return nil, 0, pathError("open", hostpath, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return nil, 0, unix.ENOTDIR
	}
	return &dnode{isDir: true, browsable: true, fd: fd, writable: !readOnly}, uint64(st.Ino), nil
}

// with runs f on n's descriptor under its shared lock, with the CPU given
// back: EIO once the node was closed.
func (n *dnode) with(l *kernel.LWP, f func(fd int) unix.Errno) unix.Errno {
	n.rw.Enter(l, false)
	defer n.rw.Exit(false)
	if n.fd < 0 {
		return unix.EIO
	}
	b := l.BlockBegin()
	defer l.BlockEnd(b)
	return f(n.fd)
}

func (n *dnode) close(l *kernel.LWP) {
	n.rw.Enter(l, true)
	defer n.rw.Exit(true)
	if n.fd >= 0 {
		unix.Close(n.fd)
		n.fd = -1
	}
}

func (dirOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	d := dn(dvp)
	if !d.isDir {
		return nil, unix.ENOTDIR
	}
	switch {
	case cn.Name == ".":
		vfs.Vref(dvp)
		return dvp, 0
	case cn.Name == "..":
		return nil, unix.EOPNOTSUPP
	case !d.browsable || cn.Name == "" || strings.IndexByte(cn.Name, '/') >= 0:
		return nil, unix.ENOENT
	}
	k := d.key
	var nfd int
	var st unix.Stat_t
	writable := false
	e := d.with(l, func(fd int) unix.Errno {
		if err := unix.Fstatat(fd, cn.Name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return errno(err)
		}
		want := st.Mode & unix.S_IFMT
		var err error
		switch want {
		case unix.S_IFDIR:
			nfd, err = unix.Openat(fd, cn.Name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		case unix.S_IFREG:
			const flags = unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
			err = unix.EROFS
			if !k.readOnly {
				nfd, err = unix.Openat(fd, cn.Name, unix.O_RDWR|flags, 0)
				writable = err == nil
			}
			if err != nil {
				nfd, err = unix.Openat(fd, cn.Name, unix.O_RDONLY|flags, 0)
			}
		default:
			return unix.ENOENT
		}
		if err != nil {
			// ELOOP: replaced by a symlink since the stat.
			return unix.ENOENT
		}
		if err := unix.Fstat(nfd, &st); err != nil || st.Mode&unix.S_IFMT != want {
			unix.Close(nfd)
			return unix.ENOENT
		}
		return 0
	})
	if e != 0 {
		return nil, e
	}
	n := &dnode{key: k, fd: nfd, writable: writable}
	vt := vfs.VREG
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		vt = vfs.VDIR
		n.isDir = true
		n.browsable = k.typ == DIR_SUBDIRS
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.removed {
		unix.Close(nfd)
		return nil, unix.ENOENT
	}
	vp := vfs.NewVnode(dvp.Mount, vt, k.e.ino(k.serial, uint64(st.Ino)), dirOps{}, n)
	k.vnodes[vp] = struct{}{}
	return vp, 0
}

func (dirOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	n := dn(vp)
	var st unix.Stat_t
	if e := n.with(l, func(fd int) unix.Errno { return errno(unix.Fstat(fd, &st)) }); e != 0 {
		return e
	}
	fillAttr(va, vp, &st, n.key.readOnly)
	return 0
}

func (dirOps) Access(l *kernel.LWP, vp *vfs.Vnode, acc uint32) unix.Errno {
	if acc&kernel.VWRITE != 0 && dn(vp).key.readOnly {
		return unix.EROFS
	}
	return vfs.GenericOps{}.Access(l, vp, acc)
}

func (dirOps) Open(l *kernel.LWP, vp *vfs.Vnode, fflags int) unix.Errno {
	n := dn(vp)
	if fflags&vfs.FWRITE != 0 {
		if n.key.readOnly {
			return unix.EROFS
		}
		if !n.writable {
			return unix.EACCES // the host refused O_RDWR
		}
	}
	return 0
}

func (dirOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	n := dn(vp)
	if n.isDir {
		return unix.EISDIR
	}
	if uio.Offset < 0 {
		return unix.EINVAL
	}
	bp := bouncePool.Get().(*[]byte)
	defer bouncePool.Put(bp)
	buf := *bp
	for uio.Resid > 0 {
		want := min(len(buf), uio.Resid)
		var m int
		e := n.with(l, func(fd int) unix.Errno {
			var err error
			m, err = rumpblk.HostIO(unix.Pread, fd, buf[:want], uio.Offset)
			return errno(err)
		})
		if m > 0 {
			kernel.Uiomove(buf[:m], uio)
		}
		if e != 0 {
			return e
		}
		if m < want {
			break
		}
	}
	return 0
}

func (dirOps) Write(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	n := dn(vp)
	switch {
	case n.isDir:
		return unix.EISDIR
	case n.key.readOnly:
		return unix.EROFS
	case !n.writable:
		return unix.EACCES
	}
	if ioflag&vfs.IO_APPEND != 0 {
		var st unix.Stat_t
		if e := n.with(l, func(fd int) unix.Errno { return errno(unix.Fstat(fd, &st)) }); e != 0 {
			return e
		}
		uio.Offset = st.Size
	}
	if uio.Offset < 0 {
		return unix.EINVAL
	}
	bp := bouncePool.Get().(*[]byte)
	defer bouncePool.Put(bp)
	buf := *bp
	for uio.Resid > 0 {
		off := uio.Offset
		want := min(len(buf), uio.Resid)
		kernel.Uiomove(buf[:want], uio)
		var m int
		e := n.with(l, func(fd int) unix.Errno {
			var err error
			m, err = rumpblk.HostIO(unix.Pwrite, fd, buf[:want], off)
			return errno(err)
		})
		if m < want {
			uio.Resid += want - m
			uio.Offset -= int64(want - m)
			if e == 0 {
				e = unix.EIO
			}
		}
		if e != 0 {
			return e
		}
	}
	if ioflag&(vfs.IO_SYNC|vfs.IO_DSYNC) != 0 {
		return n.with(l, func(fd int) unix.Errno { return errno(rumpblk.Datasync(fd)) })
	}
	return 0
}

func (dirOps) Fsync(l *kernel.LWP, vp *vfs.Vnode, flags int, lo, hi int64) unix.Errno {
	n := dn(vp)
	if !n.writable || n.isDir {
		return 0
	}
	return n.with(l, func(fd int) unix.Errno { return errno(unix.Fsync(fd)) })
}

func (dirOps) Setattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	n := dn(vp)
	if n.key.readOnly {
		return unix.EROFS
	}
	if va.Valid&(vfs.AttrFlags|vfs.AttrBirthtime|vfs.AttrCtime) != 0 {
		return unix.EOPNOTSUPP
	}
	return n.with(l, func(fd int) unix.Errno {
		if va.Valid&vfs.AttrSize != 0 {
			if !n.writable {
				return unix.EACCES
			}
			if err := unix.Ftruncate(fd, va.Size); err != nil {
				return errno(err)
			}
		}
		if va.Valid&vfs.AttrMode != 0 {
			if err := unix.Fchmod(fd, va.Mode&0o7777); err != nil {
				return errno(err)
			}
		}
		if va.Valid&(vfs.AttrUid|vfs.AttrGid) != 0 {
			uid, gid := -1, -1
			if va.Valid&vfs.AttrUid != 0 {
				uid = int(va.Uid)
			}
			if va.Valid&vfs.AttrGid != 0 {
				gid = int(va.Gid)
			}
			if err := unix.Fchown(fd, uid, gid); err != nil {
				return errno(err)
			}
		}
		if va.Valid&(vfs.AttrAtime|vfs.AttrMtime) != 0 {
			return hostFutimes(fd, va)
		}
		return 0
	})
}

func (dirOps) Readdir(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	n := dn(vp)
	if !n.isDir {
		return true, unix.ENOTDIR
	}
	if uio.Offset < 0 {
		return true, unix.EINVAL
	}
	n.snapMu.Lock()
	defer n.snapMu.Unlock()
	if uio.Offset == 0 || n.snap == nil {
		var ents []hostDirent
		if n.browsable {
			e := n.with(l, func(fd int) unix.Errno {
				var err error
				ents, err = readHostDir(fd)
				return errno(err)
			})
			if e != 0 {
				return true, e
			}
			slices.SortFunc(ents, func(a, b hostDirent) int { return strings.Compare(a.name, b.name) })
		}
		n.snap = ents
	}
	k := n.key
	for c := uio.Offset; ; c++ {
		var ino uint64
		var name string
		var dt uint8
		switch {
		case c == 0:
			ino, name, dt = vp.Ino, ".", unix.DT_DIR
		case c == 1:
			ino, name, dt = vp.Ino, "..", unix.DT_DIR
		case int(c-2) < len(n.snap):
			h := n.snap[c-2]
			ino, name, dt = k.e.ino(k.serial, h.ino), h.name, h.dt
		default:
			uio.Offset = c
			return true, 0
		}
		ok, e := vfs.EmitDirent(uio, ino, uint64(c+1), dt, name)
		if e != 0 || !ok {
			return false, e
		}
	}
}

func (dirOps) Inactive(l *kernel.LWP, vp *vfs.Vnode) bool { return true }

func (dirOps) Reclaim(l *kernel.LWP, vp *vfs.Vnode) unix.Errno {
	n := dn(vp)
	n.close(l)
	k := n.key
	k.mu.Lock()
	delete(k.vnodes, vp)
	k.mu.Unlock()
	return 0
}

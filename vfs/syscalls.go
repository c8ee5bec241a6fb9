package vfs

import (
	"runtime/debug"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// The system call layer (vfs_syscalls.c): path- and descriptor-based calls
// on the calling LWP's process, with POSIX semantics and host errno values.
// Each call is a kernel entry: it takes a virtual CPU for its duration and
// turns a panic inside the kernel into EIO with a dmesg line.

// recovered handles a panic caught at the kernel boundary: a dmesg line
// with the stack, and every read-write mount but the rumpfs root made
// read-only so that a driver in an unknown state writes nothing more. The
// VOP* functions release their locks with defers, so the panic unwound
// them.
func recovered(l *kernel.LWP, r any) {
	k := l.Kernel()
	k.Warnf("kernel: recovered panic: %v\n%s", r, debug.Stack())
	if v := Of(k); v != nil {
		for _, mp := range v.Mounts() {
			if mp != v.rootMount && !mp.ReadOnly() {
				mp.SetReadOnly()
				k.Warnf("%s: made read-only after a kernel panic", mp.On)
			}
		}
	}
}

// Enter and Leave bracket a kernel entry, for the system calls here and
// for clients that call VOPs directly (p2k, etfs): Enter takes a virtual
// CPU, Leave gives it back and turns a panic into EIO. Use as
//
//	if e = vfs.Enter(l); e != 0 { return e }
//	defer vfs.Leave(l, &e)
//
// or let Run do both around a function.
func Enter(l *kernel.LWP) unix.Errno {
	if l == nil || l.Proc() == nil {
		return unix.EINVAL
	}
	if l.Kernel().Halted() {
		return kernel.ErrHalted
	}
	l.Schedule()
	return 0
}

// Leave ends a kernel entry; see Enter. It must be deferred directly, so
// that its recover sees a panic.
func Leave(l *kernel.LWP, e *unix.Errno) {
	if r := recover(); r != nil {
		recovered(l, r)
		*e = unix.EIO
	}
	l.Unschedule()
}

// Run runs fn as one kernel entry: Enter, fn, Leave. A panic in fn is
// EIO, as Leave makes it.
func Run(l *kernel.LWP, fn func() unix.Errno) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	return fn()
}

func (pf *ProcFiles) umaskBits() uint32 {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	return pf.umask
}

// Umask sets the process's file creation mask and returns the old one.
func Umask(l *kernel.LWP, mask uint32) uint32 {
	pf := procFiles(l)
	pf.mu.Lock()
	defer pf.mu.Unlock()
	old := pf.umask
	pf.umask = mask & 0o777
	return old
}

// Open opens path with O_* flags (host numbering) and returns a descriptor.
func Open(l *kernel.LWP, path string, flags int, mode uint32) (fd int, e unix.Errno) {
	if e = Enter(l); e != 0 {
		return -1, e
	}
	defer Leave(l, &e)
	vp, e := openVnode(l, nil, path, flags, mode)
	if e != 0 {
		return -1, e
	}
	f := newFile(vp, flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_TRUNC))
	if vp.Type == VFIFO {
		if f.pipe, e = procFiles(l).v.fifoOpen(l, vp, flags); e != 0 {
			VOPClose(l, vp, f.fflags())
			Vrele(l, vp)
			return -1, e
		}
	}
	return installFile(l, f, flags&unix.O_CLOEXEC != 0)
}

// OpenVnode opens path like Open but returns the opened vnode, referenced,
// instead of a descriptor (for kernel callers such as etfs and tests). The
// caller closes it with VOPClose and Vrele.
func OpenVnode(l *kernel.LWP, path string, flags int, mode uint32) (vp *Vnode, e unix.Errno) {
	if e = Enter(l); e != 0 {
		return nil, e
	}
	defer Leave(l, &e)
	return openVnode(l, nil, path, flags, mode)
}

func openVnode(l *kernel.LWP, at *Vnode, path string, flags int, mode uint32) (*Vnode, unix.Errno) {
	if flags&unix.O_ACCMODE == unix.O_ACCMODE {
		return nil, unix.EINVAL
	}
	var vp *Vnode
	how := 0
	if flags&unix.O_CREAT != 0 {
		var created bool
		var e unix.Errno
		if vp, created, e = openCreate(l, at, path, flags, mode); e != 0 {
			return nil, e
		}
		if created {
			how = VnOpenCreated
		}
	} else {
		nflags := Follow
		if flags&unix.O_NOFOLLOW != 0 {
			nflags = 0
		}
		res, e := Namei(l, at, path, LOOKUP, nflags)
		if e != 0 {
			return nil, e
		}
		vp = res.Vp
	}
	if _, e := VnOpen(l, vp, flags, how); e != 0 {
		Vrele(l, vp)
		return nil, e
	}
	return vp, 0
}

// openCreate finds or makes the file an O_CREAT open names: EEXIST with
// O_EXCL when it exists, EISDIR for a new name with a trailing slash. It
// returns the vnode, referenced, and whether this call made it.
func openCreate(l *kernel.LWP, at *Vnode, path string, flags int, mode uint32) (*Vnode, bool, unix.Errno) {
	nflags := WantParent
	if flags&(unix.O_EXCL|unix.O_NOFOLLOW) == 0 {
		nflags |= Follow
	}
	for tries := 0; ; tries++ {
		res, e := Namei(l, at, path, CREATE, nflags)
		if e != 0 {
			return nil, false, e
		}
		if res.Vp != nil {
			vp := res.Vp
			res.Vp = nil
			res.Release(l)
			if flags&unix.O_EXCL != 0 {
				Vrele(l, vp)
				return nil, false, unix.EEXIST
			}
			return vp, false, 0
		}
		if res.TrailingSlash {
			res.Release(l)
			return nil, false, unix.EISDIR
		}
		va := Vattr{Type: VREG, Mode: mode & 0o7777, Umask: procFiles(l).umaskBits()}
		cn := ComponentName{Op: CREATE, Name: res.Name, IsLast: true}
		vp, e := VOPCreate(l, res.Dvp, &cn, &va)
		res.Release(l)
		if e == unix.EEXIST && flags&unix.O_EXCL == 0 && tries < 8 {
			continue // lost a race with another creator
		}
		if e != 0 {
			return nil, false, e
		}
		return vp, true, 0
	}
}

// Close closes a descriptor.
func Close(l *kernel.LWP, fd int) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	f, e := procFiles(l).fdt.remove(fd)
	if e != 0 {
		return e
	}
	return f.drop(l)
}

// Dup returns a new descriptor for the open file fd.
func Dup(l *kernel.LWP, fd int) (nfd int, e unix.Errno) {
	if e = Enter(l); e != 0 {
		return -1, e
	}
	defer Leave(l, &e)
	pf := procFiles(l)
	f, e := pf.fdt.get(fd)
	if e != 0 {
		return -1, e
	}
	nfd, e = pf.fdt.alloc(f, 0, fileLimit(l), false)
	if e != 0 {
		f.drop(l)
	}
	return nfd, e
}

func getFile(l *kernel.LWP, fd int) (*File, unix.Errno) {
	return procFiles(l).fdt.get(fd)
}

// Read reads from fd at its offset.
func Read(l *kernel.LWP, fd int, buf []byte) (n int, e unix.Errno) {
	return rw(l, fd, buf, -1, kernel.UioRead)
}

// Write writes to fd at its offset (at the end with O_APPEND).
func Write(l *kernel.LWP, fd int, buf []byte) (n int, e unix.Errno) {
	return rw(l, fd, buf, -1, kernel.UioWrite)
}

// Pread reads from fd at off, leaving the offset.
func Pread(l *kernel.LWP, fd int, buf []byte, off int64) (int, unix.Errno) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	return rw(l, fd, buf, off, kernel.UioRead)
}

// Pwrite writes to fd at off, leaving the offset.
func Pwrite(l *kernel.LWP, fd int, buf []byte, off int64) (int, unix.Errno) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	return rw(l, fd, buf, off, kernel.UioWrite)
}

func rw(l *kernel.LWP, fd int, buf []byte, off int64, dir kernel.UioRW) (n int, e unix.Errno) {
	if e = Enter(l); e != 0 {
		return 0, e
	}
	defer Leave(l, &e)
	f, e := getFile(l, fd)
	if e != 0 {
		return 0, e
	}
	defer f.drop(l)
	ff := f.fflags()
	if dir == kernel.UioRead && ff&FREAD == 0 || dir == kernel.UioWrite && ff&FWRITE == 0 {
		return 0, unix.EBADF
	}
	if f.pipe != nil {
		if off >= 0 {
			return 0, unix.ESPIPE
		}
		return f.pipe.rw(l, buf, dir, f.status.Load()&unix.O_NONBLOCK != 0)
	}
	vp := f.Vnode
	if vp.Type == VDIR {
		return 0, unix.EISDIR
	}
	useOff := off < 0
	if useOff {
		f.offMu.Enter(l)
		defer f.offMu.Exit()
		off = f.offset
	}
	u := kernel.UioSetup(buf, off, dir)
	if dir == kernel.UioRead {
		e = VOPRead(l, vp, u, 0)
	} else {
		ioflag := 0
		if f.status.Load()&unix.O_APPEND != 0 {
			ioflag |= IO_APPEND
		}
		if f.Flags&(unix.O_SYNC|unix.O_DSYNC) != 0 {
			ioflag |= IO_SYNC
		}
		e = VOPWrite(l, vp, u, ioflag)
	}
	end := u.Offset
	n = len(buf) - kernel.UioFree(u)
	if useOff {
		f.offset = end
	}
	if n > 0 {
		e = 0 // a partial transfer reports its count
	}
	return n, e
}

// Lseek moves fd's offset; whence is SEEK_SET, SEEK_CUR, SEEK_END,
// SEEK_DATA or SEEK_HOLE.
func Lseek(l *kernel.LWP, fd int, off int64, whence int) (pos int64, e unix.Errno) {
	if e = Enter(l); e != 0 {
		return -1, e
	}
	defer Leave(l, &e)
	f, e := getFile(l, fd)
	if e != 0 {
		return -1, e
	}
	defer f.drop(l)
	if f.pipe != nil {
		return -1, unix.ESPIPE
	}
	f.offMu.Enter(l)
	defer f.offMu.Exit()
	switch whence {
	case unix.SEEK_SET:
		pos = off
	case unix.SEEK_CUR:
		pos = f.offset + off
	case unix.SEEK_END:
		var va Vattr
		if e := VOPGetattr(l, f.Vnode, &va); e != 0 {
			return -1, e
		}
		pos = va.Size + off
	case unix.SEEK_DATA, unix.SEEK_HOLE:
		p, e := VOPSeek(l, f.Vnode, off, whence)
		if e != 0 {
			return -1, e
		}
		pos = p
	default:
		return -1, unix.EINVAL
	}
	if pos < 0 {
		return -1, unix.EINVAL
	}
	f.offset = pos
	return pos, 0
}

var vattrPool = newPool(func() *Vattr { return new(Vattr) })

// Fstat returns fd's attributes.
func Fstat(l *kernel.LWP, fd int, st *Vattr) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	f, e := getFile(l, fd)
	if e != 0 {
		return e
	}
	defer f.drop(l)
	if f.Vnode == nil {
		f.pipe.stat(st)
		return 0
	}
	return getattrInto(l, f.Vnode, st)
}

// getattrInto fills st through a pooled Vattr, so st does not escape and
// a stat allocates nothing.
func getattrInto(l *kernel.LWP, vp *Vnode, st *Vattr) unix.Errno {
	va := vattrPool.Get()
	e := VOPGetattr(l, vp, va)
	*st = *va
	vattrPool.Put(va)
	return e
}

// Stat returns path's attributes, following a final symlink.
func Stat(l *kernel.LWP, path string, st *Vattr) unix.Errno { return stat(l, path, st, Follow) }

// Lstat returns path's attributes, not following a final symlink.
func Lstat(l *kernel.LWP, path string, st *Vattr) unix.Errno { return stat(l, path, st, 0) }

func stat(l *kernel.LWP, path string, st *Vattr, flags int) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	res, e := Namei(l, nil, path, LOOKUP, flags)
	if e != 0 {
		return e
	}
	e = getattrInto(l, res.Vp, st)
	Vrele(l, res.Vp)
	return e
}

// parent walks path to the directory its last name is in (a ParentOnly
// Namei); the caller releases the result.
func parent(l *kernel.LWP, path string, op NameiOp) (NameiResult, unix.Errno) {
	return Namei(l, nil, path, op, ParentOnly)
}

// makePath makes path a file of va.Type through VnMake, with the
// process's umask unless it is a symlink.
func makePath(l *kernel.LWP, path string, va *Vattr, target string) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	if va.Type != VLNK {
		va.Umask = procFiles(l).umaskBits()
	} else if e := CheckPath(target); e != 0 {
		return e // before the walk: Linux reads the target first
	}
	res, e := parent(l, path, CREATE)
	if e != 0 {
		return e
	}
	defer res.Release(l)
	vp, e := VnMake(l, res.Last(), va, target, 0)
	if e == 0 {
		Vrele(l, vp)
	}
	return e
}

// Mkdir makes a directory.
func Mkdir(l *kernel.LWP, path string, mode uint32) unix.Errno {
	return makePath(l, path, &Vattr{Type: VDIR, Mode: mode & 0o7777}, "")
}

// Mknod makes a device node, FIFO or regular file; mode carries S_IFMT.
func Mknod(l *kernel.LWP, path string, mode uint32, dev uint64) unix.Errno {
	t, e := MknodType(mode)
	if e != 0 {
		return e // before the walk, as Linux checks
	}
	return makePath(l, path, &Vattr{Type: t, Mode: mode & 0o7777, Rdev: dev}, "")
}

// Symlink makes path a symbolic link to target.
func Symlink(l *kernel.LWP, target, path string) unix.Errno {
	return makePath(l, path, &Vattr{Type: VLNK, Mode: 0o777}, target)
}

// Readlink reads a symlink's target into buf and returns its length.
func Readlink(l *kernel.LWP, path string, buf []byte) (n int, e unix.Errno) {
	if e = Enter(l); e != 0 {
		return 0, e
	}
	defer Leave(l, &e)
	res, e := Namei(l, nil, path, LOOKUP, 0)
	if e != 0 {
		return 0, e
	}
	defer Vrele(l, res.Vp)
	return VnReadlink(l, res.Vp, buf)
}

// Unlink removes a non-directory.
func Unlink(l *kernel.LWP, path string) unix.Errno { return remove(l, path, false) }

// Rmdir removes an empty directory.
func Rmdir(l *kernel.LWP, path string) unix.Errno { return remove(l, path, true) }

func remove(l *kernel.LWP, path string, dir bool) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	res, e := parent(l, path, DELETE)
	if e != 0 {
		return e
	}
	defer res.Release(l)
	return VnRemove(l, res.Last(), dir, 0)
}

// Link makes newpath another name for oldpath.
func Link(l *kernel.LWP, oldpath, newpath string) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	src, e := Namei(l, nil, oldpath, LOOKUP, 0)
	if e != 0 {
		return e
	}
	defer Vrele(l, src.Vp)
	res, e := parent(l, newpath, CREATE)
	if e != 0 {
		return e
	}
	defer res.Release(l)
	return VnLink(l, src.Vp, res.Last(), 0)
}

// Rename renames from to to, replacing to if it exists (a file by a file,
// a directory by a directory that is empty).
func Rename(l *kernel.LWP, from, to string) unix.Errno { return Rename2(l, from, to, 0) }

// Rename2 is renameat2(2) relative to the cwd: Rename with flags
// RenameNoReplace or RenameExchange; see VnRename.
func Rename2(l *kernel.LWP, from, to string, flags int) (e unix.Errno) {
	if e = CheckRenameFlags(flags); e != 0 {
		return e
	}
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	f, e := parent(l, from, DELETE)
	if e != 0 {
		return e
	}
	defer f.Release(l)
	t, e := parent(l, to, RENAME)
	if e != 0 {
		return e
	}
	defer t.Release(l)
	return VnRename(l, f.Last(), t.Last(), flags, 0)
}

// setattrPath applies va to path (following a final symlink when follow).
func setattrPath(l *kernel.LWP, path string, follow bool, va *Vattr) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	flags := 0
	if follow {
		flags = Follow
	}
	res, e := Namei(l, nil, path, LOOKUP, flags)
	if e != 0 {
		return e
	}
	defer Vrele(l, res.Vp)
	return VOPSetattr(l, res.Vp, va)
}

func setattrFd(l *kernel.LWP, fd int, va *Vattr, needWrite bool) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	f, e := getVnodeFile(l, fd, unix.EINVAL)
	if e != 0 {
		return e
	}
	defer f.drop(l)
	if needWrite && f.fflags()&FWRITE == 0 {
		return unix.EINVAL
	}
	return VOPSetattr(l, f.Vnode, va)
}

// Chmod changes path's permission bits.
func Chmod(l *kernel.LWP, path string, mode uint32) unix.Errno {
	return setattrPath(l, path, true, &Vattr{Valid: AttrMode, Mode: mode & 0o7777})
}

// Fchmod changes fd's permission bits.
func Fchmod(l *kernel.LWP, fd int, mode uint32) unix.Errno {
	return setattrFd(l, fd, &Vattr{Valid: AttrMode, Mode: mode & 0o7777}, false)
}

func ownerAttr(uid, gid int) *Vattr {
	va := &Vattr{}
	if uid >= 0 {
		va.Valid |= AttrUid
		va.Uid = uint32(uid)
	}
	if gid >= 0 {
		va.Valid |= AttrGid
		va.Gid = uint32(gid)
	}
	return va
}

// Chown changes path's owner and group; -1 leaves one as it is.
func Chown(l *kernel.LWP, path string, uid, gid int) unix.Errno {
	return setattrPath(l, path, true, ownerAttr(uid, gid))
}

// Lchown is Chown on a symlink itself.
func Lchown(l *kernel.LWP, path string, uid, gid int) unix.Errno {
	return setattrPath(l, path, false, ownerAttr(uid, gid))
}

// Fchown is Chown on a descriptor.
func Fchown(l *kernel.LWP, fd int, uid, gid int) unix.Errno {
	return setattrFd(l, fd, ownerAttr(uid, gid), false)
}

// Special Nsec values of utimensat(2) times, Linux's numbers on every host.
const (
	UTIME_NOW  = (1 << 30) - 1
	UTIME_OMIT = (1 << 30) - 2
)

// timesAttr builds a setattr from utimensat-style times: nil means both
// now; Nsec UTIME_NOW and UTIME_OMIT as utimensat(2) takes them.
func timesAttr(ts *[2]Timespec) *Vattr {
	va := &Vattr{}
	now := Now()
	if ts == nil {
		va.Valid = AttrAtime | AttrMtime | AttrTimesNow
		va.Atime, va.Mtime = now, now
		return va
	}
	nowCount := 0
	for i, t := range ts {
		bit, dst := AttrAtime, &va.Atime
		if i == 1 {
			bit, dst = AttrMtime, &va.Mtime
		}
		switch t.Nsec {
		case UTIME_OMIT:
			continue
		case UTIME_NOW:
			*dst = now
			nowCount++
		default:
			*dst = t
		}
		va.Valid |= bit
	}
	if nowCount > 0 && nowCount == countBits(va.Valid&(AttrAtime|AttrMtime)) {
		va.Valid |= AttrTimesNow
	}
	return va
}

func countBits(m AttrMask) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// Utimes sets path's access and modification times (nil: both now).
func Utimes(l *kernel.LWP, path string, ts *[2]Timespec, follow bool) unix.Errno {
	if e := checkTimes(ts); e != 0 {
		return e
	}
	return setattrPath(l, path, follow, timesAttr(ts))
}

// Futimes sets fd's times.
func Futimes(l *kernel.LWP, fd int, ts *[2]Timespec) unix.Errno {
	if e := checkTimes(ts); e != 0 {
		return e
	}
	return setattrFd(l, fd, timesAttr(ts), false)
}

// checkTimes refuses, as utimensat(2) does, a nanosecond field out of
// range that is neither UTIME_NOW nor UTIME_OMIT. nil (both now) is fine.
func checkTimes(ts *[2]Timespec) unix.Errno {
	if ts == nil {
		return 0
	}
	for _, t := range ts {
		if t.Nsec != UTIME_NOW && t.Nsec != UTIME_OMIT && (t.Nsec < 0 || t.Nsec >= 1e9) {
			return unix.EINVAL
		}
	}
	return 0
}

// Truncate sets path's size.
func Truncate(l *kernel.LWP, path string, size int64) unix.Errno {
	if size < 0 {
		return unix.EINVAL
	}
	return setattrPath(l, path, true, &Vattr{Valid: AttrSize, Size: size})
}

// Ftruncate sets fd's size; fd must be open for writing (EINVAL).
func Ftruncate(l *kernel.LWP, fd int, size int64) unix.Errno {
	if size < 0 {
		return unix.EINVAL
	}
	return setattrFd(l, fd, &Vattr{Valid: AttrSize | AttrOpenWrite, Size: size}, true)
}

// Fsync makes fd's data and metadata durable.
func Fsync(l *kernel.LWP, fd int) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	f, e := getVnodeFile(l, fd, unix.EINVAL)
	if e != 0 {
		return e
	}
	defer f.drop(l)
	return VOPFsync(l, f.Vnode, FSYNC_WAIT, 0, 0)
}

// Sync writes back every read-write mount and waits.
func Sync(l *kernel.LWP) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	return procFiles(l).v.SyncAll(l, true)
}

// StatvfsPath returns the statistics of the file system holding path.
func StatvfsPath(l *kernel.LWP, path string, sb *Statvfs) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	res, e := Namei(l, nil, path, LOOKUP, Follow)
	if e != 0 {
		return e
	}
	defer Vrele(l, res.Vp)
	return StatvfsMount(l, res.Vp.Mount, sb)
}

// Getdents reads directory entries from fd into buf, serialised in the
// format EmitDirent documents, and returns the bytes used; 0 at the end.
// EINVAL when buf cannot hold the next entry.
func Getdents(l *kernel.LWP, fd int, buf []byte) (n int, e unix.Errno) {
	if e = Enter(l); e != 0 {
		return 0, e
	}
	defer Leave(l, &e)
	f, e := getVnodeFile(l, fd, unix.ENOTDIR)
	if e != 0 {
		return 0, e
	}
	defer f.drop(l)
	if f.Vnode.Type != VDIR {
		return 0, unix.ENOTDIR
	}
	f.offMu.Enter(l)
	defer f.offMu.Exit()
	w := direntWriters.Get().(*direntWriter)
	w.buf, w.n = buf, 0
	next, eof, e := VnReaddir(l, f.Vnode, f.offset, w)
	n = w.n
	w.buf = nil
	direntWriters.Put(w)
	if e != 0 {
		return 0, e
	}
	f.offset = next
	if n == 0 && !eof {
		return 0, unix.EINVAL
	}
	return n, 0
}

// ReadDir returns every entry of the directory path, "." and ".."
// included, in the driver's order.
func ReadDir(l *kernel.LWP, path string) ([]Dirent, unix.Errno) {
	fd, e := Open(l, path, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if e != 0 {
		return nil, e
	}
	defer Close(l, fd)
	var out []Dirent
	buf := make([]byte, 32<<10)
	for {
		n, e := Getdents(l, fd, buf)
		if e != 0 {
			return out, e
		}
		if n == 0 {
			return out, 0
		}
		for b := buf[:n]; len(b) > 0; {
			d, m, ok := ParseDirent(b)
			if !ok {
				return out, unix.EIO
			}
			out = append(out, d)
			b = b[m:]
		}
	}
}

func dirVnode(l *kernel.LWP, path string) (*Vnode, unix.Errno) {
	res, e := Namei(l, nil, path, LOOKUP, Follow)
	if e != 0 {
		return nil, e
	}
	vp := res.Vp
	if vp.Type != VDIR {
		Vrele(l, vp)
		return nil, unix.ENOTDIR
	}
	if e := VOPAccess(l, vp, kernel.VEXEC); e != 0 {
		Vrele(l, vp)
		return nil, e
	}
	return vp, 0
}

// Chdir changes the process's working directory.
func Chdir(l *kernel.LWP, path string) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	vp, e := dirVnode(l, path)
	if e != 0 {
		return e
	}
	procFiles(l).setDirs(l, vp, nil)
	return 0
}

// Fchdir changes the working directory to the directory open as fd; like
// Chdir it needs search permission there.
func Fchdir(l *kernel.LWP, fd int) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	f, e := getVnodeFile(l, fd, unix.ENOTDIR)
	if e != 0 {
		return e
	}
	defer f.drop(l)
	if f.Vnode.Type != VDIR {
		return unix.ENOTDIR
	}
	if e := VOPAccess(l, f.Vnode, kernel.VEXEC); e != 0 {
		return e
	}
	Vref(f.Vnode)
	procFiles(l).setDirs(l, f.Vnode, nil)
	return 0
}

// Chroot confines the process's lookups below path (root only); ".." at
// the new root stays there. The working directory moves there too.
func Chroot(l *kernel.LWP, path string) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	if !l.Cred().IsRoot() {
		return unix.EPERM
	}
	vp, e := dirVnode(l, path)
	if e != 0 {
		return e
	}
	Vref(vp)
	procFiles(l).setDirs(l, vp, vp)
	return 0
}

// Access checks path against mode (R_OK, W_OK, X_OK; 0 for existence).
func Access(l *kernel.LWP, path string, mode uint32) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	if mode&^7 != 0 {
		return unix.EINVAL
	}
	res, e := Namei(l, nil, path, LOOKUP, Follow)
	if e != 0 {
		return e
	}
	defer Vrele(l, res.Vp)
	return VnAccess(l, res.Vp, mode, 0)
}

// MountPath mounts a file system of type fstype from source (a block device
// path in the kernel namespace when the type needs one) on directory dir.
func MountPath(l *kernel.LWP, fstype, source, dir string, flags int, opts map[string]string) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	typ := LookupFSType(fstype)
	if typ == nil {
		return unix.ENODEV
	}
	v := procFiles(l).v
	args := &MountArgs{Source: source, Flags: flags, Options: opts}
	if typ.NeedsDevice {
		res, e := Namei(l, nil, source, LOOKUP, Follow)
		if e != 0 {
			return e
		}
		t, rdev := res.Vp.Type, res.Vp.Rdev
		e = mountDeviceAccess(l, res.Vp, flags)
		Vrele(l, res.Vp)
		if e != 0 {
			return e
		}
		if t != VBLK {
			return unix.ENOTBLK
		}
		args.Dev = v.Device(rdev)
		if args.Dev == nil {
			return unix.ENXIO
		}
		if args.Dev.ReadOnly() && flags&MNT_RDONLY == 0 {
			return unix.EROFS
		}
	}
	vp, e := dirVnode(l, dir)
	if e != 0 {
		return e
	}
	defer Vrele(l, vp)
	_, e = v.Mount(l, typ, vp, dir, args)
	return e
}

// UnmountPath unmounts the file system mounted on dir.
func UnmountPath(l *kernel.LWP, dir string, flags int) (e unix.Errno) {
	if e = Enter(l); e != 0 {
		return e
	}
	defer Leave(l, &e)
	res, e := Namei(l, nil, dir, LOOKUP, Follow)
	if e != 0 {
		return e
	}
	vp := res.Vp
	mp := vp.Mount
	root := vp.Root
	Vrele(l, vp)
	if !root {
		return unix.EINVAL
	}
	return procFiles(l).v.Unmount(l, mp, flags)
}

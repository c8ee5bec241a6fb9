package vfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// The descriptor system calls beyond open and close: pipe(2), fcntl(2)'s
// descriptor commands, dup2/dup3, and closing the close-on-exec
// descriptors at an exec. Flags and commands are in host numbering.

// fileLimit is l's process's RLIMIT_NOFILE.
func fileLimit(l *kernel.LWP) int {
	r, _ := l.Proc().Getrlimit(kernel.RLIMIT_NOFILE)
	return int(min(r.Cur, MaxFiles))
}

// installFile gives f a descriptor, or closes it (EMFILE at the limit).
func installFile(l *kernel.LWP, f *File, cloexec bool) (int, unix.Errno) {
	fd, e := procFiles(l).fdt.alloc(f, 0, fileLimit(l), cloexec)
	if e != 0 {
		f.drop(l)
		return -1, e
	}
	return fd, 0
}

// getVnodeFile is getFile for calls that need a vnode: pipeErr for a
// pipe(2) descriptor.
func getVnodeFile(l *kernel.LWP, fd int, pipeErr unix.Errno) (*File, unix.Errno) {
	f, e := getFile(l, fd)
	if e != 0 {
		return nil, e
	}
	if f.Vnode == nil {
		f.drop(l)
		return nil, pipeErr
	}
	return f, 0
}

// Pipe makes a pipe and returns its read and write descriptors.
func Pipe(l *kernel.LWP) ([2]int, unix.Errno) { return Pipe2(l, 0) }

// Pipe2 is Pipe with O_CLOEXEC and O_NONBLOCK (EINVAL for other flags).
func Pipe2(l *kernel.LWP, flags int) (fds [2]int, e unix.Errno) {
	fds = [2]int{-1, -1}
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK) != 0 {
		return fds, unix.EINVAL
	}
	e = Run(l, func() unix.Errno {
		p := newPipe(l.Cred())
		r := newFile(nil, unix.O_RDONLY|flags)
		w := newFile(nil, unix.O_WRONLY|flags)
		r.pipe, w.pipe = p, p
		p.openEnd(FREAD)
		p.openEnd(FWRITE)
		cloexec := flags&unix.O_CLOEXEC != 0
		rfd, e := installFile(l, r, cloexec)
		if e != 0 {
			w.drop(l)
			return e
		}
		wfd, e := installFile(l, w, cloexec)
		if e != 0 {
			if f, e := procFiles(l).fdt.remove(rfd); e == 0 {
				f.drop(l)
			}
			return e
		}
		fds = [2]int{rfd, wfd}
		return 0
	})
	return fds, e
}

// Fcntl runs a descriptor command: F_GETFD and F_SETFD (FD_CLOEXEC),
// F_GETFL and F_SETFL (O_APPEND and O_NONBLOCK may change), F_DUPFD and
// F_DUPFD_CLOEXEC (the lowest free descriptor from arg up). EINVAL for
// other commands.
func Fcntl(l *kernel.LWP, fd, cmd, arg int) (ret int, e unix.Errno) {
	e = Run(l, func() unix.Errno {
		t := procFiles(l).fdt
		f, e := t.get(fd)
		if e != 0 {
			return e
		}
		defer f.drop(l)
		switch cmd {
		case unix.F_GETFD, unix.F_SETFD:
			t.mu.Lock()
			defer t.mu.Unlock()
			if fd >= len(t.files) || t.files[fd] != f {
				return unix.EBADF // closed meanwhile
			}
			if cmd == unix.F_SETFD {
				t.cloexec[fd] = arg&unix.FD_CLOEXEC != 0
			} else if t.cloexec[fd] {
				ret = unix.FD_CLOEXEC
			}
		case unix.F_GETFL:
			ret = f.statusFlags()
		case unix.F_SETFL:
			f.status.Store(int32(arg & statusMask))
		case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
			if arg < 0 || arg >= fileLimit(l) {
				return unix.EINVAL
			}
			f.hold()
			nfd, e := t.alloc(f, arg, fileLimit(l), cmd == unix.F_DUPFD_CLOEXEC)
			if e != 0 {
				f.drop(l)
				return e
			}
			ret = nfd
		default:
			return unix.EINVAL
		}
		return 0
	})
	return ret, e
}

// Dup2 makes newfd a descriptor of oldfd's file, closing what newfd was
// (nothing when they are equal); newfd is not close-on-exec. EBADF when
// newfd is negative or not below RLIMIT_NOFILE.
func Dup2(l *kernel.LWP, oldfd, newfd int) (int, unix.Errno) {
	return dup3(l, oldfd, newfd, 0, true)
}

// Dup3 is Dup2 with O_CLOEXEC, and EINVAL when the descriptors are equal.
func Dup3(l *kernel.LWP, oldfd, newfd, flags int) (int, unix.Errno) {
	if flags&^unix.O_CLOEXEC != 0 {
		return -1, unix.EINVAL
	}
	return dup3(l, oldfd, newfd, flags, false)
}

func dup3(l *kernel.LWP, oldfd, newfd, flags int, sameOK bool) (ret int, e unix.Errno) {
	e = Run(l, func() unix.Errno {
		t := procFiles(l).fdt
		f, e := t.get(oldfd)
		if e != 0 {
			return e
		}
		if newfd < 0 || newfd >= fileLimit(l) {
			f.drop(l)
			return unix.EBADF
		}
		if oldfd == newfd {
			f.drop(l)
			if !sameOK {
				return unix.EINVAL
			}
			ret = newfd
			return 0
		}
		t.mu.Lock()
		var old *File
		if newfd < len(t.files) {
			old = t.files[newfd]
		}
		t.installLocked(newfd, f, flags&unix.O_CLOEXEC != 0)
		t.mu.Unlock()
		if old != nil {
			old.drop(l)
		}
		ret = newfd
		return 0
	})
	return ret, e
}

// ExecCloseFiles closes every close-on-exec descriptor of l's process
// (fd_closeexec): what an exec does, for clients that emulate one.
func ExecCloseFiles(l *kernel.LWP) unix.Errno {
	return Run(l, func() unix.Errno {
		t := procFiles(l).fdt
		var closing []*File
		t.mu.Lock()
		for fd, f := range t.files {
			if f != nil && t.cloexec[fd] {
				closing = append(closing, f)
				t.files[fd], t.cloexec[fd] = nil, false
			}
		}
		t.mu.Unlock()
		for _, f := range closing {
			f.drop(l)
		}
		return 0
	})
}

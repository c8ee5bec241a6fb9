//go:build !linux

package etfs

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockWindow takes a POSIX byte-range lock on [begin, begin+length): the
// host has no open-file-description locks, so only another process
// conflicts, and the kernel names it.
func lockWindow(fd int, begin, length int64, shared bool) (conflict bool, pid int32, err error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: begin, Len: length}
	if shared {
		lk.Type = unix.F_RDLCK
	}
	err = unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk)
	if err == nil {
		return false, 0, nil
	}
	if err != unix.EAGAIN && err != unix.EACCES {
		return false, 0, err
	}
	q := lk
	pid = -1
	if unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &q) == nil && q.Type != unix.F_UNLCK {
		pid = q.Pid
	}
	return true, pid, nil
}

// readHostDir lists the regular files and directories in the directory
// open as dirfd, through a descriptor of its own.
func readHostDir(dirfd int) ([]hostDirent, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []hostDirent
	for _, de := range ents {
		var dt uint8
		switch {
		case de.Type().IsRegular():
			dt = unix.DT_REG
		case de.IsDir():
			dt = unix.DT_DIR
		default:
			continue
		}
		var ino uint64
		if fi, err := de.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				ino = uint64(st.Ino)
			}
		}
		out = append(out, hostDirent{de.Name(), ino, dt})
	}
	return out, nil
}

// findLockHolder: F_GETLK names the holder here already.
func findLockHolder(dev, ino uint64, begin, length int64) int32 { return -1 }

//go:build !linux

package main

import (
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// mknodAt would make a special file relative to a directory; the BSDs'
// and macOS's x/sys have no mknodat, so get reports such files instead.
func mknodAt(fd int, name string, mode uint32, dev uint64) error {
	return unix.ENOTSUP
}

// statTimes are a host file's access and modification times.
func statTimes(st *syscall.Stat_t) (at, mt vfs.Timespec) {
	return vfs.Timespec{Sec: int64(st.Atimespec.Sec), Nsec: int64(st.Atimespec.Nsec)}, vfs.Timespec{Sec: int64(st.Mtimespec.Sec), Nsec: int64(st.Mtimespec.Nsec)}
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TIOCGETA)
	return err == nil
}

// hostXattrs: the --xattrs copies are Linux-only for now.
func hostXattrs(p string) (map[string][]byte, error) { return nil, unix.ENOTSUP }

func setHostXattr(fd int, name string, v []byte) error { return unix.ENOTSUP }

package main

import (
	"strings"
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// mknodAt makes a FIFO, socket or device node name in directory fd.
func mknodAt(fd int, name string, mode uint32, dev uint64) error {
	return unix.Mknodat(fd, name, mode, int(dev))
}

// statTimes are a host file's access and modification times.
func statTimes(st *syscall.Stat_t) (at, mt vfs.Timespec) {
	return vfs.Timespec{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec}, vfs.Timespec{Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec}
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// hostXattrs reads the extended attributes of host path p (a symlink
// itself, not its target).
func hostXattrs(p string) (map[string][]byte, error) {
	n, err := unix.Llistxattr(p, nil)
	if err != nil || n == 0 {
		return nil, err
	}
	buf := make([]byte, n)
	if n, err = unix.Llistxattr(p, buf); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		sz, err := unix.Lgetxattr(p, name, nil)
		if err != nil {
			return nil, err
		}
		v := make([]byte, sz)
		if sz, err = unix.Lgetxattr(p, name, v); err != nil {
			return nil, err
		}
		out[name] = v[:sz]
	}
	return out, nil
}

// setHostXattr sets an extended attribute on an open host file.
func setHostXattr(fd int, name string, v []byte) error { return unix.Fsetxattr(fd, name, v, 0) }

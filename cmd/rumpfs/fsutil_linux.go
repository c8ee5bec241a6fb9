package main

import (
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

package main

import "golang.org/x/sys/unix"

// mknodAt makes a FIFO, socket or device node name in directory fd.
func mknodAt(fd int, name string, mode uint32, dev uint64) error {
	return unix.Mknodat(fd, name, mode, int(dev))
}

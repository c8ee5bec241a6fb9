package rumpblk

import "golang.org/x/sys/unix"

// Datasync makes data written to fd durable (fdatasync).
func Datasync(fd int) error { return unix.Fdatasync(fd) }

//go:build !linux

package rumpblk

import "golang.org/x/sys/unix"

// Datasync makes data written to fd durable (fsync: the host has no
// fdatasync).
func Datasync(fd int) error { return unix.Fsync(fd) }

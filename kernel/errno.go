package kernel

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Kernel-internal pseudo errors, as in NetBSD's errno.h. They are outside the
// host errno range and must never reach a caller outside the kernel; see
// HostErrno.
const (
	EJUSTRETURN unix.Errno = 0x10000 + 2 // return without touching the result
	ERESTART    unix.Errno = 0x10000 + 3 // restart the system call
)

// HostErrno maps a kernel error to one a host caller may see: pseudo errors
// become EIO.
func HostErrno(e unix.Errno) unix.Errno {
	if e >= 0x10000 {
		return unix.EIO
	}
	return e
}

// ToErrno extracts an errno from an error: an errno-carrying error yields its
// errno, anything else EIO, and nil 0.
func ToErrno(err error) unix.Errno {
	if err == nil {
		return 0
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

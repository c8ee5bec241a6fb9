package drivertest

import "golang.org/x/sys/unix"

// memFile is an anonymous memory file.
func memFile(TB) (int, error) { return unix.MemfdCreate("drivertest", unix.MFD_CLOEXEC) }

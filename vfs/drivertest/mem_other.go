//go:build !linux

package drivertest

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// memFile is a file in the test's temporary directory where the host has
// no anonymous memory files.
func memFile(t TB) (int, error) {
	return unix.Open(filepath.Join(t.TempDir(), "memdisk"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
}

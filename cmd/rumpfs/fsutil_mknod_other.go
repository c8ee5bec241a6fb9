//go:build !linux

package main

import "golang.org/x/sys/unix"

// mknodAt would make a special file relative to a directory; the BSDs'
// and macOS's x/sys have no mknodat, so get reports such files instead.
func mknodAt(fd int, name string, mode uint32, dev uint64) error {
	return unix.ENOTSUP
}

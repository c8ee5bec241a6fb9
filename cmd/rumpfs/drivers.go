package main

// The file system drivers linked into the binary: each registers itself
// with the VFS from init, as a rump kernel links in its components.
import (
	_ "github.com/rumpfs/rumpfs/vfs/ext2fs"
	_ "github.com/rumpfs/rumpfs/vfs/ffs"
)

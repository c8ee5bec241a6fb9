package main

// The file system drivers linked into rumpfs: each registers its types
// (vfs.RegisterFSType) from init, and rumpfs mount finds them by name.
// vfs/rumpfs is the in-memory root every kernel mounts at "/".
import (
	_ "github.com/rumpfs/rumpfs/vfs/ext2fs"
	_ "github.com/rumpfs/rumpfs/vfs/ffs"
	_ "github.com/rumpfs/rumpfs/vfs/rumpfs"
)

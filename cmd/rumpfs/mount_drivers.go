package main

// The file system drivers linked into rumpfs: each registers its types
// (vfs.RegisterFSType) from init, and rumpfs mount finds them by name.
// vfs/rumpfs is the in-memory root every kernel mounts at "/".
import (
	"github.com/rumpfs/rumpfs/images"
	"github.com/rumpfs/rumpfs/vfs"
	_ "github.com/rumpfs/rumpfs/vfs/ext2fs"
	_ "github.com/rumpfs/rumpfs/vfs/ffs"
	_ "github.com/rumpfs/rumpfs/vfs/rumpfs"
)

// The probe (info, parts, mount) says a file system has a driver only when
// one is registered here.
func init() {
	images.SetDriverLookup(func(t string) bool { return vfs.LookupFSType(t) != nil })
}

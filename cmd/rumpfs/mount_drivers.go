package main

// The file system drivers linked into rumpfs: each registers its types
// (vfs.RegisterFSType) from init, and rumpfs mount finds them by name.
// vfs/rumpfs is the in-memory root every kernel mounts at "/".
import (
	"io"

	"github.com/rumpfs/rumpfs/images"
	"github.com/rumpfs/rumpfs/vfs"
	_ "github.com/rumpfs/rumpfs/vfs/cd9660"
	"github.com/rumpfs/rumpfs/vfs/ext2fs"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	_ "github.com/rumpfs/rumpfs/vfs/ffs"
	_ "github.com/rumpfs/rumpfs/vfs/msdosfs"
	_ "github.com/rumpfs/rumpfs/vfs/rumpfs"
)

// The probe (info, parts, mount) says a file system has a driver only when
// one is registered here.
func init() {
	images.SetDriverLookup(func(t string) bool { return vfs.LookupFSType(t) != nil })
}

// refusals say, per driver, what in an image makes the driver refuse it,
// "" if nothing: rumpfs info reports it before anyone tries a mount.
var refusals = map[string]func(r io.ReaderAt) string{
	"ext2fs": func(r io.ReaderAt) string {
		raw := make([]byte, disk.SuperblockSize)
		if _, err := r.ReadAt(raw, disk.SuperblockOffset); err != nil {
			return ""
		}
		sb, err := disk.ParseSuperblock(raw)
		if err != nil {
			return ""
		}
		return ext2fs.Refuses(sb)
	},
}

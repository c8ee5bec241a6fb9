package main

// --json output of the fs-utils commands: one JSON array (an object for
// df), indented as rumpfs info's, with numbers as numbers and times in
// RFC 3339 with nanoseconds. Names go out as they are: encoding/json
// escapes what a terminal could act on.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

// fileJSON is one file's attributes.
type fileJSON struct {
	Path      string `json:"path"`
	Type      string `json:"type"` // file, dir, symlink, fifo, socket, block, char
	Mode      string `json:"mode"` // octal permission bits, like "0644" or "4755"
	Nlink     uint32 `json:"nlink"`
	UID       uint32 `json:"uid"`
	GID       uint32 `json:"gid"`
	Size      int64  `json:"size"`
	Blocks    int64  `json:"blocks"` // 512-byte units, as st_blocks
	Inode     uint64 `json:"inode"`
	Rdev      uint64 `json:"rdev,omitempty"`
	Atime     string `json:"atime"`
	Mtime     string `json:"mtime"`
	Ctime     string `json:"ctime"`
	Birthtime string `json:"birthtime,omitempty"`
	Target    string `json:"target,omitempty"` // a symlink's
}

func jsonTime(t vfs.Timespec) string {
	return time.Unix(t.Sec, t.Nsec).UTC().Format(time.RFC3339Nano)
}

func toFileJSON(p string, va *vfs.Vattr, target string) fileJSON {
	f := fileJSON{
		Path: p, Type: map[vfs.VType]string{vfs.VREG: "file", vfs.VDIR: "dir", vfs.VLNK: "symlink", vfs.VFIFO: "fifo", vfs.VSOCK: "socket", vfs.VBLK: "block", vfs.VCHR: "char"}[va.Type],
		Mode:  fmt.Sprintf("%04o", va.Mode&0o7777),
		Nlink: va.Nlink, UID: va.Uid, GID: va.Gid, Size: va.Size, Blocks: va.Bytes / 512, Inode: va.Fileid,
		Atime: jsonTime(va.Atime), Mtime: jsonTime(va.Mtime), Ctime: jsonTime(va.Ctime), Target: target,
	}
	if va.Type == vfs.VBLK || va.Type == vfs.VCHR {
		f.Rdev = va.Rdev
	}
	if va.Birthtime != (vfs.Timespec{}) {
		f.Birthtime = jsonTime(va.Birthtime)
	}
	return f
}

// printJSON writes v to the command's output.
func printJSON(v any) {
	enc := json.NewEncoder(fsStdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

package p2k

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// macOS FUSE sends the process id in the header.
const threadIDs = false

func hostTgid(tid uint32) (uint32, bool) { return tid, true }

// setattrExtra adds macOS's birth time and file flags.
func setattrExtra(in *fuse.SetAttrIn, va *vfs.Vattr) {
	if in.Valid&fuse.FATTR_CRTIME != 0 {
		va.Valid |= vfs.AttrBirthtime
		va.Birthtime = vfs.Timespec{Sec: int64(in.Crtime), Nsec: int64(in.CrtimeNsec)}
	}
	if in.Valid&fuse.FATTR_FLAGS != 0 {
		va.Valid |= vfs.AttrFlags
		va.Flags = in.Flags_
	}
}

// attrExtra fills macOS's birth time and file flags.
func attrExtra(a *fuse.Attr, va *vfs.Vattr) {
	a.Crtime_ = uint64(va.Birthtime.Sec)
	a.Crtimensec_ = uint32(va.Birthtime.Nsec)
	a.Flags_ = va.Flags
}

// xattrErrno maps the drivers' ENODATA (Linux's name for a missing
// attribute) to ENOATTR, which macOS callers expect.
func xattrErrno(e unix.Errno) unix.Errno {
	if e == unix.ENODATA {
		return unix.ENOATTR
	}
	return e
}

// renameFlags decodes a rename's renamex_np flags into vfs.Rename*:
// RENAME_EXCL is "no replace", RENAME_SWAP an exchange; any other bit is
// passed on as one vfs.Rename2 refuses (EINVAL).
func renameFlags(in *fuse.RenameIn) int {
	f := 0
	if in.Flags&unix.RENAME_EXCL != 0 {
		f |= vfs.RenameNoReplace
	}
	if in.Flags&unix.RENAME_SWAP != 0 {
		f |= vfs.RenameExchange
	}
	if in.Flags&^(unix.RENAME_EXCL|unix.RENAME_SWAP) != 0 {
		f |= 1 << 30
	}
	return f
}

package p2k

import (
	"os/user"
	"strconv"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// hostProc is what the host says about a caller: macOS FUSE sends the
// process id, and its groups are the user's (getgrouplist), which depend
// on the uid alone, so a reused process id cannot make them wrong.
type hostProc struct {
	pid    uint32
	groups []uint32
}

func lookupHostProc(pid, uid uint32) (hostProc, bool) {
	hp := hostProc{pid: pid}
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return hp, true // no such user: no supplementary groups
	}
	gids, err := u.GroupIds()
	if err != nil {
		return hp, true
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			hp.groups = append(hp.groups, uint32(n))
		}
	}
	return hp, true
}

func (hp *hostProc) cacheable() bool { return true }
func (hp *hostProc) alive() bool     { return true }
func (hp *hostProc) release()        {}

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

// macOS FUSE has no kill-priv flags: writes by non-root callers drop
// setuid and setgid in the VFS.
const (
	fattrKillSUIDGID = 0
	writeKillSUIDGID = 0
	openKillSUIDGID  = 0
)

// Capabilities are the FUSE INIT capabilities p2k handles beyond go-fuse's
// defaults; pass them as fuse.MountOptions.ExtraCapabilities.
const Capabilities = 0

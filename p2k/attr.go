package p2k

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// fillAttr converts vnode attributes to FUSE's, applying the uid=, gid=
// and umask= overrides.
func (b *Bridge) fillAttr(a *fuse.Attr, va *vfs.Vattr) {
	a.Ino = va.Fileid
	a.Size = uint64(va.Size)
	a.Blocks = uint64((va.Bytes + 511) / 512)
	a.Atime, a.Atimensec = uint64(va.Atime.Sec), uint32(va.Atime.Nsec)
	a.Mtime, a.Mtimensec = uint64(va.Mtime.Sec), uint32(va.Mtime.Nsec)
	a.Ctime, a.Ctimensec = uint64(va.Ctime.Sec), uint32(va.Ctime.Nsec)
	a.Mode = va.StMode()
	if b.opts.Umask >= 0 {
		a.Mode &^= uint32(b.opts.Umask) & 0o777
	}
	a.Nlink = va.Nlink
	a.Uid, a.Gid = va.Uid, va.Gid
	if b.opts.UID >= 0 {
		a.Uid = uint32(b.opts.UID)
	}
	if b.opts.GID >= 0 {
		a.Gid = uint32(b.opts.GID)
	}
	a.Rdev = uint32(va.Rdev)
	a.Blksize = va.Blocksize
	attrExtra(a, va)
}

// setattrIn converts a SETATTR request to vnode attributes to change.
// Times given as UTIME_NOW come as FATTR_*TIME_NOW; when every time set
// is "now" the change is allowed to anyone who may write the file
// (vfs.AttrTimesNow).
func setattrIn(in *fuse.SetAttrIn, va *vfs.Vattr) unix.Errno {
	*va = vfs.Vattr{}
	v := in.Valid
	if v&fuse.FATTR_MODE != 0 {
		va.Valid |= vfs.AttrMode
		va.Mode = in.Mode & 0o7777
	}
	if v&fuse.FATTR_UID != 0 {
		va.Valid |= vfs.AttrUid
		va.Uid = in.Uid
	}
	if v&fuse.FATTR_GID != 0 {
		va.Valid |= vfs.AttrGid
		va.Gid = in.Gid
	}
	if v&fuse.FATTR_SIZE != 0 {
		if in.Size > 1<<63-1 {
			return unix.EFBIG
		}
		va.Valid |= vfs.AttrSize
		va.Size = int64(in.Size)
	}
	var now vfs.Timespec
	if v&(fuse.FATTR_ATIME_NOW|fuse.FATTR_MTIME_NOW) != 0 {
		now = vfs.Now()
	}
	times, nows := 0, 0
	if v&fuse.FATTR_ATIME != 0 {
		va.Valid |= vfs.AttrAtime
		times++
		if v&fuse.FATTR_ATIME_NOW != 0 {
			va.Atime = now
			nows++
		} else {
			va.Atime = vfs.Timespec{Sec: int64(in.Atime), Nsec: int64(in.Atimensec)}
		}
	}
	if v&fuse.FATTR_MTIME != 0 {
		va.Valid |= vfs.AttrMtime
		times++
		if v&fuse.FATTR_MTIME_NOW != 0 {
			va.Mtime = now
			nows++
		} else {
			va.Mtime = vfs.Timespec{Sec: int64(in.Mtime), Nsec: int64(in.Mtimensec)}
		}
	}
	if times > 0 && nows == times {
		va.Valid |= vfs.AttrTimesNow
	}
	if v&fuse.FATTR_CTIME != 0 {
		va.Valid |= vfs.AttrCtime
		va.Ctime = vfs.Timespec{Sec: int64(in.Ctime), Nsec: int64(in.Ctimensec)}
	}
	setattrExtra(in, va)
	return 0
}

package ufs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// Inode is an in-memory inode (struct inode): its number, its mount and
// the dinode as read. The caller serialises access (the vnode lock).
type Inode struct {
	M      *Mount
	Number uint64
	Dinode
}

// MaxLinkLen bounds a symlink target we write or read: Linux's PATH_MAX
// less its NUL (NetBSD's own limit is 1023, but the format stores a slow
// link as ordinary file data, so its block size is the only bound).
const MaxLinkLen = 4095

// IsFastLink reports whether the symlink's target lives in the inode's
// pointer area rather than in a data block (ufs_readlink's test).
func (ip *Inode) IsFastLink() bool {
	if ip.M.MaxSymlinkLen > 0 {
		return ip.Size < uint64(ip.M.MaxSymlinkLen)
	}
	return ip.Blocks == 0
}

// ReadLink returns a symbolic link's target, from the inode (a fast link)
// or from its data block.
func (ip *Inode) ReadLink(l *kernel.LWP) (string, unix.Errno) {
	if ip.Type() != IFLNK {
		return "", unix.EINVAL
	}
	if ip.Size > MaxLinkLen {
		return "", ip.M.corrupt("inode %d: symlink length %d", ip.Number, ip.Size)
	}
	if ip.IsFastLink() {
		area := ip.PointerArea(ip.M.Order)
		if ip.Size > uint64(len(area)) {
			return "", ip.M.corrupt("inode %d: fast symlink length %d", ip.Number, ip.Size)
		}
		return string(area[:ip.Size]), 0
	}
	buf := make([]byte, ip.Size)
	n, err := ip.ReadAt(l, buf, 0)
	if err != 0 {
		return "", err
	}
	return string(buf[:n]), 0
}

// ReadAt reads file data at off into p (VOP_READ's core, ufs_readwrite):
// holes read as zeros, and nothing past the file size is returned.
func (ip *Inode) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	f := ip.File()
	return f.ReadAt(l, p, off)
}

// File describes the inode's data to genfs, which reads it: the device,
// the block size, the size and the block map. Lending is off; the file
// system turns it on where the device holds the newest bytes.
func (ip *Inode) File() genfs.File {
	m := ip.M
	return genfs.File{Dev: m.Dev, BSize: m.BSize, Size: ip.Size, Bmap: ip.run, IOError: m.ioError}
}

// run is Bmap as genfs asks for it: a byte address, the run counting
// block lbn, holes as genfs.Hole. The last block of a run may be a
// fragment; reads stop at the file size before its end.
func (ip *Inode) run(l *kernel.LWP, lbn int64) (genfs.Run, unix.Errno) {
	fsb, run, e := ip.Bmap(l, lbn)
	if e != 0 {
		return genfs.Run{}, e
	}
	if fsb == 0 {
		return genfs.Run{Addr: genfs.Hole, Blocks: 1}, 0
	}
	return genfs.Run{Addr: fsb << ip.M.FShift, Blocks: int64(run) + 1}, 0
}

// readBytes reads len(p) bytes at byte offset off of the device.
func (m *Mount) readBytes(l *kernel.LWP, p []byte, off int64) unix.Errno {
	if e := genfs.ReadBytes(l, m.Dev, p, off); e != 0 {
		return m.ioError(off, len(p), e)
	}
	return 0
}

// ioError reports a device read that came back short (past the end of
// the device: a block address the image cannot hold) as corruption; the
// device's own errors pass through as they are.
func (m *Mount) ioError(off int64, n int, e unix.Errno) unix.Errno {
	if off+int64(n) > m.Dev.Size() {
		return m.corrupt("read of %d bytes at %d past the end of the device", n, off)
	}
	return e
}

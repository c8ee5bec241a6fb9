package ext2fs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// maxSymlink bounds a symlink target (PATH_MAX less its NUL).
const maxSymlink = 4095

// Readlink returns a symbolic link's target. Fast symlinks keep it in
// i_block; slow ones in a data block (block-mapped or extent-mapped);
// inline-data ones in i_block and system.data.
func (ip Inode) Readlink(l *kernel.LWP) ([]byte, unix.Errno) {
	if !ip.IsSymlink() {
		return nil, unix.EINVAL
	}
	fs := ip.fs
	if ip.Size == 0 || ip.Size > maxSymlink {
		return nil, fs.corrupt("symlink inode %d: size %d", ip.Ino, ip.Size)
	}
	if ip.fastSymlink() {
		if ip.Size >= disk.BlockArea {
			return nil, fs.corrupt("fast symlink inode %d: size %d", ip.Ino, ip.Size)
		}
		return append([]byte(nil), ip.block[:ip.Size]...), 0
	}
	buf := make([]byte, ip.Size)
	n, e := ip.ReadAt(l, buf, 0)
	if e != 0 {
		return nil, e
	}
	return buf[:n], 0
}

// fastSymlink reports a target stored in i_block: no data blocks besides
// an extended attribute block, and no inline data.
func (ip Inode) fastSymlink() bool {
	if ip.Flags&disk.FlagInlineData != 0 {
		return false
	}
	ea := uint64(0)
	if ip.fileACL != 0 {
		ea = uint64(ip.fs.bsize / 512)
	}
	return ip.blocks512() <= ea
}

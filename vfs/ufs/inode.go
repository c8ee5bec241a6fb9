package ufs

import (
	"github.com/rumpfs/rumpfs/kernel"
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
	if off < 0 {
		return 0, unix.EINVAL
	}
	if uint64(off) >= ip.Size {
		return 0, 0
	}
	if rest := ip.Size - uint64(off); uint64(len(p)) > rest {
		p = p[:rest]
	}
	m := ip.M
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		lbn := pos >> m.BShift
		boff := int(pos & int64(m.BSize-1))
		fsb, run, err := ip.Bmap(l, lbn)
		if err != 0 {
			return done, err
		}
		// The extent: this block's rest plus the contiguous run after it.
		// The last block of a run may be a fragment: cut at the file size.
		n := (run+1)*m.BSize - boff
		if n > len(p)-done {
			n = len(p) - done
		}
		dst := p[done : done+n]
		if fsb == 0 {
			clear(dst)
		} else if err := m.readBytes(l, dst, fsb<<m.FShift+int64(boff)); err != 0 {
			return done, err
		}
		done += n
	}
	return done, 0
}

// readBytes reads len(p) bytes at byte offset off of the device, which
// wants sector-aligned requests: the aligned middle goes straight into p,
// a ragged head or tail through a sector-sized bounce buffer.
func (m *Mount) readBytes(l *kernel.LWP, p []byte, off int64) unix.Errno {
	ss := int64(m.Dev.SectorSize())
	for len(p) > 0 {
		head := off % ss
		if head == 0 && int64(len(p)) >= ss {
			n := int64(len(p)) / ss * ss
			got, err := m.Dev.ReadAt(l, p[:n], off)
			if err != 0 {
				return err
			}
			if int64(got) != n {
				return m.corrupt("read of %d bytes at %d past the end of the device", n, off)
			}
			p, off = p[n:], off+n
			continue
		}
		sec := make([]byte, ss)
		got, err := m.Dev.ReadAt(l, sec, off-head)
		if err != 0 {
			return err
		}
		if int64(got) != ss {
			return m.corrupt("read at %d past the end of the device", off-head)
		}
		c := copy(p, sec[head:])
		p, off = p[c:], off+int64(c)
	}
	return 0
}

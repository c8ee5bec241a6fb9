package ext2fs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// ReadAt reads file data at off into p, up to the end of the file: holes
// and unwritten extents read as zeros, and each contiguous run of blocks
// is read from the device straight into p. It returns the byte count
// (0 at or past the end of the file).
func (ip Inode) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if uint64(off) >= ip.Size {
		return 0, 0
	}
	if rem := ip.Size - uint64(off); uint64(len(p)) > rem {
		p = p[:rem]
	}
	if ip.Flags&disk.FlagInlineData != 0 {
		data, e := ip.inlineData(l)
		if e != 0 {
			return 0, e
		}
		n := 0
		if off < int64(len(data)) {
			n = copy(p, data[off:])
		}
		clear(p[n:]) // i_size past the stored data reads as zeros
		return len(p), 0
	}
	bs := uint64(ip.fs.bsize)
	done := 0
	for done < len(p) {
		pos := uint64(off) + uint64(done)
		r, e := ip.Bmap(l, pos/bs)
		if e != 0 {
			return done, e
		}
		skip := pos % bs
		n := uint64(len(p) - done)
		if avail := r.Len*bs - skip; r.Len < 1<<40 && n > avail {
			n = avail
		}
		dst := p[done : done+int(n)]
		if r.Zero {
			clear(dst)
		} else if e := ip.fs.bd.readBlocks(l, dst, r.Physical, int(skip)); e != 0 {
			return done, ip.fs.corrupt("inode %d: read of block %d failed: %v", ip.Ino, r.Physical, e)
		}
		done += int(n)
	}
	return done, 0
}

// Read serves a read uio at its offset: the data goes straight from the
// image into the uio's buffers, one device read per contiguous run. A
// uio that takes loans gets a range the image holds in one piece as the
// device's own bytes instead (see lend).
func (ip Inode) Read(l *kernel.LWP, u *kernel.Uio) unix.Errno {
	if u.RW != kernel.UioRead {
		return unix.EINVAL
	}
	if u.Lendable() && ip.lend(l, u) {
		return 0
	}
	for u.Resid > 0 && len(u.Iov) > 0 {
		iov := u.Iov[0]
		if len(iov) == 0 {
			u.Iov = u.Iov[1:]
			continue
		}
		want := min(len(iov), u.Resid)
		n, e := ip.ReadAt(l, iov[:want], u.Offset)
		u.Iov[0] = iov[n:]
		u.Resid -= n
		u.Offset += int64(n)
		if e != 0 {
			return e
		}
		if n < want {
			return 0 // end of file
		}
	}
	return 0
}

// inlineData returns the whole stored data of an inline-data inode: the
// 60 bytes of i_block followed by the system.data attribute.
func (ip Inode) inlineData(l *kernel.LWP) ([]byte, unix.Errno) {
	data := append([]byte(nil), ip.block[:]...)
	area, e := ip.inodeXattrArea(l)
	if e != 0 || area == nil {
		return data, e
	}
	es, err := disk.ParseInodeXattrs(area)
	if err != nil {
		return nil, ip.fs.corrupt("inode %d: in-inode xattrs: %v", ip.Ino, err)
	}
	for _, e := range es {
		if e.NameIndex == disk.XattrIndexSystem && string(e.Name) == "data" && e.ValueInum == 0 {
			data = append(data, e.Value...)
		}
	}
	return data, 0
}

// lend hands the uio the whole read, up to the end of the file, as the
// device's bytes when they lie in one run on a device that lends: no
// hole, no inline data, no block replaced by the journal. It reports
// whether it did; otherwise Read copies as usual.
func (ip Inode) lend(l *kernel.LWP, u *kernel.Uio) bool {
	if ip.Flags&disk.FlagInlineData != 0 || u.Offset < 0 || uint64(u.Offset) >= ip.Size {
		return false
	}
	bs := uint64(ip.fs.bsize)
	pos := uint64(u.Offset)
	n := min(uint64(u.Resid), ip.Size-pos)
	r, e := ip.Bmap(l, pos/bs)
	if e != 0 || r.Zero || r.Len >= 1<<40 {
		return false
	}
	skip := pos % bs
	if r.Len*bs-skip < n {
		return false // more than one run
	}
	blocks := (skip + n + bs - 1) / bs
	if phys, m, e := ip.fs.bd.mapOverlay(r.Physical, blocks); e != 0 || phys != r.Physical || m < blocks {
		return false // a replayed block inside
	}
	return bio.LendTo(l, ip.fs.bd.dev, u, int64(r.Physical*bs+skip), int(n))
}

package ext2fs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// ReadAt reads file data at off into p, up to the end of the file: holes
// and unwritten extents read as zeros, and each contiguous run of blocks
// is read from the device straight into p (genfs). It returns the byte
// count (0 at or past the end of the file).
func (ip Inode) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	f := ip.file()
	return f.ReadAt(l, p, off)
}

// Read serves a read uio at its offset: the data goes straight from the
// image into the uio's buffers, one device read per contiguous run. A
// uio that takes loans gets a range the image holds in one piece as the
// device's own bytes instead (genfs), unless a block of it was replaced
// by the journal or the file keeps its data inline.
func (ip Inode) Read(l *kernel.LWP, u *kernel.Uio) unix.Errno {
	f := ip.file()
	return f.Read(l, u)
}

// file describes the inode's data to genfs. The mount is read-only, so
// the device's bytes are the file's, but for what dataRun keeps out of
// what is lent.
func (ip Inode) file() genfs.File {
	return genfs.File{Dev: ip.fs.bd.dev, BSize: ip.fs.bsize, Size: ip.Size, Bmap: ip.dataRun, Lend: true, IOError: ip.readError}
}

// dataRun is Bmap as genfs asks for it. Two kinds of run are read from a
// device of their own, which genfs never lends: inline data, one run over
// the whole file; and a block the journal replaced, read through the
// overlay (its journal copy may be escaped, or on another device), where
// a run of the device's blocks stops before it.
func (ip Inode) dataRun(l *kernel.LWP, lbn int64) (genfs.Run, unix.Errno) {
	bs := int64(ip.fs.bsize)
	if ip.Flags&disk.FlagInlineData != 0 {
		data, e := ip.inlineData(l)
		if e != 0 {
			return genfs.Run{}, e
		}
		return genfs.Run{Addr: lbn * bs, Blocks: 1 << 40, Dev: inlineDev(data)}, 0
	}
	r, e := ip.Bmap(l, uint64(lbn))
	if e != 0 {
		return genfs.Run{}, e
	}
	if r.Zero {
		return genfs.Run{Addr: genfs.Hole, Blocks: int64(min(r.Len, 1<<62))}, 0
	}
	bd := ip.fs.bd
	run := genfs.Run{Addr: int64(r.Physical) * bs, Blocks: int64(r.Len)}
	if bd.remap.Len() > 0 {
		phys, n, e := bd.mapOverlay(r.Physical, r.Len)
		if e != 0 || phys != r.Physical {
			return genfs.Run{Addr: run.Addr, Blocks: 1, Dev: bd.remap}, 0
		}
		run.Blocks = int64(n)
	}
	return run, 0
}

// readError reports a failed read of file data.
func (ip Inode) readError(addr int64, n int, e unix.Errno) unix.Errno {
	return ip.fs.corrupt("inode %d: read of block %d failed: %v", ip.Ino, addr/int64(ip.fs.bsize), e)
}

// inlineDev is an inline-data inode's stored bytes as a device: i_size
// past them reads as zeros.
type inlineDev []byte

func (d inlineDev) ReadAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	n := 0
	if off < int64(len(d)) {
		n = copy(p, d[off:])
	}
	clear(p[n:])
	return len(p), 0
}

func (inlineDev) SectorSize() int { return 1 }

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

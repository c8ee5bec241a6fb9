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
	if ip.Flags&disk.FlagInlineData != 0 {
		return ip.readInline(l, p, off)
	}
	f := ip.file()
	return f.ReadAt(l, p, off)
}

// Read serves a read uio at its offset: the data goes straight from the
// image into the uio's buffers, one device read per contiguous run. A
// uio that takes loans gets a range the image holds in one piece as the
// device's own bytes instead (genfs), unless a block of it was replaced
// by the journal or the file keeps its data inline.
func (ip Inode) Read(l *kernel.LWP, u *kernel.Uio) unix.Errno {
	if ip.Flags&disk.FlagInlineData != 0 {
		return genfs.ReadUio(l, u, ip.ReadAt)
	}
	f := ip.file()
	return f.Read(l, u)
}

// file describes the inode's blocks to genfs. The mount is read-only, so
// the device's bytes are the file's, but for the journal overlay, which
// dataRun keeps out of what is lent.
func (ip Inode) file() genfs.File {
	return genfs.File{Dev: ip.fs.bd.dev, BSize: ip.fs.bsize, Size: ip.Size, Bmap: ip.dataRun, Lend: true, IOError: ip.readError}
}

// dataRun is Bmap as genfs asks for it. A run stops before a block the
// journal replaced; such a block is a run of its own, read through the
// overlay (its journal copy may be escaped, or on another device) and
// never lent.
func (ip Inode) dataRun(l *kernel.LWP, lbn int64) (genfs.Run, unix.Errno) {
	r, e := ip.Bmap(l, uint64(lbn))
	if e != 0 {
		return genfs.Run{}, e
	}
	if r.Zero {
		return genfs.Run{Addr: genfs.Hole, Blocks: int64(min(r.Len, 1<<62))}, 0
	}
	bd := ip.fs.bd
	run := genfs.Run{Addr: int64(r.Physical) * int64(bd.bsize), Blocks: int64(r.Len)}
	if len(bd.overlay) > 0 {
		phys, n, e := bd.mapOverlay(r.Physical, r.Len)
		if e != 0 || phys != r.Physical {
			return genfs.Run{Addr: run.Addr, Blocks: 1, Dev: overlayReader{bd}}, 0
		}
		run.Blocks = int64(n)
	}
	return run, 0
}

// readError reports a failed read of file data.
func (ip Inode) readError(addr int64, n int, e unix.Errno) unix.Errno {
	return ip.fs.corrupt("inode %d: read of block %d failed: %v", ip.Ino, addr/int64(ip.fs.bsize), e)
}

// overlayReader reads the file system's blocks as the journal left them:
// the device's bytes with the replayed blocks in their place.
type overlayReader struct{ bd *blockDev }

func (o overlayReader) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	bs := int64(o.bd.bsize)
	if e := o.bd.readBlocks(l, p, uint64(off/bs), int(off%bs)); e != 0 {
		return 0, e
	}
	return len(p), 0
}

// SectorSize is 1: readBlocks aligns its own device requests.
func (overlayReader) SectorSize() int { return 1 }

// readInline reads inline data at off into p, as ReadAt.
func (ip Inode) readInline(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if uint64(off) >= ip.Size {
		return 0, 0
	}
	if rem := ip.Size - uint64(off); uint64(len(p)) > rem {
		p = p[:rem]
	}
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

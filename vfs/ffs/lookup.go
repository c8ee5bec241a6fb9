package ffs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	ufsdisk "github.com/rumpfs/rumpfs/vfs/ufs/disk"
	"golang.org/x/sys/unix"
)

// Directory changes (ufs_direnter, ufs_dirremove, ufs_dirrewrite). They
// run with the mount's namespace lock held exclusively, so a directory's
// entries change under one writer; chunks are edited in their buffers.

// chunkAt edits the DirBlkSize chunk holding directory offset off.
func (fs *FS) chunkAt(l *kernel.LWP, dp *inode, off int64, fn func(chunk []byte)) unix.Errno {
	m := fs.M
	lbn := off >> m.BShift
	fsb, _, e := dp.Bmap(l, lbn)
	if e != 0 {
		return e
	}
	if fsb == 0 {
		return fs.corrupt("directory %d: hole at block %d", dp.Number, lbn)
	}
	size := dp.BlockSize(lbn)
	c := int(off&int64(m.BSize-1)) &^ (ufs.DirBlkSize - 1)
	return fs.modifyMeta(l, fsb, size, func(b []byte) { fn(b[c : c+ufs.DirBlkSize]) })
}

// dirFind finds the live entry name and the entry before it in the same
// chunk (prevOff -1 when it starts the chunk).
func (fs *FS) dirFind(l *kernel.LWP, dp *inode, name string) (d ufs.Direct, prevOff int, e unix.Errno) {
	m := fs.M
	found := false
	var bad unix.Errno
	e = dp.ForEachChunk(l, 0, func(chunk []byte, base int64) bool {
		ents, err := ufs.ParseDirChunk(chunk, base, m.Order, m.OldDirFmt, m.MaxIno)
		if err != nil {
			bad = fs.corrupt("directory %d: %v", dp.Number, err)
			return false
		}
		prev := -1
		for _, x := range ents {
			if x.Ino != 0 && x.Name == name {
				d, prevOff, found = x, prev, true
				return false
			}
			prev = x.Off
		}
		return true
	})
	if e == 0 {
		e = bad
	}
	if e == 0 && !found {
		e = unix.ENOENT
	}
	return
}

// direnter adds name -> ino (of type dt) to directory dp: into the first
// chunk with room, else a new chunk at the end. ENOSPC leaves dp as it
// was.
func (fs *FS) direnter(l *kernel.LWP, dp *inode, name string, ino uint32, dt uint8) unix.Errno {
	m := fs.M
	need := ufs.DirectSize(len(name))
	var slot ufs.Direct
	found := false
	var bad unix.Errno
	e := dp.ForEachChunk(l, 0, func(chunk []byte, base int64) bool {
		ents, err := ufs.ParseDirChunk(chunk, base, m.Order, m.OldDirFmt, m.MaxIno)
		if err != nil {
			bad = fs.corrupt("directory %d: %v", dp.Number, err)
			return false
		}
		for _, x := range ents {
			used := 0
			if x.Ino != 0 {
				used = ufs.DirectSize(len(x.Name))
			}
			if int(x.Reclen)-used >= need {
				slot, found = x, true
				return false
			}
		}
		return true
	})
	if e == 0 {
		e = bad
	}
	if e != 0 {
		return e
	}
	nd := ufs.Direct{Ino: ino, Type: dt, Name: name}
	if found {
		return fs.chunkAt(l, dp, int64(slot.Off), func(chunk []byte) {
			o := slot.Off & (ufs.DirBlkSize - 1)
			if slot.Ino == 0 {
				nd.Reclen = slot.Reclen
				ufs.PutDirent(chunk[o:], nd, m.Order, m.OldDirFmt)
				return
			}
			keep := ufs.DirectSize(len(slot.Name))
			ufsdisk.DirReclen.Put(m.Order, chunk[o:], int64(keep))
			nd.Reclen = slot.Reclen - uint16(keep)
			ufs.PutDirent(chunk[o+keep:], nd, m.Order, m.OldDirFmt)
		})
	}
	// A new chunk at the end.
	off := int64(dp.Size)
	fsb, bsize, fresh, e := fs.balloc(l, dp, off, ufs.DirBlkSize, true)
	if e != 0 {
		return e
	}
	c := int(off & int64(m.BSize-1))
	nd.Reclen = ufs.DirBlkSize
	put := func(b []byte) {
		clear(b[c : c+ufs.DirBlkSize])
		ufs.PutDirent(b[c:], nd, m.Order, m.OldDirFmt)
	}
	if fresh {
		e = fs.newMeta(l, fsb, bsize, put)
	} else {
		e = fs.modifyMeta(l, fsb, bsize, put)
	}
	if e != 0 {
		return e
	}
	dp.Size += ufs.DirBlkSize
	return 0
}

// dirremove removes the entry name from dp: a chunk's first entry is
// marked free, others are merged into the entry before them.
func (fs *FS) dirremove(l *kernel.LWP, dp *inode, name string) unix.Errno {
	m := fs.M
	d, prev, e := fs.dirFind(l, dp, name)
	if e != 0 {
		return e
	}
	return fs.chunkAt(l, dp, int64(d.Off), func(chunk []byte) {
		o := d.Off & (ufs.DirBlkSize - 1)
		if prev < 0 {
			ufsdisk.DirIno.Put(m.Order, chunk[o:], 0)
			return
		}
		p := prev & (ufs.DirBlkSize - 1)
		rl := int64(ufsdisk.DirReclen.Uint(m.Order, chunk[p:]))
		ufsdisk.DirReclen.Put(m.Order, chunk[p:], rl+int64(d.Reclen))
	})
}

// dirrewrite points the entry name of dp at ino (of type dt).
func (fs *FS) dirrewrite(l *kernel.LWP, dp *inode, name string, ino uint32, dt uint8) unix.Errno {
	m := fs.M
	d, _, e := fs.dirFind(l, dp, name)
	if e != 0 {
		return e
	}
	return fs.chunkAt(l, dp, int64(d.Off), func(chunk []byte) {
		o := d.Off & (ufs.DirBlkSize - 1)
		ufsdisk.DirIno.Put(m.Order, chunk[o:], int64(ino))
		if !m.OldDirFmt {
			ufsdisk.DirType.Put(m.Order, chunk[o:], int64(dt))
		}
	})
}

// dirEmpty reports whether dp holds only "." and "..".
func (fs *FS) dirEmpty(l *kernel.LWP, dp *inode) (bool, unix.Errno) {
	empty := true
	_, e := dp.ReadDir(l, 0, func(d ufs.Direct) bool {
		if d.Name != "." && d.Name != ".." {
			empty = false
			return false
		}
		return true
	})
	return empty, e
}

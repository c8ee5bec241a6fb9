package ufs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// ForEachChunk calls fn with each DirBlkSize chunk of directory ip and
// the chunk's byte offset, starting with the chunk holding off, until fn
// returns false. Chunks come from the metadata cache: fn must not keep or
// modify them. A hole or a size that is not whole chunks is corruption.
func (ip *Inode) ForEachChunk(l *kernel.LWP, off int64, fn func(chunk []byte, base int64) bool) unix.Errno {
	m := ip.M
	if ip.Type() != IFDIR {
		return unix.ENOTDIR
	}
	if ip.Size%DirBlkSize != 0 {
		return m.corrupt("directory %d: size %d not a multiple of %d", ip.Number, ip.Size, DirBlkSize)
	}
	// A directory has no holes, so its size is bounded by the sectors it
	// holds and by the file system: corrupt pointers that map every block
	// to one cannot make a walk run (nearly) forever.
	if ip.Size > ip.Blocks<<9 || ip.Size > uint64(m.NFrags)*uint64(m.FSize) {
		return m.corrupt("directory %d: size %d larger than its %d sectors", ip.Number, ip.Size, ip.Blocks)
	}
	if off < 0 {
		return unix.EINVAL
	}
	off &^= DirBlkSize - 1
	for uint64(off) < ip.Size {
		lbn := off >> m.BShift
		fsb, _, err := ip.Bmap(l, lbn)
		if err != 0 {
			return err
		}
		if fsb == 0 {
			return m.corrupt("directory %d: hole at block %d", ip.Number, lbn)
		}
		size := ip.BlockSize(lbn)
		stop := false
		err = m.Meta.ReadMeta(l, fsb, size, func(b []byte) {
			for c := int(off & int64(m.BSize-1)); c < size && uint64(off) < ip.Size; c += DirBlkSize {
				if !fn(b[c:c+DirBlkSize], off) {
					stop = true
					return
				}
				off += DirBlkSize
			}
		})
		if err != 0 || stop {
			return err
		}
	}
	return 0
}

// ReadDir calls fn for every live entry (Ino != 0) at byte offset off or
// later, in directory order, until fn returns false (ufs_readdir). Each
// entry's Off is its cookie: ReadDir(l, d.Off, ...) resumes at d. It
// returns the offset after the last entry fn accepted.
func (ip *Inode) ReadDir(l *kernel.LWP, off int64, fn func(d Direct) bool) (int64, unix.Errno) {
	m := ip.M
	next := off
	var bad unix.Errno
	err := ip.ForEachChunk(l, off, func(chunk []byte, base int64) bool {
		ents, perr := ParseDirChunk(chunk, base, m.Order, m.OldDirFmt, m.MaxIno)
		if perr != nil {
			bad = m.corrupt("directory %d: %v", ip.Number, perr)
			return false
		}
		for i, d := range ents {
			if int64(d.Off) < off {
				continue
			}
			after := base + DirBlkSize
			if i+1 < len(ents) {
				after = int64(ents[i+1].Off)
			}
			if d.Ino != 0 && !fn(d) {
				return false
			}
			next = after
		}
		return true
	})
	if err == 0 {
		err = bad
	}
	return next, err
}

// Lookup finds name in directory ip (ufs_lookup, without the name cache
// or dirhash): ENOENT when absent.
func (ip *Inode) Lookup(l *kernel.LWP, name string) (Direct, unix.Errno) {
	var found Direct
	ok := false
	_, err := ip.ReadDir(l, 0, func(d Direct) bool {
		if d.Name == name {
			found, ok = d, true
			return false
		}
		return true
	})
	if err != 0 {
		return Direct{}, err
	}
	if !ok {
		return Direct{}, unix.ENOENT
	}
	return found, 0
}

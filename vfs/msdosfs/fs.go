package msdosfs

import (
	"fmt"
	"sync"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/msdosfs/disk"
	"golang.org/x/sys/unix"
)

// RootIno is the root directory's number: no directory entry sits at
// device offset 32 (the boot sector is there).
const RootIno = 1

// FS is an open FAT file system, read-only.
type FS struct {
	bpb  *disk.BPB
	dev  bio.Device
	bdev *bio.Dev
	logf func(format string, args ...any)
	loc  *time.Location

	uid, gid     uint32
	fmask, dmask uint32

	freeOnce sync.Once
	free     uint64
	freeErr  unix.Errno
}

// corrupt logs a problem with the file system and returns EIO.
func (f *FS) corrupt(format string, args ...any) unix.Errno {
	f.logf("corrupt: "+format, args...)
	return unix.EIO
}

// readAt reads len(p) bytes at device offset off through the buffer
// cache, sector by sector.
func (f *FS) readAt(l *kernel.LWP, p []byte, off int64) unix.Errno {
	ss := int64(f.bpb.BytesPerSec)
	for len(p) > 0 {
		sec := off / ss
		b, e := f.bdev.Bread(l, sec*ss/bio.DevBSize, int(ss))
		if e != 0 {
			f.logf("read error at byte %d: %v", sec*ss, e)
			return unix.EIO
		}
		n := copy(p, b.Data[off-sec*ss:])
		b.Brelse()
		p, off = p[n:], off+int64(n)
	}
	return 0
}

// next returns the cluster after c in its chain: 0 at the end of the
// chain. Free, bad and out-of-range entries inside a chain are EIO.
func (f *FS) next(l *kernel.LWP, c uint32) (uint32, unix.Errno) {
	var b [4]byte
	p := f.bpb
	if e := f.readAt(l, b[:p.FATEntrySize()], p.FATOffset(c)); e != 0 {
		return 0, e
	}
	kind, n := p.FATEntry(c, b[:])
	switch kind {
	case disk.EntryEnd:
		return 0, 0
	case disk.EntryNext:
		return n, 0
	case disk.EntryFree:
		return 0, f.corrupt("cluster %d in a chain is marked free", c)
	case disk.EntryBad:
		return 0, f.corrupt("cluster %d in a chain is marked bad", c)
	}
	return 0, f.corrupt("cluster %d points to cluster %#x, out of range", c, n)
}

// A run is n contiguous clusters from pcn.
type run struct{ pcn, n uint32 }

// chain walks the chain from first into runs, stopping after max
// clusters (0: at its end). A chain longer than the volume has clusters
// loops: EIO.
func (f *FS) chain(l *kernel.LWP, first uint32, max uint64) ([]run, unix.Errno) {
	var runs []run
	if !f.bpb.ValidCluster(first) {
		return nil, f.corrupt("first cluster %d out of range", first)
	}
	c, count := first, uint64(0)
	seen := map[uint32]bool{} // a loop may close before the length is suspect
	for c != 0 && (max == 0 || count < max) {
		if count++; count > uint64(f.bpb.Clusters) || seen[c] {
			return nil, f.corrupt("cluster chain from %d loops at cluster %d", first, c)
		}
		seen[c] = true
		if k := len(runs) - 1; k >= 0 && runs[k].pcn+runs[k].n == c {
			runs[k].n++
		} else {
			runs = append(runs, run{c, 1})
		}
		n, e := f.next(l, c)
		if e != 0 {
			return nil, e
		}
		c = n
	}
	return runs, 0
}

// freeClusters counts the free clusters, once: the FAT is scanned
// (FSInfo's count is only a hint that Linux does not trust either).
func (f *FS) freeClusters(l *kernel.LWP) (uint64, unix.Errno) {
	f.freeOnce.Do(func() {
		p := f.bpb
		var b [4]byte
		for c := uint32(2); p.ValidCluster(c); c++ {
			if e := f.readAt(l, b[:p.FATEntrySize()], p.FATOffset(c)); e != 0 {
				f.freeErr = e
				return
			}
			if k, _ := p.FATEntry(c, b[:]); k == disk.EntryFree {
				f.free++
			}
		}
	})
	return f.free, f.freeErr
}

func (f *FS) String() string { return fmt.Sprintf("FAT%d", f.bpb.Type) }

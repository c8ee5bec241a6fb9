package msdosfs

import (
	"strings"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/msdosfs/disk"
	"golang.org/x/sys/unix"
)

// node is a file or directory in core: its short entry and, once read,
// where its clusters are.
type node struct {
	ino   uint64
	de    disk.Dirent // zero for the root
	first uint32      // first cluster; 0 for an empty file or a fixed root
	size  uint64      // a directory's size is its clusters' (or region's)
	nlink uint32

	mu    sync.Mutex
	runs  []run             // nil until read (files); set at load (directories)
	index map[string]uint64 // a directory's names (folded) once looked up in
}

func (n *node) isDir() bool { return n.ino == RootIno || n.de.IsDir() }

// fixedRoot says whether n is a FAT12/16 root: a region, not a chain.
func (f *FS) fixedRoot(n *node) bool { return n.ino == RootIno && f.bpb.Type != disk.FAT32 }

// extent is a directory's piece on the device.
type extent struct {
	off int64
	len int64
}

// dirExtents lays out directory n: the fixed root region or its
// clusters.
func (f *FS) dirExtents(n *node) []extent {
	p := f.bpb
	if f.fixedRoot(n) {
		return []extent{{int64(p.RootDirSec) * int64(p.BytesPerSec), int64(p.RootEntries) * disk.DirentSize}}
	}
	var xs []extent
	for _, r := range n.runs {
		xs = append(xs, extent{p.ClusterOffset(r.pcn), int64(r.n) * int64(p.ClusterBytes)})
	}
	return xs
}

// entry is a directory entry as readdir and lookup see it.
type entry struct {
	off, next int64 // byte offsets in the directory: first slot, after the short entry
	pos       int64 // device offset of the short entry
	name      string
	short     string
	de        disk.Dirent
}

func (e *entry) ino() uint64 { return uint64(e.pos) / disk.DirentSize }

// isDot says whether the entry is "." or "..".
func isDot(d *disk.Dirent) bool {
	return d.Short == [11]byte{'.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '} ||
		d.Short == [11]byte{'.', '.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}
}

// chunk is how much of a directory is read at a time.
const chunk = 4096

// walkDir calls fn for each named entry of directory n from byte offset
// from (an entry's first slot), volume labels and "." and ".." left
// out, until fn returns false or the end mark.
func (f *FS) walkDir(l *kernel.LWP, n *node, from int64, dots bool, fn func(e *entry) bool) unix.Errno {
	var ln disk.LongNamer
	var base int64 // directory offset of the extent
	start := from  // first slot of the pending name
	buf := make([]byte, chunk)
	for _, x := range f.dirExtents(n) {
		for o := int64(0); o < x.len; o += chunk {
			if base+o+chunk <= from {
				continue
			}
			b := buf[:min(chunk, x.len-o)]
			if e := f.readAt(l, b, x.off+o); e != 0 {
				return e
			}
			for i := 0; i+disk.DirentSize <= len(b); i += disk.DirentSize {
				doff := base + o + int64(i)
				if doff < from {
					continue
				}
				s := b[i : i+disk.DirentSize]
				switch {
				case s[0] == disk.NameEnd:
					return 0
				case s[0] == disk.NameDeleted:
					ln.Reset()
					start = doff + disk.DirentSize
					continue
				case disk.IsLong(s):
					if s[0]&0x40 != 0 {
						start = doff
					}
					ln.Long(s)
					continue
				}
				d := disk.ParseDirent(s)
				long := ln.Name(&d)
				if long == "" {
					start = doff // an orphan's slots are not part of this entry
				}
				if d.Attr&disk.AttrVolume != 0 || !dots && isDot(&d) {
					start = doff + disk.DirentSize
					continue
				}
				if f.bpb.Type != disk.FAT32 {
					d.FirstClus &= 0xFFFF
				}
				e := entry{off: start, next: doff + disk.DirentSize, pos: x.off + o + int64(i), de: d, short: d.ShortName()}
				e.name = long
				if e.name == "" {
					e.name = e.short
				}
				start = e.next
				if !fn(&e) {
					return 0
				}
			}
		}
		base += x.len
	}
	return 0
}

// foldKey is the key names are compared by: FAT compares them case
// insensitively.
func foldKey(s string) string { return strings.ToLower(strings.ToUpper(s)) }

// lookup finds name in directory n, against the long names and the short
// aliases, and returns the entry's number. The first lookup indexes the
// whole directory (nothing changes it on a read-only mount), so that a
// walk of a wide directory does not scan it once per name.
func (f *FS) lookup(l *kernel.LWP, n *node, name string) (uint64, unix.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.index == nil {
		idx := map[string]uint64{}
		e := f.walkDir(l, n, 0, false, func(e *entry) bool {
			for _, k := range []string{foldKey(e.short), foldKey(e.name)} {
				if _, dup := idx[k]; !dup { // the first entry wins, as a scan would find it
					idx[k] = e.ino()
				}
			}
			return true
		})
		if e != 0 {
			return 0, e
		}
		n.index = idx
	}
	ino, ok := n.index[foldKey(name)]
	if !ok {
		return 0, unix.ENOENT
	}
	return ino, 0
}

// dotdot returns the first cluster ".." of directory n names (0: the
// root).
func (f *FS) dotdot(l *kernel.LWP, n *node) (uint32, unix.Errno) {
	var c uint32
	found := false
	e := f.walkDir(l, n, 0, true, func(e *entry) bool {
		if e.short == ".." {
			c, found = e.de.FirstClus, true
		}
		return !found && e.off < disk.DirentSize
	})
	if e != 0 {
		return 0, e
	}
	if !found {
		return 0, f.corrupt("directory at cluster %d has no \"..\" entry", n.first)
	}
	if c == f.bpb.RootClus {
		c = 0 // mkfs tools disagree on which FAT32 ".." names the root
	}
	return c, 0
}

// dirNode is a directory node for cluster c (0: the root) without its
// entry: enough to walk it.
func (f *FS) dirNode(l *kernel.LWP, c uint32) (*node, unix.Errno) {
	if c == 0 {
		return f.root(l)
	}
	runs, e := f.chain(l, c, 0)
	if e != 0 {
		return nil, e
	}
	return &node{ino: 0, first: c, runs: runs, de: disk.Dirent{Attr: disk.AttrDir}}, 0
}

// parent returns the number of directory n's parent: the entry, in the
// grandparent, of the cluster n's ".." names.
func (f *FS) parent(l *kernel.LWP, n *node) (uint64, unix.Errno) {
	if n.ino == RootIno {
		return RootIno, 0
	}
	pc, e := f.dotdot(l, n)
	if e != 0 || pc == 0 {
		return RootIno, e
	}
	pn, e := f.dirNode(l, pc)
	if e != 0 {
		return 0, e
	}
	gc, e := f.dotdot(l, pn)
	if e != 0 {
		return 0, e
	}
	gn, e := f.dirNode(l, gc)
	if e != 0 {
		return 0, e
	}
	var ino uint64
	e = f.walkDir(l, gn, 0, false, func(e *entry) bool {
		if e.de.IsDir() && e.de.FirstClus == pc {
			ino = e.ino()
		}
		return ino == 0
	})
	if e == 0 && ino == 0 {
		e = f.corrupt("directory at cluster %d is not in its parent (cluster %d)", pc, gc)
	}
	return ino, e
}

// root returns the root directory's node.
func (f *FS) root(l *kernel.LWP) (*node, unix.Errno) {
	n := &node{ino: RootIno, de: disk.Dirent{Attr: disk.AttrDir}}
	p := f.bpb
	if p.Type == disk.FAT32 {
		runs, e := f.chain(l, p.RootClus, 0)
		if e != 0 {
			return nil, e
		}
		n.first, n.runs = p.RootClus, runs
	}
	n.size = f.dirSize(n)
	return n, 0
}

func (f *FS) dirSize(n *node) uint64 {
	var s uint64
	for _, x := range f.dirExtents(n) {
		s += uint64(x.len)
	}
	return s
}

// load reads the node whose short entry is at device offset ino*32.
func (f *FS) load(l *kernel.LWP, ino uint64) (*node, unix.Errno) {
	if ino == RootIno {
		return f.root(l)
	}
	p := f.bpb
	pos := int64(ino) * disk.DirentSize
	if pos < int64(p.RootDirSec)*int64(p.BytesPerSec) || pos >= int64(p.TotalSecs)*int64(p.BytesPerSec) {
		return nil, unix.ENOENT
	}
	b := make([]byte, disk.DirentSize)
	if e := f.readAt(l, b, pos); e != 0 {
		return nil, e
	}
	if b[0] == disk.NameEnd || b[0] == disk.NameDeleted || disk.IsLong(b) {
		return nil, unix.ENOENT
	}
	d := disk.ParseDirent(b)
	if d.Attr&disk.AttrVolume != 0 {
		return nil, unix.ENOENT
	}
	if p.Type != disk.FAT32 {
		d.FirstClus &= 0xFFFF
	}
	n := &node{ino: ino, de: d, first: d.FirstClus, nlink: 1}
	if !d.IsDir() {
		n.size = uint64(d.Size)
		if n.size > 0 && !p.ValidCluster(n.first) || n.first != 0 && !p.ValidCluster(n.first) {
			return nil, f.corrupt("entry %q (at byte %d): first cluster %d out of range", d.ShortName(), pos, n.first)
		}
		return n, 0
	}
	if !p.ValidCluster(n.first) {
		return nil, f.corrupt("directory %q (at byte %d): first cluster %d out of range", d.ShortName(), pos, n.first)
	}
	runs, e := f.chain(l, n.first, 0)
	if e != 0 {
		return nil, e
	}
	n.runs = runs
	n.size = f.dirSize(n)
	return n, 0
}

// countSubdirs sets a directory's link count as Linux does: 2 plus its
// subdirectories.
func (f *FS) countSubdirs(l *kernel.LWP, n *node) unix.Errno {
	n.nlink = 2
	return f.walkDir(l, n, 0, false, func(e *entry) bool {
		if e.de.IsDir() {
			n.nlink++
		}
		return true
	})
}

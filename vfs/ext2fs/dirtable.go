package ext2fs

import (
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// Name tables: a directory that cannot be searched through a healthy
// htree (a linear directory of more than a few blocks, or one whose
// index proved damaged) is scanned once and its names kept, so that a
// walk that looks up each of its n entries reads its blocks once, not n
// times (as e2fsprogs' f_many_subdirs, or a damaged htree, would cost
// otherwise). The file system is read-only, so a table never goes stale
// (a writer will have to drop the directory's table); a few are kept, the oldest dropped first.

// tableMinBlocks is the size from which a linear directory gets a table:
// below it a scan per lookup costs about what a table would.
const tableMinBlocks = 4

// Bounds on what the tables keep.
const (
	maxDirTables = 64
	maxTableName = 1 << 20 // names over all tables
)

type dirEnt struct {
	ino uint32
	dt  uint8
}

// dirTable is the names of one directory, as one linear scan found them.
type dirTable struct {
	names map[string]dirEnt
	// damaged: some block could not be read or parsed, so a name not
	// found may be in it.
	damaged bool
}

// dirTables is FS's cache of name tables and of directories whose htree
// is known bad.
type dirTables struct {
	mu       sync.Mutex
	tables   map[uint32]*dirTable
	order    []uint32 // insertion order, for eviction
	names    int
	badIndex map[uint32]bool
}

func (c *dirTables) get(ino uint32) *dirTable {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tables[ino]
}

func (c *dirTables) put(ino uint32, t *dirTable) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tables == nil {
		c.tables = map[uint32]*dirTable{}
	}
	if _, ok := c.tables[ino]; ok {
		return
	}
	for len(c.order) > 0 && (len(c.order) >= maxDirTables || c.names+len(t.names) > maxTableName) {
		old := c.order[0]
		c.order = c.order[1:]
		c.names -= len(c.tables[old].names)
		delete(c.tables, old)
	}
	c.tables[ino] = t
	c.order = append(c.order, ino)
	c.names += len(t.names)
}

func (c *dirTables) indexBad(ino uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.badIndex[ino]
}

func (c *dirTables) setIndexBad(ino uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.badIndex == nil {
		c.badIndex = map[uint32]bool{}
	}
	c.badIndex[ino] = true
}

// tableLookup finds name through the directory's name table, scanning
// the directory to make one if there is none.
func (ip Inode) tableLookup(l *kernel.LWP, name string) (uint32, uint8, unix.Errno) {
	fs := ip.fs
	t := fs.dirs.get(ip.Ino)
	if t == nil {
		var e unix.Errno
		if t, e = ip.scanNames(l); e != 0 {
			return 0, 0, e
		}
		fs.dirs.put(ip.Ino, t)
	}
	if d, ok := t.names[name]; ok {
		return d.ino, d.dt, 0
	}
	if t.damaged {
		return 0, 0, fs.corrupt("directory inode %d: %q not found, and part of the directory is damaged", ip.Ino, name)
	}
	return 0, 0, unix.ENOENT
}

// scanNames reads every block of the directory once and keeps its
// names. A block that cannot be read or parsed is logged and skipped
// (the table is then marked damaged), as Linux's linear search skips
// blocks that fail their checks: one bad block does not hide the rest.
func (ip Inode) scanNames(l *kernel.LWP) (*dirTable, unix.Errno) {
	fs := ip.fs
	t := &dirTable{names: map[string]dirEnt{}}
	bs := int64(fs.bsize)
	size := int64(ip.Size)
	for lblk := int64(0); lblk*bs < size; lblk++ {
		r, e := ip.Bmap(l, uint64(lblk))
		if e != 0 {
			// A broken block map breaks the same way further on.
			t.damaged = true
			break
		}
		if r.Zero {
			lblk += int64(min(r.Len, uint64(size/bs+1))) - 1
			continue
		}
		fs.bd.prefetch(l, r.Physical, min(r.Len, uint64((size-lblk*bs+bs-1)/bs)))
		buf, e := ip.dirBlock(l, uint64(lblk), r.Physical)
		if e != 0 {
			t.damaged = true
			continue
		}
		b := buf.Data
		for off := 0; off < len(b); {
			d, err := disk.ParseDirent(b, off, fs.bsize, fs.filetype())
			if err != nil {
				fs.corrupt("directory inode %d at offset %d: %v", ip.Ino, lblk*bs+int64(off), err)
				t.damaged = true
				break
			}
			off += d.RecLen
			if d.Inode == 0 || len(d.Name) == 0 {
				continue
			}
			if d.Inode > fs.sb.InodesCount {
				fs.corrupt("directory inode %d at offset %d: entry %q for inode %d", ip.Ino, lblk*bs+int64(off-d.RecLen), d.Name, d.Inode)
				t.damaged = true
				continue
			}
			if _, dup := t.names[string(d.Name)]; !dup {
				t.names[string(d.Name)] = dirEnt{d.Inode, fs.dtype(d.FileType)}
			}
		}
		buf.Brelse()
	}
	return t, 0
}

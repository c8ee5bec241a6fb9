package cd9660

import (
	"fmt"
	"sync"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/cd9660/disk"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// Which layer names and attributes come from.
const (
	layerPlain = iota
	layerJoliet
	layerRockRidge
)

// linkBit marks an inode number taken from a Rock Ridge serial number.
const linkBit = 1 << 62

// maxDirSize bounds a directory's extent: a damaged size is not read.
const maxDirSize = 64 << 20

// FS is an open ISO 9660 image.
type FS struct {
	dev     bio.Device
	bdev    *bio.Dev // dev attached to the buffer cache, or nil
	bs      int64    // logical block size
	vd      disk.VolumeDescriptor
	layer   int
	skip    int // SUSP bytes to skip in every system use area
	rootIno uint64
	name    string
	logf    func(string, ...any)

	mu    sync.Mutex
	links map[uint64]int64 // serial-number inode -> record address
}

// Options shape an Open.
type Options struct {
	Name        string
	Logf        func(string, ...any)
	NoRockRidge bool
	NoJoliet    bool
	Cache       *bio.Cache // metadata goes through it when set
}

// corrupt logs what is wrong with the image and returns EIO.
func (f *FS) corrupt(format string, args ...any) unix.Errno {
	f.logf("cd9660: %s: %s", f.name, fmt.Sprintf(format, args...))
	return unix.EIO
}

// read reads n bytes at byte address addr of the image: through the
// buffer cache a sector at a time, straight from the device when there
// is no cache or the last sector is cut short.
func (f *FS) read(l *kernel.LWP, addr int64, n int) ([]byte, unix.Errno) {
	if addr < 0 || n < 0 || addr+int64(n) > f.dev.Size() {
		return nil, f.corrupt("read of %d bytes at %d: past the end of the image", n, addr)
	}
	b := make([]byte, n)
	for done := 0; done < n; {
		pos := addr + int64(done)
		sec := pos / disk.SectorSize * disk.SectorSize
		in := int(pos - sec)
		m := min(n-done, disk.SectorSize-in)
		if f.bdev == nil || sec+disk.SectorSize > f.dev.Size() {
			if e := genfs.ReadBytes(l, f.dev, b[done:done+m], pos); e != 0 {
				return nil, f.corrupt("read of %d bytes at %d: %v", m, pos, e)
			}
		} else {
			buf, e := f.bdev.Bread(l, sec/bio.DevBSize, disk.SectorSize)
			if e != 0 {
				return nil, f.corrupt("read of sector %d: %v", sec/disk.SectorSize, e)
			}
			copy(b[done:done+m], buf.Data[in:])
			buf.Brelse()
		}
		done += m
	}
	return b, 0
}

// Close gives the buffer cache back the image's sectors.
func (f *FS) Close() {
	if f.bdev != nil {
		f.bdev.Detach()
	}
}

// Open reads the volume descriptors and picks the tree to show.
func Open(l *kernel.LWP, dev bio.Device, o Options) (*FS, unix.Errno) {
	f := &FS{dev: dev, name: o.Name, logf: o.Logf, links: map[uint64]int64{}}
	if o.Cache != nil {
		f.bdev = o.Cache.Attach(dev, o.Name)
	}
	if e := f.open(l, o); e != 0 {
		f.Close()
		return nil, e
	}
	return f, 0
}

func (f *FS) open(l *kernel.LWP, o Options) unix.Errno {
	var pvd, joliet *disk.VolumeDescriptor
	for i := range disk.MaxVDs {
		b, e := f.read(l, int64(disk.VDStart+i)*disk.SectorSize, disk.SectorSize)
		if e != 0 {
			return e
		}
		vd, err := disk.ParseVolumeDescriptor(b)
		if err != nil {
			if i == 0 {
				f.logf("cd9660: %s: not an ISO 9660 image: %v", f.name, err)
				return unix.EINVAL
			}
			return f.corrupt("volume descriptor %d: %v", i, err)
		}
		if vd.Type == disk.VDTerminator {
			break
		}
		switch {
		case vd.Type == disk.VDPrimary && pvd == nil:
			pvd = &vd
		case vd.Type == disk.VDSupplementary && vd.Joliet > 0 && joliet == nil:
			joliet = &vd
		}
	}
	if pvd == nil {
		f.logf("cd9660: %s: no primary volume descriptor", f.name)
		return unix.EINVAL
	}
	f.vd = *pvd
	f.bs = int64(pvd.BlockSize)
	f.layer = layerPlain
	if !o.NoRockRidge {
		rr, e := f.rootRockRidge(l)
		if e != 0 {
			return e
		}
		if rr.SP && rr.RR {
			f.layer, f.skip = layerRockRidge, rr.SPSkip
		}
	}
	if f.layer == layerPlain && joliet != nil && !o.NoJoliet {
		f.vd, f.layer = *joliet, layerJoliet
	}
	f.rootIno = f.dirIno(&f.vd.Root)
	return 0
}

// rootRockRidge parses the system use area of the root's "." record,
// where an SP entry announces SUSP.
func (f *FS) rootRockRidge(l *kernel.LWP) (disk.RockRidge, unix.Errno) {
	var rr disk.RockRidge
	addr := f.dirIno(&f.vd.Root)
	b, e := f.read(l, int64(addr), disk.SectorSize)
	if e != 0 {
		return rr, e
	}
	r, err := disk.ParseRecord(b)
	if err != nil || !r.IsDot() {
		return rr, f.corrupt("root directory: first record: %v", err)
	}
	e = f.suspInto(l, r.SystemUse, &rr)
	return rr, e
}

// dirIno is a directory's inode number: the byte address of its extent.
func (f *FS) dirIno(r *disk.Record) uint64 {
	return uint64(int64(r.Extent)+int64(r.ExtAttrLen)) * uint64(f.bs)
}

// suspInto parses a system use area and the continuation areas it
// chains to, at most disk.SUSPLimit of them.
func (f *FS) suspInto(l *kernel.LWP, area []byte, rr *disk.RockRidge) unix.Errno {
	for i := 0; ; i++ {
		ce, err := disk.ParseSUSP(area, rr)
		if err != nil {
			return f.corrupt("%v", err)
		}
		if ce == nil {
			return 0
		}
		if i >= disk.SUSPLimit {
			return f.corrupt("more than %d SUSP continuation areas (a loop?)", disk.SUSPLimit)
		}
		if int64(ce.Offset)+int64(ce.Len) > f.bs || ce.Len == 0 {
			return f.corrupt("SUSP continuation of %d bytes at %d leaves its block", ce.Len, ce.Offset)
		}
		b, e := f.read(l, int64(ce.Block)*f.bs+int64(ce.Offset), int(ce.Len))
		if e != 0 {
			return e
		}
		area = b
	}
}

// extent is a piece of a file's data: Len bytes at byte address Addr.
type extent struct {
	Addr int64
	Len  int64
}

// node is an in-core file: what a vnode keeps, immutable once loaded.
type node struct {
	ino     uint64
	mode    uint32 // type and permission bits
	nlink   uint32
	uid     uint32
	gid     uint32
	size    int64
	rdev    uint64
	mtime   time.Time
	atime   time.Time
	ctime   time.Time
	link    string
	extents []extent

	// A directory's names, indexed on its first lookup: a walk looks up
	// every entry, and a scan per name (each parsing Rock Ridge) would
	// make that quadratic.
	mu    sync.Mutex
	index map[string]uint64
}

// lookup returns the inode number of name in directory d, ENOENT when
// it has none.
func (f *FS) lookup(l *kernel.LWP, d *node, name string) (uint64, unix.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.index == nil {
		idx := map[string]uint64{}
		e := f.walkDir(l, d, 0, func(ent entry) bool {
			if _, dup := idx[ent.name]; !dup {
				idx[ent.name] = ent.ino
			}
			return true
		})
		if e != 0 {
			return 0, e
		}
		d.index = idx
	}
	ino, ok := d.index[name]
	if !ok {
		return 0, unix.ENOENT
	}
	return ino, 0
}

func (n *node) isDir() bool { return n.mode&unix.S_IFMT == unix.S_IFDIR }

// entry is one directory entry as the chosen layer shows it.
type entry struct {
	name   string
	ino    uint64
	dtype  uint8
	next   int64 // offset of the record after the entry (its cookie)
	hidden bool  // not listed: associated files, relocated directories
}

// walkDir calls fn for each entry of directory d from byte offset off
// (a cookie: 0 or one a previous entry gave), "." and ".." included,
// until fn returns false. Records never span a sector: a zero length
// byte sends the walk to the next one.
func (f *FS) walkDir(l *kernel.LWP, d *node, off int64, fn func(entry) bool) unix.Errno {
	if len(d.extents) != 1 || d.size > maxDirSize {
		return f.corrupt("directory %d: size %d", d.ino, d.size)
	}
	base := d.extents[0].Addr
	var sec []byte
	secNo := int64(-1)
	// A multi-extent file is one entry at its first record whose cookie
	// is past its last: it waits in pending until that one is seen.
	var pending *entry
	for off < d.size {
		if s := off / disk.SectorSize; s != secNo {
			var e unix.Errno
			n := min(disk.SectorSize, d.size-s*disk.SectorSize)
			if sec, e = f.read(l, base+s*disk.SectorSize, int(n)); e != 0 {
				return e
			}
			secNo = s
		}
		in := off % disk.SectorSize
		if int(in) >= len(sec) || sec[in] == 0 {
			off = (secNo + 1) * disk.SectorSize
			continue
		}
		r, err := disk.ParseRecord(sec[in:])
		if err != nil {
			return f.corrupt("directory %d: record at %d: %v", d.ino, off, err)
		}
		addr := base + off
		off += int64(r.Len)
		if pending != nil {
			if r.Flags&disk.FlagMultiExt == 0 {
				ent := *pending
				pending, ent.next = nil, off
				if !ent.hidden && !fn(ent) {
					return 0
				}
			}
			continue
		}
		ent := entry{next: off}
		switch {
		case r.IsDot():
			ent.name, ent.ino, ent.dtype = ".", d.ino, unix.DT_DIR
		case r.IsDotDot():
			ent.name, ent.ino, ent.dtype = "..", f.dirIno(&r), unix.DT_DIR
			if f.layer == layerRockRidge {
				var rr disk.RockRidge
				if e := f.suspInto(l, f.skipped(r.SystemUse), &rr); e != 0 {
					return e
				}
				if rr.HasPL {
					ent.ino = uint64(rr.ParentLink) * uint64(f.bs)
				}
			}
		default:
			var e unix.Errno
			if ent, e = f.entryOf(l, &r, addr); e != 0 {
				return e
			}
			ent.next = off
			if r.Flags&disk.FlagMultiExt != 0 {
				pending = &ent
				continue
			}
		}
		if !ent.hidden && !fn(ent) {
			return 0
		}
	}
	if pending != nil {
		return f.corrupt("directory %d: multi-extent file %q has no last part", d.ino, pending.name)
	}
	return 0
}

// entryOf names a record (not "." or "..") at byte address addr.
func (f *FS) entryOf(l *kernel.LWP, r *disk.Record, addr int64) (entry, unix.Errno) {
	ent := entry{ino: uint64(addr), dtype: unix.DT_REG, hidden: r.Flags&disk.FlagAssociated != 0}
	if r.Flags&disk.FlagDir != 0 {
		ent.ino, ent.dtype = f.dirIno(r), unix.DT_DIR
	}
	switch f.layer {
	case layerJoliet:
		ent.name = disk.JolietName(r.Name)
	case layerPlain:
		ent.name = disk.PlainName(r.Name)
	case layerRockRidge:
		var rr disk.RockRidge
		if e := f.suspInto(l, f.skipped(r.SystemUse), &rr); e != 0 {
			return ent, e
		}
		ent.name = disk.PlainName(r.Name)
		if rr.HasNM {
			ent.name = rr.Name
		}
		if rr.HasPX {
			ent.dtype = uint8((rr.Mode & unix.S_IFMT) >> 12)
		}
		if rr.Relocated {
			ent.hidden = true
		}
		if rr.HasCL {
			// The directory itself lives elsewhere (deep-path relocation).
			ent.ino, ent.dtype = uint64(rr.ChildLink)*uint64(f.bs), unix.DT_DIR
		} else if rr.HasPX && rr.Nlink > 1 && rr.Ino != 0 && ent.dtype != unix.DT_DIR {
			ent.ino = linkBit | rr.Ino
			f.mu.Lock()
			if _, ok := f.links[ent.ino]; !ok {
				f.links[ent.ino] = addr
			}
			f.mu.Unlock()
		}
	}
	if ent.name == "" || ent.name == "." || ent.name == ".." {
		return ent, f.corrupt("record at %d: bad name %q", addr, ent.name)
	}
	return ent, 0
}

func (f *FS) skipped(su []byte) []byte {
	if f.skip > len(su) {
		return nil
	}
	return su[f.skip:]
}

// load reads the file with inode number ino.
func (f *FS) load(l *kernel.LWP, ino uint64) (*node, unix.Errno) {
	addr := int64(ino)
	if ino&linkBit != 0 {
		f.mu.Lock()
		a, ok := f.links[ino]
		f.mu.Unlock()
		if !ok {
			return nil, unix.ENOENT
		}
		addr = a
	} else if ino >= uint64(f.dev.Size()) {
		return nil, unix.ENOENT
	}
	sec := addr / disk.SectorSize * disk.SectorSize
	b, e := f.read(l, sec, int(min(disk.SectorSize, f.dev.Size()-sec)))
	if e != 0 {
		return nil, e
	}
	in := addr - sec
	if b[in] == 0 {
		return nil, f.corrupt("inode %d: no directory record there", ino)
	}
	r, err := disk.ParseRecord(b[in:])
	if err != nil {
		return nil, f.corrupt("inode %d: %v", ino, err)
	}
	n := &node{ino: ino, nlink: 1, mtime: r.Time, atime: r.Time, ctime: r.Time}
	dir := r.IsDot() || r.Flags&disk.FlagDir != 0
	if dir {
		n.mode = unix.S_IFDIR | 0o555
	} else {
		n.mode = unix.S_IFREG | 0o555
	}
	if r.Interleave {
		return nil, f.corrupt("inode %d: interleaved file (not supported)", ino)
	}
	n.extents = []extent{{int64(r.Extent+uint32(r.ExtAttrLen)) * f.bs, int64(r.Size)}}
	n.size = int64(r.Size)
	// A multi-extent file continues in the records after this one.
	for last, pos, i := r, in+int64(r.Len), 0; last.Flags&disk.FlagMultiExt != 0; i++ {
		if i > 1<<16 {
			return nil, f.corrupt("inode %d: endless multi-extent file", ino)
		}
		if pos >= int64(len(b)) || b[pos] == 0 {
			sec += disk.SectorSize
			if b, e = f.read(l, sec, disk.SectorSize); e != 0 {
				return nil, e
			}
			pos = 0
		}
		next, err := disk.ParseRecord(b[pos:])
		if err != nil || string(next.Name) != string(r.Name) {
			return nil, f.corrupt("inode %d: multi-extent file broken at part %d", ino, i+1)
		}
		if int64(last.Size)%f.bs != 0 {
			return nil, f.corrupt("inode %d: multi-extent part of %d bytes", ino, last.Size)
		}
		n.extents = append(n.extents, extent{int64(next.Extent+uint32(next.ExtAttrLen)) * f.bs, int64(next.Size)})
		n.size += int64(next.Size)
		last, pos = next, pos+int64(next.Len)
	}
	for _, x := range n.extents {
		if x.Addr+x.Len > f.dev.Size() {
			return nil, f.corrupt("inode %d: extent of %d bytes at %d past the end of the image", ino, x.Len, x.Addr)
		}
	}
	if f.layer == layerRockRidge {
		var rr disk.RockRidge
		su := r.SystemUse
		if ino != f.rootIno || !r.IsDot() {
			su = f.skipped(su)
		}
		if e := f.suspInto(l, su, &rr); e != 0 {
			return nil, e
		}
		if rr.HasPX {
			n.mode, n.nlink, n.uid, n.gid = rr.Mode, rr.Nlink, rr.Uid, rr.Gid
			if (n.mode&unix.S_IFMT == unix.S_IFDIR) != dir {
				return nil, f.corrupt("inode %d: PX mode %#o disagrees with the record's directory flag", ino, n.mode)
			}
		}
		for _, t := range []struct {
			p *time.Time
			v time.Time
		}{{&n.mtime, rr.Mtime}, {&n.atime, rr.Atime}, {&n.ctime, rr.Ctime}} {
			if !t.v.IsZero() {
				*t.p = t.v
			}
		}
		if rr.HasPN {
			if rr.DevHigh == 0 {
				n.rdev = uint64(rr.DevLow)
			} else {
				n.rdev = unix.Mkdev(rr.DevHigh, rr.DevLow)
			}
		}
		if n.mode&unix.S_IFMT == unix.S_IFLNK {
			n.link, n.size = rr.Link, int64(len(rr.Link))
		}
	}
	if n.isDir() && n.nlink < 2 {
		// ISO 9660 keeps no link count for directories, and xorriso's PX
		// says 1: count them as Unix does, 2 and one per subdirectory.
		// A damaged directory is reported when it is read; its count
		// stays what was counted up to the damage.
		n.nlink = 2
		_ = f.walkDir(l, n, 0, func(ent entry) bool {
			if ent.dtype == unix.DT_DIR && ent.name != "." && ent.name != ".." {
				n.nlink++
			}
			return true
		})
	}
	if t := n.mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFDIR && t != unix.S_IFLNK {
		n.size = 0
	}
	return n, 0
}

// file describes a node's data to genfs.
func (f *FS) file(n *node) genfs.File {
	return genfs.File{Dev: f.dev, BSize: int(f.bs), Size: uint64(n.size), Lend: true,
		Bmap: func(l *kernel.LWP, lbn int64) (genfs.Run, unix.Errno) {
			pos := lbn * f.bs
			for _, x := range n.extents {
				if pos < x.Len {
					return genfs.Run{Addr: x.Addr + pos, Blocks: (x.Len - pos + f.bs - 1) / f.bs}, 0
				}
				pos -= x.Len
			}
			return genfs.Run{Addr: genfs.Hole, Blocks: 1}, 0
		},
		IOError: func(addr int64, n int, e unix.Errno) unix.Errno {
			return f.corrupt("read of %d bytes at %d failed: %v", n, addr, e)
		},
	}
}

func (f *FS) String() string { return fmt.Sprintf("cd9660 %q", f.vd.VolumeID) }

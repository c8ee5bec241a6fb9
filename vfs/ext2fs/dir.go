package ext2fs

import (
	"bytes"
	"errors"
	"unsafe"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// Dirent is one directory entry as Readdir reports it.
type Dirent struct {
	Name string
	Ino  uint32
	Type uint8 // DT_*; DT_UNKNOWN without the filetype feature
	// Off is the cookie of this entry, Next the cookie that resumes
	// after it. Cookies are byte offsets in the directory (for inline
	// directories, in i_block followed by system.data), stable for as
	// long as the directory is unchanged.
	Off  int64
	Next int64
}

// ftToDT maps a directory entry file type to a DT_* value.
var ftToDT = [disk.FtMax]uint8{
	disk.FtUnknown: unix.DT_UNKNOWN, disk.FtRegFile: unix.DT_REG, disk.FtDir: unix.DT_DIR,
	disk.FtChrdev: unix.DT_CHR, disk.FtBlkdev: unix.DT_BLK, disk.FtFifo: unix.DT_FIFO,
	disk.FtSock: unix.DT_SOCK, disk.FtSymlink: unix.DT_LNK,
}

func (fs *FS) filetype() bool { return fs.sb.FeatureIncompat&disk.IncompatFiletype != 0 }

// inline directories: "." and ".." are synthesised at cookies 0 and 1,
// the parent's number sits in the first 4 bytes, entries follow.
const inlineDirStart = 4

// Readdir calls fn for each entry from cookie on, in on-disk order, until
// fn returns false or the directory ends. Resuming at a Next cookie
// continues after that entry; a cookie that does not fall on an entry
// resumes at the next entry after it.
func (ip Inode) Readdir(l *kernel.LWP, cookie int64, fn func(Dirent) bool) unix.Errno {
	return ip.readdir(l, cookie, false, fn)
}

// readdir is Readdir; with borrow, each Dirent's Name shares the bytes of
// the directory block, valid only until fn returns (VOP_READDIR copies it
// into the reply at once: no string per entry).
func (ip Inode) readdir(l *kernel.LWP, cookie int64, borrow bool, fn func(Dirent) bool) unix.Errno {
	if !ip.IsDir() {
		return unix.ENOTDIR
	}
	if cookie < 0 {
		return unix.EINVAL
	}
	fs := ip.fs
	if ip.Flags&disk.FlagInlineData != 0 {
		data, e := ip.inlineData(l)
		if e != 0 {
			return e
		}
		if len(data) < inlineDirStart {
			return fs.corrupt("inode %d: inline directory too short", ip.Ino)
		}
		parent := le32(data)
		if cookie == 0 && !fn(Dirent{Name: ".", Ino: ip.Ino, Type: unix.DT_DIR, Off: 0, Next: 1}) {
			return 0
		}
		if cookie <= 1 && !fn(Dirent{Name: "..", Ino: parent, Type: unix.DT_DIR, Off: 1, Next: inlineDirStart}) {
			return 0
		}
		// i_block and system.data are separate entry areas.
		_, e = ip.walkEntries(data[inlineDirStart:min(len(data), disk.BlockArea)], inlineDirStart, max(cookie, inlineDirStart), borrow, fn)
		if e != 0 || len(data) <= disk.BlockArea {
			return e
		}
		_, e = ip.walkEntries(data[disk.BlockArea:], disk.BlockArea, max(cookie, disk.BlockArea), borrow, fn)
		return e
	}
	bs := int64(fs.bsize)
	size := int64(ip.Size)
	for lblk := cookie / bs; lblk*bs < size; {
		r, e := ip.Bmap(l, uint64(lblk))
		if e != 0 {
			return e
		}
		if r.Zero {
			lblk += int64(min(r.Len, uint64(size/bs+1)))
			continue
		}
		fs.bd.prefetch(l, r.Physical, min(r.Len, uint64((size-lblk*bs+bs-1)/bs)))
		buf, e := ip.dirBlock(l, uint64(lblk), r.Physical)
		if e != 0 {
			return e
		}
		// Borrowed names come straight from the cached block, held
		// until fn has copied them; otherwise fn may do anything,
		// read this block too, and gets the entries of a copy.
		b := buf.Data
		if !borrow {
			b = bytes.Clone(b)
			buf.Brelse()
		}
		more, e := ip.walkEntries(b, lblk*bs, cookie, borrow, fn)
		if borrow {
			buf.Brelse()
		}
		if e != 0 || !more {
			return e
		}
		lblk++
	}
	return 0
}

// walkEntries reports the live entries of one entry area whose first
// byte has cookie base, skipping those before cookie. It returns false
// when fn asked to stop.
func (ip Inode) walkEntries(b []byte, base, cookie int64, borrow bool, fn func(Dirent) bool) (bool, unix.Errno) {
	fs := ip.fs
	for off := 0; off < len(b); {
		d, err := disk.ParseDirent(b, off, fs.bsize, fs.filetype())
		if err != nil {
			return false, fs.corrupt("directory inode %d at offset %d: %v", ip.Ino, base+int64(off), err)
		}
		pos := base + int64(off)
		off += d.RecLen
		if d.Inode == 0 || pos < cookie {
			continue
		}
		if d.Inode > fs.sb.InodesCount || len(d.Name) == 0 {
			return false, fs.corrupt("directory inode %d at offset %d: entry %q for inode %d", ip.Ino, pos, d.Name, d.Inode)
		}
		var name string
		if borrow {
			name = unsafe.String(unsafe.SliceData(d.Name), len(d.Name))
		} else {
			name = string(d.Name)
		}
		if !fn(Dirent{Name: name, Ino: d.Inode, Type: fs.dtype(d.FileType), Off: pos, Next: base + int64(off)}) {
			return false, 0
		}
	}
	return true, 0
}

func (fs *FS) dtype(ft uint8) uint8 {
	if int(ft) < len(ftToDT) {
		return ftToDT[ft]
	}
	return unix.DT_UNKNOWN
}

// findEntry looks for name in one entry area of directory ip without
// allocating: lookups scan hundreds of entries per name.
func (ip Inode) findEntry(b []byte, base int64, name string) (ino uint32, dt uint8, e unix.Errno) {
	fs := ip.fs
	for off := 0; off < len(b); {
		d, err := disk.ParseDirent(b, off, fs.bsize, fs.filetype())
		if err != nil {
			return 0, 0, fs.corrupt("directory inode %d at offset %d: %v", ip.Ino, base+int64(off), err)
		}
		pos := base + int64(off)
		off += d.RecLen
		if d.Inode == 0 || string(d.Name) != name {
			continue
		}
		if d.Inode > fs.sb.InodesCount {
			return 0, 0, fs.corrupt("directory inode %d at offset %d: entry %q for inode %d", ip.Ino, pos, d.Name, d.Inode)
		}
		return d.Inode, fs.dtype(d.FileType), 0
	}
	return 0, 0, 0
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// indexed reports whether lookups may use the directory's htree.
func (ip Inode) indexed() bool {
	return ip.Flags&disk.FlagIndex != 0 && ip.fs.sb.FeatureCompat&disk.CompatDirIndex != 0
}

// errNotIndex says a directory block is not an htree index block.
var errNotIndex = errors.New("not an htree index block")

// dirBlock reads directory block lblk (at device block phys) and checks
// its checksum: leaf blocks carry a dirent tail, htree blocks a dx tail.
// Index blocks come back as they are; walkEntries sees them as one empty
// entry (or "." and ".." for the root).
func (ip Inode) dirBlock(l *kernel.LWP, lblk, phys uint64) (*bio.Buf, unix.Errno) {
	fs := ip.fs
	fs.dirReads.Add(1)
	buf, e := fs.bd.bread(l, phys)
	if e != 0 {
		return nil, fs.corrupt("directory inode %d: cannot read block %d: %v", ip.Ino, phys, e)
	}
	if e := ip.checkDirBlock(lblk, buf.Data); e != 0 {
		buf.Brelse()
		return nil, e
	}
	return buf, 0
}

// checkDirBlock checks directory block lblk's checksum (dirBlock).
func (ip Inode) checkDirBlock(lblk uint64, b []byte) unix.Errno {
	fs := ip.fs
	if !fs.sb.HasMetadataCsum() {
		return 0
	}
	if ip.indexed() {
		var n disk.DxNode
		err := errNotIndex
		if lblk == 0 {
			n, err = disk.ParseDxRoot(b, fs.bsize, true)
		} else if le32(b) == 0 && disk.RecLen(uint16(b[4])|uint16(b[5])<<8, fs.bsize) == fs.bsize {
			n, err = disk.ParseDxNode(b, fs.bsize, true)
		}
		if err == nil {
			if err := disk.VerifyDxNode(ip.csumSeed(), b, &n); err != nil {
				return fs.corrupt("directory inode %d block %d: %v", ip.Ino, lblk, err)
			}
			return 0
		}
	}
	if err := disk.VerifyDirBlock(ip.csumSeed(), b); err != nil {
		return fs.corrupt("directory inode %d block %d: %v", ip.Ino, lblk, err)
	}
	return 0
}

// Lookup finds name in directory ip and returns its inode number and
// DT_* type (DT_UNKNOWN without the filetype feature): ENOENT if absent.
// Indexed directories are searched through their htree.
func (ip Inode) Lookup(l *kernel.LWP, name string) (uint32, uint8, unix.Errno) {
	if !ip.IsDir() {
		return 0, 0, unix.ENOTDIR
	}
	if len(name) == 0 {
		return 0, 0, unix.ENOENT
	}
	if len(name) > disk.NameMax {
		return 0, 0, unix.ENAMETOOLONG
	}
	fs := ip.fs
	if ip.indexed() && ip.Flags&disk.FlagInlineData == 0 {
		if !fs.dirs.indexBad(ip.Ino) {
			ino, dt, e, ok := ip.htreeLookup(l, name)
			if ok {
				return ino, dt, e
			}
			// Remembered: the index is not tried again, and its
			// damage was logged once.
			fs.dirs.setIndexBad(ip.Ino)
		}
		return ip.tableLookup(l, name)
	}
	if ip.Flags&disk.FlagInlineData != 0 {
		var found Dirent
		e := ip.Readdir(l, 0, func(d Dirent) bool {
			if d.Name == name {
				found = d
				return false
			}
			return true
		})
		if e != 0 {
			return 0, 0, e
		}
		if found.Ino == 0 {
			return 0, 0, unix.ENOENT
		}
		return found.Ino, found.Type, 0
	}
	if ip.Size > tableMinBlocks*uint64(fs.bsize) {
		return ip.tableLookup(l, name)
	}
	return ip.linearLookup(l, name)
}

// linearLookup scans every block of the directory for name.
func (ip Inode) linearLookup(l *kernel.LWP, name string) (uint32, uint8, unix.Errno) {
	fs := ip.fs
	bs := int64(fs.bsize)
	size := int64(ip.Size)
	for lblk := int64(0); lblk*bs < size; {
		r, e := ip.Bmap(l, uint64(lblk))
		if e != 0 {
			return 0, 0, e
		}
		if r.Zero {
			lblk += int64(min(r.Len, uint64(size/bs+1)))
			continue
		}
		fs.bd.prefetch(l, r.Physical, min(r.Len, uint64((size-lblk*bs+bs-1)/bs)))
		buf, e := ip.dirBlock(l, uint64(lblk), r.Physical)
		if e != 0 {
			return 0, 0, e
		}
		ino, dt, e := ip.findEntry(buf.Data, lblk*bs, name)
		buf.Brelse()
		if e != 0 || ino != 0 {
			return ino, dt, e
		}
		lblk++
	}
	return 0, 0, unix.ENOENT
}

// htreeLookup searches an indexed directory. ok is false when the index
// is unusable (a bad node, an unknown hash, a pointer out of the
// directory or to a block that fails its checks): the damage was logged
// and the caller falls back to a linear scan, as Linux does.
func (ip Inode) htreeLookup(l *kernel.LWP, name string) (ino uint32, dt uint8, e unix.Errno, ok bool) {
	fs := ip.fs
	bad := func(format string, args ...any) (uint32, uint8, unix.Errno, bool) {
		fs.corrupt("directory inode %d: htree "+format+"; searching linearly", append([]any{ip.Ino}, args...)...)
		return 0, 0, 0, false
	}
	// failed is bad for a damage already logged.
	failed := func() (uint32, uint8, unix.Errno, bool) {
		fs.logf("%sdirectory inode %d: htree unusable; searching linearly", fs.prefix(), ip.Ino)
		return 0, 0, 0, false
	}
	// held[i] is the block path[i] was parsed from, busy until the
	// lookup returns: the nodes point into them.
	var held [disk.DxMaxLevelsLarge + 1]*bio.Buf
	defer func() {
		for _, b := range held {
			if b != nil {
				b.Brelse()
			}
		}
	}()
	hold := func(lvl int, b *bio.Buf) {
		if held[lvl] != nil {
			held[lvl].Brelse()
		}
		held[lvl] = b
	}
	readBlock := func(lblk uint32) (*bio.Buf, unix.Errno) {
		if uint64(lblk)*uint64(fs.bsize) >= ip.Size {
			return nil, fs.corrupt("directory inode %d: htree points to block %d past the end", ip.Ino, lblk)
		}
		r, e := ip.Bmap(l, uint64(lblk))
		if e != 0 {
			return nil, e
		}
		if r.Zero {
			return nil, fs.corrupt("directory inode %d: htree points to hole at block %d", ip.Ino, lblk)
		}
		for _, h := range held {
			// A loop in the index: the block is busy already.
			if h != nil && h.Blkno == int64(r.Physical)*fs.bd.per {
				return nil, fs.corrupt("directory inode %d: htree points back to block %d", ip.Ino, lblk)
			}
		}
		return ip.dirBlock(l, uint64(lblk), r.Physical)
	}
	rootBuf, e := readBlock(0)
	if e != 0 {
		return failed()
	}
	hold(0, rootBuf)
	csum := fs.sb.HasMetadataCsum()
	root, err := disk.ParseDxRoot(rootBuf.Data, fs.bsize, csum)
	if err != nil {
		return bad("%v", err)
	}
	maxLevels := uint8(disk.DxMaxLevels)
	if fs.sb.FeatureIncompat&disk.IncompatLargedir != 0 {
		maxLevels = disk.DxMaxLevelsLarge
	}
	if root.Info.IndirectLevels >= maxLevels {
		return bad("depth %d", root.Info.IndirectLevels)
	}
	hv := root.Info.HashVersion
	if hv <= disk.HashTea && fs.sb.HashUnsigned() {
		hv += 3
	}
	hash, _, err := disk.DirHash(hv, fs.sb.HashSeed, []byte(name))
	if err != nil {
		return bad("%v", err)
	}
	// path holds the node and chosen entry at each level: an array,
	// so that a lookup does not allocate.
	type frame struct {
		n  disk.DxNode
		at int
	}
	var path [disk.DxMaxLevelsLarge + 1]frame
	path[0] = frame{root, root.Lookup(hash)}
	depth := 0 // path[depth] is the deepest level read
	for depth < int(root.Info.IndirectLevels) {
		f := &path[depth]
		b, e := readBlock(f.n.Entry(f.at).Block & 0x0fffffff)
		if e != 0 {
			return failed()
		}
		depth++
		hold(depth, b)
		n, err := disk.ParseDxNode(b.Data, fs.bsize, csum)
		if err != nil {
			return bad("%v", err)
		}
		path[depth] = frame{n, n.Lookup(hash)}
	}
	for {
		f := &path[depth]
		b, e := readBlock(f.n.Entry(f.at).Block & 0x0fffffff)
		if e != 0 {
			return failed()
		}
		ino, dt, e := ip.findEntry(b.Data, 0, name)
		b.Brelse()
		if e != 0 {
			return failed()
		}
		if ino != 0 {
			return ino, dt, 0, true
		}
		// Names whose hash collides may continue in the next leaf,
		// marked by the low bit of the next entry's hash.
		lvl := depth
		for lvl >= 0 && path[lvl].at+1 >= int(path[lvl].n.Count) {
			lvl--
		}
		if lvl < 0 {
			return 0, 0, unix.ENOENT, true
		}
		path[lvl].at++
		if next := path[lvl].n.Entry(path[lvl].at).Hash; next&^1 != hash {
			return 0, 0, unix.ENOENT, true
		}
		for lvl < depth {
			b, e := readBlock(path[lvl].n.Entry(path[lvl].at).Block & 0x0fffffff)
			if e != 0 {
				return failed()
			}
			lvl++
			hold(lvl, b)
			n, err := disk.ParseDxNode(b.Data, fs.bsize, csum)
			if err != nil {
				return bad("%v", err)
			}
			path[lvl] = frame{n, 0}
		}
	}
}

package rumpfs

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// Its node state is protected by the VFS locks (see vfs.VnodeOps):
// directory entries change only under the namespace lock held exclusively,
// and a node's data and attributes under its vnode lock held exclusively.
// The mount's mu guards only the inode table.

var rumpfsType = &vfs.FSType{Name: "rumpfs", Mount: rumpfsMount}

// The root file system type: every kernel with a VFS mounts it at "/".
func init() { vfs.RegisterRootFSType(rumpfsType) }

const rumpfsChunk = 64 << 10

type rnode struct {
	ino                        uint64
	typ                        vfs.VType
	mode, uid, gid             uint32
	nlink                      uint32
	atime, mtime, ctime, btime vfs.Timespec
	flags                      uint32
	rdev                       uint64
	gen                        uint64

	// VREG: data in 64 KiB chunks; a missing chunk is a hole.
	size   int64
	chunks map[int64][]byte

	// VDIR: entries in creation order (nil = removed, so cookies of the
	// others stay valid), names to their index, and the parent.
	ents   []*rdirent
	names  map[string]int
	nents  int
	parent *rnode

	// VLNK
	target string

	xattrs map[string][]byte
	// POSIX ACLs, kept parsed (nil for none).
	aclAccess, aclDefault kernel.ACL
}

type rdirent struct {
	name string
	node *rnode
}

type rumpfsFS struct {
	mp      *vfs.Mount
	mu      sync.Mutex
	nodes   map[uint64]*rnode
	nextIno uint64
	root    *rnode
	// nchunks counts the data chunks of every file, for statvfs.
	nchunks atomic.Int64
}

func rumpfsMount(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
	fs := &rumpfsFS{mp: mp, nodes: map[uint64]*rnode{}, nextIno: 2}
	now := vfs.Now()
	root := fs.newNode(vfs.VDIR, 0o755, 0, 0, now)
	root.nlink = 2
	root.parent = root
	fs.root = root
	mp.Data = fs
	return fs, 0
}

func (fs *rumpfsFS) newNode(t vfs.VType, mode, uid, gid uint32, now vfs.Timespec) *rnode {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := &rnode{ino: fs.nextIno, typ: t, mode: mode & 0o7777, uid: uid, gid: gid, nlink: 1,
		atime: now, mtime: now, ctime: now, btime: now, gen: 1}
	fs.nextIno++
	if t == vfs.VDIR {
		n.names = map[string]int{}
		n.nlink = 2
	}
	fs.nodes[n.ino] = n
	return n
}

func (fs *rumpfsFS) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno) { return fs.mp.Vget(l, fs.root.ino) }

func (fs *rumpfsFS) Statvfs(l *kernel.LWP, sb *vfs.Statvfs) unix.Errno {
	fs.mu.Lock()
	n := uint64(len(fs.nodes))
	fs.mu.Unlock()
	bytes := fs.nchunks.Load() * rumpfsChunk
	sb.Bsize = rumpfsChunk
	sb.Frsize = 4096
	sb.Blocks = uint64(bytes/4096) + 1<<20
	sb.Bfree = 1 << 20
	sb.Bavail = 1 << 20
	sb.Files = n + 1<<20
	sb.Ffree = 1 << 20
	sb.Favail = 1 << 20
	return 0
}

func (fs *rumpfsFS) Sync(l *kernel.LWP, wait bool) unix.Errno    { return 0 }
func (fs *rumpfsFS) Unmount(l *kernel.LWP, flags int) unix.Errno { return 0 }
func (fs *rumpfsFS) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}
func (fs *rumpfsFS) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}

func (fs *rumpfsFS) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	fs.mu.Lock()
	n := fs.nodes[ino]
	fs.mu.Unlock()
	if n == nil {
		return unix.ENOENT
	}
	vp.Type = n.typ
	vp.Rdev = n.rdev
	vp.Data = n
	vp.SetOps(rumpfsOps{})
	return 0
}

// path returns n's path from the root ("" for the root), for etfs.
func (n *rnode) path() string {
	var parts []string
	for cur := n; cur.parent != cur && cur.parent != nil; cur = cur.parent {
		p := cur.parent
		i := -1
		for j, e := range p.ents {
			if e != nil && e.node == cur {
				i = j
				break
			}
		}
		if i < 0 {
			return "/?"
		}
		parts = append(parts, p.ents[i].name)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

type rumpfsOps struct{ vfs.GenericOps }

func rn(vp *vfs.Vnode) *rnode { return vp.Data.(*rnode) }

func rfs(vp *vfs.Vnode) *rumpfsFS { return vp.Mount.Data.(*rumpfsFS) }

func (rumpfsOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	d := rn(dvp)
	if d.typ != vfs.VDIR {
		return nil, unix.ENOTDIR
	}
	// etfs keys are paths from the namespace root: only the root mount
	// asks (during boot RootMount is still nil, and nothing is registered).
	if r := dvp.Mount.VFS().EtfsResolver(); r != nil && dvp.Mount == dvp.Mount.VFS().RootMount() && r.MayMatch(cn.Name) {
		vp, handled, e := r.Resolve(l, d.path(), cn)
		if handled {
			return vp, e
		}
	}
	dl := genfs.DirLookup{
		Ino: d.ino,
		Search: func(l *kernel.LWP, name string) (uint64, unix.Errno) {
			i, ok := d.names[name]
			if !ok {
				return 0, unix.ENOENT
			}
			return d.ents[i].node.ino, 0
		},
		Parent: func(l *kernel.LWP) (uint64, unix.Errno) { return d.parent.ino, 0 },
	}
	return dl.Lookup(l, dvp, cn)
}

func (o rumpfsOps) makeNode(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr, t vfs.VType) (*rnode, unix.Errno) {
	d := rn(dvp)
	if _, ok := d.names[cn.Name]; ok || cn.Name == "." || cn.Name == ".." {
		return nil, unix.EEXIST
	}
	if len(cn.Name) > vfs.NameMax {
		return nil, unix.ENAMETOOLONG
	}
	if d.nlink == 0 {
		return nil, unix.ENOENT // directory was removed
	}
	now := vfs.Now()
	n := rfs(dvp).newNode(t, va.Mode, va.Uid, va.Gid, now)
	n.rdev = va.Rdev
	if t == vfs.VDIR {
		n.parent = d
		d.nlink++
	}
	d.addEntry(cn.Name, n)
	d.mtime, d.ctime = now, now
	return n, 0
}

func (d *rnode) addEntry(name string, n *rnode) {
	d.names[name] = len(d.ents)
	d.ents = append(d.ents, &rdirent{name, n})
	d.nents++
}

func (d *rnode) removeEntry(name string) {
	i := d.names[name]
	delete(d.names, name)
	d.ents[i] = nil
	d.nents--
	// Compact when mostly tombstones; cookies of a reader in progress
	// may then repeat or skip entries, as POSIX allows.
	if len(d.ents) > 1024 && d.nents < len(d.ents)/4 {
		out := d.ents[:0]
		for _, e := range d.ents {
			if e != nil {
				d.names[e.name] = len(out)
				out = append(out, e)
			}
		}
		clear(d.ents[len(out):])
		d.ents = out
	}
}

func (o rumpfsOps) Create(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	n, e := o.makeNode(l, dvp, cn, va, vfs.VREG)
	if e != 0 {
		return nil, e
	}
	return dvp.Mount.Vget(l, n.ino)
}

func (o rumpfsOps) Mknod(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	switch va.Type {
	case vfs.VBLK, vfs.VCHR, vfs.VFIFO, vfs.VSOCK, vfs.VREG:
	default:
		return nil, unix.EINVAL
	}
	n, e := o.makeNode(l, dvp, cn, va, va.Type)
	if e != 0 {
		return nil, e
	}
	return dvp.Mount.Vget(l, n.ino)
}

func (o rumpfsOps) Mkdir(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr) (*vfs.Vnode, unix.Errno) {
	n, e := o.makeNode(l, dvp, cn, va, vfs.VDIR)
	if e != 0 {
		return nil, e
	}
	return dvp.Mount.Vget(l, n.ino)
}

func (o rumpfsOps) Symlink(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName, va *vfs.Vattr, target string) (*vfs.Vnode, unix.Errno) {
	if len(target) >= vfs.PathMax {
		return nil, unix.ENAMETOOLONG
	}
	va.Mode = 0o777
	n, e := o.makeNode(l, dvp, cn, va, vfs.VLNK)
	if e != 0 {
		return nil, e
	}
	n.target = target
	n.size = int64(len(target))
	return dvp.Mount.Vget(l, n.ino)
}

func (rumpfsOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	n := rn(vp)
	*va = vfs.Vattr{
		Type: n.typ, Mode: n.mode, Nlink: n.nlink, Uid: n.uid, Gid: n.gid,
		Fsid: vp.Mount.ID(), Fileid: n.ino, Size: n.size, Blocksize: 4096,
		Bytes: int64(len(n.chunks)) * rumpfsChunk,
		Atime: n.atime, Mtime: n.mtime, Ctime: n.ctime, Birthtime: n.btime,
		Gen: n.gen, Flags: n.flags, Rdev: n.rdev,
	}
	if n.typ == vfs.VDIR {
		va.Size = int64(vfs.DirentSize(8) * (n.nents + 2))
		va.Bytes = va.Size
	}
	return 0
}

func (rumpfsOps) Setattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	n := rn(vp)
	now := vfs.Now()
	if va.Valid&vfs.AttrSize != 0 {
		rfs(vp).nchunks.Add(n.truncate(va.Size))
		n.mtime = now
	}
	if va.Valid&vfs.AttrMode != 0 {
		n.mode = va.Mode & 0o7777
	}
	if va.Valid&vfs.AttrUid != 0 {
		n.uid = va.Uid
	}
	if va.Valid&vfs.AttrGid != 0 {
		n.gid = va.Gid
	}
	if va.Valid&vfs.AttrAtime != 0 {
		n.atime = va.Atime
	}
	if va.Valid&vfs.AttrMtime != 0 {
		n.mtime = va.Mtime
	}
	if va.Valid&vfs.AttrBirthtime != 0 {
		n.btime = va.Birthtime
	}
	if va.Valid&vfs.AttrFlags != 0 {
		n.flags = va.Flags
	}
	n.ctime = now
	if va.Valid&vfs.AttrCtime != 0 {
		n.ctime = va.Ctime
	}
	return 0
}

// truncate sets the size, dropping chunks past it and zeroing the tail of
// the last one. It returns the change in the number of chunks.
func (n *rnode) truncate(size int64) (delta int64) {
	if size < n.size {
		for c := range n.chunks {
			if c*rumpfsChunk >= size {
				delete(n.chunks, c)
				delta--
			}
		}
		if off := size % rumpfsChunk; off != 0 {
			if b := n.chunks[size/rumpfsChunk]; b != nil {
				clear(b[off:])
			}
		}
	}
	n.size = size
	return delta
}

func (rumpfsOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	n := rn(vp)
	switch n.typ {
	case vfs.VDIR:
		return unix.EISDIR
	case vfs.VREG:
	default:
		return unix.EOPNOTSUPP
	}
	if uio.Offset < 0 {
		return unix.EINVAL
	}
	for uio.Resid > 0 && uio.Offset < n.size {
		c, off := uio.Offset/rumpfsChunk, uio.Offset%rumpfsChunk
		lim := min(int64(rumpfsChunk)-off, n.size-uio.Offset)
		var e unix.Errno
		if b := n.chunks[c]; b != nil {
			_, e = kernel.Uiomove(b[off:off+lim], uio)
		} else {
			_, e = kernel.UiomoveZero(int(lim), uio)
		}
		if e != 0 {
			return e
		}
	}
	return 0
}

// MaxFileSize bounds files on the rumpfs root (EFBIG past it).
const MaxFileSize = 1 << 46

func (rumpfsOps) Write(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	n := rn(vp)
	if n.typ != vfs.VREG {
		return unix.EOPNOTSUPP
	}
	if ioflag&vfs.IO_APPEND != 0 {
		uio.Offset = n.size
	}
	if uio.Offset < 0 {
		return unix.EINVAL
	}
	if uio.Offset+int64(uio.Resid) > MaxFileSize {
		return unix.EFBIG
	}
	if n.chunks == nil {
		n.chunks = map[int64][]byte{}
	}
	for uio.Resid > 0 {
		c, off := uio.Offset/rumpfsChunk, uio.Offset%rumpfsChunk
		b := n.chunks[c]
		if b == nil {
			b = make([]byte, rumpfsChunk)
			n.chunks[c] = b
			rfs(vp).nchunks.Add(1)
		}
		m, e := kernel.Uiomove(b[off:], uio)
		if e != 0 {
			return e
		}
		if uio.Offset > n.size {
			n.size = uio.Offset
		}
		if m == 0 {
			break
		}
	}
	now := vfs.Now()
	n.mtime, n.ctime = now, now
	return 0
}

func (rumpfsOps) Seek(l *kernel.LWP, vp *vfs.Vnode, off int64, whence int) (int64, unix.Errno) {
	n := rn(vp)
	if off < 0 || off >= n.size {
		return 0, unix.ENXIO
	}
	for c := off / rumpfsChunk; c*rumpfsChunk < n.size; c++ {
		_, data := n.chunks[c]
		pos := max(c*rumpfsChunk, off)
		if whence == unix.SEEK_DATA && data {
			return pos, 0
		}
		if whence == unix.SEEK_HOLE && !data {
			return pos, 0
		}
	}
	if whence == unix.SEEK_HOLE {
		return n.size, 0
	}
	return 0, unix.ENXIO
}

// foreign reports whether vp is not a rumpfs node (an etfs key): rumpfs
// cannot unlink, link or rename it.
func foreign(vp *vfs.Vnode) bool {
	_, ok := vp.Data.(*rnode)
	return !ok
}

func (rumpfsOps) Remove(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	if foreign(vp) {
		return unix.EOPNOTSUPP
	}
	d, n := rn(dvp), rn(vp)
	if n.typ == vfs.VDIR {
		return unix.EPERM
	}
	i, ok := d.names[cn.Name]
	if !ok || d.ents[i].node != n {
		return unix.ENOENT
	}
	d.removeEntry(cn.Name)
	now := vfs.Now()
	d.mtime, d.ctime = now, now
	n.nlink--
	n.ctime = now
	return 0
}

func (rumpfsOps) Link(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	if foreign(vp) {
		return unix.EXDEV
	}
	d, n := rn(dvp), rn(vp)
	if n.typ == vfs.VDIR {
		return unix.EPERM
	}
	if _, ok := d.names[cn.Name]; ok {
		return unix.EEXIST
	}
	if n.nlink == 0 {
		return unix.ENOENT
	}
	if n.nlink >= 32767 {
		return unix.EMLINK
	}
	d.addEntry(cn.Name, n)
	now := vfs.Now()
	d.mtime, d.ctime = now, now
	n.nlink++
	n.ctime = now
	return 0
}

func (rumpfsOps) Rmdir(l *kernel.LWP, dvp, vp *vfs.Vnode, cn *vfs.ComponentName) unix.Errno {
	if foreign(vp) {
		return unix.EOPNOTSUPP
	}
	d, n := rn(dvp), rn(vp)
	if n.typ != vfs.VDIR {
		return unix.ENOTDIR
	}
	if n.nents > 0 {
		return unix.ENOTEMPTY
	}
	i, ok := d.names[cn.Name]
	if !ok || d.ents[i].node != n {
		return unix.ENOENT
	}
	d.removeEntry(cn.Name)
	now := vfs.Now()
	d.nlink--
	d.mtime, d.ctime = now, now
	n.nlink = 0
	n.ctime = now
	return 0
}

func (rumpfsOps) Rename(l *kernel.LWP, fdvp, fvp *vfs.Vnode, fcn *vfs.ComponentName, tdvp, tvp *vfs.Vnode, tcn *vfs.ComponentName) unix.Errno {
	if foreign(fvp) || tvp != nil && foreign(tvp) {
		return unix.EXDEV
	}
	fd, f, td := rn(fdvp), rn(fvp), rn(tdvp)
	i, ok := fd.names[fcn.Name]
	if !ok || fd.ents[i].node != f {
		return unix.ENOENT
	}
	if len(tcn.Name) > vfs.NameMax {
		return unix.ENAMETOOLONG
	}
	now := vfs.Now()
	if tvp != nil {
		t := rn(tvp)
		j, ok := td.names[tcn.Name]
		if !ok || td.ents[j].node != t {
			return unix.ENOENT
		}
		if t.typ == vfs.VDIR {
			if t.nents > 0 {
				return unix.ENOTEMPTY
			}
			t.nlink = 0
			td.nlink--
		} else {
			t.nlink--
		}
		t.ctime = now
		td.removeEntry(tcn.Name)
	} else if _, exists := td.names[tcn.Name]; exists {
		return unix.EEXIST
	}
	fd.removeEntry(fcn.Name)
	td.addEntry(tcn.Name, f)
	if f.typ == vfs.VDIR && fd != td {
		f.parent = td
		fd.nlink--
		td.nlink++
	}
	fd.mtime, fd.ctime = now, now
	td.mtime, td.ctime = now, now
	f.ctime = now
	return 0
}

func (rumpfsOps) Exchange(l *kernel.LWP, fdvp, fvp *vfs.Vnode, fcn *vfs.ComponentName, tdvp, tvp *vfs.Vnode, tcn *vfs.ComponentName) unix.Errno {
	if foreign(fvp) || foreign(tvp) {
		return unix.EXDEV
	}
	fd, f, td, t := rn(fdvp), rn(fvp), rn(tdvp), rn(tvp)
	i, ok := fd.names[fcn.Name]
	j, ok2 := td.names[tcn.Name]
	if !ok || !ok2 || fd.ents[i].node != f || td.ents[j].node != t {
		return unix.ENOENT
	}
	if fd != td && f.typ != t.typ && (f.typ == vfs.VDIR && td.nlink >= 32767 || t.typ == vfs.VDIR && fd.nlink >= 32767) {
		return unix.EMLINK
	}
	fd.ents[i].node, td.ents[j].node = t, f
	if fd != td {
		for _, m := range [2]struct{ n, from, to *rnode }{{f, fd, td}, {t, td, fd}} {
			if m.n.typ == vfs.VDIR {
				m.n.parent = m.to
				m.from.nlink--
				m.to.nlink++
			}
		}
	}
	now := vfs.Now()
	fd.mtime, fd.ctime = now, now
	td.mtime, td.ctime = now, now
	f.ctime, t.ctime = now, now
	return 0
}

func (rumpfsOps) Readdir(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	n := rn(vp)
	if n.typ != vfs.VDIR {
		return true, unix.ENOTDIR
	}
	for {
		c := uio.Offset
		var ino uint64
		var name string
		var dt uint8
		switch {
		case c < 0:
			return true, unix.EINVAL
		case c == 0:
			ino, name, dt = n.ino, ".", unix.DT_DIR
		case c == 1:
			ino, name, dt = n.parent.ino, "..", unix.DT_DIR
		default:
			i := int(c - 2)
			for i < len(n.ents) && n.ents[i] == nil {
				i++
			}
			if i >= len(n.ents) {
				uio.Offset = int64(len(n.ents)) + 2
				return true, 0
			}
			e := n.ents[i]
			c = int64(i) + 2
			ino, name, dt = e.node.ino, e.name, e.node.typ.DT()
		}
		ok, e := vfs.EmitDirent(uio, ino, uint64(c+1), dt, name)
		if e != 0 {
			return false, e
		}
		if !ok {
			return false, 0
		}
	}
}

func (rumpfsOps) Readlink(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) unix.Errno {
	n := rn(vp)
	if n.typ != vfs.VLNK {
		return unix.EINVAL
	}
	_, e := kernel.Uiomove([]byte(n.target), uio)
	return e
}

func (rumpfsOps) Inactive(l *kernel.LWP, vp *vfs.Vnode) bool { return rn(vp).nlink == 0 }

func (rumpfsOps) Reclaim(l *kernel.LWP, vp *vfs.Vnode) unix.Errno {
	n := rn(vp)
	if n.nlink == 0 {
		fs := rfs(vp)
		fs.mu.Lock()
		delete(fs.nodes, n.ino)
		fs.mu.Unlock()
		fs.nchunks.Add(-int64(len(n.chunks)))
		n.chunks = nil
	}
	return 0
}

func (rumpfsOps) Getextattr(l *kernel.LWP, vp *vfs.Vnode, name string, uio *kernel.Uio) (int, unix.Errno) {
	v, ok := rn(vp).xattrs[name]
	if !ok {
		return 0, unix.ENODATA
	}
	return genfs.CopyOutXattr(v, uio)
}

func (rumpfsOps) Setextattr(l *kernel.LWP, vp *vfs.Vnode, name string, value []byte, flags int) unix.Errno {
	n := rn(vp)
	_, exists := n.xattrs[name]
	if flags&unix.XATTR_CREATE != 0 && exists {
		return unix.EEXIST
	}
	if flags&unix.XATTR_REPLACE != 0 && !exists {
		return unix.ENODATA
	}
	if strings.HasPrefix(name, "system.") && !l.Cred().IsRoot() {
		return unix.EPERM
	}
	if n.xattrs == nil {
		n.xattrs = map[string][]byte{}
	}
	n.xattrs[name] = append([]byte(nil), value...)
	n.ctime = vfs.Now()
	return 0
}

func (rumpfsOps) Listextattr(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio) (int, unix.Errno) {
	n := rn(vp)
	var list genfs.XattrNames
	for k := range n.xattrs {
		if vfs.XattrListable(l, k) {
			list.Add(k)
		}
	}
	if n.aclAccess != nil {
		list.Add(kernel.ACLAccessXattr)
	}
	if n.aclDefault != nil {
		list.Add(kernel.ACLDefaultXattr)
	}
	return list.CopyOut(uio)
}

// Getacl and Setacl keep POSIX ACLs in the node, parsed.
func (rumpfsOps) Getacl(l *kernel.LWP, vp *vfs.Vnode, t vfs.ACLType) (kernel.ACL, unix.Errno) {
	if t == vfs.ACLDefault {
		return rn(vp).aclDefault, 0
	}
	return rn(vp).aclAccess, 0
}

func (rumpfsOps) Setacl(l *kernel.LWP, vp *vfs.Vnode, t vfs.ACLType, acl kernel.ACL) unix.Errno {
	n := rn(vp)
	if t == vfs.ACLDefault {
		n.aclDefault = acl
	} else {
		n.aclAccess = acl
	}
	n.ctime = vfs.Now()
	return 0
}

func (rumpfsOps) Deleteextattr(l *kernel.LWP, vp *vfs.Vnode, name string) unix.Errno {
	n := rn(vp)
	if _, ok := n.xattrs[name]; !ok {
		return unix.ENODATA
	}
	delete(n.xattrs, name)
	n.ctime = vfs.Now()
	return 0
}

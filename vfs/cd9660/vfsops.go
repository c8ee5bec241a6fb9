package cd9660

import (
	"encoding/binary"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// The VFS glue (cd9660_vfsops.c): the "cd9660" type (alias iso9660), a
// read-only mount over an FS.

func init() {
	vfs.RegisterFSType(&vfs.FSType{
		Name: "cd9660", Aliases: []string{"iso9660"},
		NeedsDevice: true, ReadOnly: true, Mount: mountCD9660,
	})
}

type mount struct {
	fs *FS
	mp *vfs.Mount
}

var _ vfs.FileSystem = (*mount)(nil)

// mountCD9660 mounts args.Dev read-only (a read-write request is EROFS).
// Options: norrip ignores Rock Ridge, nojoliet the Joliet tree.
func mountCD9660(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
	k := mp.Kernel()
	if args.Dev == nil {
		return nil, unix.ENOTBLK
	}
	if args.Flags&vfs.MNT_RDONLY == 0 {
		k.Warnf("cd9660: %s: ISO 9660 is read-only; mount with -o ro", args.Source)
		return nil, unix.EROFS
	}
	_, norrip := args.Options["norrip"]
	_, nojoliet := args.Options["nojoliet"]
	logf := kernel.NewRatelog(k, "cd9660: "+args.Source).Printf // corrupt adds the prefix
	f, e := Open(l, args.Dev, Options{Name: args.Source, Logf: logf, NoRockRidge: norrip, NoJoliet: nojoliet, Cache: mp.VFS().Bufcache})
	if e != 0 {
		return nil, e
	}
	m := &mount{fs: f, mp: mp}
	mp.Data = m
	return m, 0
}

func (m *mount) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno) {
	vp, e := m.mp.Vget(l, m.fs.rootIno)
	if e != 0 {
		return nil, e
	}
	if vp.Type != vfs.VDIR {
		vfs.Vrele(l, vp)
		return nil, m.fs.corrupt("root is not a directory")
	}
	return vp, 0
}

func (m *mount) Statvfs(l *kernel.LWP, s *vfs.Statvfs) unix.Errno {
	s.Bsize = uint64(m.fs.bs)
	s.Frsize = uint64(m.fs.bs)
	s.Iosize = uint64(m.fs.bs)
	s.Blocks = uint64(m.fs.vd.Blocks)
	s.Namemax = 255
	return 0
}

func (m *mount) Sync(l *kernel.LWP, wait bool) unix.Errno { return 0 }
func (m *mount) Unmount(l *kernel.LWP, flags int) unix.Errno {
	m.fs.Close()
	return 0
}

func (m *mount) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	n, e := m.fs.load(l, ino)
	if e != 0 {
		return e
	}
	vp.Type = vfs.VTypeFromMode(n.mode)
	if vp.Type == vfs.VNON {
		return m.fs.corrupt("inode %d: bad file type (mode %#o)", ino, n.mode)
	}
	if vp.Type == vfs.VBLK || vp.Type == vfs.VCHR {
		vp.Rdev = n.rdev
	}
	vp.Data = n
	vp.SetOps(vnodeOps{})
	return 0
}

// File handles: the inode number, little-endian.
func (m *mount) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	return binary.LittleEndian.AppendUint64(nil, vp.Data.(*node).ino), 0
}

// FHToVP returns the vnode of a handle; one that does not name a record
// is ESTALE.
func (m *mount) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	if len(fh) != 8 {
		return nil, unix.EINVAL
	}
	vp, e := m.mp.Vget(l, binary.LittleEndian.Uint64(fh))
	if e == unix.ENOENT || e == unix.EIO {
		e = unix.ESTALE
	}
	return vp, e
}

package ext2fs

import (
	"encoding/binary"
	"errors"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// The VFS glue (ext2fs_vfsops.c): the "ext2fs" file system type (aliases
// ext2, ext3, ext4), a read-only mount over an FS, and vnode loading.

func init() {
	vfs.RegisterFSType(&vfs.FSType{
		Name: "ext2fs", Aliases: []string{"ext2", "ext3", "ext4"},
		NeedsDevice: true, ReadOnly: true, Mount: mountExt2fs,
	})
}

// mount is a mounted ext2/3/4 file system: the vfs.FileSystem.
type mount struct {
	fs  *FS
	mp  *vfs.Mount
	k   *kernel.Kernel
	src string
}

var _ vfs.FileSystem = (*mount)(nil)

// mountExt2fs mounts the file system on args.Dev read-only. A read-write
// request is refused (EROFS) until write support exists; unsupported
// features refuse the mount with EINVAL and a message naming them.
// Options: norecovery (or noload) skips journal replay; journal_path=PATH
// names the block device holding the external journal (a path in the
// kernel's namespace, such as an etfs key), needed to replay a file
// system whose journal is external.
func mountExt2fs(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
	k := mp.Kernel()
	if args.Dev == nil {
		return nil, unix.ENOTBLK
	}
	src := args.Source
	if args.Flags&vfs.MNT_RDONLY == 0 {
		k.Warnf("ext2fs: %s: write support not built yet; mount read-only (-o ro)", src)
		return nil, unix.EROFS
	}
	// Problem lines are rate-limited (kernel.Ratelog): a damaged image
	// walked by find floods neither the terminal nor dmesg.
	logf := kernel.NewRatelog(k, "ext2fs: "+src).Printf
	_, norecovery := args.Options["norecovery"]
	if _, ok := args.Options["noload"]; ok {
		norecovery = true
	}
	var jdev bio.Device
	if path, ok := args.Options["journal_path"]; ok {
		var e unix.Errno
		if jdev, e = journalDevice(l, path); e != 0 {
			k.Warnf("ext2fs: %s: journal_path=%s: %v", src, path, journalDeviceError(e))
			return nil, e
		}
	}
	f, err := Open(l, args.Dev, Options{Name: src, Logf: logf, NoRecovery: norecovery, JournalDev: jdev, Cache: mp.VFS().Bufcache})
	if err != nil {
		// Open logged the reason already.
		var oe *Error
		if errors.As(err, &oe) {
			return nil, oe.Errno
		}
		k.Warnf("ext2fs: %s: %v", src, err)
		return nil, kernel.ToErrno(err)
	}
	if norecovery && f.sb.FeatureIncompat&disk.IncompatRecover != 0 {
		k.Warnf("ext2fs: %s: journal needs recovery; not replayed (norecovery): the view may be inconsistent", src)
	}
	m := &mount{fs: f, mp: mp, k: k, src: src}
	mp.Data = m
	return m, 0
}

// journalDevice returns the block device at path in the kernel's
// namespace (mount -o journal_path=PATH).
func journalDevice(l *kernel.LWP, path string) (bio.Device, unix.Errno) {
	if path == "" {
		return nil, unix.EINVAL
	}
	res, e := vfs.Namei(l, nil, path, vfs.LOOKUP, vfs.Follow)
	if e != 0 {
		return nil, e
	}
	t, rdev := res.Vp.Type, res.Vp.Rdev
	res.Release(l)
	if t != vfs.VBLK {
		return nil, unix.ENOTBLK
	}
	dev := vfs.Of(l.Kernel()).Device(rdev)
	if dev == nil {
		return nil, unix.ENXIO
	}
	return dev, 0
}

// journalDeviceError explains journalDevice's errors.
func journalDeviceError(e unix.Errno) string {
	switch e {
	case unix.EINVAL:
		return "want the path of the external journal's block device"
	case unix.ENOTBLK:
		return "not a block device"
	case unix.ENXIO:
		return "no device attached to it"
	}
	return e.Error()
}

func (m *mount) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno) {
	vp, e := m.mp.Vget(l, disk.RootIno)
	if e != 0 {
		return nil, e
	}
	if vp.Type != vfs.VDIR {
		vfs.Vrele(l, vp)
		return nil, m.fs.corrupt("root inode is not a directory")
	}
	return vp, 0
}

// Statvfs reports the counts as Linux does: free blocks and inodes summed
// over the group descriptors (the superblock's copies are only updated at
// unmount), available blocks less the reserved ones.
func (m *mount) Statvfs(l *kernel.LWP, s *vfs.Statvfs) unix.Errno {
	f := m.fs
	sb := f.sb
	var bfree, ffree uint64
	for i := range f.groups {
		bfree += uint64(f.groups[i].FreeBlocksCount)
		ffree += uint64(f.groups[i].FreeInodesCount)
	}
	bfree = min(bfree, sb.BlocksCount)
	ffree = min(ffree, uint64(sb.InodesCount))
	s.Bsize = uint64(f.bsize)
	s.Frsize = uint64(f.bsize)
	s.Iosize = uint64(f.bsize)
	s.Blocks = sb.BlocksCount
	s.Bfree = bfree
	if bfree > sb.RBlocksCount {
		s.Bavail = bfree - sb.RBlocksCount
	}
	s.Files = uint64(sb.InodesCount)
	s.Ffree = ffree
	s.Favail = ffree
	s.Namemax = disk.NameMax
	return 0
}

// Sync has nothing to write: the image is never written.
func (m *mount) Sync(l *kernel.LWP, wait bool) unix.Errno { return 0 }

// Unmount has nothing to flush: it gives the buffer cache back the
// device's blocks.
func (m *mount) Unmount(l *kernel.LWP, flags int) unix.Errno {
	m.fs.Close()
	return 0
}

// LoadVnode reads inode ino into vp. An inode not in use is ENOENT; the
// callers that followed a directory entry turn that into EIO.
func (m *mount) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	if ino == 0 || ino > uint64(m.fs.sb.InodesCount) {
		return unix.ENOENT
	}
	ip, e := m.fs.Inode(l, uint32(ino))
	if e == unix.ESTALE {
		return unix.ENOENT
	}
	if e != 0 {
		return e
	}
	t := vfs.VTypeFromMode(uint32(ip.Mode))
	if t == vfs.VNON {
		return m.fs.corrupt("inode %d: bad file type (mode %#o)", ino, ip.Mode)
	}
	vp.Type = t
	if t == vfs.VBLK || t == vfs.VCHR {
		maj, min := ip.Rdev()
		vp.Rdev = unix.Mkdev(maj, min)
	}
	vp.Data = ip.node
	vp.SetOps(vnodeOps{})
	return 0
}

// File handles: the inode number and its generation, little-endian.
const fhSize = 8

func (m *mount) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	ip := vip(vp)
	fh := make([]byte, fhSize)
	binary.LittleEndian.PutUint32(fh, ip.Ino)
	binary.LittleEndian.PutUint32(fh[4:], ip.Generation)
	return fh, 0
}

// FHToVP returns the vnode of a file handle: ESTALE when the inode is no
// longer in use or was reused (another generation).
func (m *mount) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	if len(fh) != fhSize {
		return nil, unix.EINVAL
	}
	ino := binary.LittleEndian.Uint32(fh)
	if ino == 0 || ino > m.fs.sb.InodesCount {
		return nil, unix.ESTALE
	}
	ip, e := m.fs.Inode(l, ino)
	if e != 0 {
		return nil, e
	}
	if ip.Generation != binary.LittleEndian.Uint32(fh[4:]) {
		return nil, unix.ESTALE
	}
	vp, e := m.mp.Vget(l, uint64(ino))
	if e == unix.ENOENT {
		e = unix.ESTALE
	}
	return vp, e
}

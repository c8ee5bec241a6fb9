package msdosfs

import (
	"strconv"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/msdosfs/disk"
	"golang.org/x/sys/unix"
)

// The VFS glue (msdosfs_vfsops.c): the "msdos" type (aliases vfat, fat),
// a read-only mount, vnode loading.

func init() {
	vfs.RegisterFSType(&vfs.FSType{
		Name: "msdos", Aliases: []string{"vfat", "fat"},
		NeedsDevice: true, ReadOnly: true, Mount: mountMsdos,
	})
}

type mount struct {
	fs *FS
	mp *vfs.Mount
}

var _ vfs.FileSystem = (*mount)(nil)

// mountMsdos mounts args.Dev read-only (a read-write request is EROFS
// until writes exist). Options: uid=, gid=, umask=, dmask=, fmask=
// (octal), time_offset= (minutes east of UTC the times were written in).
func mountMsdos(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
	k := mp.Kernel()
	if args.Dev == nil {
		return nil, unix.ENOTBLK
	}
	src := args.Source
	if args.Flags&vfs.MNT_RDONLY == 0 {
		k.Warnf("msdos: %s: write support not built yet; mount read-only (-o ro)", src)
		return nil, unix.EROFS
	}
	f := &FS{dev: args.Dev, logf: kernel.NewRatelog(k, "msdos: "+src).Printf, loc: time.UTC}
	f.uid, f.gid = l.Cred().Uid(), l.Cred().Gid()
	umask := uint32(0o022)
	opt := func(name string, base int, bits int, dst *uint32) bool {
		s, ok := args.Options[name]
		if !ok {
			return true
		}
		v, err := strconv.ParseUint(s, base, bits)
		if err != nil {
			k.Warnf("msdos: %s: bad option %s=%s", src, name, s)
			return false
		}
		*dst = uint32(v)
		return true
	}
	var off uint32
	ok := opt("uid", 10, 32, &f.uid) && opt("gid", 10, 32, &f.gid) && opt("umask", 8, 9, &umask)
	f.fmask, f.dmask = umask, umask
	ok = ok && opt("fmask", 8, 9, &f.fmask) && opt("dmask", 8, 9, &f.dmask)
	if s, has := args.Options["time_offset"]; ok && has {
		m, err := strconv.ParseInt(s, 10, 32)
		if err != nil || m < -24*60 || m > 24*60 {
			k.Warnf("msdos: %s: bad option time_offset=%s (minutes, -1440..1440)", src, s)
			ok = false
		}
		off = uint32(m)
		f.loc = time.FixedZone("", int(int32(off))*60)
	}
	if !ok {
		return nil, unix.EINVAL
	}
	raw := make([]byte, 4096)
	if n, e := args.Dev.ReadAt(l, raw, 0); e != 0 || n < disk.BootSectorSize {
		k.Warnf("msdos: %s: cannot read the boot sector", src)
		return nil, unix.EIO
	}
	bpb, err := disk.ParseBPB(raw, args.Dev.Size())
	if err != nil {
		k.Warnf("msdos: %s: not a FAT file system: %v", src, err)
		return nil, unix.EINVAL
	}
	f.bpb = bpb
	f.bdev = mp.VFS().Bufcache.Attach(args.Dev, src)
	m := &mount{fs: f, mp: mp}
	mp.Data = m
	return m, 0
}

func (m *mount) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno) { return m.mp.Vget(l, RootIno) }

func (m *mount) Statvfs(l *kernel.LWP, s *vfs.Statvfs) unix.Errno {
	p := m.fs.bpb
	free, e := m.fs.freeClusters(l)
	if e != 0 {
		return e
	}
	s.Bsize = uint64(p.ClusterBytes)
	s.Frsize = uint64(p.ClusterBytes)
	s.Iosize = uint64(p.ClusterBytes)
	s.Blocks = uint64(p.Clusters)
	s.Bfree, s.Bavail = free, free
	s.Namemax = 255
	return 0
}

// Sync has nothing to write: the image is never written.
func (m *mount) Sync(l *kernel.LWP, wait bool) unix.Errno { return 0 }

func (m *mount) Unmount(l *kernel.LWP, flags int) unix.Errno {
	m.fs.bdev.Detach()
	return 0
}

func (m *mount) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	n, e := m.fs.load(l, ino)
	if e != 0 {
		return e
	}
	if n.isDir() {
		if e := m.fs.countSubdirs(l, n); e != 0 {
			return e
		}
		vp.Type = vfs.VDIR
	} else {
		vp.Type = vfs.VREG
	}
	vp.Data = n
	vp.SetOps(vnodeOps{})
	return 0
}

// File handles are not offered yet: a number is an entry's place, which
// a handle could not check after the entry was reused.
func (m *mount) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}

func (m *mount) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}

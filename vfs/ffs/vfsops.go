package ffs

import (
	"encoding/binary"
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"math/rand/v2"
	"strings"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// The VFS glue (ffs_vfsops.c): the "ffs" file system type, mount with the
// clean-flag rules, sync and unmount writing the summaries and the
// superblock back, and vnode loading.

func init() {
	vfs.RegisterFSType(&vfs.FSType{Name: "ffs", Aliases: []string{"ufs"}, NeedsDevice: true, Requires: []string{"ufs"}, Mount: mountFFS})
}

// bioMeta reads metadata through the buffer cache.
type bioMeta struct {
	dev   *bio.Dev
	shift int32 // fsbtodb
}

func (m *bioMeta) ReadMeta(l *kernel.LWP, fsb int64, size int, fn func([]byte)) unix.Errno {
	b, e := m.dev.Bread(l, fsb<<m.shift, size)
	if e != 0 {
		return e
	}
	fn(b.Data)
	b.Brelse()
	return 0
}

// mountFS is a mounted FFS: the vfs.FileSystem.
type mountFS struct {
	fs *FS
}

func vnow() vfs.Timespec { return vfs.Now() }

func mountFFS(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
	k := mp.Kernel()
	dev := args.Dev
	if dev == nil {
		return nil, unix.ENOTBLK
	}
	ronly := args.Flags&vfs.MNT_RDONLY != 0 || dev.ReadOnly()
	bdev := mp.VFS().Bufcache.Attach(dev, args.Source)
	src := args.Source
	// Problem lines are rate-limited (kernel.Ratelog, as in ext2fs).
	rl := kernel.NewRatelog(k, "ffs: "+src)
	fs, err := open(l, dev, bdev, Options{Logf: func(format string, a ...any) {
		rl.Printf("ffs: %s: %s", src, fmt.Sprintf(format, a...))
	}})
	if err != nil {
		bdev.Detach()
		// The reason, in dmesg (the command prints it with its
		// error), without the errno the error ends in.
		e := kernel.ToErrno(err)
		why := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "ffs: "), ": "+e.Error())
		k.Printf("ffs: %s: %s", src, why)
		return nil, e
	}
	fs.bdev, fs.k, fs.src = bdev, k, src
	logf := fs.M.Logf
	fs.M.Logf = func(format string, a ...any) {
		fs.sawCorrupt.Store(true)
		logf(format, a...)
	}
	sb := fs.SB
	why := ""
	switch {
	case sb.Flags&disk.FlagWAPBL != 0 && !sb.IsClean():
		why = "it has a WAPBL journal that needs replaying"
	case sb.Flags&disk.FlagWAPBL != 0:
		why = "it has a WAPBL journal, which this driver does not keep"
	case !sb.IsClean():
		why = "it was not cleanly unmounted (run fsck)"
	}
	if why != "" {
		if !ronly {
			k.Warnf("ffs: %s: refusing a read-write mount: %s; mount it read-only", src, why)
			bdev.Detach()
			return nil, unix.EROFS
		}
		k.Warnf("ffs: %s: %s; mounted read-only", src, why)
	}
	fs.ronly = ronly
	if !ronly {
		// Mark the file system in use on disk until a clean unmount.
		sb.Clean = 0
		if e := fs.writeSuper(l, true); e != 0 {
			bdev.Detach()
			return nil, e
		}
		if e := bdev.Sync(l, true); e != 0 {
			bdev.Detach()
			return nil, e
		}
	}
	mfs := &mountFS{fs: fs}
	fs.mp = mp
	mp.Data = fs
	return mfs, 0
}

// writeSuper writes the summary array and the superblock into the cache
// (and through to the device with now). Callers hold allocMu or are
// alone.
func (fs *FS) writeSuper(l *kernel.LWP, now bool) unix.Errno {
	sb := fs.SB
	bo := sb.Order
	// Summary area, in block-sized buffers.
	size := (int(sb.CSSize) + int(sb.FSize) - 1) &^ (int(sb.FSize) - 1)
	for off := 0; off < size; off += int(sb.BSize) {
		n := min(int(sb.BSize), size-off)
		b, e := fs.bdev.Bread(l, sb.CSAddr<<sb.FSBToDB+int64(off>>9), n)
		if e != 0 {
			return e
		}
		for i := off / disk.CSumSize; i < len(fs.CS) && (i+1)*disk.CSumSize <= off+n; i++ {
			disk.EncodeCSum(bo, b.Data, i-off/disk.CSumSize, fs.CS[i])
		}
		if now {
			if e := b.Bwrite(l); e != 0 {
				return e
			}
		} else {
			b.Bdwrite()
		}
	}
	r := sb.Raw
	sb.Time = vnow().Sec
	sb.Fmod = 0
	sb.Ronly = 0
	if fs.ronly {
		sb.Ronly = 1
	}
	sb.Encode(r)
	n := (len(r) + 511) &^ 511
	b, e := fs.bdev.Bread(l, sb.Location>>9, n)
	if e != 0 {
		return e
	}
	copy(b.Data, r)
	if now {
		return b.Bwrite(l)
	}
	b.Bdwrite()
	return 0
}

func (m *mountFS) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno) {
	vp, e := m.fs.mp.Vget(l, ufs.RootIno)
	if e == 0 && vp.Type != vfs.VDIR {
		vfs.Vrele(l, vp)
		return nil, m.fs.corrupt("root inode is not a directory")
	}
	return vp, e
}

func (m *mountFS) Statvfs(l *kernel.LWP, s *vfs.Statvfs) unix.Errno {
	fs := m.fs
	fs.allocMu.Enter(l)
	st := fs.Statfs()
	fs.allocMu.Exit()
	s.Bsize = uint64(st.BSize)
	s.Frsize = uint64(st.FSize)
	s.Iosize = uint64(st.BSize)
	s.Blocks = uint64(st.Blocks)
	s.Bfree = uint64(st.BFree)
	s.Bavail = uint64(max(st.BAvail, 0))
	s.Files = uint64(st.Files)
	s.Ffree = uint64(st.FilesFree)
	s.Favail = uint64(st.FilesFree)
	s.Namemax = ufs.MaxNameLen
	return 0
}

// Sync writes the summaries and superblock into the cache, then every
// dirty buffer of the device.
func (m *mountFS) Sync(l *kernel.LWP, wait bool) unix.Errno {
	return m.fs.sync(l, wait)
}

func (fs *FS) sync(l *kernel.LWP, wait bool) unix.Errno {
	if fs.ronly {
		return 0
	}
	fs.allocMu.Enter(l)
	e := fs.writeSuper(l, false)
	fs.allocMu.Exit()
	if e2 := fs.bdev.Sync(l, wait); e == 0 {
		e = e2
	}
	return e
}

// Unmount marks the file system clean (unless corruption was seen while
// it was mounted) and flushes and forgets its buffers.
func (m *mountFS) Unmount(l *kernel.LWP, flags int) unix.Errno {
	fs := m.fs
	var e unix.Errno
	if !fs.ronly {
		fs.allocMu.Enter(l)
		if !fs.sawCorrupt.Load() {
			fs.SB.Clean = disk.CleanIsClean
		} else {
			fs.k.Warnf("ffs: %s: corruption was found while mounted; left marked unclean", fs.src)
		}
		e = fs.writeSuper(l, false)
		fs.allocMu.Exit()
		if e2 := fs.bdev.Flush(l); e == 0 {
			e = e2
		}
	}
	fs.bdev.Detach()
	return e
}

func (m *mountFS) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	fs := m.fs
	if ino < ufs.RootIno || ino > fs.M.MaxIno {
		return fs.corrupt("inode number %d out of range", ino)
	}
	ip := &inode{Inode: ufs.Inode{M: fs.M, Number: ino}, fs: fs}
	if e := fs.readDinode(l, ino, &ip.Dinode); e != 0 {
		return e
	}
	t := vfs.VTypeFromMode(uint32(ip.Mode))
	if ip.Mode == 0 || t == vfs.VNON {
		return fs.corrupt("inode %d: not allocated or bad type (mode %#o)", ino, ip.Mode)
	}
	vp.Type = t
	if t == vfs.VBLK || t == vfs.VCHR {
		vp.Rdev = ip.Rdev()
	}
	vp.Data = ip
	vp.SetOps(ffsOps{})
	return 0
}

// File handles: inode number and generation.
func (m *mountFS) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	ip := vip(vp)
	fh := make([]byte, 12)
	binary.LittleEndian.PutUint64(fh, ip.Number)
	binary.LittleEndian.PutUint32(fh[8:], uint32(ip.Gen))
	return fh, 0
}

func (m *mountFS) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	if len(fh) != 12 {
		return nil, unix.EINVAL
	}
	ino := binary.LittleEndian.Uint64(fh)
	if ino < ufs.RootIno || ino > m.fs.M.MaxIno {
		return nil, unix.ESTALE
	}
	ip, e := m.fs.inode(l, ino)
	if e != 0 {
		return nil, e
	}
	if ip.Mode == 0 || uint32(ip.Gen) != binary.LittleEndian.Uint32(fh[8:]) {
		return nil, unix.ESTALE
	}
	return m.fs.mp.Vget(l, ino)
}

// iupdate writes ip's dinode into its inode block (ffs_update); the block
// reaches the device with the next sync.
func (fs *FS) iupdate(l *kernel.LWP, ip *ufs.Inode) unix.Errno {
	sb := fs.SB
	b, e := fs.bdev.Bread(l, sb.InoToFsba(ip.Number)<<sb.FSBToDB, int(sb.BSize))
	if e != 0 {
		return e
	}
	size := sb.DinodeSize()
	off := sb.InoToFsbo(ip.Number) * size
	ip.Dinode.Marshal(b.Data[off:off+size], sb.Order)
	b.Bdwrite()
	return 0
}

// newGen is a fresh inode generation.
func newGen(old int32) int32 {
	g := old + 1 + int32(rand.IntN(1000))
	if g == 0 {
		g = 1
	}
	return g
}

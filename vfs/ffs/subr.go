package ffs

import (
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// openCacheBytes bounds the buffer cache of an FS from Open (no kernel):
// the checker's memory beyond its per-inode table.
const openCacheBytes = 8 << 20

// Options tune Open.
type Options struct {
	// Logf receives one line per corruption found while reading (the
	// kernel's Printf, for dmesg). Nil discards.
	Logf func(format string, args ...any)
}

// FS is an opened FFS file system (the read side of ffs_mountfs): the
// superblock, the summary array and the shared ufs.Mount that inode and
// directory code read through.
type FS struct {
	SB  *Superblock
	CS  []CSum // per-group summaries from the summary area (fs_csp)
	M   *ufs.Mount
	dev bio.Device

	// Set when mounted (vfsops.go).
	mp         *vfs.Mount
	k          *kernel.Kernel
	bdev       *bio.Dev
	src        string
	ronly      bool
	sawCorrupt atomic.Bool
	// allocMu serialises changes to the cylinder group maps, the summary
	// array CS and the superblock totals.
	allocMu kernel.Mutex
	// cgVerified marks the groups whose counts were checked against
	// their maps in this mount (openCG); under allocMu.
	cgVerified []bool
}

// Open finds and checks the superblock of dev at every standard offset,
// reads the cylinder group summary area, and returns the file system.
// A device with no superblock magic anywhere is EINVAL ("not FFS"); one
// with a magic but a broken superblock or summary is EIO. Errors carry a
// message and unwrap to a unix.Errno (kernel.ToErrno).
// Metadata is read through a buffer cache of its own, bounded to
// openCacheBytes.
func Open(l *kernel.LWP, dev bio.Device, opts Options) (*FS, error) {
	return open(l, dev, nil, opts)
}

// open is Open reading metadata through bdev (the mount's, attached to
// the kernel's buffer cache), or through a private cache when bdev is nil.
func open(l *kernel.LWP, dev bio.Device, bdev *bio.Dev, opts Options) (*FS, error) {
	sb, err := FindSuperblock(l, dev)
	if err != nil {
		return nil, err
	}
	if end := sb.Size << sb.FShift; end > dev.Size() {
		return nil, fmt.Errorf("ffs: file system of %d bytes on a device of %d: %w", end, dev.Size(), unix.EIO)
	}
	fs := &FS{SB: sb, dev: dev}
	if bdev == nil {
		bdev = bio.NewCache(nil, openCacheBytes).Attach(dev, "ffs")
	}
	meta := &bioMeta{dev: bdev, shift: sb.FSBToDB}
	fs.M = &ufs.Mount{
		Dev:           dev,
		Meta:          meta,
		Order:         sb.Order,
		UFS2:          sb.UFS2,
		OldDirFmt:     sb.OldDirFmt(),
		BSize:         int(sb.BSize),
		FSize:         int(sb.FSize),
		BShift:        uint(sb.BShift),
		FShift:        uint(sb.FShift),
		NIndir:        int(sb.NIndir),
		MaxSymlinkLen: int(sb.MaxSymLink),
		NFrags:        sb.Size,
		MaxIno:        uint64(sb.NInodes() - 1),
		MaxFileSize:   sb.MaxFileSize(),
		Logf:          opts.Logf,
	}
	if fs.CS, err = fs.readSummary(l); err != nil {
		return nil, err
	}
	return fs, nil
}

// FindSuperblock searches disk.SBlockSearch for a valid superblock. When a
// magic was found but nothing valid, the error is the first reason (EIO).
func FindSuperblock(l *kernel.LWP, dev bio.Device) (*Superblock, error) {
	var first error
	buf := make([]byte, disk.SBlockSize)
	for _, loc := range disk.SBlockSearch {
		if loc+disk.SBlockSize > dev.Size() {
			continue
		}
		n, e := dev.ReadAt(l, buf, loc)
		if e != 0 {
			return nil, fmt.Errorf("ffs: reading superblock at %d: %w", loc, e)
		}
		if n != disk.SBlockSize {
			continue
		}
		if _, _, ok := disk.FindMagic(buf); !ok {
			continue
		}
		sb, err := disk.ParseSuperblock(buf, loc)
		if err == nil {
			return sb, nil
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, fmt.Errorf("ffs: %v: %w", first, unix.EIO)
	}
	return nil, fmt.Errorf("ffs: no superblock found: %w", unix.EINVAL)
}

// readSummary reads the per-group summary array (fs_csaddr, fs_cssize).
func (fs *FS) readSummary(l *kernel.LWP) ([]CSum, error) {
	sb := fs.SB
	size := (int(sb.CSSize) + int(sb.FSize) - 1) &^ (int(sb.FSize) - 1)
	b := make([]byte, size)
	n, e := fs.dev.ReadAt(l, b, sb.CSAddr<<sb.FShift)
	if e != 0 || n != size {
		return nil, fmt.Errorf("ffs: reading summary area at fragment %d: %w", sb.CSAddr, unix.EIO)
	}
	cs := make([]CSum, sb.NCG)
	for i := range cs {
		cs[i] = disk.DecodeCSum(sb.Order, b, i)
	}
	return cs, nil
}

// Inode reads inode ino (ffs_loadvnode's read): numbers outside the file
// system are EINVAL for 0 and 1 (never files) and ESTALE past the end.
func (fs *FS) Inode(l *kernel.LWP, ino uint64) (*ufs.Inode, unix.Errno) {
	if ino < ufs.RootIno {
		return nil, unix.EINVAL
	}
	if ino > fs.M.MaxIno {
		return nil, unix.ESTALE
	}
	return fs.inode(l, ino)
}

// inode reads any inode slot, 0 and 1 included (for the checker).
func (fs *FS) inode(l *kernel.LWP, ino uint64) (*ufs.Inode, unix.Errno) {
	ip := &ufs.Inode{M: fs.M, Number: ino}
	if e := fs.readDinode(l, ino, &ip.Dinode); e != 0 {
		return nil, e
	}
	return ip, 0
}

// readDinode reads inode ino's dinode into d, in place: a vnode being
// loaded parses straight into the inode it keeps.
func (fs *FS) readDinode(l *kernel.LWP, ino uint64, d *ufs.Dinode) unix.Errno {
	sb := fs.SB
	size := sb.DinodeSize()
	off := sb.InoToFsbo(ino) * size
	var perr error
	err := fs.M.Meta.ReadMeta(l, sb.InoToFsba(ino), int(sb.BSize), func(b []byte) {
		*d, perr = ufs.ParseDinode(b[off:off+size], sb.Order, sb.UFS2)
	})
	if err != 0 {
		return err
	}
	if perr != nil {
		return fs.corrupt("inode %d: %v", ino, perr)
	}
	return 0
}

// Root reads the root directory inode.
func (fs *FS) Root(l *kernel.LWP) (*ufs.Inode, unix.Errno) {
	ip, err := fs.Inode(l, ufs.RootIno)
	if err == 0 && ip.Type() != ufs.IFDIR {
		return nil, fs.corrupt("root inode is not a directory (mode %#o)", ip.Mode)
	}
	return ip, err
}

// CG reads and checks cylinder group c.
func (fs *FS) CG(l *kernel.LWP, c int64) (*CG, unix.Errno) {
	if c < 0 || c >= int64(fs.SB.NCG) {
		return nil, unix.EINVAL
	}
	var cg *CG
	var perr error
	err := fs.M.Meta.ReadMeta(l, fs.SB.CGTod(c), int(fs.SB.CGSize), func(b []byte) {
		cg, perr = disk.ParseCG(b, fs.SB, c)
	})
	if err != 0 {
		return nil, err
	}
	if perr != nil {
		return nil, fs.corrupt("%v", perr)
	}
	return cg, 0
}

func (fs *FS) corrupt(format string, args ...any) unix.Errno {
	if fs.M.Logf != nil {
		fs.M.Logf(format, args...)
	}
	return unix.EIO
}

// corruptRO is corrupt for damage found by a writer about to change
// allocation metadata: the mount turns read-only (as after a contained
// panic) so that nothing builds on the bad structure, and the one line
// says so. What this mount wrote before stays consistent and is flushed
// at unmount, with the file system left marked unclean.
func (fs *FS) corruptRO(format string, args ...any) unix.Errno {
	if fs.mp == nil || fs.mp.ReadOnly() {
		return fs.corrupt(format, args...)
	}
	fs.mp.SetReadOnly()
	return fs.corrupt("%s; mount made read-only", fmt.Sprintf(format, args...))
}

// Statfs is what statvfs reports, in fragments and inodes.
type Statfs struct {
	BSize, FSize       int64
	Blocks             int64 // data fragments (fs_dsize)
	BFree              int64 // free fragments
	BAvail             int64 // free fragments minus the minfree reserve
	Files, FilesFree   int64
	NameMax            int
	Clean, WAPBL, UFS2 bool
	VolName            string
}

// Statfs summarises the superblock's totals (ffs_statvfs).
func (fs *FS) Statfs() Statfs {
	sb := fs.SB
	free := sb.CSTotal.NBFree<<sb.FragShift + sb.CSTotal.NFFree
	avail := free - sb.DSize*int64(sb.MinFree)/100
	return Statfs{
		BSize: int64(sb.BSize), FSize: int64(sb.FSize),
		Blocks: sb.DSize, BFree: free, BAvail: avail,
		Files: sb.NInodes() - ufs.RootIno, FilesFree: sb.CSTotal.NIFree,
		NameMax: ufs.MaxNameLen,
		Clean:   sb.IsClean(), WAPBL: sb.Flags&disk.FlagWAPBL != 0, UFS2: sb.UFS2,
		VolName: sb.VolName,
	}
}

// The on-disk structures are package disk's; the driver keeps their
// names.
type (
	Superblock = disk.Superblock
	CG         = disk.CG
	CSum       = disk.CSum
)

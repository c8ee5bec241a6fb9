package ext2fs

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// Options tune Open.
type Options struct {
	// Name identifies the device in messages (the image path).
	Name string
	// Logf receives one line per problem found (the kernel's dmesg in
	// the VFS glue). Nil discards them.
	Logf func(format string, args ...any)
	// NoRecovery skips journal replay even when the journal needs it
	// (mount -o norecovery): the view is then the image as it is.
	NoRecovery bool
	// JournalDev is the external journal device (mount -o
	// journal_path): needed to replay a file system whose journal is
	// external, and checked against it whenever given. Only read.
	JournalDev bio.Device
	// Cache is the buffer cache metadata is read through (the kernel's,
	// under the VFS). Nil gives the FS a small cache of its own.
	Cache *bio.Cache
}

// FS is an open ext2/3/4 file system, read-only.
type FS struct {
	sb     *disk.Superblock
	sbRaw  []byte
	bd     *blockDev
	opts   Options
	bsize  int
	groups []group
	seed   uint32 // metadata_csum seed

	// Replayed is the number of journal blocks replayed at Open.
	Replayed int

	dirs dirTables // name tables and directories with a bad htree
	// dirReads counts directory blocks read (dirBlock): the work a
	// walk does, for tests.
	dirReads atomic.Uint64
}

type group struct {
	disk.GroupDesc
	bad error // descriptor checksum mismatch: the group's inodes give EIO
}

// Error is an Open failure: an errno and the reason, for the mount
// command to print. errors.As(err, &unix.Errno) finds the errno.
type Error struct {
	Errno unix.Errno
	Msg   string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Errno }

// Incompat features this reader understands; any other bit refuses the
// mount. needs_recovery is handled by journal replay.
const supportedIncompat = disk.IncompatFiletype | disk.IncompatRecover | disk.IncompatMetaBG |
	disk.IncompatExtents | disk.Incompat64bit | disk.IncompatMMP | disk.IncompatFlexBG |
	disk.IncompatEAInode | disk.IncompatCsumSeed | disk.IncompatLargedir | disk.IncompatInlineData

// Read-only-compatible features whose data this reader cannot present
// correctly: refused although they are ro_compat.
const refusedRoCompat = disk.RoCompatBigalloc | disk.RoCompatVerity

// Refuses says which features of sb make Open refuse the file system, ""
// if none; commands ask it to say so before mounting (rumpfs info).
func Refuses(sb *disk.Superblock) string {
	if bad := sb.FeatureIncompat &^ supportedIncompat; bad != 0 {
		return "unsupported incompatible features: " + strings.Join(disk.FeatureNames(bad, disk.IncompatNames, "I"), " ")
	}
	if bad := sb.FeatureRoCompat & refusedRoCompat; bad != 0 {
		return "unsupported features: " + strings.Join(disk.FeatureNames(bad, disk.RoCompatNames, "R"), " ")
	}
	return ""
}

// Open reads the superblock and group descriptors of the file system on
// dev, replays its journal into memory if it needs recovery, and checks
// the root directory. It refuses features it does not support, naming
// them.
func Open(l *kernel.LWP, dev bio.Device, opts Options) (_ *FS, err error) {
	fs := &FS{opts: opts}
	defer func() {
		if err != nil && fs.bd != nil {
			fs.bd.close()
		}
	}()
	fail := func(errno unix.Errno, format string, args ...any) error {
		msg := fs.prefix() + fmt.Sprintf(format, args...)
		fs.logf("%s", msg)
		return &Error{errno, msg}
	}
	if dev.Size() < disk.SuperblockOffset+disk.SuperblockSize {
		return nil, fail(unix.EINVAL, "device too small for a superblock (%d bytes)", dev.Size())
	}
	raw := make([]byte, disk.SuperblockSize)
	if e := pread(l, dev, raw, disk.SuperblockOffset); e != 0 {
		return nil, fail(e, "cannot read the superblock: %v", e)
	}
	if err := fs.loadSuperblock(raw); err != nil {
		return nil, fail(unix.EINVAL, "%v", err)
	}
	sb := fs.sb
	if why := Refuses(sb); why != "" {
		return nil, fail(unix.EINVAL, "%s", why)
	}
	if sb.BlocksCount > uint64(dev.Size())/uint64(fs.bsize) {
		return nil, fail(unix.EINVAL, "%d blocks of %d bytes exceed the device (%d bytes)",
			sb.BlocksCount, fs.bsize, dev.Size())
	}
	if dev.SectorSize() > fs.bsize {
		return nil, fail(unix.EINVAL, "block size %d below the device's sector size %d", fs.bsize, dev.SectorSize())
	}
	cache := opts.Cache
	if cache == nil {
		cache = bio.NewCache(nil, privateCacheBytes)
	}
	fs.bd = newBlockDev(cache, dev, fs.bsize, opts.Name)
	if err := fs.loadGroups(l); err != nil {
		return nil, fail(unix.EIO, "%v", err)
	}
	if !opts.NoRecovery {
		if err := fs.loadJournal(l); err != nil {
			return nil, err
		}
	}
	fs.bd.allowAsync()
	root, e := fs.Inode(l, disk.RootIno)
	if e != 0 {
		// A root inode not in use (ESTALE) is corruption too.
		return nil, fail(unix.EIO, "cannot read the root directory: %v", e)
	}
	if !root.IsDir() {
		return nil, fail(unix.EIO, "root inode is not a directory (mode %#o)", root.Mode)
	}
	return fs, nil
}

// Close gives the buffer cache back the blocks it holds of the device.
func (fs *FS) Close() { fs.bd.close() }

// loadSuperblock parses and verifies raw and sets the geometry.
func (fs *FS) loadSuperblock(raw []byte) error {
	sb, err := disk.ParseSuperblock(raw)
	if err != nil {
		return err
	}
	if err := sb.Verify(raw); err != nil {
		return err
	}
	fs.sb, fs.sbRaw, fs.bsize, fs.seed = sb, raw, sb.BlockSize(), sb.CsumSeed()
	return nil
}

// descBlock is the block holding descriptor block nr of the table
// (meta_bg spreads them over the groups they describe).
func (fs *FS) descBlock(nr uint64) uint64 {
	sb := fs.sb
	first := uint64(sb.FirstDataBlock)
	if sb.FeatureIncompat&disk.IncompatMetaBG == 0 || nr < uint64(sb.FirstMetaBG) {
		return first + 1 + nr
	}
	g := nr * uint64(fs.bsize/sb.GroupDescSize())
	b := first + g*uint64(sb.BlocksPerGroup)
	if fs.groupHasSuper(g) {
		b++
	}
	if fs.bsize == 1024 && nr == 0 && first == 0 {
		b++
	}
	return b
}

// groupHasSuper reports whether group g holds a superblock backup.
func (fs *FS) groupHasSuper(g uint64) bool {
	sb := fs.sb
	if g == 0 {
		return true
	}
	if sb.FeatureCompat&disk.CompatSparseSuper2 != 0 {
		return g == uint64(sb.BackupBGs[0]) || g == uint64(sb.BackupBGs[1])
	}
	if sb.FeatureRoCompat&disk.RoCompatSparseSuper == 0 || g == 1 {
		return true
	}
	if g&1 == 0 {
		return false
	}
	for _, base := range []uint64{3, 5, 7} {
		n := base
		for n < g {
			n *= base
		}
		if n == g {
			return true
		}
	}
	return false
}

// loadGroups reads every group descriptor. A descriptor whose checksum
// fails marks only its group bad.
func (fs *FS) loadGroups(l *kernel.LWP) error {
	sb := fs.sb
	n := sb.GroupCount()
	dsz := sb.GroupDescSize()
	perBlock := uint64(fs.bsize / dsz)
	fs.groups = make([]group, n)
	for g := uint64(0); g < uint64(n); g++ {
		blk := fs.descBlock(g / perBlock)
		if blk >= sb.BlocksCount {
			return fmt.Errorf("group descriptor block %d of group %d past the end", blk, g)
		}
		b, e := fs.bd.readMeta(l, blk)
		if e != 0 {
			return fmt.Errorf("cannot read group descriptor block %d: %v", blk, e)
		}
		raw := b[(g%perBlock)*uint64(dsz):][:dsz]
		gd, err := disk.ParseGroupDesc(raw)
		if err != nil {
			return err
		}
		fs.groups[g].GroupDesc = *gd
		if err := disk.VerifyGroupDesc(sb, uint32(g), raw, gd); err != nil {
			fs.groups[g].bad = err
			fs.logf("%s%v", fs.prefix(), err)
		}
	}
	return nil
}

func (fs *FS) prefix() string {
	if fs.opts.Name != "" {
		return "ext2fs " + fs.opts.Name + ": "
	}
	return "ext2fs: "
}

func (fs *FS) logf(format string, args ...any) {
	if fs.opts.Logf != nil {
		fs.opts.Logf(format, args...)
	}
}

// corrupt logs a damaged structure and returns EIO.
func (fs *FS) corrupt(format string, args ...any) unix.Errno {
	fs.logf("%s%s", fs.prefix(), fmt.Sprintf(format, args...))
	return unix.EIO
}

// Superblock returns the decoded superblock (after journal replay).
func (fs *FS) Superblock() *disk.Superblock { return fs.sb }

// BlockSize is the file system block size in bytes.
func (fs *FS) BlockSize() int { return fs.bsize }

// Statfs is what statvfs reports.
type Statfs struct {
	BlockSize   int
	Blocks      uint64
	BlocksFree  uint64
	BlocksAvail uint64 // free minus reserved
	Files       uint64
	FilesFree   uint64
	NameMax     int
	UUID        [16]byte
	VolumeName  string
}

// Statfs summarises the superblock counters.
func (fs *FS) Statfs() Statfs {
	sb := fs.sb
	avail := uint64(0)
	if sb.FreeBlocksCount > sb.RBlocksCount {
		avail = sb.FreeBlocksCount - sb.RBlocksCount
	}
	return Statfs{
		BlockSize: fs.bsize, Blocks: sb.BlocksCount, BlocksFree: sb.FreeBlocksCount,
		BlocksAvail: avail, Files: uint64(sb.InodesCount), FilesFree: uint64(sb.FreeInodesCount),
		NameMax: disk.NameMax, UUID: sb.UUID, VolumeName: sb.VolumeName,
	}
}

// validBlock reports whether n blocks from b lie inside the file system.
func (fs *FS) validBlock(b, n uint64) bool {
	return b >= uint64(fs.sb.FirstDataBlock) && b < fs.sb.BlocksCount && n <= fs.sb.BlocksCount-b
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

package ext2fs

import (
	"bytes"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// Inode is an inode of an open file system: the FS and the in-core
// inode, two words passed by value. A cached vnode keeps only the
// in-core inode (vp.Data).
type Inode struct {
	fs *FS
	*node
}

// node is the in-core inode: the part of the on-disk inode that the
// driver needs. It is a mutable value: whoever changes it holds its
// vnode's lock exclusively (readers hold it at least shared), and encode
// writes it back into its slot of the inode table. The mount is
// read-only for now, so nothing changes it yet.
// One lives beside every cached vnode, so it keeps what getattr, lookup,
// read and the attribute calls use and no more (TestInodeSize bounds
// it), and holds no pointers, so that the garbage collector need not
// scan tens of thousands of them. The in-inode attribute area is read
// again from the inode table when asked for.
type node struct {
	Size                        uint64
	blocks                      uint64 // i_blocks as stored: see disk.Blocks512
	fileACL                     uint64 // block of extended attributes, 0 if none
	Ino                         uint32
	uid, gid                    uint32
	Flags                       uint32 // i_flags
	Generation                  uint32
	atime, ctime, mtime, crtime disk.Time
	Mode                        uint16 // i_mode: file type and permissions
	nlink                       uint16
	// block is i_block: block pointers, extent root, fast symlink
	// target, device number or the start of inline data.
	block       [disk.BlockArea]byte
	hasCrtime   bool
	inodeXattrs bool // the inode holds an in-inode attribute area
}

// Inode reads inode ino. An inode number outside the file system, an
// unreadable inode table or a failed checksum give EIO; an inode not in
// use (no links) gives ESTALE, which a caller following a directory
// entry should report as EIO.
func (fs *FS) Inode(l *kernel.LWP, ino uint32) (Inode, unix.Errno) {
	in, e := fs.readInode(l, ino, false)
	if e != 0 {
		return Inode{}, e
	}
	return Inode{fs, &node{
		Size: in.Size, blocks: in.BlocksRaw, fileACL: in.FileACL,
		Ino: ino, uid: in.Uid, gid: in.Gid, Flags: in.Flags, Generation: in.Generation,
		atime: in.Atime, ctime: in.Ctime, mtime: in.Mtime, crtime: in.Crtime,
		Mode: in.Mode, nlink: in.LinksCount, block: in.Block,
		hasCrtime: in.HasCrtime, inodeXattrs: in.InlineXattr != nil,
	}}, 0
}

// readInode reads and checks inode ino from its inode table block in the
// buffer cache. With xattrs, its InlineXattr is a copy of the in-inode
// attribute area; without, it is only non-nil when the inode has one.
// Errors as for Inode.
func (fs *FS) readInode(l *kernel.LWP, ino uint32, xattrs bool) (disk.Inode, unix.Errno) {
	sb := fs.sb
	if ino == 0 || ino > sb.InodesCount {
		return disk.Inode{}, fs.corrupt("inode number %d out of range [1,%d]", ino, sb.InodesCount)
	}
	g := (ino - 1) / sb.InodesPerGroup
	idx := (ino - 1) % sb.InodesPerGroup
	if int(g) >= len(fs.groups) {
		return disk.Inode{}, fs.corrupt("inode %d: group %d past the end", ino, g)
	}
	gd := &fs.groups[g]
	if gd.bad != nil {
		return disk.Inode{}, fs.corrupt("inode %d: %v", ino, gd.bad)
	}
	isz := int(sb.InodeSize)
	if sb.HasMetadataCsum() || sb.HasGdtCsum() {
		if gd.Flags&disk.BGInodeUninit != 0 || (gd.ItableUnused <= sb.InodesPerGroup && idx >= sb.InodesPerGroup-gd.ItableUnused) {
			// The table of a lazily initialised group may hold
			// garbage past the inodes in use: those inodes are
			// unused.
			return disk.Inode{}, unix.ESTALE
		}
	}
	off := uint64(idx) * uint64(isz)
	blk := gd.InodeTable + off/uint64(fs.bsize)
	if !fs.validBlock(blk, 1) {
		return disk.Inode{}, fs.corrupt("inode %d: inode table block %d out of range", ino, blk)
	}
	// Read ahead in the part of the table in use.
	used := uint64(sb.InodesPerGroup)
	if (sb.HasMetadataCsum() || sb.HasGdtCsum()) && gd.ItableUnused <= sb.InodesPerGroup {
		used -= uint64(gd.ItableUnused)
	}
	usedBlocks := (used*uint64(isz) + uint64(fs.bsize) - 1) / uint64(fs.bsize)
	ahead := uint64(1)
	if rel := blk - gd.InodeTable; rel < usedBlocks && fs.validBlock(blk, usedBlocks-rel) {
		ahead = usedBlocks - rel
	}
	fs.bd.prefetch(l, blk, ahead)
	b, e := fs.bd.bread(l, blk)
	if e != 0 {
		return disk.Inode{}, fs.corrupt("inode %d: cannot read inode table block %d: %v", ino, blk, e)
	}
	defer b.Brelse()
	o := off % uint64(fs.bsize)
	raw := b.Data[o : o+uint64(isz) : o+uint64(isz)]
	in, err := disk.ParseInode(raw, sb.FeatureRoCompat&disk.RoCompatHugeFile != 0)
	if err != nil {
		return disk.Inode{}, fs.corrupt("inode %d: %v", ino, err)
	}
	if in.InlineXattr != nil {
		// The buffer goes back to the cache: keep no slice of it.
		if xattrs {
			in.InlineXattr = bytes.Clone(in.InlineXattr)
		} else {
			in.InlineXattr = hasXattrs
		}
	}
	if in.LinksCount == 0 && in.Mode == 0 {
		return disk.Inode{}, unix.ESTALE
	}
	if sb.HasMetadataCsum() {
		if err := disk.VerifyInode(fs.seed, ino, raw, &in); err != nil {
			return disk.Inode{}, fs.corrupt("%v", err)
		}
	}
	if in.Flags&disk.FlagInlineData != 0 && sb.FeatureIncompat&disk.IncompatInlineData == 0 {
		return disk.Inode{}, fs.corrupt("inode %d: inline data flag without the inline_data feature", ino)
	}
	if in.LinksCount == 0 {
		return disk.Inode{}, unix.ESTALE
	}
	return in, 0
}

// inodeXattrArea reads the in-inode extended attribute area again from
// the inode table (nil if there is none).
func (ip Inode) inodeXattrArea(l *kernel.LWP) ([]byte, unix.Errno) {
	if !ip.inodeXattrs {
		return nil, 0
	}
	in, e := ip.fs.readInode(l, ip.Ino, true)
	if e == unix.ESTALE {
		e = ip.fs.corrupt("inode %d: no longer in use on reading its attributes", ip.Ino)
	}
	if e != 0 {
		return nil, e
	}
	if in.Generation != ip.Generation || in.Mode != ip.Mode {
		return nil, ip.fs.corrupt("inode %d: changed under the mount", ip.Ino)
	}
	return in.InlineXattr, 0
}

// encode writes the in-core inode into raw, its slot in the inode table
// (ext4_do_update_inode): the fields the driver keeps replace the slot's,
// the rest of the slot (deletion time, version, project, reserved bytes,
// attributes) stays as it is, and under metadata_csum the checksum is
// set. raw is the superblock's inode size.
func (ip Inode) encode(raw []byte) error {
	sb := ip.fs.sb
	huge := sb.FeatureRoCompat&disk.RoCompatHugeFile != 0
	in, err := disk.ParseInode(raw, huge)
	if err != nil {
		return err
	}
	in.Size, in.BlocksRaw, in.FileACL = ip.Size, ip.blocks, ip.fileACL
	in.Uid, in.Gid, in.Flags, in.Generation = ip.uid, ip.gid, ip.Flags, ip.Generation
	in.Atime, in.Ctime, in.Mtime = ip.atime, ip.ctime, ip.mtime
	if ip.hasCrtime {
		in.Crtime = ip.crtime
	}
	in.Mode, in.LinksCount, in.Block = ip.Mode, ip.nlink, ip.block
	return in.Encode(raw, disk.InodeFormat{HugeFile: huge, Csum: sb.HasMetadataCsum(), Seed: ip.fs.seed}, ip.Ino)
}

// hasXattrs stands for an in-inode attribute area readInode was not asked
// to copy.
var hasXattrs = []byte{}

// csumSeed seeds the checksums of blocks owned by this inode (extent
// tree, directory blocks) under metadata_csum.
func (ip Inode) csumSeed() uint32 { return disk.InodeSeed(ip.fs.seed, ip.Ino, ip.Generation) }

// blockWord returns i_block[i] as a block-mapped file holds it.
func (ip Inode) blockWord(i int) uint32 { return le32(ip.block[4*i:]) }

// FileType is Mode's S_IFMT part.
func (ip Inode) FileType() uint16 { return ip.Mode & disk.S_IFMT }

// Rdev returns the device number of a device node.
func (ip Inode) Rdev() (major, minor uint32) { return disk.Rdev(&ip.block) }

// blocks512 is i_blocks in 512-byte units.
func (ip Inode) blocks512() uint64 { return disk.Blocks512(ip.blocks, ip.Flags, ip.fs.bsize) }

// Root reads the root directory inode.
func (fs *FS) Root(l *kernel.LWP) (Inode, unix.Errno) { return fs.Inode(l, disk.RootIno) }

// IsDir, IsReg and IsSymlink test the file type.
func (ip Inode) IsDir() bool     { return ip.FileType() == disk.S_IFDIR }
func (ip Inode) IsReg() bool     { return ip.FileType() == disk.S_IFREG }
func (ip Inode) IsSymlink() bool { return ip.FileType() == disk.S_IFLNK }

// Attr is what getattr reports.
type Attr struct {
	Ino     uint32
	Mode    uint32 // S_IF* type bits and permissions, host numbering
	Nlink   uint32
	Uid     uint32
	Gid     uint32
	Size    uint64
	Blocks  uint64 // 512-byte units
	Atime   time.Time
	Mtime   time.Time
	Ctime   time.Time
	Btime   time.Time // zero when the inode has no creation time
	Major   uint32    // device nodes only
	Minor   uint32
	Flags   uint32 // i_flags (immutable, append, nodump, ...)
	Gen     uint32
	BlkSize uint32
}

// Attr returns the inode's attributes.
func (ip Inode) Attr() Attr {
	ts := func(t disk.Time) time.Time { return time.Unix(t.Sec(), int64(t.Nsec())) }
	a := Attr{
		Ino: ip.Ino, Mode: uint32(ip.Mode), Nlink: uint32(ip.nlink),
		Uid: ip.uid, Gid: ip.gid, Size: ip.Size, Blocks: ip.blocks512(),
		Atime: ts(ip.atime), Mtime: ts(ip.mtime), Ctime: ts(ip.ctime),
		Flags: ip.Flags, Gen: ip.Generation, BlkSize: uint32(ip.fs.bsize),
	}
	if ip.Flags&disk.FlagInlineData != 0 && ip.IsReg() {
		// As Linux reports it: inline files have no data blocks, but
		// tools that see zero blocks take a file for sparse.
		a.Blocks += (ip.Size + 511) >> 9
	}
	if ip.hasCrtime {
		a.Btime = ts(ip.crtime)
	}
	if t := ip.FileType(); t == disk.S_IFCHR || t == disk.S_IFBLK {
		a.Major, a.Minor = ip.Rdev()
	}
	return a
}

// DirentType maps an i_mode file type to a DT_* value.
func DirentType(mode uint16) uint8 {
	switch mode & disk.S_IFMT {
	case disk.S_IFREG:
		return unix.DT_REG
	case disk.S_IFDIR:
		return unix.DT_DIR
	case disk.S_IFLNK:
		return unix.DT_LNK
	case disk.S_IFCHR:
		return unix.DT_CHR
	case disk.S_IFBLK:
		return unix.DT_BLK
	case disk.S_IFIFO:
		return unix.DT_FIFO
	case disk.S_IFSOCK:
		return unix.DT_SOCK
	}
	return unix.DT_UNKNOWN
}

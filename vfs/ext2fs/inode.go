package ext2fs

import (
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// Inode is an inode as read from disk: an immutable snapshot.
type Inode struct {
	disk.Inode
	Ino uint32
	fs  *FS
	// csumSeed seeds the checksums of blocks owned by this inode
	// (extent tree, directory blocks) under metadata_csum.
	csumSeed uint32
}

// Inode reads inode ino. An inode number outside the file system, an
// unreadable inode table or a failed checksum give EIO; an inode not in
// use (no links) gives ESTALE, which a caller following a directory
// entry should report as EIO.
func (fs *FS) Inode(l *kernel.LWP, ino uint32) (*Inode, unix.Errno) {
	sb := fs.sb
	if ino == 0 || ino > sb.InodesCount {
		return nil, fs.corrupt("inode number %d out of range [1,%d]", ino, sb.InodesCount)
	}
	g := (ino - 1) / sb.InodesPerGroup
	idx := (ino - 1) % sb.InodesPerGroup
	if int(g) >= len(fs.groups) {
		return nil, fs.corrupt("inode %d: group %d past the end", ino, g)
	}
	gd := &fs.groups[g]
	if gd.bad != nil {
		return nil, fs.corrupt("inode %d: %v", ino, gd.bad)
	}
	isz := int(sb.InodeSize)
	var raw []byte
	uninit := false
	if sb.HasMetadataCsum() || sb.HasGdtCsum() {
		uninit = gd.Flags&disk.BGInodeUninit != 0 || (gd.ItableUnused <= sb.InodesPerGroup && idx >= sb.InodesPerGroup-gd.ItableUnused)
	}
	if uninit {
		// The table of a lazily initialised group may hold garbage
		// past the inodes in use: those inodes are unused.
		raw = make([]byte, isz)
	} else {
		off := uint64(idx) * uint64(isz)
		blk := gd.InodeTable + off/uint64(fs.bsize)
		if !fs.validBlock(blk, 1) {
			return nil, fs.corrupt("inode %d: inode table block %d out of range", ino, blk)
		}
		// Read ahead in the part of the table in use.
		used := uint64(sb.InodesPerGroup)
		if (sb.HasMetadataCsum() || sb.HasGdtCsum()) && gd.ItableUnused <= sb.InodesPerGroup {
			used -= uint64(gd.ItableUnused)
		}
		usedBlocks := (used*uint64(isz) + uint64(fs.bsize) - 1) / uint64(fs.bsize)
		if rel := blk - gd.InodeTable; rel < usedBlocks && fs.validBlock(blk, usedBlocks-rel) {
			fs.bd.prefetch(l, blk, usedBlocks-rel)
		}
		b, e := fs.bd.readMeta(l, blk)
		if e != 0 {
			return nil, fs.corrupt("inode %d: cannot read inode table block %d: %v", ino, blk, e)
		}
		o := off % uint64(fs.bsize)
		raw = append([]byte(nil), b[o:o+uint64(isz)]...)
	}
	in, err := disk.ParseInode(raw, sb.FeatureRoCompat&disk.RoCompatHugeFile != 0)
	if err != nil {
		return nil, fs.corrupt("inode %d: %v", ino, err)
	}
	ip := &Inode{Inode: *in, Ino: ino, fs: fs}
	if in.LinksCount == 0 && in.Mode == 0 {
		return nil, unix.ESTALE
	}
	if sb.HasMetadataCsum() && !uninit {
		if err := disk.VerifyInode(fs.seed, ino, raw, in); err != nil {
			return nil, fs.corrupt("%v", err)
		}
	}
	if sb.HasMetadataCsum() {
		ip.csumSeed = disk.InodeSeed(fs.seed, ino, in.Generation)
	}
	if in.Flags&disk.FlagInlineData != 0 && sb.FeatureIncompat&disk.IncompatInlineData == 0 {
		return nil, fs.corrupt("inode %d: inline data flag without the inline_data feature", ino)
	}
	if in.LinksCount == 0 {
		return nil, unix.ESTALE
	}
	return ip, 0
}

// Root reads the root directory inode.
func (fs *FS) Root(l *kernel.LWP) (*Inode, unix.Errno) { return fs.Inode(l, disk.RootIno) }

// IsDir, IsReg and IsSymlink test the file type.
func (ip *Inode) IsDir() bool     { return ip.FileType() == disk.S_IFDIR }
func (ip *Inode) IsReg() bool     { return ip.FileType() == disk.S_IFREG }
func (ip *Inode) IsSymlink() bool { return ip.FileType() == disk.S_IFLNK }

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
func (ip *Inode) Attr() Attr {
	ts := func(t disk.Timestamp) time.Time { return time.Unix(t.Sec, int64(t.Nsec)) }
	a := Attr{
		Ino: ip.Ino, Mode: uint32(ip.Mode), Nlink: uint32(ip.LinksCount),
		Uid: ip.Uid, Gid: ip.Gid, Size: ip.Size, Blocks: ip.Blocks512(ip.fs.bsize),
		Atime: ts(ip.Atime), Mtime: ts(ip.Mtime), Ctime: ts(ip.Ctime),
		Flags: ip.Flags, Gen: ip.Generation, BlkSize: uint32(ip.fs.bsize),
	}
	if ip.Flags&disk.FlagInlineData != 0 && ip.IsReg() {
		// As Linux reports it: inline files have no data blocks, but
		// tools that see zero blocks take a file for sparse.
		a.Blocks += (ip.Size + 511) >> 9
	}
	if ip.HasCrtime {
		a.Btime = ts(ip.Crtime)
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

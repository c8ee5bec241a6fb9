package ufs

import (
	"encoding/binary"
	"fmt"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// The shared UFS code is a module of its own that FFS requires.
func init() { kernel.RegisterModule(&kernel.ModuleInfo{Name: "ufs", Class: kernel.ModClassMisc}) }

// MetaReader reads metadata blocks (indirect blocks, directory blocks,
// inode blocks): the buffer cache's bread. ReadMeta calls fn with the
// block's size bytes at fragment address fsb while it holds the block
// (busy, for the buffer cache): fn must not modify or keep the slice,
// and must not read another metadata block.
type MetaReader interface {
	ReadMeta(l *kernel.LWP, fsb int64, size int, fn func(b []byte)) unix.Errno
}

// Mount is what a UFS file system tells the shared inode and directory
// code (NetBSD's struct ufsmount): geometry, byte order, the device for
// file data and a MetaReader for metadata. The file system fills it in
// once at mount time; it is read-only afterwards.
type Mount struct {
	Dev           bio.Device
	Meta          MetaReader
	Order         binary.ByteOrder
	UFS2          bool
	OldDirFmt     bool // 4.2BSD directories: 16-bit name length, no d_type
	BSize         int  // block size
	FSize         int  // fragment size
	BShift        uint
	FShift        uint
	NIndir        int    // block pointers per indirect block
	MaxSymlinkLen int    // fs_maxsymlinklen: shorter targets live in the inode
	NFrags        int64  // fs_size: every fragment address is below this
	MaxIno        uint64 // highest valid inode number
	MaxFileSize   uint64

	// Logf reports corruption (one line, no newline). Nil discards.
	Logf func(format string, args ...any)
}

// corrupt logs what is wrong and returns EIO: the one way runtime code
// reports a bad image.
func (m *Mount) corrupt(format string, args ...any) unix.Errno {
	if m.Logf != nil {
		m.Logf("%s", fmt.Sprintf(format, args...))
	}
	return unix.EIO
}

// FragsPerBlock is fs_frag.
func (m *Mount) FragsPerBlock() int { return m.BSize / m.FSize }

// checkExtent reports whether size bytes at fragment address fsb lie
// inside the file system.
func (m *Mount) checkExtent(fsb int64, size int) bool {
	n := int64((size + m.FSize - 1) / m.FSize)
	return fsb > 0 && fsb < m.NFrags && n <= m.NFrags-fsb
}

package ffs

import (
	"testing"
	"unsafe"

	"github.com/rumpfs/rumpfs/vfs/ufs"
)

// Every cached vnode of an FFS mount holds one inode: a walk of a large
// image keeps tens of thousands of them. The bound is a Go allocation
// size class; growing past it costs every cached file.
func TestInodeSize(t *testing.T) {
	const bound = 256
	if n := unsafe.Sizeof(inode{}); n > bound {
		t.Errorf("per-vnode inode is %d bytes, bound %d (ufs.Dinode %d, ufs.Inode %d)",
			n, bound, unsafe.Sizeof(ufs.Dinode{}), unsafe.Sizeof(ufs.Inode{}))
	}
	t.Logf("inode %d bytes, ufs.Inode %d, ufs.Dinode %d", unsafe.Sizeof(inode{}), unsafe.Sizeof(ufs.Inode{}), unsafe.Sizeof(ufs.Dinode{}))
}

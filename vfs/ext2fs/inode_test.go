package ext2fs

import (
	"testing"
	"unsafe"
)

// TestInodeSize: an Inode lives beside every cached vnode (50,000 of
// them after a walk of as many files), so growing it costs memory on
// every mount. 160 bytes is a Go size class; the whole struct
// ext4_inode decoded took 256.
func TestInodeSize(t *testing.T) {
	const limit = 160
	if n := unsafe.Sizeof(Inode{}); n > limit {
		t.Errorf("Inode is %d bytes, more than %d: keep only what the vnode operations need", n, limit)
	}
}

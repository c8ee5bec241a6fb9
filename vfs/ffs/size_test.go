package ffs

import (
	"fmt"
	"os"
	"testing"
	"unsafe"

	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
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

// A new inode starts from a zeroed dinode, as NetBSD's does: the bytes
// ufs.Dinode does not model (UFS1 di_oldids and di_modrev, UFS2
// di_kernflags, di_modrev, spares) hold junk in every free slot of the
// first inode block, and after creating files, a directory, a fast
// symlink and a device node they are zero in each slot taken, while the
// free slots keep their junk.
func TestNewInodeZeroed(t *testing.T) {
	for _, c := range []struct {
		version int
		be      bool
	}{{1, false}, {1, true}, {2, false}, {2, true}} {
		t.Run(fmt.Sprintf("ufs%d-be=%v", c.version, c.be), func(t *testing.T) {
			img := emptyImage(t, c.version, c.be, "4m", "")
			sb := openImage(t, img).SB
			ufs2 := sb.UFS2
			size := int64(sb.DinodeSize())
			slot := func(ino uint64) int64 {
				return sb.InoToFsba(ino)<<sb.FShift + int64(sb.InoToFsbo(ino))*size
			}
			f, err := os.OpenFile(img, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			junk := func(i int) byte { return byte(0x5a + i) }
			first, last := uint64(ufs.RootIno+1), uint64(sb.InoPB)-1
			for ino := first; ino <= last; ino++ {
				b := make([]byte, size)
				f.ReadAt(b, slot(ino))
				if sb.Order.Uint16(b) != 0 {
					t.Fatalf("inode %d in use on an empty image", ino)
				}
				for i := range b {
					if unmodelledByte(ufs2, i) {
						b[i] = junk(i)
					}
				}
				f.WriteAt(b, slot(ino))
			}

			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/w", 0); e != 0 {
				t.Fatal(e)
			}
			if e := writeFile(t, l, "/w/file", []byte("hello")); e != 0 {
				t.Fatal(e)
			}
			if e := vfs.Mkdir(l, "/w/dir", 0o755); e != 0 {
				t.Fatal(e)
			}
			if e := vfs.Symlink(l, "short/target", "/w/link"); e != 0 {
				t.Fatal(e)
			}
			if e := vfs.Mknod(l, "/w/dev", unix.S_IFCHR|0o600, 0x0102); e != 0 {
				t.Fatal(e)
			}
			halt(t, k, l)
			fsck(t, img)

			used := 0
			for ino := first; ino <= last; ino++ {
				b := make([]byte, size)
				f.ReadAt(b, slot(ino))
				inUse := sb.Order.Uint16(b) != 0
				if inUse {
					used++
				}
				for i := range b {
					if !unmodelledByte(ufs2, i) {
						continue
					}
					if inUse && b[i] != 0 {
						t.Fatalf("new inode %d: byte %d is %#x, want 0", ino, i, b[i])
					}
					if !inUse && b[i] != junk(i) {
						t.Fatalf("free inode %d: byte %d changed", ino, i)
					}
				}
			}
			if used != 4 {
				t.Fatalf("%d new inodes in the first inode block, want 4", used)
			}
			fs := openImage(t, img)
			root, e := fs.Root(nil)
			if e != 0 {
				t.Fatal(e)
			}
			de, e := root.Lookup(nil, "link")
			if e != 0 {
				t.Fatal(e)
			}
			lip, e := fs.Inode(nil, uint64(de.Ino))
			if e != 0 {
				t.Fatal(e)
			}
			if got, e := lip.ReadLink(nil); e != 0 || got != "short/target" {
				t.Fatalf("readlink: %q, %v", got, e)
			}
		})
	}
}

// unmodelledByte reports whether byte i of a dinode is one ufs.Dinode
// leaves on disk.
func unmodelledByte(ufs2 bool, i int) bool {
	if ufs2 {
		return i >= 84 && i < 88 || i >= 232
	}
	return i >= 4 && i < 8 || i >= 120
}

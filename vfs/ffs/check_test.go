package ffs

import (
	"github.com/rumpfs/rumpfs/vfs/bio"
	"os"
	"strings"
	"testing"
)

// checkImage runs Check on an image file.
func checkImage(t testing.TB, path string) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r, err := Check(nil, &bio.ReaderDevice{R: f, Len: st.Size()})
	if err != nil {
		t.Fatalf("check %s: %v", path, err)
	}
	return r
}

func TestCheckCleanMakefsImages(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root to chown and mknod the source tree")
	}
	for _, g := range geometries {
		t.Run(g.String(), func(t *testing.T) {
			src := t.TempDir()
			buildTree(t, src, g, 300)
			r := checkImage(t, makefs(t, g, src))
			for _, p := range r.Problems {
				t.Errorf("%s", p)
			}
			if r.Files < 300 || r.Dirs < 40 {
				t.Errorf("checked %d files, %d directories: too few", r.Files, r.Dirs)
			}
		})
	}
}

// corruptTest makes a small image, lets damage change it, and expects
// Check to report a problem containing want.
func corruptTest(t *testing.T, g geometry, want string, damage func(f *FS, img *os.File)) {
	t.Helper()
	src := t.TempDir()
	os.WriteFile(src+"/hard1", []byte("linked\n"), 0o644)
	os.Link(src+"/hard1", src+"/hard2")
	os.WriteFile(src+"/big", fileData(1, 40000), 0o644)
	os.WriteFile(src+"/small", fileData(2, 5000), 0o644)
	os.Mkdir(src+"/dir", 0o755)
	os.Mkdir(src+"/dir/sub", 0o755)
	path := makefs(t, g, src)
	if r := checkImage(t, path); !r.OK() {
		t.Fatalf("fresh image not clean: %v", r.Problems)
	}
	fs := openImage(t, path)
	img, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	damage(fs, img)
	img.Close()
	r := checkImage(t, path)
	for _, p := range r.Problems {
		if strings.Contains(p.String(), want) {
			return
		}
	}
	t.Errorf("no problem mentions %q; got %v", want, r.Problems)
}

// inodeOffset is the byte offset of inode ino in the image.
func inodeOffset(f *FS, ino uint64) int64 {
	sb := f.SB
	return sb.InoToFsba(ino)<<sb.FShift + int64(sb.InoToFsbo(ino)*sb.DinodeSize())
}

func TestCheckFindsCorruption(t *testing.T) {
	for _, g := range []geometry{{1, false, 4096, 1024}, {2, true, 8192, 1024}} {
		t.Run(g.String(), func(t *testing.T) {
			t.Run("fragment map bit", func(t *testing.T) {
				corruptTest(t, g, "in use but marked free", func(f *FS, img *os.File) {
					fsb := namei(t, f, "big").DB[0]
					cg, _ := f.CG(nil, 0)
					off := f.SB.CGTod(0)<<f.SB.FShift + int64(cg.FreeOff) + fsb/8
					b := []byte{0}
					img.ReadAt(b, off)
					b[0] |= 1 << (fsb % 8)
					img.WriteAt(b, off)
				})
			})
			t.Run("inode map bit", func(t *testing.T) {
				corruptTest(t, g, "marked free in cg", func(f *FS, img *os.File) {
					ino := namei(t, f, "small").Number
					cg, _ := f.CG(nil, 0)
					off := f.SB.CGTod(0)<<f.SB.FShift + int64(cg.IUsedOff) + int64(ino/8)
					b := []byte{0}
					img.ReadAt(b, off)
					b[0] &^= 1 << (ino % 8)
					img.WriteAt(b, off)
				})
			})
			t.Run("link count", func(t *testing.T) {
				corruptTest(t, g, "link count 3, 2 references", func(f *FS, img *os.File) {
					b := make([]byte, 2)
					f.SB.Order.PutUint16(b, 3)
					img.WriteAt(b, inodeOffset(f, namei(t, f, "hard1").Number)+2)
				})
			})
			t.Run("duplicate block", func(t *testing.T) {
				corruptTest(t, g, "duplicate", func(f *FS, img *os.File) {
					big := namei(t, f, "big")
					small := namei(t, f, "small")
					ptr := int64(40)
					b := make([]byte, 4)
					f.SB.Order.PutUint32(b, uint32(big.DB[2]))
					if f.SB.UFS2 {
						ptr = 112
						b = make([]byte, 8)
						f.SB.Order.PutUint64(b, uint64(big.DB[2]))
					}
					img.WriteAt(b, inodeOffset(f, small.Number)+ptr)
				})
			})
			t.Run("dotdot", func(t *testing.T) {
				corruptTest(t, g, `want ".."`, func(f *FS, img *os.File) {
					sub := namei(t, f, "dir/sub")
					// ".." is the second entry, at offset 12 of the first chunk.
					b := make([]byte, 4)
					f.SB.Order.PutUint32(b, uint32(sub.Number))
					img.WriteAt(b, sub.DB[0]<<f.SB.FShift+12)
				})
			})
			t.Run("summary", func(t *testing.T) {
				corruptTest(t, g, "summary", func(f *FS, img *os.File) {
					b := make([]byte, 4) // cg_cs.cs_nifree of group 0
					f.SB.Order.PutUint32(b, 12345)
					img.WriteAt(b, f.SB.CGTod(0)<<f.SB.FShift+32)
				})
			})
		})
	}
}

package ffs

import (
	"bytes"
	"os"
	"testing"

	ufsdisk "github.com/rumpfs/rumpfs/vfs/ufs/disk"
)

// TestDinodeRoundTripMakefs: every dinode in images makefs made (UFS1
// and UFS2, both byte orders) decodes and encodes back to its own bytes,
// so the one layout ParseDinode and Marshal read covers the disk's.
func TestDinodeRoundTripMakefs(t *testing.T) {
	for _, g := range []geometry{{1, false, 4096, 512}, {1, true, 8192, 1024}, {2, false, 4096, 1024}, {2, true, 8192, 2048}} {
		t.Run(g.String(), func(t *testing.T) {
			src := t.TempDir()
			for _, name := range []string{"a", "b", "c"} {
				if err := os.WriteFile(src+"/"+name, fileData(uint64(len(name)), 5000), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink("a/short/target", src+"/link"); err != nil {
				t.Fatal(err)
			}
			path := makefs(t, g, src)
			img, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sb := openImage(t, path).SB
			size := sb.DinodeSize()
			checked := 0
			for ino := uint64(0); ino < uint64(sb.NInodes()); ino++ {
				off := sb.InoToFsba(ino)*int64(sb.FSize) + int64(sb.InoToFsbo(ino)*size)
				raw := img[off : off+int64(size)]
				d, err := ufsdisk.ParseDinode(raw, sb.Order, sb.UFS2)
				if err != nil {
					t.Fatal(err)
				}
				if d.Mode == 0 {
					continue
				}
				b := make([]byte, size)
				d.Marshal(b, sb.Order)
				if !bytes.Equal(b, raw) {
					t.Fatalf("inode %d: decode then encode differs:\n got %x\nwant %x", ino, b, raw)
				}
				checked++
			}
			if checked < 5 {
				t.Fatalf("checked %d inodes", checked)
			}
		})
	}
}

package images

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPartsInfo1TiB is what `rumpfs parts` and `rumpfs info IMG@1`
// do, on a 1 TiB sparse image with a GPT, an ext4 and an FFS partition. It
// reads tables and superblocks only, so it must not grow with the image.
func BenchmarkPartsInfo1TiB(b *testing.B) {
	need(b, "sgdisk", "mke2fs", "makefs")
	dir := b.TempDir()
	img := blank(b, dir, "huge.img", 1<<40)
	run(b, "", "sgdisk", "-n", "1:2048:+512G", "-c", "1:data", "-n", "2:0:0", "-t", "2:a503", img)
	putAt(b, img, 2048*512, makeFS(b, "ext4", "huge", 4*MiB))
	putAt(b, img, (2048+1<<30)*512, makeFS(b, "ffs2le", "", 4*MiB))
	for b.Loop() {
		im, err := Open(img, false)
		if err != nil {
			b.Fatal(err)
		}
		l := im.Layout()
		if len(l.Partitions) != 2 || l.Partitions[0].FS == nil || l.Partitions[1].FS == nil {
			b.Fatalf("layout: %+v", l)
		}
		t, err := ResolveImage(im, "@1")
		if err != nil || t.FSType != "ext2fs" {
			b.Fatalf("info @1: %+v, %v", t, err)
		}
		im.Close()
	}
}

// BenchmarkGPTEntries is `rumpfs parts` on a 64 MiB image whose GPT has
// n entries, every one covering the whole disk (so every one overlaps
// every other): the cost must grow about linearly with n (sorting for
// the overlap check, probing bounded by MaxProbed), never with n².
// Compare ns/op between the sizes.
func BenchmarkGPTEntries(b *testing.B) {
	for _, n := range []int{1024, 4096, 16384, 32768} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "gpt.img")
			if err := os.WriteFile(path, wholeDiskGPT(n), 0o644); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				im, err := Open(path, false)
				if err != nil {
					b.Fatal(err)
				}
				if l := im.Layout(); len(l.Partitions) != n {
					b.Fatalf("%d partitions", len(l.Partitions))
				}
				im.Close()
			}
		})
	}
}

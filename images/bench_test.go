package images

import (
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

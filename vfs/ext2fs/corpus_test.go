package ext2fs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
)

// TestFuzzCorpora replays the corpora of the on-disk parsers
// (disk/testdata/fuzz) as whole images: each input replaces, in a small
// ext4 image made by mke2fs, the structure its target parses (the
// superblock, the first group descriptor, a file's inode or its extent
// root, the root directory's first block, an indexed directory's htree
// root, the journal superblock), and the image is opened and walked
// read-only through the library: errors are fine, panics and hangs are
// not. `make fuzz` prints the slowest image's time from this test's log.
func TestFuzzCorpora(t *testing.T) {
	const n = 300
	img := mkfsTree(t, n, "file", "", true)
	base, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := openImg(t, img)
	sb := f.sb
	bs := int64(f.bsize)
	root, e := f.Root(nil)
	if e != 0 {
		t.Fatal(e)
	}
	bigIno, _, e := root.Lookup(nil, "big")
	if e != 0 {
		t.Fatal(e)
	}
	big, _ := f.Inode(nil, bigIno)
	fileIno, _, e := big.Lookup(nil, "entry-00007-"+string(bytes.Repeat([]byte("n"), 24)))
	if e != 0 {
		t.Fatal(e)
	}
	inodeOff := func(ino uint32) int64 {
		g := (ino - 1) / sb.InodesPerGroup
		idx := int64((ino - 1) % sb.InodesPerGroup)
		return int64(f.groups[g].InodeTable)*bs + idx*int64(sb.InodeSize)
	}
	blockOff := func(ip Inode, lblk uint64) int64 {
		r, e := ip.Bmap(nil, lblk)
		if e != 0 || r.Zero {
			t.Fatalf("inode %d block %d: %v", ip.Ino, lblk, e)
		}
		return int64(r.Physical) * bs
	}
	descSize := 32
	if sb.Has64bit() {
		descSize = int(sb.DescSize)
	}
	places := []struct {
		target string
		off    int64
		size   int
	}{
		{"FuzzSuperblock", 1024, 1024},
		{"FuzzGroupDesc", int64(f.descBlock(0)) * bs, descSize},
		{"FuzzInode", inodeOff(fileIno), int(sb.InodeSize)},
		{"FuzzExtentNode", inodeOff(fileIno) + 40, disk.BlockArea},
		{"FuzzDirBlock", blockOff(root, 0), int(bs)},
		{"FuzzHtree", blockOff(big, 0), int(bs)},
	}
	if sb.JournalInum != 0 {
		j, e := f.Inode(nil, sb.JournalInum)
		if e != 0 {
			t.Fatal(e)
		}
		places = append(places, struct {
			target string
			off    int64
			size   int
		}{"FuzzJournal", blockOff(j, 0), int(bs)})
	}
	images := 0
	slowest, slowestName := time.Duration(0), ""
	walk := func(name string, img []byte) {
		images++
		start := time.Now()
		if f, err := Open(nil, memDev(img), Options{Logf: func(string, ...any) {}}); err == nil {
			walkAll(f, 20000)
		}
		if d := time.Since(start); d > slowest {
			slowest, slowestName = d, name
		}
	}
	walk("base", base)
	for _, p := range places {
		for _, c := range vfstest.ReadCorpus(t, filepath.Join("disk", "testdata", "fuzz"), p.target) {
			img := bytes.Clone(base)
			b := make([]byte, p.size)
			copy(b, c.Bytes)
			copy(img[p.off:], b)
			walk(c.Name, img)
		}
	}
	t.Logf("ext2fs: %d images; slowest corpus image: %s, %v", images, slowestName, slowest.Round(time.Millisecond))
}

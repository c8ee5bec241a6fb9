package ffs

import (
	"bytes"
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/testimg"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
)

// corpusImage is the sample image with one fuzz input in the place of
// the structure its target parses.
type corpusImage struct {
	name string
	img  []byte
}

// corpusImages turns the seed corpora and testdata/fuzz of the FFS and
// UFS parsers into images: a superblock input replaces the superblock,
// a cylinder group input group 0's block, a dinode input the dinode of
// /hello.txt, a directory chunk input the root directory's first chunk.
// Inputs are padded with zeros as the fuzz targets pad them.
func corpusImages(t *testing.T) []corpusImage {
	base, sbBytes, _ := sampleSB(t)
	fs := openBytes(t, base)
	sb := fs.SB
	root, e := fs.inode(nil, 2)
	if e != 0 {
		t.Fatal(e)
	}
	hello, e := root.Lookup(nil, "hello.txt")
	if e != 0 {
		t.Fatal(e)
	}
	hino := uint64(hello.Ino)
	places := []struct {
		target string
		dir    string
		off    int64
		size   int
		seeds  [][]byte
	}{
		{"FuzzParseSuperblock", "disk/testdata/fuzz", sb.Location, disk.SBlockSize, [][]byte{bytes.Clone(sbBytes), testimg.SwapFFSSuperblock(sbBytes)}},
		{"FuzzParseCG", "disk/testdata/fuzz", sb.CGTod(0) << sb.FShift, int(sb.CGSize), nil},
		{"FuzzParseDinode", "../ufs/disk/testdata/fuzz", sb.InoToFsba(hino)<<sb.FShift + int64(sb.InoToFsbo(hino)*sb.DinodeSize()), sb.DinodeSize(), nil},
		{"FuzzParseDirChunk", "../ufs/disk/testdata/fuzz", root.DB[0] << sb.FShift, ufs.DirBlkSize, nil},
	}
	out := []corpusImage{{"sample", base}}
	for _, p := range places {
		var ents []vfstest.CorpusEntry
		for i, s := range p.seeds {
			ents = append(ents, vfstest.CorpusEntry{Name: fmt.Sprintf("%s/seed#%d", p.target, i), Bytes: s})
		}
		ents = append(ents, vfstest.ReadCorpus(t, p.dir, p.target)...)
		for _, c := range ents {
			img := bytes.Clone(base)
			b := make([]byte, p.size)
			copy(b, c.Bytes)
			copy(img[p.off:], b)
			out = append(out, corpusImage{c.Name, img})
		}
	}
	return out
}

// TestFuzzCorpora replays every corpus input as a whole image: opened
// and walked read-only through the library, then mounted read-write
// through the VFS, walked, and changed by a fixed set of writes; the
// checker must then find nothing it did not find before. `make fuzz`
// prints the slowest image's time from this test's log.
func TestFuzzCorpora(t *testing.T) {
	dir := t.TempDir()
	slowest, slowestName := time.Duration(0), ""
	images := corpusImages(t)
	for _, ci := range images {
		path := filepath.Join(dir, "corpus.img")
		if err := os.WriteFile(path, ci.img, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		before := checkProblems(t, path)
		if f, err := Open(nil, &bio.ReaderDevice{R: bytes.NewReader(ci.img), Len: int64(len(ci.img))}, Options{}); err == nil {
			walkAll(f)
		}
		k, l := bootKernel(t)
		if e := mountImage(t, k, l, path, "/m", 0); e == 0 {
			limit := 5000
			vfsWalk(l, "/m", 0, &limit)
			writeFile(t, l, "/m/corpus-new", fileData(1, 20000))
			vfs.Mkdir(l, "/m/corpus-dir", 0o755)
			vfs.Rename(l, "/m/corpus-new", "/m/corpus-dir/moved")
			writeFile(t, l, "/m/hello.txt", fileData(2, 3000))
			vfs.Unlink(l, "/m/greeting")
			if res, e := vfs.Namei(l, nil, "/m/corpus-dir", vfs.LOOKUP, 0); e == 0 {
				vfs.VOPSetextattr(l, res.Vp, "user.corpus", []byte("value"), 0)
				res.Release(l)
			}
		}
		halt(t, k, l)
		elapsed := time.Since(start)
		if elapsed > slowest {
			slowest, slowestName = elapsed, ci.name
		}
		after := checkProblems(t, path)
		var added []string
		for _, p := range after {
			if !slices.Contains(before, p) {
				added = append(added, p)
			}
		}
		if len(added) > 0 {
			t.Errorf("%s: the session added problems %q (before: %q)\n%s", ci.name, added, before, k.Dmesg())
		}
	}
	t.Logf("ffs: %d images; slowest corpus image: %s, %v", len(images), slowestName, slowest.Round(time.Millisecond))
}

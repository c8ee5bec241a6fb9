package ffs

import (
	"bytes"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/rumpfs/rumpfs/vfs/ufs"
)

// sampleSB returns the sample image, its superblock bytes and location.
func sampleSB(t testing.TB) ([]byte, []byte, int64) {
	img := sampleImage(t)
	for _, loc := range disk.SBlockSearch {
		if _, _, ok := disk.FindMagic(img[loc:]); ok {
			return img, img[loc : loc+disk.SBlockSize], loc
		}
	}
	t.Fatal("sample has no superblock")
	return nil, nil, 0
}

// metadataRanges lists byte ranges of an image that hold metadata: the
// superblock, group blocks, inode blocks in use and directory blocks.
func metadataRanges(t testing.TB, f *FS) [][2]int64 {
	sb := f.SB
	r := [][2]int64{{sb.Location, sb.Location + int64(sb.SBSize)}}
	for g := int64(0); g < int64(sb.NCG); g++ {
		r = append(r, [2]int64{sb.CGTod(g) << sb.FShift, sb.CGTod(g)<<sb.FShift + int64(sb.CGSize)})
		r = append(r, [2]int64{sb.CGIMin(g) << sb.FShift, sb.CGIMin(g)<<sb.FShift + int64(sb.BSize)})
	}
	var walk func(ip *ufs.Inode, depth int)
	walk = func(ip *ufs.Inode, depth int) {
		for lbn := int64(0); lbn < ufs.NDAddr && ip.DB[lbn] != 0; lbn++ {
			r = append(r, [2]int64{ip.DB[lbn] << sb.FShift, ip.DB[lbn]<<sb.FShift + int64(ip.BlockSize(lbn))})
		}
		ip.ReadDir(nil, 0, func(d ufs.Direct) bool {
			if d.Type == ufs.DTDir && d.Name != "." && d.Name != ".." && depth < 8 {
				if c, err := f.Inode(nil, uint64(d.Ino)); err == 0 {
					walk(c, depth+1)
				}
			}
			return true
		})
	}
	root, _ := f.Root(nil)
	walk(root, 0)
	return r
}

// walkAll reads everything reachable, with bounds: it must return, not
// panic, whatever the image holds.
func walkAll(f *FS) {
	seen := map[uint64]bool{}
	buf := make([]byte, 64<<10)
	var walk func(ip *ufs.Inode, depth int)
	walk = func(ip *ufs.Inode, depth int) {
		if seen[ip.Number] || depth > 64 || len(seen) > 5000 {
			return
		}
		seen[ip.Number] = true
		switch ip.Type() {
		case ufs.IFREG:
			for off := int64(0); off < 1<<20; off += int64(len(buf)) {
				if n, err := ip.ReadAt(nil, buf, off); n == 0 || err != 0 {
					break
				}
			}
		case ufs.IFLNK:
			ip.ReadLink(nil)
		case ufs.IFDIR:
			n := 0
			ip.ReadDir(nil, 0, func(d ufs.Direct) bool {
				if c, err := f.Inode(nil, uint64(d.Ino)); err == 0 {
					walk(c, depth+1)
				}
				n++
				return n < 10000
			})
			ip.Lookup(nil, "no such name")
		}
	}
	if root, err := f.Root(nil); err == 0 {
		walk(root, 0)
	}
}

// TestMutatedImages flips random bytes in the metadata of the sample and
// of a makefs image with indirect blocks, then opens, walks and checks
// each mutant: errors are fine, panics and hangs are not.
func TestMutatedImages(t *testing.T) {
	bases := [][]byte{sampleImage(t)}
	if _, err := lookPath("makefs"); err == nil && os.Geteuid() == 0 {
		g := geometry{1, true, 4096, 512}
		src := t.TempDir()
		buildTree(t, src, g, 100)
		img, _ := readFile(makefs(t, g, src))
		bases = append(bases, img)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	opened, problems := 0, 0
	for bi, base := range bases {
		ranges := metadataRanges(t, openBytes(t, base))
		for iter := range 150 {
			img := bytes.Clone(base)
			for range 1 + rng.IntN(16) {
				rg := ranges[rng.IntN(len(ranges))]
				if rg[1] <= rg[0] || rg[1] > int64(len(img)) {
					continue
				}
				img[rg[0]+rng.Int64N(rg[1]-rg[0])] ^= byte(1 + rng.IntN(255))
			}
			dev := &bio.ReaderDevice{R: bytes.NewReader(img), Len: int64(len(img))}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("base %d mutant %d: panic: %v", bi, iter, p)
					}
				}()
				if f, err := Open(nil, dev, Options{}); err == nil {
					opened++
					walkAll(f)
				}
				if r, err := Check(nil, dev); err == nil && !r.OK() {
					problems++
				}
			}()
		}
	}
	// The mutants must mostly open, or the walk tests nothing.
	if opened < 50*len(bases) || problems == 0 {
		t.Errorf("%d of %d mutants opened, %d with problems found", opened, 150*len(bases), problems)
	}
	t.Logf("%d of %d mutants opened, %d with problems found", opened, 150*len(bases), problems)
}

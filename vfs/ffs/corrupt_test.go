package ffs

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// vfsWalk visits up to limit names under dir through the system calls:
// stat, read, readlink, readdir. Errors are expected; it reports whether
// any was EIO.
func vfsWalk(l *kernel.LWP, dir string, depth int, limit *int) {
	ents, e := vfs.ReadDir(l, dir)
	if e != 0 {
		return
	}
	buf := make([]byte, 64<<10)
	for _, d := range ents {
		if *limit <= 0 {
			return
		}
		*limit--
		if d.Name == "." || d.Name == ".." {
			continue
		}
		p := dir + "/" + d.Name
		var va vfs.Vattr
		if vfs.Lstat(l, p, &va) != 0 {
			continue
		}
		walkXattrs(l, p)
		switch va.Type {
		case vfs.VDIR:
			if depth < 12 {
				vfsWalk(l, p, depth+1, limit)
			}
		case vfs.VLNK:
			vfs.Readlink(l, p, buf)
		case vfs.VREG:
			if fd, e := vfs.Open(l, p, unix.O_RDONLY, 0); e == 0 {
				for i := 0; i < 64; i++ {
					if n, e := vfs.Read(l, fd, buf); n == 0 || e != 0 {
						break
					}
				}
				vfs.Lseek(l, fd, 0, unix.SEEK_HOLE)
				vfs.Close(l, fd)
			}
		}
	}
}

// walkXattrs lists p's extended attributes and reads each.
func walkXattrs(l *kernel.LWP, p string) {
	res, e := vfs.Namei(l, nil, p, vfs.LOOKUP, 0)
	if e != 0 {
		return
	}
	defer res.Release(l)
	buf := make([]byte, 64<<10)
	u := kernel.UioSetup(buf, 0, kernel.UioRead)
	n, e := vfs.VOPListextattr(l, res.Vp, u)
	kernel.UioFree(u)
	if e != 0 {
		return
	}
	for name := range strings.SplitSeq(string(buf[:n]), "\x00") {
		if name != "" {
			vfs.VOPGetextattr(l, res.Vp, name, nil)
		}
	}
}

// TestMutatedImagesThroughVFS mounts images with mutated metadata
// (superblock, group blocks, inodes, directories) and walks them through
// the VFS: errors are EIO with a dmesg line, never a panic or a hang, and
// a read-only mount writes nothing. Some mutants are also mounted
// read-write and changed: no panic there either.
func TestMutatedImagesThroughVFS(t *testing.T) {
	bases := [][]byte{sampleImage(t)}
	if _, err := lookPath("makefs"); err == nil {
		src := t.TempDir()
		os.MkdirAll(filepath.Join(src, "a/b/c"), 0o755)
		for i, n := range []int{0, 10, 5000, 70000} {
			os.WriteFile(filepath.Join(src, "a", string(rune('p'+i))), fileData(uint64(i), n), 0o644)
		}
		os.Symlink(strings.Repeat("s", 200), filepath.Join(src, "a/b/slow"))
		os.Symlink("fast", filepath.Join(src, "a/b/fast"))
		img, _ := readFile(makefs(t, geometry{2, true, 4096, 512}, src))
		bases = append(bases, img)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	mounted, eios := 0, 0
	n := 60
	if testing.Short() {
		n = 20
	}
	for bi, base := range bases {
		ranges := metadataRanges(t, openBytes(t, base))
		for iter := range n {
			img := bytes.Clone(base)
			for range 1 + rng.IntN(12) {
				rg := ranges[rng.IntN(len(ranges))]
				if rg[1] <= rg[0] || rg[1] > int64(len(img)) {
					continue
				}
				img[rg[0]+rng.Int64N(rg[1]-rg[0])] ^= byte(1 + rng.IntN(255))
			}
			path := filepath.Join(dir, "mutant.img")
			os.WriteFile(path, img, 0o644)
			sum := sha256.Sum256(img)
			rw := iter%3 == 0
			k, l := bootKernel(t)
			flags := vfs.MNT_RDONLY
			if rw {
				flags = 0
			}
			if e := mountImage(t, k, l, path, "/m", flags); e == 0 {
				mounted++
				limit := 2000
				vfsWalk(l, "/m", 0, &limit)
				if rw {
					writeFile(t, l, "/m/new", fileData(1, 20000))
					vfs.Mkdir(l, "/m/newdir", 0o755)
					vfs.Rename(l, "/m/new", "/m/newdir/x")
					for _, p := range []string{"/m/newdir/x", "/m/a/p", "/m/a"} {
						if res, e := vfs.Namei(l, nil, p, vfs.LOOKUP, 0); e == 0 {
							vfs.VOPSetextattr(l, res.Vp, "user.mutant", []byte("value"), 0)
							res.Release(l)
						}
					}
					limit = 2000
					vfsWalk(l, "/m", 0, &limit)
				}
			}
			halt(t, k, l)
			d := k.Dmesg()
			if strings.Contains(d, "panic") {
				t.Fatalf("base %d mutant %d: %s", bi, iter, d)
			}
			if strings.Contains(d, "ffs:") {
				eios++
			}
			got, _ := os.ReadFile(path)
			if !rw && sha256.Sum256(got) != sum {
				t.Fatalf("base %d mutant %d: a read-only mount changed the image", bi, iter)
			}
		}
	}
	if mounted < n*len(bases)/3 || eios == 0 {
		t.Errorf("%d of %d mutants mounted, %d logged corruption", mounted, n*len(bases), eios)
	}
	t.Logf("%d of %d mutants mounted, %d logged corruption", mounted, n*len(bases), eios)
}

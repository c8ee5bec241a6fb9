package ext2fs

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// walkAll visits everything reachable from the root, reading a little of
// every file, and returns how many entries it saw. It stops after limit
// entries so that a damaged directory cannot make it run forever.
func walkAll(f *FS, limit int) int {
	root, e := f.Root(nil)
	if e != 0 {
		return 0
	}
	seen := map[uint32]bool{}
	n := 0
	var visit func(ip Inode, depth int)
	visit = func(ip Inode, depth int) {
		if seen[ip.Ino] || depth > 40 {
			return
		}
		seen[ip.Ino] = true
		ip.Attr()
		if names, e := ip.ListXattr(nil); e == 0 {
			for _, x := range names {
				ip.GetXattr(nil, x)
			}
		}
		switch {
		case ip.IsReg():
			buf := make([]byte, 65536)
			ip.ReadAt(nil, buf, 0)
			if ip.Size > 0 {
				ip.ReadAt(nil, buf[:4096], int64(ip.Size/2))
			}
		case ip.IsSymlink():
			ip.Readlink(nil)
		case ip.IsDir():
			var kids []Dirent
			ip.Readdir(nil, 0, func(d Dirent) bool {
				kids = append(kids, d)
				n++
				return n < limit
			})
			for _, d := range kids {
				if d.Name == "." || d.Name == ".." {
					continue
				}
				ip.Lookup(nil, d.Name)
				if c, e := f.Inode(nil, d.Ino); e == 0 {
					visit(c, depth+1)
				}
			}
		}
	}
	visit(root, 0)
	return n
}

// TestDamagedImages flips random bytes in the metadata blocks of real
// images (superblock, descriptors, inode tables, directories, extent and
// xattr blocks, the journal) many times and walks each result: errors are
// expected, panics and hangs are not.
func TestDamagedImages(t *testing.T) {
	small := treeOpts{bigDir: 300, extents: 30, acls: true}
	images := []image{
		{name: "ext4", fstype: "ext4", args: []string{"-O", "inline_data"}, sizeK: 8 << 10, tree: small},
		{name: "ext4-nocsum-1k", fstype: "ext4", args: []string{"-b", "1024", "-O", "^metadata_csum"}, sizeK: 8 << 10, tree: small},
		{name: "ext2", fstype: "ext2", args: []string{"-b", "1024"}, sizeK: 8 << 10, tree: small},
	}
	iters := 100
	if testing.Short() {
		iters = 30
	}
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			img := makeImage(t, im)
			// Leave a committed transaction in the journal so that
			// replay runs on damaged logs too.
			if im.fstype != "ext2" {
				data := t.TempDir() + "/blk"
				os.WriteFile(data, make([]byte, 4096), 0o644)
				debugfsScript(t, img, "jo", "jw -b 300 "+data, "jc")
			}
			pristine, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(nil, memDev(pristine), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n := walkAll(f, 100000); n < 300 {
				t.Fatalf("pristine walk saw %d entries", n)
			}
			// The blocks the walk read are the metadata worth damaging.
			meta := f.bd.cachedBlocks()
			bs := f.bsize
			seed := testSeed(t)
			r := rand.New(rand.NewSource(seed))
			for i := range iters {
				d := append(memDev(nil), pristine...)
				flips := 1 + r.Intn(8)
				var what []string
				for range flips {
					var off int
					if r.Intn(6) == 0 {
						off = 1024 + r.Intn(1024) // superblock
					} else {
						off = int(meta[r.Intn(len(meta))])*bs + r.Intn(bs)
					}
					d[off] = byte(r.Intn(256))
					what = append(what, fmt.Sprint(off))
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("iteration %d (seed %d, bytes %s): panic: %v", i, seed, strings.Join(what, ","), p)
						}
					}()
					f, err := Open(nil, d, Options{Logf: func(string, ...any) {}})
					if err != nil {
						if kerr, ok := err.(*Error); !ok || (kerr.Errno != unix.EIO && kerr.Errno != unix.EINVAL) {
							t.Errorf("open: %v is not an *Error with EIO/EINVAL", err)
						}
						return
					}
					walkAll(f, 20000)
				}()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Fatalf("iteration %d (seed %d, bytes %s): walk does not finish", i, seed, strings.Join(what, ","))
				}
			}
		})
	}
}

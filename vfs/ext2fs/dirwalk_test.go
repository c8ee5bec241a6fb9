package ext2fs

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dirWalk walks the tree from the root as find does (readdir, then a
// lookup of each name, then into each subdirectory) and returns the
// names it found by lookup and the directory blocks it read.
func dirWalk(t *testing.T, f *FS) (found, failed int, reads uint64) {
	t.Helper()
	start := f.dirReads.Load()
	root, e := f.Root(nil)
	if e != 0 {
		t.Fatalf("root: %v", e)
	}
	var visit func(ip Inode)
	visit = func(ip Inode) {
		var names []string
		ip.Readdir(nil, 0, func(d Dirent) bool {
			if d.Name != "." && d.Name != ".." {
				names = append(names, d.Name)
			}
			return true
		})
		for _, name := range names {
			ino, _, e := ip.Lookup(nil, name)
			if e != 0 {
				failed++
				continue
			}
			found++
			if c, e := f.Inode(nil, ino); e == 0 && c.IsDir() {
				visit(c)
			}
		}
	}
	visit(root)
	return found, failed, f.dirReads.Load() - start
}

// mkfsTree makes an ext4 image (no metadata_csum, so that damage shows
// in the index rather than as checksum failures) of a tree with n
// entries of kind ("file" or "dir") under big/, with extra mke2fs -O
// features; index runs e2fsck -D to index the directories.
func mkfsTree(t *testing.T, n int, kind, features string, index bool) string {
	t.Helper()
	need(t, "mke2fs", "e2fsck")
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(filepath.Join(src, "big"), 0o755)
	for i := range n {
		p := filepath.Join(src, "big", fmt.Sprintf("entry-%05d-%s", i, strings.Repeat("n", 24)))
		if kind == "dir" {
			os.Mkdir(p, 0o755)
		} else {
			os.WriteFile(p, nil, 0o644)
		}
	}
	img := filepath.Join(t.TempDir(), "img")
	run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum"+features, "-N", fmt.Sprint(n+64), "-d", src, img, "32M")
	if index {
		// Exit status 1: the file system was changed (indexed).
		if out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput(); err != nil {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
				t.Fatalf("e2fsck -fyD: %v\n%s", err, out)
			}
		}
	}
	return img
}

func openImg(t *testing.T, img string) (*FS, *testLog) {
	t.Helper()
	tl := &testLog{}
	f, err := Open(nil, openDev(t, img), Options{Logf: tl.logf})
	if err != nil {
		t.Fatal(err)
	}
	return f, tl
}

// TestDamagedHtreeWalk: a walk of a directory whose htree index is
// damaged finds every name and reads about as many directory blocks as
// the walk of the healthy directory: the damage is found (and logged)
// once, and the directory is then searched through one linear scan,
// not one per lookup.
func TestDamagedHtreeWalk(t *testing.T) {
	const n = 3000
	img := mkfsTree(t, n, "file", "", true)
	f, _ := openImg(t, img)
	root, _ := f.Root(nil)
	ino, _, e := root.Lookup(nil, "big")
	if e != 0 {
		t.Fatal(e)
	}
	big, e := f.Inode(nil, ino)
	if e != 0 || !big.indexed() {
		t.Fatalf("big: %v, indexed %v", e, e == 0 && big.indexed())
	}
	r, e := big.Bmap(nil, 0)
	if e != 0 || r.Zero {
		t.Fatalf("big's block 0: %v", e)
	}
	dxRoot := int64(r.Physical) * int64(f.bsize)
	found, failed, healthy := dirWalk(t, f)
	if found != n+2 || failed != 0 {
		t.Fatalf("healthy walk: %d found, %d failed", found, failed)
	}
	blocks := big.Size / uint64(f.bsize)
	t.Logf("healthy: %d directory block reads, big has %d blocks", healthy, blocks)

	// dx_root: "." and ".." (24 bytes), dx_root_info (hash version at
	// 28), limit, count, block (at 32, 34, 36), then {hash, block}.
	for _, c := range []struct {
		name string
		fn   func(b []byte)
	}{
		{"unknown hash version", func(b []byte) { b[28] = 0x7f }},
		{"pointers past the end", func(b []byte) {
			count := int(binary.LittleEndian.Uint16(b[34:]))
			binary.LittleEndian.PutUint32(b[36:], 0x0ffffff0)
			for i := 1; i < count; i++ {
				binary.LittleEndian.PutUint32(b[40+8*(i-1)+4:], 0x0ffffff0-uint32(i))
			}
		}},
		{"pointers to each other", func(b []byte) {
			count := int(binary.LittleEndian.Uint16(b[34:]))
			for i := 1; i < count; i++ {
				binary.LittleEndian.PutUint32(b[40+8*(i-1)+4:], 1)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, _ := os.ReadFile(img)
			c.fn(data[dxRoot:])
			bad := filepath.Join(t.TempDir(), "bad.img")
			os.WriteFile(bad, data, 0o644)
			f, tl := openImg(t, bad)
			found, failed, reads := dirWalk(t, f)
			lines := len(tl.lines)
			t.Logf("damaged: %d found, %d failed, %d directory block reads, %d log lines", found, failed, reads, lines)
			if found+failed != n+2 || failed > 0 && c.name != "pointers to each other" {
				t.Errorf("%d names found and %d failed of %d", found, failed, n+2)
			}
			if reads > 2*healthy+2*blocks+16 {
				t.Errorf("damaged walk read %d directory blocks, the healthy walk %d", reads, healthy)
			}
			if lines == 0 || lines > 10 {
				t.Errorf("%d lines logged about one damaged index:\n%s", lines, tl)
			}
		})
	}
}

// TestManySubdirsWalk: a walk of a linear (unindexed) directory with very
// many subdirectories (e2fsprogs' f_many_subdirs) reads a number of
// directory blocks proportional to their count, not to its square.
func TestManySubdirsWalk(t *testing.T) {
	var reads [2]uint64
	sizes := [2]int{500, 4000}
	for i, n := range sizes {
		img := mkfsTree(t, n, "dir", ",^dir_index", false)
		f, _ := openImg(t, img)
		found, failed, r := dirWalk(t, f)
		if found != n+2 || failed != 0 {
			t.Fatalf("%d subdirectories: %d found, %d failed", n, found, failed)
		}
		reads[i] = r
		t.Logf("%d subdirectories: %d directory block reads", n, r)
	}
	// Linear: 8 times the entries, about 8 times the reads (quadratic
	// would be about 64 times).
	if ratio := float64(reads[1]) / float64(reads[0]); ratio > 12 {
		t.Errorf("walk reads grew %.1f times for %d times the subdirectories", ratio, sizes[1]/sizes[0])
	}
}

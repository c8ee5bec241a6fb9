package msdosfs_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"github.com/rumpfs/rumpfs/vfs/msdosfs/msdostest"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
	"golang.org/x/sys/unix"
)

// tree writes a host tree with what FAT names are made of: 8.3 names in
// lower case (NT flags, no long entries), mixed case, non-ASCII, a deep
// path, empty and multi-cluster files, a wide directory.
func tree(t *testing.T, wide int) string {
	src := filepath.Join(t.TempDir(), "src")
	write := func(rel string, data []byte) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lower.txt", []byte("lower\n"))
	write("UPPER.TXT", []byte("upper\n"))
	write("MiXeD Case Name.Data", vfstest.Pseudo(1, 3000))
	write("ünïcödé ✓ ½.txt", []byte("unicode\n"))
	write("empty", nil)
	write("big.bin", vfstest.Pseudo(2, 1<<20+3))
	write("ro.txt", []byte("read only\n"))
	write("a/b/c/d/e/f/g/h/deep file.txt", []byte("deep\n"))
	for i := range wide {
		// Distinct first characters: mcopy's ~N search is quadratic.
		write(fmt.Sprintf("wide/%04d a file with a long name.dat", i), nil)
	}
	return src
}

// extract copies the image's tree out with mcopy: the independent reader.
func extract(t *testing.T, img string) string {
	dst := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	msdostest.Mtools(t, "mcopy", "-s", "-m", "-n", "-i", img, "::/*", dst)
	return dst
}

func mount(t *testing.T, img string, opts map[string]string) (*kernel.Kernel, *kernel.LWP) {
	k, l := drivertest.Boot(t)
	t.Cleanup(func() { drivertest.Halt(t, k, l) })
	dev := drivertest.OpenFileDev(t, img, true)
	if e := drivertest.MountDev(t, k, l, dev, "vfat", "/mnt", vfs.MNT_RDONLY, opts); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	return k, l
}

// TestMtools mounts FAT12, 16 and 32 images filled by mcopy and compares
// every name, size, content and time with what mcopy copies back out,
// and the name list with mdir's.
func TestMtools(t *testing.T) {
	for _, c := range []struct{ fat, clus, sizeK, wide int }{
		{12, 1, 2000, 100}, {12, 8, 4000, 100}, {16, 4, 64 << 10, 300}, {32, 1, 300 << 10, 5000}, {32, 8, 300 << 10, 100},
	} {
		t.Run(fmt.Sprintf("fat%d-%d", c.fat, c.clus*512), func(t *testing.T) {
			src := tree(t, c.wide)
			img := msdostest.Mkfs(t, src, c.fat, c.clus, c.sizeK)
			msdostest.Mtools(t, "mattrib", "-i", img, "+r", "::/ro.txt")
			testenv.Run(t, "", "fsck.fat", "-n", img) // the image itself is sound
			out := extract(t, img)
			_, l := mount(t, img, nil)
			vfstest.CompareTree(t, l, out, "/mnt", vfstest.Keeps{FilesAndDirs: true, MtimeGrain: 2})
			// mdir's listing of every path.
			var want []string
			for _, line := range strings.Split(msdostest.Mtools(t, "mdir", "-/", "-b", "-i", img, "::/"), "\n") {
				if p, ok := strings.CutPrefix(line, "::/"); ok {
					want = append(want, strings.TrimSuffix(p, "/"))
				}
			}
			var got []string
			var walk func(dir, rel string)
			walk = func(dir, rel string) {
				ents, e := vfs.ReadDir(l, dir)
				if e != 0 {
					t.Fatalf("readdir %s: %v", dir, e)
				}
				for _, d := range ents {
					if d.Name == "." || d.Name == ".." {
						continue
					}
					got = append(got, rel+d.Name)
					if d.Type == 4 {
						walk(dir+"/"+d.Name, rel+d.Name+"/")
					}
				}
			}
			walk("/mnt", "")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("readdir lists %d paths, mdir %d", len(got), len(want))
			}
		})
	}
}

// TestView checks the Unix view: case-insensitive lookup by long and
// short names, the NT lower-case flags, modes and owners from the mount
// options, the read-only attribute, "..".
func TestView(t *testing.T) {
	img := msdostest.Mkfs(t, tree(t, 0), 16, 4, 64<<10)
	msdostest.Mtools(t, "mattrib", "-i", img, "+r", "::/ro.txt")
	_, l := mount(t, img, map[string]string{"uid": "1000", "gid": "100", "fmask": "0113", "dmask": "0022"})
	ents, e := vfs.ReadDir(l, "/mnt")
	if e != 0 {
		t.Fatal(e)
	}
	var names []string
	for _, d := range ents {
		names = append(names, d.Name)
	}
	for _, n := range []string{".", "..", "lower.txt", "UPPER.TXT", "MiXeD Case Name.Data", "ünïcödé ✓ ½.txt"} {
		if !slices.Contains(names, n) {
			t.Errorf("readdir has no %q: %q", n, names)
		}
	}
	for _, c := range []struct {
		path string
		mode uint32
	}{
		{"/mnt/LOWER.TXT", unix.S_IFREG | 0o664},
		{"/mnt/upper.txt", unix.S_IFREG | 0o664},
		{"/mnt/mixed case name.data", unix.S_IFREG | 0o664},
		{"/mnt/MIXEDC~1.DAT", unix.S_IFREG | 0o664}, // the short alias
		{"/mnt/ÜNÏCÖDÉ ✓ ½.TXT", unix.S_IFREG | 0o664},
		{"/mnt/ro.txt", unix.S_IFREG | 0o444},
		{"/mnt/A/B/c", unix.S_IFDIR | 0o755},
		{"/mnt/a/b/c/d/e/f/g/h/../../../../../../../../ro.txt", unix.S_IFREG | 0o444},
	} {
		var va vfs.Vattr
		if e := vfs.Stat(l, c.path, &va); e != 0 {
			t.Errorf("%s: %v", c.path, e)
			continue
		}
		if va.StMode() != c.mode || va.Uid != 1000 || va.Gid != 100 {
			t.Errorf("%s: mode %o owner %d:%d, want %o 1000:100", c.path, va.StMode(), va.Uid, va.Gid, c.mode)
		}
	}
	var root, dd vfs.Vattr
	if vfs.Stat(l, "/mnt", &root) != 0 || vfs.Stat(l, "/mnt/a/..", &dd) != 0 || root.Fileid != dd.Fileid {
		t.Errorf("/mnt/a/.. is file %d, the root %d", dd.Fileid, root.Fileid)
	}
	if _, e := vfs.Open(l, "/mnt/lower.txt", unix.O_WRONLY, 0); e != unix.EROFS {
		t.Errorf("open for writing: %v, want EROFS", e)
	}
}

// fatOffset is where cluster c's FAT16 entry sits in img.
func fat16Entry(t *testing.T, img []byte, c int) int {
	rsvd := int(binary.LittleEndian.Uint16(img[14:]))
	return rsvd*512 + 2*c
}

// TestDamage: a chain that loops or leaves the volume reads as EIO with a
// dmesg line; a boot sector with zero fields is refused.
func TestDamage(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "file"), vfstest.Pseudo(3, 20000), 0o644)
	img := msdostest.Mkfs(t, src, 16, 4, 64<<10)
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	// The file's chain starts at cluster 2 (the first file on a fresh
	// FAT16): point its third cluster back at the first, then out of range.
	for _, c := range []struct {
		next uint16
		msg  string
	}{{2, "loops"}, {0xFFF0, "out of range"}, {0, "free"}} {
		bad := slices.Clone(b)
		binary.LittleEndian.PutUint16(bad[fat16Entry(t, bad, 4):], c.next)
		p := filepath.Join(t.TempDir(), "bad.img")
		os.WriteFile(p, bad, 0o644)
		if err := exec.Command(testenv.Tool(t, "fsck.fat"), "-n", p).Run(); err == nil {
			t.Errorf("next %#x: fsck.fat -n finds nothing wrong", c.next)
		}
		k, l := mount(t, p, nil)
		fd, e := vfs.Open(l, "/mnt/file", unix.O_RDONLY, 0)
		if e != 0 {
			t.Fatal(e)
		}
		buf := make([]byte, 20000)
		if _, e := vfs.Read(l, fd, buf); e != unix.EIO {
			t.Errorf("next %#x: read %v, want EIO", c.next, e)
		}
		vfs.Close(l, fd)
		if !strings.Contains(k.Dmesg(), c.msg) {
			t.Errorf("next %#x: dmesg has no %q:\n%s", c.next, c.msg, k.Dmesg())
		}
	}
	for _, off := range []int{11, 13, 16} {
		bad := slices.Clone(b)
		bad[off], bad[off+1] = 0, 0
		if off != 11 {
			bad[off+1] = b[off+1]
		}
		p := filepath.Join(t.TempDir(), "bad.img")
		os.WriteFile(p, bad, 0o644)
		k, l := drivertest.Boot(t)
		e := drivertest.MountDev(t, k, l, drivertest.OpenFileDev(t, p, true), "msdos", "/mnt", vfs.MNT_RDONLY, nil)
		if e != unix.EINVAL || !strings.Contains(k.Dmesg(), "BPB") {
			t.Errorf("zero at byte %d: mount %v, want EINVAL and a BPB message:\n%s", off, e, k.Dmesg())
		}
		drivertest.Halt(t, k, l)
	}
}

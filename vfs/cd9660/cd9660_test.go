package cd9660_test

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	_ "github.com/rumpfs/rumpfs/vfs/cd9660"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
	"golang.org/x/sys/unix"
)

// Images are made by xorriso from the generated tree; what the mount
// shows is compared with what libarchive's bsdtar extracts from the same
// image, an independent reader (this host kernel has no iso9660).

func xorriso(t *testing.T, src string, args ...string) string {
	img := filepath.Join(t.TempDir(), "t.iso")
	a := append([]string{"-outdev", img}, args...)
	testenv.Run(t, "", "xorriso", append(a, "-map", src, "/", "-commit")...)
	return img
}

func bsdtarX(t *testing.T, img string) string {
	dir := t.TempDir()
	testenv.Run(t, "", "bsdtar", "-xpf", img, "-C", dir)
	return dir
}

func sum(t *testing.T, img string) [32]byte {
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func mount(t *testing.T, img string, opts map[string]string) (*kernel.Kernel, *kernel.LWP) {
	k, l := drivertest.Boot(t)
	if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
		t.Fatal(e)
	}
	dev := drivertest.OpenFileDev(t, img, true)
	if e := drivertest.MountDev(t, k, l, dev, "iso9660", "/mnt", vfs.MNT_RDONLY, opts); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	return k, l
}

func tree(t *testing.T) string {
	src := filepath.Join(t.TempDir(), "tree")
	vfstest.GenTree(t, src, vfstest.TreeOpts{Wide: 80})
	return src
}

// TestRockRidge: with Rock Ridge (and Joliet beside it), every name,
// byte, mode, owner, link target, device, hard link and mtime matches
// bsdtar's extraction, and the image is untouched.
func TestRockRidge(t *testing.T) {
	testenv.Root(t)
	src := tree(t)
	img := xorriso(t, src, "-joliet", "on", "-hardlinks", "on")
	before := sum(t, img)
	want := bsdtarX(t, img)
	// libarchive drops the "/" between two SL entries of a long link
	// target ("long/longlong/"): take that one target from the tree.
	fixLink(t, src, want, "slowlink")
	k, l := mount(t, img, nil)
	vfstest.CompareTree(t, l, want, "/mnt", vfstest.Keeps{})
	drivertest.Halt(t, k, l)
	if sum(t, img) != before {
		t.Error("the image changed")
	}
}

func fixLink(t *testing.T, src, dst, name string) {
	target, err := os.Readlink(filepath.Join(src, name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, name)
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	_ = os.Lchown(p, int(st.Uid), int(st.Gid))
	_ = unix.Lutimes(p, []unix.Timeval{unix.NsecToTimeval(unix.TimespecToNsec(st.Atim)), unix.NsecToTimeval(unix.TimespecToNsec(st.Mtim))})
}

// TestLayers: Joliet names when Rock Ridge is off or absent, plain
// ISO 9660 names (version dropped, lower case) when both are; names,
// types, sizes and bytes match bsdtar's extraction (upper case there).
func TestLayers(t *testing.T) {
	src := tree(t)
	rrj := xorriso(t, src, "-joliet", "on")
	for _, c := range []struct {
		name  string
		img   string
		opts  map[string]string
		lower bool
	}{
		{"joliet", xorriso(t, src, "-rockridge", "off", "-joliet", "on"), nil, false},
		{"plain", xorriso(t, src, "-rockridge", "off"), nil, true},
		{"norrip", rrj, map[string]string{"norrip": ""}, false},
		{"norrip-nojoliet", rrj, map[string]string{"norrip": "", "nojoliet": ""}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := c.img
			if c.opts != nil {
				// bsdtar reads Rock Ridge when it is there: give it the
				// same layer from an image without.
				args := []string{"-rockridge", "off"}
				if _, ok := c.opts["nojoliet"]; !ok {
					args = append(args, "-joliet", "on")
				}
				img = xorriso(t, src, args...)
			}
			want := bsdtarX(t, img)
			k, l := mount(t, c.img, c.opts)
			// The image read without its Rock Ridge holds what xorriso
			// keeps only with it (links, devices): no entry counts.
			compareNames(t, l, want, c.lower, c.opts == nil)
			drivertest.Halt(t, k, l)
		})
	}
}

func compareNames(t *testing.T, l *kernel.LWP, host string, lower, counts bool) {
	n := 0
	err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(host, p)
		if lower {
			rel = strings.ToLower(rel)
		}
		kp := filepath.Join("/mnt", rel)
		var va vfs.Vattr
		if e := vfs.Lstat(l, kp, &va); e != 0 {
			t.Errorf("%s: %v", rel, e)
			return nil
		}
		n++
		switch {
		case d.IsDir():
			if va.Type != vfs.VDIR {
				t.Errorf("%s: type %v, want a directory", rel, va.Type)
			}
			ents, _ := os.ReadDir(p)
			kents, e := vfs.ReadDir(l, kp)
			if e != 0 || counts && len(kents) != len(ents)+2 {
				t.Errorf("%s: %d entries (%v), want %d and . and ..", rel, len(kents), e, len(ents))
			}
		case d.Type().IsRegular():
			want, _ := os.ReadFile(p)
			got := readFile(t, l, kp)
			if va.Size != int64(len(want)) || !bytes.Equal(got, want) {
				t.Errorf("%s: size %d, %d bytes read, want %d equal ones", rel, va.Size, len(got), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("compared only %d files", n)
	}
}

func readFile(t *testing.T, l *kernel.LWP, path string) []byte {
	fd, e := vfs.Open(l, path, unix.O_RDONLY, 0)
	if e != 0 {
		t.Errorf("open %s: %v", path, e)
		return nil
	}
	defer vfs.Close(l, fd)
	var out []byte
	buf := make([]byte, 50000)
	for {
		n, e := vfs.Read(l, fd, buf)
		if e != 0 || n == 0 {
			return out
		}
		out = append(out, buf[:n]...)
	}
}

// TestStableInodes: a file has the same number in two mounts.
func TestStableInodes(t *testing.T) {
	img := xorriso(t, tree(t), "-hardlinks", "on")
	var ids [2][]uint64
	for i := range ids {
		k, l := mount(t, img, nil)
		for _, p := range []string{"/mnt/sub", "/mnt/sizes/f004096", "/mnt/hard1", "/mnt/sub/hard3", "/mnt/fastlink"} {
			var va vfs.Vattr
			if e := vfs.Lstat(l, p, &va); e != 0 {
				t.Fatal(p, e)
			}
			ids[i] = append(ids[i], va.Fileid)
		}
		drivertest.Halt(t, k, l)
	}
	if !slices.Equal(ids[0], ids[1]) || ids[0][2] != ids[0][3] {
		t.Errorf("file ids %v then %v (hard1 and sub/hard3 are one file)", ids[0], ids[1])
	}
}

// TestDamage: a directory record whose name runs past it is EIO with a
// dmesg line, not a panic.
func TestDamage(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := xorriso(t, src, "-rockridge", "off")
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	// The root's extent, from the primary descriptor's root record.
	root := int(uint32(b[16*2048+156+2])|uint32(b[16*2048+156+3])<<8|uint32(b[16*2048+156+4])<<16) * 2048
	rec := root + int(b[root]) // "."
	rec += int(b[rec])         // ".."
	b[rec+32] = 250            // the name length of "file"
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
	k, l := mount(t, img, nil)
	if _, e := vfs.ReadDir(l, "/mnt"); e != unix.EIO {
		t.Errorf("readdir: %v, want EIO", e)
	}
	if !strings.Contains(k.Dmesg(), "cd9660: ") || !strings.Contains(k.Dmesg(), "name length") {
		t.Errorf("dmesg says nothing of it:\n%s", k.Dmesg())
	}
	drivertest.Halt(t, k, l)
}

// TestContinuationLoop: a CE entry that points back at its own system
// use area ends in EIO with a dmesg line, not a hang.
func TestContinuationLoop(t *testing.T) {
	src := t.TempDir()
	if err := os.Symlink(strings.Repeat("long/", 80), filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	img := xorriso(t, src)
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	le := func(p int) int { return int(b[p]) | int(b[p+1])<<8 | int(b[p+2])<<16 | int(b[p+3])<<24 }
	put := func(p, v int) { // both-endian 32-bit
		for i := range 4 {
			b[p+i], b[p+7-i] = byte(v>>(8*i)), byte(v>>(8*i))
		}
	}
	root := le(16*2048+156+2) * 2048
	root += int(b[root]) // "." (its CE holds the ER entry)
	root += int(b[root]) // ".."
	found := false
	for rec := root; b[rec] != 0 && !found; rec += int(b[rec]) {
		nl := int(b[rec+32])
		su := rec + 33 + nl + (1 - nl%2)
		for p := su; p+4 <= rec+int(b[rec]); p += int(b[p+2]) {
			if b[p+2] == 0 {
				break
			}
			if string(b[p:p+2]) == "CE" {
				put(p+4, su/2048)
				put(p+12, su%2048)
				put(p+20, rec+int(b[rec])-su)
				found = true
				break
			}
		}
	}
	if !found {
		t.Fatal("xorriso wrote no CE entry for a long link")
	}
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
	k, l := mount(t, img, nil)
	if _, e := vfs.ReadDir(l, "/mnt"); e != unix.EIO {
		t.Errorf("readdir: %v, want EIO", e)
	}
	if !strings.Contains(k.Dmesg(), "continuation areas") {
		t.Errorf("dmesg says nothing of it:\n%s", k.Dmesg())
	}
	drivertest.Halt(t, k, l)
}

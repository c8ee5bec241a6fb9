package ffs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// model is what the file system should hold: files' contents and the
// directories, by path under the mount point.
type model struct {
	files map[string][]byte
	dirs  map[string]bool
}

func (m *model) children(dir string) []string {
	var out []string
	for p := range m.files {
		if path.Dir(p) == dir {
			out = append(out, p)
		}
	}
	for p := range m.dirs {
		if p != dir && path.Dir(p) == dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func pick[T any](r *rand.Rand, m map[string]T) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[r.IntN(len(keys))]
}

// TestRandomOps runs random writes at random offsets, truncates, renames,
// creates, unlinks, mkdir and rmdir against an in-memory model that checks
// every read; the image is fsck-clean after the halt, and again after a
// remount that verifies every file.
func TestRandomOps(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	for _, c := range []struct {
		version int
		opts    string
	}{{2, "bsize=8192,fsize=1024,density=4096"}, {1, "bsize=4096,fsize=512,density=4096"}} {
		t.Run(fmt.Sprintf("ufs%d", c.version), func(t *testing.T) {
			ops := n
			if c.version == 1 {
				ops = n / 4 // the second geometry: fewer, for time
			}
			img := emptyImage(t, c.version, false, "64m", c.opts)
			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("mount: %v\n%s", e, k.Dmesg())
			}
			m := &model{files: map[string][]byte{}, dirs: map[string]bool{"/mnt": true}}
			r := rand.New(rand.NewPCG(uint64(c.version), 42))
			randomOps(t, k, l, m, r, ops, 8192)
			verifyAll(t, l, m)
			halt(t, k, l)
			fsck(t, img)

			k, l = bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("remount: %v\n%s", e, k.Dmesg())
			}
			verifyAll(t, l, m)
			randomOps(t, k, l, m, r, ops/10, 8192)
			verifyAll(t, l, m)
			halt(t, k, l)
			fsck(t, img)
		})
	}
}

func halt(t testing.TB, k *kernel.Kernel, l *kernel.LWP) {
	t.Helper()
	if err := k.Reboot(l, kernel.RB_HALT); err != nil {
		t.Fatalf("halt: %v\n%s", err, k.Dmesg())
	}
}

func randomOps(t *testing.T, k *kernel.Kernel, l *kernel.LWP, m *model, r *rand.Rand, n int, bsize int) {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf(format+"\n%s", append(a, k.Dmesg())...)
	}
	names := []string{"a", "b", "c", "d", "e", "f", "long-name-" + strings.Repeat("x", 40), "g"}
	newPath := func() string {
		d := pick(r, m.dirs)
		return d + "/" + names[r.IntN(len(names))]
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < n; i++ {
		switch op := r.IntN(100); {
		case op < 30: // write at a random offset
			p := pick(r, m.files)
			if p == "" {
				continue
			}
			var off int64
			switch r.IntN(10) {
			case 0:
				off = int64(r.IntN(40 << 20)) // far: sparse, double indirect
			case 1, 2:
				off = int64(len(m.files[p]))
			default:
				off = int64(r.IntN(64 << 10))
			}
			size := r.IntN(3 * bsize)
			data := buf[:size]
			for j := range data {
				data[j] = byte(r.Uint32())
			}
			fd, e := vfs.Open(l, p, unix.O_WRONLY, 0)
			if e != 0 {
				fail("op %d: open %s: %v", i, p, e)
			}
			w, e := vfs.Pwrite(l, fd, data, off)
			vfs.Close(l, fd)
			if e != 0 || w != size {
				fail("op %d: pwrite %s %d@%d: %d, %v", i, p, size, off, w, e)
			}
			old := m.files[p]
			if end := off + int64(size); end > int64(len(old)) {
				old = append(old, make([]byte, end-int64(len(old)))...)
			}
			copy(old[off:], data)
			m.files[p] = old
		case op < 40: // truncate
			p := pick(r, m.files)
			if p == "" {
				continue
			}
			cur := len(m.files[p])
			var size int
			switch r.IntN(4) {
			case 0:
				size = 0
			case 1:
				size = cur + r.IntN(100<<10)
			default:
				size = r.IntN(cur + 1)
			}
			if e := vfs.Truncate(l, p, int64(size)); e != 0 {
				fail("op %d: truncate %s %d: %v", i, p, size, e)
			}
			old := m.files[p]
			if size <= len(old) {
				m.files[p] = old[:size:size]
			} else {
				m.files[p] = append(old, make([]byte, size-len(old))...)
			}
		case op < 55: // read and compare
			p := pick(r, m.files)
			if p == "" {
				continue
			}
			want := m.files[p]
			off := 0
			if len(want) > 0 {
				off = r.IntN(len(want))
			}
			size := min(r.IntN(4*bsize), len(buf))
			fd, e := vfs.Open(l, p, unix.O_RDONLY, 0)
			if e != 0 {
				fail("op %d: open %s: %v", i, p, e)
			}
			got, e := vfs.Pread(l, fd, buf[:size], int64(off))
			vfs.Close(l, fd)
			exp := want[off:min(off+size, len(want))]
			if e != 0 || !bytes.Equal(buf[:got], exp) {
				fail("op %d: pread %s %d@%d: %d bytes, %v; want %d bytes (differ: %v)", i, p, size, off, got, e, len(exp), !bytes.Equal(buf[:got], exp))
			}
		case op < 65: // create
			p := newPath()
			if m.files[p] != nil || m.dirs[p] {
				continue
			}
			fd, e := vfs.Open(l, p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
			if e != 0 {
				fail("op %d: create %s: %v", i, p, e)
			}
			vfs.Close(l, fd)
			m.files[p] = []byte{}
		case op < 72: // unlink
			p := pick(r, m.files)
			if p == "" {
				continue
			}
			if e := vfs.Unlink(l, p); e != 0 {
				fail("op %d: unlink %s: %v", i, p, e)
			}
			delete(m.files, p)
		case op < 78: // mkdir
			p := newPath()
			if m.files[p] != nil || m.dirs[p] || strings.Count(p, "/") > 5 {
				continue
			}
			if e := vfs.Mkdir(l, p, 0o755); e != 0 {
				fail("op %d: mkdir %s: %v", i, p, e)
			}
			m.dirs[p] = true
		case op < 83: // rmdir
			p := pick(r, m.dirs)
			if p == "/mnt" {
				continue
			}
			e := vfs.Rmdir(l, p)
			if len(m.children(p)) > 0 {
				if e != unix.ENOTEMPTY {
					fail("op %d: rmdir non-empty %s: %v", i, p, e)
				}
				continue
			}
			if e != 0 {
				fail("op %d: rmdir %s: %v", i, p, e)
			}
			delete(m.dirs, p)
		case op < 95: // rename a file, over a file or not
			from := pick(r, m.files)
			if from == "" {
				continue
			}
			to := newPath()
			if m.dirs[to] {
				continue
			}
			if e := vfs.Rename(l, from, to); e != 0 {
				fail("op %d: rename %s %s: %v", i, from, to, e)
			}
			if from != to {
				m.files[to] = m.files[from]
				delete(m.files, from)
			}
		default: // rename a directory, possibly across parents or over an empty one
			from := pick(r, m.dirs)
			if from == "/mnt" {
				continue
			}
			to := newPath()
			if m.files[to] != nil || to == from || strings.HasPrefix(to+"/", from+"/") || strings.Count(to, "/") > 6 {
				continue
			}
			e := vfs.Rename(l, from, to)
			if m.dirs[to] && len(m.children(to)) > 0 {
				if e != unix.ENOTEMPTY && e != unix.EEXIST {
					fail("op %d: rename dir %s over non-empty %s: %v", i, from, to, e)
				}
				continue
			}
			if e != 0 {
				fail("op %d: rename dir %s %s: %v", i, from, to, e)
			}
			delete(m.dirs, to)
			moved := map[string][]byte{}
			for p, d := range m.files {
				if strings.HasPrefix(p, from+"/") {
					moved[to+p[len(from):]] = d
					delete(m.files, p)
				}
			}
			for p, d := range moved {
				m.files[p] = d
			}
			var dirs []string
			for p := range m.dirs {
				if p == from || strings.HasPrefix(p, from+"/") {
					dirs = append(dirs, p)
				}
			}
			for _, p := range dirs {
				delete(m.dirs, p)
				m.dirs[to+p[len(from):]] = true
			}
		}
	}
}

// verifyAll compares every directory listing and every file with the model.
func verifyAll(t *testing.T, l *kernel.LWP, m *model) {
	t.Helper()
	for d := range m.dirs {
		ents, e := vfs.ReadDir(l, d)
		if e != 0 {
			t.Fatalf("readdir %s: %v", d, e)
		}
		var got []string
		for _, x := range ents {
			if x.Name != "." && x.Name != ".." {
				got = append(got, d+"/"+x.Name)
			}
		}
		sort.Strings(got)
		if want := m.children(d); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("readdir %s: got %v, want %v", d, got, want)
		}
		var va vfs.Vattr
		if e := vfs.Stat(l, d, &va); e != 0 {
			t.Fatal(e)
		}
		nd := 0
		for p := range m.dirs {
			if p != d && path.Dir(p) == d {
				nd++
			}
		}
		if va.Nlink != uint32(2+nd) {
			t.Fatalf("%s: nlink %d, want %d", d, va.Nlink, 2+nd)
		}
	}
	for p, want := range m.files {
		fd, e := vfs.Open(l, p, unix.O_RDONLY, 0)
		if e != 0 {
			t.Fatalf("open %s: %v", p, e)
		}
		got := make([]byte, len(want)+1)
		n, e := vfs.Pread(l, fd, got, 0)
		vfs.Close(l, fd)
		if e != 0 || !bytes.Equal(got[:n], want) {
			t.Fatalf("%s: read %d bytes (%v), want %d", p, n, e, len(want))
		}
	}
}

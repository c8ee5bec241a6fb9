package vfstest

import (
	"bytes"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"golang.org/x/sys/unix"
)

// The random-operation model test: random writes at random offsets,
// truncates, reads, creates, unlinks, mkdir, rmdir, renames of files and
// directories and operations that must fail, run on a writable row and
// on a map of paths to contents at once; every read and listing is
// compared with the map. One model for every driver; the fuzz target
// feeds it bytes instead of a seeded generator.

// Chooser picks the next random number in [0, n); Done reports that it
// has nothing more to give (a fuzz input ran out).
type Chooser interface {
	IntN(n int) int
	Done() bool
}

// Seeded is a Chooser from a seeded generator that never runs out.
type Seeded struct{ *rand.Rand }

// NewSeeded returns a Chooser for seed.
func NewSeeded(seed uint64) Seeded { return Seeded{rand.New(rand.NewPCG(seed, 42))} }

func (Seeded) Done() bool { return false }

// Bytes is a Chooser over a fuzz input: two bytes a choice.
type Bytes []byte

func (b *Bytes) IntN(n int) int {
	if len(*b) < 2 {
		*b = nil
		return 0
	}
	v := int((*b)[0])<<8 | int((*b)[1])
	*b = (*b)[2:]
	return v % n
}
func (b *Bytes) Done() bool { return len(*b) == 0 }

// model is what the file system should hold: files' contents and the
// directories, by kernel path.
type model struct {
	root  string
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

func pick[T any](r Chooser, m map[string]T) string {
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

// RunModel runs n random operations on fs against the model, checks
// everything, halts (and runs fs.Check); when fs can Remount, it mounts
// the image again, checks everything, runs n/10 more operations and
// checks and halts again.
func RunModel(t *testing.T, fs FS, r Chooser, n int) {
	t.Helper()
	k, l := drivertest.Boot(t)
	dir := fs.Mount(t, k, l)
	m := &model{root: dir, files: map[string][]byte{}, dirs: map[string]bool{dir: true}}
	randomOps(t, k, l, m, r, n)
	verifyModel(t, l, m)
	drivertest.Halt(t, k, l)
	if fs.Check != nil {
		fs.Check(t)
	}
	if fs.Remount == nil {
		return
	}
	k, l = drivertest.Boot(t)
	fs.Remount(t, k, l)
	verifyModel(t, l, m)
	randomOps(t, k, l, m, r, n/10)
	verifyModel(t, l, m)
	drivertest.Halt(t, k, l)
	if fs.Check != nil {
		fs.Check(t)
	}
}

func randomOps(t *testing.T, k *kernel.Kernel, l *kernel.LWP, m *model, r Chooser, n int) {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf(format+"\n%s", append(a, k.Dmesg())...)
	}
	const bsize = 8192
	names := []string{"a", "b", "c", "d", "e", "f", "long-name-" + strings.Repeat("x", 40), "g"}
	newPath := func() string {
		return pick(r, m.dirs) + "/" + names[r.IntN(len(names))]
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < n && !r.Done(); i++ {
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
				data[j] = byte(r.IntN(256))
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
			// An empty write does not extend the file.
			if end := off + int64(size); size > 0 && end > int64(len(old)) {
				old = append(old, make([]byte, end-int64(len(old)))...)
			}
			if size > 0 {
				copy(old[off:], data)
			}
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
		case op < 52: // read and compare
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
				fail("op %d: pread %s %d@%d: %d bytes, %v; want %d bytes", i, p, size, off, got, e, len(exp))
			}
		case op < 62: // create
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
		case op < 69: // unlink
			p := pick(r, m.files)
			if p == "" {
				continue
			}
			if e := vfs.Unlink(l, p); e != 0 {
				fail("op %d: unlink %s: %v", i, p, e)
			}
			delete(m.files, p)
		case op < 75: // mkdir
			p := newPath()
			if m.files[p] != nil || m.dirs[p] || strings.Count(p, "/") > 5 {
				continue
			}
			if e := vfs.Mkdir(l, p, 0o755); e != 0 {
				fail("op %d: mkdir %s: %v", i, p, e)
			}
			m.dirs[p] = true
		case op < 80: // rmdir
			p := pick(r, m.dirs)
			if p == m.root {
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
		case op < 90: // rename a file, over a file or not
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
		case op < 95: // operations that must fail
			failing(t, k, l, m, r, i)
		default: // rename a directory, possibly across parents or over an empty one
			from := pick(r, m.dirs)
			if from == m.root {
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

// failing tries an operation the model says must fail, and checks the
// error (and that nothing changed, by the next verification).
func failing(t *testing.T, k *kernel.Kernel, l *kernel.LWP, m *model, r Chooser, i int) {
	t.Helper()
	d, f := pick(r, m.dirs), pick(r, m.files)
	check := func(what string, got, want unix.Errno) {
		t.Helper()
		if got != want {
			t.Fatalf("op %d: %s: %v, want %v\n%s", i, what, got, want, k.Dmesg())
		}
	}
	switch r.IntN(6) {
	case 0:
		check("mkdir over a directory "+d, vfs.Mkdir(l, d, 0o755), unix.EEXIST)
	case 1:
		if d != m.root {
			check("unlink of a directory "+d, vfs.Unlink(l, d), unix.EISDIR) // Linux's answer (POSIX and NetBSD: EPERM)
		}
	case 2:
		check("truncate of a directory "+d, vfs.Truncate(l, d, 0), unix.EISDIR)
	case 3:
		if f != "" {
			check("rmdir of a file "+f, vfs.Rmdir(l, f), unix.ENOTDIR)
		}
	case 4:
		if f != "" {
			_, e := vfs.Open(l, f+"/x", unix.O_CREAT|unix.O_WRONLY, 0o644)
			check("create under a file "+f, e, unix.ENOTDIR)
		}
	case 5:
		p := d + "/missing-" + strings.Repeat("m", r.IntN(3))
		if m.files[p] == nil && !m.dirs[p] {
			check("unlink of a missing name "+p, vfs.Unlink(l, p), unix.ENOENT)
		}
	}
}

// verifyModel compares every directory listing, directory link count and
// file with the model.
func verifyModel(t *testing.T, l *kernel.LWP, m *model) {
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

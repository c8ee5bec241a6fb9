package vfs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// vnReadAll reads directory vp from off with VnReaddir, taking at most
// limit entries per call (0: no limit), and returns the entries.
func vnReadAll(t *testing.T, l *kernel.LWP, vp *vfs.Vnode, limit int) []vfs.Dirent {
	t.Helper()
	var out []vfs.Dirent
	var off int64
	for calls := 0; ; calls++ {
		if calls > 100 {
			t.Fatal("VnReaddir does not end")
		}
		n := 0
		next, eof, e := vfs.VnReaddir(l, vp, off, vfs.DirentFunc(func(name string, ino uint64, dtype uint8, next uint64) bool {
			if limit > 0 && n == limit {
				return false
			}
			n++
			out = append(out, vfs.Dirent{Ino: ino, Next: next, Type: dtype, Name: strings.Clone(name)})
			return true
		}))
		must(t, e, "VnReaddir")
		if eof {
			return out
		}
		if n == 0 {
			t.Fatalf("VnReaddir from %d: no entry, no end", off)
		}
		if want := int64(out[len(out)-1].Next); next != want {
			t.Fatalf("VnReaddir stopped at cookie %d, want %d (the refused entry's)", next, want)
		}
		off = next
	}
}

func TestVnReaddir(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	must(t, vfs.Mkdir(l, "/d", 0o755), "mkdir")
	must(t, vfs.Mkdir(l, "/d/sub", 0o755), "mkdir")
	var names []string
	for i := range 20 {
		writeFile(t, l, fmt.Sprintf("/d/f%02d", i), 0o644, "")
	}
	must(t, vfs.Symlink(l, "f00", "/d/link"), "symlink")
	e := vfs.Enter(l)
	must(t, e, "enter")
	defer vfs.Leave(l, &e)
	d := vnodeOf(t, l, "/d")
	defer vfs.Vrele(l, d)
	all := vnReadAll(t, l, d, 0)
	for _, de := range all {
		names = append(names, de.Name)
		want := map[string]uint8{".": unix.DT_DIR, "..": unix.DT_DIR, "sub": unix.DT_DIR, "link": unix.DT_LNK}[de.Name]
		if want == 0 {
			want = unix.DT_REG
		}
		if de.Type != want || de.Ino == 0 {
			t.Errorf("entry %q: type %d ino %d", de.Name, de.Type, de.Ino)
		}
	}
	slices.Sort(names)
	if len(names) != 24 || names[0] != "." || names[1] != ".." || names[23] != "sub" {
		t.Fatalf("entries %q", names)
	}
	// A sink that stops early loses and repeats nothing: the refused
	// entry comes first on the next read.
	for _, limit := range []int{1, 2, 7} {
		if got := vnReadAll(t, l, d, limit); !slices.Equal(got, all) {
			t.Errorf("%d at a time: %v, want %v", limit, got, all)
		}
	}
	f := vnodeOf(t, l, "/d/f00")
	defer vfs.Vrele(l, f)
	if _, _, e := vfs.VnReaddir(l, f, 0, vfs.DirentFunc(func(string, uint64, uint8, uint64) bool { return true })); e != unix.ENOTDIR {
		t.Errorf("VnReaddir of a file: %v", e)
	}
}

// TestGetdentsSerialisesIterator: Getdents's records are VnReaddir's
// entries, resumed across calls, and a buffer too small for the next
// record is EINVAL.
func TestGetdentsSerialisesIterator(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	must(t, vfs.Mkdir(l, "/d", 0o755), "mkdir")
	for i := range 30 {
		writeFile(t, l, fmt.Sprintf("/d/a-rather-long-file-name-%02d", i), 0o644, "")
	}
	var want []vfs.Dirent
	func() {
		e := vfs.Enter(l)
		must(t, e, "enter")
		defer vfs.Leave(l, &e)
		d := vnodeOf(t, l, "/d")
		defer vfs.Vrele(l, d)
		want = vnReadAll(t, l, d, 0)
	}()
	fd, e := vfs.Open(l, "/d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, e, "open")
	defer vfs.Close(l, fd)
	if _, e := vfs.Getdents(l, fd, make([]byte, 16)); e != unix.EINVAL {
		t.Fatalf("Getdents into 16 bytes: %v, want EINVAL", e)
	}
	var got []vfs.Dirent
	buf := make([]byte, 200) // a few records per call
	for {
		n, e := vfs.Getdents(l, fd, buf)
		must(t, e, "getdents")
		if n == 0 {
			break
		}
		for b := buf[:n]; len(b) > 0; {
			d, m, ok := vfs.ParseDirent(b)
			if !ok {
				t.Fatal("bad record")
			}
			got = append(got, d)
			b = b[m:]
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Getdents: %v\nVnReaddir: %v", got, want)
	}
}

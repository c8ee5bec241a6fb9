package vfs_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// model is the simplest file system: paths to contents, directories as
// a set. runModel drives the kernel and the model with the same random
// operations and compares every result.
type model struct {
	files map[string][]byte
	dirs  map[string]bool
}

func (m *model) parentOK(p string) bool {
	i := strings.LastIndexByte(p, '/')
	return m.dirs[p[:i]]
}

func (m *model) children(d string) []string {
	var out []string
	for p := range m.files {
		if strings.HasPrefix(p, d+"/") && !strings.Contains(p[len(d)+1:], "/") {
			out = append(out, p[len(d)+1:])
		}
	}
	for p := range m.dirs {
		if strings.HasPrefix(p, d+"/") && !strings.Contains(p[len(d)+1:], "/") {
			out = append(out, p[len(d)+1:])
		}
	}
	sort.Strings(out)
	return out
}

func runModel(t *testing.T, ops []byte) {
	k, l := boot(t, kernel.Config{})
	defer k.Reboot(l, kernel.RB_HALT)
	m := &model{files: map[string][]byte{}, dirs: map[string]bool{"/tmp": true}}
	names := []string{"/tmp/a", "/tmp/b", "/tmp/d", "/tmp/d/x", "/tmp/d/y", "/tmp/e", "/tmp/e/z"}
	for i := 0; i+3 < len(ops); i += 4 {
		op, p, q, arg := ops[i]%9, names[int(ops[i+1])%len(names)], names[int(ops[i+2])%len(names)], int(ops[i+3])
		desc := fmt.Sprintf("op %d (%d %s %s %d)", i/4, op, p, q, arg)
		switch op {
		case 0: // write at an offset, creating
			off := int64(arg%8) * 3000
			data := bytes.Repeat([]byte{byte(arg)}, arg*37%5000+1)
			fd, e := vfs.Open(l, p, unix.O_CREAT|unix.O_WRONLY, 0o644)
			_, isFile := m.files[p]
			want := unix.Errno(0)
			switch {
			case m.dirs[p]:
				want = unix.EISDIR
			case !m.parentOK(p):
				want = unix.ENOENT
				if _, f := m.files[p[:strings.LastIndexByte(p, '/')]]; f {
					want = unix.ENOTDIR
				}
			}
			if e != want {
				t.Fatalf("%s: open %v, model %v", desc, e, want)
			}
			if e != 0 {
				continue
			}
			vfs.Pwrite(l, fd, data, off)
			vfs.Close(l, fd)
			cur := m.files[p]
			if !isFile {
				cur = nil
			}
			if end := off + int64(len(data)); int64(len(cur)) < end {
				cur = append(cur, make([]byte, end-int64(len(cur)))...)
			}
			copy(cur[off:], data)
			m.files[p] = cur
		case 1: // truncate
			size := int64(arg) * 101
			e := vfs.Truncate(l, p, size)
			cur, ok := m.files[p]
			switch {
			case ok:
				if e != 0 {
					t.Fatalf("%s: truncate %v", desc, e)
				}
				if int64(len(cur)) > size {
					cur = cur[:size]
				} else {
					cur = append(cur, make([]byte, size-int64(len(cur)))...)
				}
				m.files[p] = cur
			case m.dirs[p]:
				if e != unix.EISDIR {
					t.Fatalf("%s: truncate dir %v", desc, e)
				}
			default:
				if e == 0 {
					t.Fatalf("%s: truncate of a missing file worked", desc)
				}
			}
		case 2, 3: // unlink
			e := vfs.Unlink(l, p)
			if _, ok := m.files[p]; ok {
				if e != 0 {
					t.Fatalf("%s: unlink %v", desc, e)
				}
				delete(m.files, p)
			} else if e == 0 {
				t.Fatalf("%s: unlink of a non-file worked", desc)
			}
		case 4: // mkdir
			e := vfs.Mkdir(l, p, 0o755)
			_, isFile := m.files[p]
			if !isFile && !m.dirs[p] && m.parentOK(p) {
				if e != 0 {
					t.Fatalf("%s: mkdir %v", desc, e)
				}
				m.dirs[p] = true
			} else if e == 0 {
				t.Fatalf("%s: mkdir worked, model says no", desc)
			}
		case 5: // rmdir
			e := vfs.Rmdir(l, p)
			if m.dirs[p] && len(m.children(p)) == 0 {
				if e != 0 {
					t.Fatalf("%s: rmdir %v", desc, e)
				}
				delete(m.dirs, p)
			} else if e == 0 {
				t.Fatalf("%s: rmdir worked, model says no", desc)
			}
		case 6: // rename of files only (directories are covered elsewhere)
			_, pf := m.files[p]
			_, qf := m.files[q]
			if !pf || m.dirs[q] || !m.parentOK(q) {
				continue
			}
			e := vfs.Rename(l, p, q)
			if e != 0 {
				t.Fatalf("%s: rename %v", desc, e)
			}
			if p != q {
				m.files[q] = m.files[p]
				delete(m.files, p)
			}
			_ = qf
		default: // read and compare everything
			for f, want := range m.files {
				got, e := readAll(l, f)
				if e != 0 || !bytes.Equal(got, want) {
					t.Fatalf("%s: %s differs (%v): got %d bytes, model %d", desc, f, e, len(got), len(want))
				}
			}
			for d := range m.dirs {
				ents, e := vfs.ReadDir(l, d)
				if e != 0 {
					t.Fatalf("%s: readdir %s: %v", desc, d, e)
				}
				var got []string
				for _, de := range ents {
					if de.Name != "." && de.Name != ".." {
						got = append(got, de.Name)
					}
				}
				sort.Strings(got)
				if want := m.children(d); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("%s: %s lists %v, model %v", desc, d, got, want)
				}
			}
		}
	}
}

func readAll(l *kernel.LWP, p string) ([]byte, unix.Errno) {
	fd, e := vfs.Open(l, p, unix.O_RDONLY, 0)
	if e != 0 {
		return nil, e
	}
	defer vfs.Close(l, fd)
	var out []byte
	buf := make([]byte, 8192)
	for {
		n, e := vfs.Read(l, fd, buf)
		if e != 0 || n == 0 {
			return out, e
		}
		out = append(out, buf[:n]...)
	}
}

// TestModel runs random syscall sequences on the rumpfs root against the
// model.
func TestModel(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewSource(seed))
		ops := make([]byte, 4*2000)
		r.Read(ops)
		runModel(t, ops)
	}
}

// FuzzModel lets the fuzzer pick the operations.
func FuzzModel(f *testing.F) {
	f.Add([]byte{0, 0, 0, 5, 8, 0, 0, 0, 4, 2, 0, 0, 0, 3, 0, 9, 6, 0, 1, 0, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 4000 {
			ops = ops[:4000]
		}
		runModel(t, ops)
	})
}

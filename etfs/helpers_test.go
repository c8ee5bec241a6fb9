package etfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	_ "github.com/rumpfs/rumpfs/vfs/rumpfs" // the root file system
	"golang.org/x/sys/unix"
)

type tlog struct {
	t   *testing.T
	buf *bytes.Buffer
}

func (w tlog) Write(p []byte) (int, error) {
	w.t.Logf("console: %s", strings.TrimRight(string(p), "\n"))
	w.buf.Write(p)
	return len(p), nil
}

type tk struct {
	t       *testing.T
	k       *kernel.Kernel
	l       *kernel.LWP
	e       *etfs.Etfs
	console *bytes.Buffer
}

// boot boots a kernel with an LWP for syscalls and its etfs; the kernel
// halts when the test ends.
func boot(t *testing.T) *tk {
	t.Helper()
	var console bytes.Buffer
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: tlog{t, &console}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	e := etfs.Of(k)
	if e == nil || etfs.Of(k) != e {
		t.Fatal("etfs.Of: no etfs, or a second one")
	}
	t.Cleanup(func() { k.Reboot(l, kernel.RB_HALT) })
	return &tk{t, k, l, e, &console}
}

// hostFile makes a file of size bytes, byte i = i*7+i>>8 mod 251, and
// returns its path and contents.
func hostFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	for i := range b {
		b[i] = byte((i*7 + i>>8) % 251)
	}
	p := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func (x *tk) register(key, host string, typ etfs.Type) {
	x.t.Helper()
	if err := x.e.Register(key, host, typ); err != nil {
		x.t.Fatalf("Register(%s, %s, %v): %v", key, host, typ, err)
	}
}

func (x *tk) stat(path string) (vfs.Vattr, unix.Errno) {
	var va vfs.Vattr
	e := vfs.Stat(x.l, path, &va)
	return va, e
}

// readAll reads path through the kernel.
func (x *tk) readAll(path string) ([]byte, unix.Errno) {
	fd, e := vfs.Open(x.l, path, unix.O_RDONLY, 0)
	if e != 0 {
		return nil, e
	}
	defer vfs.Close(x.l, fd)
	var out []byte
	buf := make([]byte, 1000) // odd size: crosses every boundary
	for {
		n, e := vfs.Read(x.l, fd, buf)
		out = append(out, buf[:n]...)
		if e != 0 || n == 0 {
			return out, e
		}
	}
}

func (x *tk) names(path string) []string {
	x.t.Helper()
	ents, e := vfs.ReadDir(x.l, path)
	if e != 0 {
		x.t.Fatalf("ReadDir(%s): %v", path, e)
	}
	var out []string
	for _, d := range ents {
		out = append(out, d.Name)
	}
	return out
}

// lookup does a component-wise VOP_LOOKUP as FUSE does: one name, no rest.
func (x *tk) lookup(dvp *vfs.Vnode, name string) (vp *vfs.Vnode, e unix.Errno) {
	if e = vfs.Enter(x.l); e != 0 {
		return nil, e
	}
	defer vfs.Leave(x.l, &e)
	return vfs.VOPLookup(x.l, dvp, &vfs.ComponentName{Op: vfs.LOOKUP, Name: name, IsLast: true})
}

func (x *tk) vrele(vp *vfs.Vnode) {
	var e unix.Errno
	if e = vfs.Enter(x.l); e != 0 {
		x.t.Fatal(e)
	}
	defer vfs.Leave(x.l, &e)
	vfs.Vrele(x.l, vp)
}

// hostFDFlags finds the descriptor of this process open on path and
// returns its open flags from /proc/self/fdinfo and how many there are.
func hostFDFlags(t *testing.T, path string) (flags int, count int) {
	t.Helper()
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, fd := range fds {
		target, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err != nil || target != want {
			continue
		}
		b, err := os.ReadFile("/proc/self/fdinfo/" + fd.Name())
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				if f, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64); err == nil {
					flags = int(f)
					count++
				}
			}
		}
	}
	return flags, count
}

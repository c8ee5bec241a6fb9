package etfs_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// FuzzResolve registers a key and looks up a path: registration either
// refuses the key with EINVAL or ENAMETOOLONG or makes it resolve from the
// root; no lookup panics.
func FuzzResolve(f *testing.F) {
	for _, s := range [][2]string{
		{"/dev/img", "/dev/img"},
		{"//a//b/", "/a/b/c"},
		{"/a/b/c", "/a/./b/../b/c"},
		{"dev", "/dev"},
		{"/tmp", "/tmp/x"},
		{"/a/..", "/a"},
		{"/x", "/x/"},
		{"/" + strings.Repeat("a/", 40) + "z", "/" + strings.Repeat("a/", 40)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, key, path string) {
		x := boot(t)
		host, _ := hostFile(t, 4096)
		err := x.e.Register(key, host, etfs.REG)
		if err != nil {
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENAMETOOLONG) {
				t.Fatalf("Register(%q): %v", key, err)
			}
		} else {
			trimmed := strings.TrimRight(key, "/")
			if va, e := x.stat(trimmed); e != 0 || va.Type != vfs.VREG {
				t.Fatalf("registered %q but stat %q: %v %v", key, trimmed, e, va.Type)
			}
			if _, e := x.stat(trimmed + "/x"); e != unix.ENOTDIR {
				t.Fatalf("stat %q/x: %v, want ENOTDIR", trimmed, e)
			}
		}
		x.stat(path)
		if err == nil {
			if err := x.e.Remove(key); err != nil {
				t.Fatalf("Remove(%q): %v", key, err)
			}
		}
		if bytes.Contains(x.console.Bytes(), []byte("panic")) {
			t.Fatalf("a panic was recovered:\n%s", x.console)
		}
	})
}

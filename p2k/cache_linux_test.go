package p2k

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestHostCachesAndInvalidate: a read-write mount keeps the host's page
// cache, attributes and entries (a change made in the kernel behind the
// bridge's back stays unseen), and Invalidate and InvalidateEntry make
// the host see such changes.
func TestHostCachesAndInvalidate(t *testing.T) {
	b, v := testBridge(t, DefaultOptions())
	mnt := mount(t, b, nil)
	l := v.Kernel().LWP0()
	// Made through the mount: the host caches what it saw of them.
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "f")); err != nil || string(got) != "old" {
		t.Fatalf("read: %q %v", got, err)
	}
	if _, err := os.Lstat(filepath.Join(mnt, "g")); !os.IsNotExist(err) {
		t.Fatalf("lstat of g before it exists: %v", err)
	}

	// Changed in the kernel, not through the mount.
	write := func(path, data string) {
		fd, e := vfs.Open(l, path, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
		if e != 0 {
			t.Fatal(e)
		}
		if _, e := vfs.Write(l, fd, []byte(data)); e != 0 {
			t.Fatal(e)
		}
		vfs.Close(l, fd)
	}
	// The same size and times, or the host would see the change in the
	// attributes it fetches again after reading (atime) and drop its
	// pages itself (FUSE_AUTO_INVAL_DATA).
	var va vfs.Vattr
	if e := vfs.Stat(l, "/f", &va); e != 0 {
		t.Fatal(e)
	}
	write("/f", "new")
	if e := vfs.Utimes(l, "/f", &[2]vfs.Timespec{va.Atime, va.Mtime}, true); e != 0 {
		t.Fatal(e)
	}
	write("/g", "g")
	if got, _ := os.ReadFile(filepath.Join(mnt, "f")); string(got) != "old" {
		t.Errorf("read after a change behind the bridge: %q, want the cached %q (no caching?)", got, "old")
	}
	if _, err := os.Lstat(filepath.Join(mnt, "g")); !os.IsNotExist(err) {
		t.Errorf("lstat of g made behind the bridge: %v, want the cached ENOENT", err)
	}

	var vp *vfs.Vnode
	if e := vfs.Run(l, func() unix.Errno {
		res, e := vfs.Namei(l, nil, "/f", vfs.LOOKUP, 0)
		vp = res.Vp
		return e
	}); e != 0 {
		t.Fatal(e)
	}
	b.Invalidate(vp)
	vfs.Run(l, func() unix.Errno { vfs.Vrele(l, vp); return 0 })
	b.InvalidateEntry(v.Root(), "g")
	if got, err := os.ReadFile(filepath.Join(mnt, "f")); err != nil || string(got) != "new" {
		t.Errorf("read after Invalidate: %q %v, want %q", got, err, "new")
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "g")); err != nil || string(got) != "g" {
		t.Errorf("read of g after InvalidateEntry: %q %v", got, err)
	}
}

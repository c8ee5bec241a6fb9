package ffs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestLendReadOnly: on a read-only mount of an etfs image, reads that take
// loans and reads that copy both return what mksample.sh wrote, at every
// offset and size tried; reads in one run of blocks are lent.
func TestLendReadOnly(t *testing.T) {
	img := filepath.Join(t.TempDir(), "sample.ffs")
	if err := os.WriteFile(img, sampleImage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	k, l := bootKernel(t)
	defer k.Reboot(l, kernel.RB_HALT)
	if err := etfs.Of(k).RegisterReadOnly("/dev/sample", img, etfs.BLK); err != nil {
		t.Fatal(err)
	}
	if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
		t.Fatal(e)
	}
	if e := vfs.MountPath(l, "ffs", "/dev/sample", "/mnt", vfs.MNT_RDONLY, nil); e != 0 {
		t.Fatalf("mount: %v", e)
	}
	read := func(path string, off int64, n int, lend bool) ([]byte, bool) {
		t.Helper()
		var got []byte
		var lent bool
		e := func() (e unix.Errno) {
			if e = vfs.Enter(l); e != 0 {
				return e
			}
			defer vfs.Leave(l, &e)
			res, e := vfs.Namei(l, nil, path, vfs.LOOKUP, 0)
			if e != 0 {
				return e
			}
			defer res.Release(l)
			buf := make([]byte, n)
			u := kernel.UioSetup(buf, off, kernel.UioRead)
			if lend {
				kernel.UioFree(u)
				u = kernel.UioSetupLend(buf, off)
			}
			e = vfs.VOPRead(l, res.Vp, u, 0)
			b, from := kernel.UioLent(u)
			got = buf[:n-kernel.UioFree(u)]
			if b != nil {
				got, lent = bytes.Clone(b), true
				from.Unlend(b)
			}
			return e
		}()
		if e != 0 {
			t.Fatalf("read %s at %d: %v", path, off, e)
		}
		return got, lent
	}
	// What mksample.sh wrote, independent of our reader.
	var lines bytes.Buffer
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&lines, "line %d\n", i)
	}
	files := map[string][]byte{
		"/mnt/hello.txt":      []byte("Hello from a Berkeley Fast File System.\n"),
		"/mnt/docs/lines.txt": lines.Bytes(),
	}
	lent := 0
	for p, content := range files {
		size := int64(len(content))
		for _, c := range []struct {
			off int64
			n   int
		}{{0, 1 << 20}, {0, 10}, {1, 4096}, {5000, 9000}, {20000, 70000}, {1 << 30, 10}} {
			want := content[min(c.off, size):min(c.off+int64(c.n), size)]
			if got, _ := read(p, c.off, c.n, false); !bytes.Equal(got, want) {
				t.Fatalf("%s [%d, +%d): copying read differs from the file written", p, c.off, c.n)
			}
			got, wasLent := read(p, c.off, c.n, true)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s [%d, +%d): lending read (lent %v) differs from the file written", p, c.off, c.n, wasLent)
			}
			if wasLent {
				lent++
			}
		}
	}
	st := etfs.Of(k).Device("/dev/sample").Stats()
	if lent == 0 || st.BytesLent == 0 {
		t.Fatalf("%d reads lent, %d bytes: want some", lent, st.BytesLent)
	}
}

package ffs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestCorruptionLogged: each EIO for damaged metadata comes with a dmesg
// line naming the structure and where it is (a dinode of a bad type, a
// directory entry with a bad record length), and a flood of them is
// rate-limited (kernel.Ratelog).
func TestCorruptionLogged(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a"), []byte("a file"), 0o644)
	os.MkdirAll(filepath.Join(src, "d"), 0o755)
	os.WriteFile(filepath.Join(src, "d", "x"), []byte("x"), 0o644)
	img := makefs(t, geometry{2, false, 8192, 1024}, src)
	fs := openImage(t, img)
	root, e := fs.inode(nil, 2)
	if e != 0 {
		t.Fatal(e)
	}
	a, e1 := root.Lookup(nil, "a")
	d, e2 := root.Lookup(nil, "d")
	if e1 != 0 || e2 != 0 {
		t.Fatalf("lookups: %v %v", e1, e2)
	}
	dip, e := fs.inode(nil, uint64(d.Ino))
	if e != 0 {
		t.Fatal(e)
	}
	patchImage(t, img, func(sb *Superblock, b []byte) {
		// a's mode (the dinode's first 16 bits): no file type.
		ino := uint64(a.Ino)
		off := sb.InoToFsba(ino)<<sb.FShift + int64(sb.InoToFsbo(ino)*sb.DinodeSize())
		sb.Order.PutUint16(b[off:], 0o110644)
		// d's first entry: a record length that is not a multiple of 4.
		sb.Order.PutUint16(b[dip.DB[0]<<sb.FShift+4:], 13)
	})
	k, l := bootKernel(t)
	if e := mountImage(t, k, l, img, "/m", vfs.MNT_RDONLY); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	var va vfs.Vattr
	if e := vfs.Stat(l, "/m/a", &va); e != unix.EIO {
		t.Errorf("stat of a bad dinode: %v, want EIO", e)
	}
	if _, e := vfs.ReadDir(l, "/m/d"); e != unix.EIO {
		t.Errorf("readdir of a bad directory: %v, want EIO", e)
	}
	dm := k.Dmesg()
	for _, want := range []string{
		fmt.Sprintf("inode %d: not allocated or bad type (mode 0110644)", a.Ino),
		fmt.Sprintf("directory %d: directory entry at offset 0: record length 13", d.Ino),
	} {
		if !strings.Contains(dm, want) {
			t.Errorf("dmesg does not say %q:\n%s", want, dm)
		}
	}

	// A flood: far fewer lines than errors.
	inodeLine := fmt.Sprintf("inode %d:", a.Ino)
	before := strings.Count(k.Dmesg(), inodeLine)
	const n = 3000
	start := time.Now()
	eios := 0
	for range n {
		if vfs.Stat(l, "/m/a", &va) == unix.EIO {
			eios++
		}
	}
	elapsed := time.Since(start)
	lines := strings.Count(k.Dmesg(), inodeLine) - before
	// The bound grows with the time the flood took, so that a slow
	// machine cannot fail this.
	bound := kernel.RatelogBurst + int(elapsed.Seconds()*kernel.RatelogPerSec) + 1
	t.Logf("%d EIOs in %v: %d lines logged (bound %d)", eios, elapsed, lines, bound)
	if eios != n {
		t.Errorf("%d of %d stats answered EIO", eios, n)
	}
	if lines > bound || lines == 0 {
		t.Errorf("%d lines logged for %d EIOs, want 1..%d", lines, n, bound)
	}
	halt(t, k, l)
}

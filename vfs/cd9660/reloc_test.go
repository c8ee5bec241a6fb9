package cd9660_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
)

// TestRelocated: xorriso told to keep ISO 9660's depth limit moves deep
// directories under a relocation directory (Rock Ridge RE, CL, PL);
// the mount shows them where they belong.
func TestRelocated(t *testing.T) {
	src := t.TempDir()
	deep := filepath.Join(src, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deep, "file"), []byte("deep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := xorriso(t, src, "-compliance", "deep_paths_off")
	k, l := mount(t, img, nil)
	kdeep := "/mnt/a/b/c/d/e/f/g/h/i/j"
	if got := readFile(t, l, kdeep+"/file"); string(got) != "deep\n" {
		t.Errorf("deep file: %q", got)
	}
	var va, vb vfs.Vattr
	if e := vfs.Lstat(l, kdeep+"/..", &va); e != 0 {
		t.Fatal(e)
	}
	if e := vfs.Lstat(l, "/mnt/a/b/c/d/e/f/g/h/i", &vb); e != 0 || va.Fileid != vb.Fileid {
		t.Errorf("j/.. is file %d (%v), i is %d", va.Fileid, e, vb.Fileid)
	}
	ents, e := vfs.ReadDir(l, "/mnt/a/b/c/d/e/f/g/h/i")
	if e != 0 || len(ents) != 3 || ents[2].Name != "j" {
		t.Errorf("i lists %v (%v)", ents, e)
	}
	// The relocated directory's ".." names its logical parent (PL).
	jents, e := vfs.ReadDir(l, kdeep)
	if e != 0 || len(jents) < 2 || jents[1].Ino != vb.Fileid {
		t.Errorf("j lists %v (%v), want .. to be %d", jents, e, vb.Fileid)
	}
	// Where it sits, it is hidden (RE).
	root, _ := vfs.ReadDir(l, "/mnt")
	if len(root) != 3 {
		t.Errorf("root lists %v, want ., .. and a", root)
	}
	drivertest.Halt(t, k, l)
}

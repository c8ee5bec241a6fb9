package all

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
	"golang.org/x/sys/unix"
)

// TestPOSIX runs the POSIX suite on every writable row and fscks images
// after the halt.
func TestPOSIX(t *testing.T) {
	for _, r := range Rows {
		if r.FS == nil {
			continue
		}
		t.Run(r.Name, func(t *testing.T) {
			if !r.Lockcheck {
				vfstest.Run(t, *r.FS)
				return
			}
			c := drivertest.InstallLockChecker(t)
			vfstest.Run(t, *r.FS)
			noBreaches(t, c, "Lookup", "Create", "Remove", "Rename", "Write", "Getattr", "Inactive")
		})
	}
}

// noBreaches fails t for every lock rule c saw broken, and when c saw
// none of ops (it was not installed).
func noBreaches(t *testing.T, c *drivertest.LockChecker, ops ...string) {
	t.Helper()
	for _, b := range c.Breaches() {
		t.Error("lock rule broken: " + b)
	}
	for _, op := range ops {
		if c.Calls(op) == 0 {
			t.Errorf("the lock checker saw no %s call: not installed?", op)
		}
	}
}

// TestLockCheckerCatches calls operations through the checker without the
// locks the rules promise, as a VOP wrapper that forgot them would.
func TestLockCheckerCatches(t *testing.T) {
	c := drivertest.InstallLockChecker(t)
	k, l := drivertest.Boot(t)
	defer drivertest.Halt(t, k, l)
	if e := vfs.Mkdir(l, "/d", 0o755); e != 0 {
		t.Fatal(e)
	}
	if n := len(c.Breaches()); n != 0 {
		t.Fatalf("breaches through the VOP layer: %v", c.Breaches())
	}
	vp, e := vfs.OpenVnode(l, "/d", unix.O_RDONLY, 0)
	if e != 0 {
		t.Fatal(e)
	}
	if e := vfs.Enter(l); e != 0 {
		t.Fatal(e)
	}
	var va vfs.Vattr
	vp.Ops().Getattr(l, vp, &va) // no vnode lock
	vp.Lock(l, false)
	vp.Ops().Setattr(l, vp, &vfs.Vattr{})                               // shared, not exclusive
	vp.Ops().Lookup(l, vp, &vfs.ComponentName{Name: "x", IsLast: true}) // no namespace lock
	vp.Unlock(false)
	vfs.VOPClose(l, vp, vfs.FREAD)
	vfs.Vrele(l, vp)
	vfs.Leave(l, &e)
	got := c.Breaches()
	for _, w := range []string{"Getattr: vnode", "Setattr: vnode", "Lookup: namespace lock"} {
		if !slices.ContainsFunc(got, func(b string) bool { return strings.HasPrefix(b, w) }) {
			t.Errorf("no breach %q recorded; got %q", w, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("breaches %q, want 3", got)
	}
}

// TestTree makes every row's file system from the same generated tree
// and compares the mounted result with the tree.
func TestTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	vfstest.GenTree(t, src, vfstest.TreeOpts{Wide: 300, Xattrs: true})
	for _, r := range Rows {
		t.Run(r.Name, func(t *testing.T) {
			c := drivertest.InstallLockChecker(t) // every driver's read path
			k, l := drivertest.Boot(t)
			dir := r.FromTree(t, k, l, src)
			vfstest.CompareTree(t, l, src, dir, r.Keeps)
			if r.TreeRO {
				if e := vfs.Mkdir(l, dir+"/new", 0o755); e != unix.EROFS {
					t.Errorf("mkdir on a read-only mount: %v, want EROFS", e)
				}
				if _, e := vfs.Open(l, dir+"/hard1", unix.O_WRONLY, 0); e != unix.EROFS {
					t.Errorf("open for writing on a read-only mount: %v, want EROFS", e)
				}
			}
			drivertest.Halt(t, k, l)
			ops := []string{"Lookup", "Getattr", "Read", "Readdir", "Readlink"}
			if r.Keeps.FilesAndDirs {
				ops = ops[:4] // no symbolic links to read
			}
			noBreaches(t, c, ops...)
		})
	}
}

// TestModel runs the random-operation model on every writable row.
func TestModel(t *testing.T) {
	for _, r := range Rows {
		if r.FS == nil {
			continue
		}
		n := r.ModelOps
		if testing.Short() {
			n /= 4
		}
		t.Run(r.Name, func(t *testing.T) {
			c := drivertest.InstallLockChecker(t)
			defer noBreaches(t, c, "Rename", "Write", "Setattr")
			for seed := range uint64(2) {
				vfstest.RunModel(t, *r.FS, vfstest.NewSeeded(seed), n/2)
			}
		})
	}
}

// FuzzModel lets the fuzzer pick the row and the operations.
func FuzzModel(f *testing.F) {
	f.Add(uint8(0), []byte{0, 60, 0, 0, 0, 10, 0, 0, 0, 5, 0, 3, 0, 0, 0, 92, 0, 1, 0, 0})
	f.Add(uint8(2), []byte{0, 55, 0, 0, 0, 4, 0, 0, 0, 1, 0, 200, 0, 20, 0, 0, 0, 7, 0, 96, 0, 0})
	var writable []Row
	for _, r := range Rows {
		if r.FS != nil {
			writable = append(writable, r)
		}
	}
	f.Fuzz(func(t *testing.T, row uint8, ops []byte) {
		if len(ops) > 8000 {
			ops = ops[:8000]
		}
		b := vfstest.Bytes(ops)
		vfstest.RunModel(t, *writable[int(row)%len(writable)].FS, &b, len(ops))
	})
}

// TestEveryDriverHasARow fails for a registered file system type without
// a row, and for a package that registers a type this package does not
// import (so its type would not even be registered here).
func TestEveryDriverHasARow(t *testing.T) {
	rows := map[string]bool{}
	for _, r := range Rows {
		rows[r.Type] = true
	}
	for _, name := range vfs.FSTypeNames() {
		if !rows[name] {
			t.Errorf("file system type %q has no row in the table", name)
		}
	}
	// Every package this test links, however indirectly.
	out, err := exec.Command("go", "list", "-test", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	linked := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		linked[p] = true
	}
	root, _ := filepath.Abs("../../..")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "RegisterFSType(&") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		pkg := "github.com/rumpfs/rumpfs/" + filepath.ToSlash(rel)
		if !linked[pkg] {
			t.Errorf("%s registers a file system type but the table does not import %s", filepath.Base(p), pkg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(vfs.FSTypeNames(), "ext2fs") {
		t.Error("ext2fs not registered: the scan above is broken")
	}
}

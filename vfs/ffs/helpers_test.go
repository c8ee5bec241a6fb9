package ffs

import (
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
)

// needTool skips when a tool is missing, unless RUMPFS_E2E is set (CI),
// where a missing tool fails the test.
func needTool(t testing.TB, name string) {
	t.Helper()
	testenv.Tool(t, name)
}

// geometry is one makefs configuration.
type geometry struct {
	version      int
	be           bool
	bsize, fsize int
}

func (g geometry) String() string {
	order := "le"
	if g.be {
		order = "be"
	}
	return fmt.Sprintf("ufs%d-%s-%d-%d", g.version, order, g.bsize, g.fsize)
}

// makefs builds an image of dir with geometry g and returns its path.
func makefs(t testing.TB, g geometry, dir string, extra ...string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), g.String()+".img")
	order := "le"
	if g.be {
		order = "be"
	}
	args := append([]string{"-t", "ffs", "-B", order, "-M", "512k", "-b", "30%", "-f", "10%",
		"-o", fmt.Sprintf("version=%d,bsize=%d,fsize=%d,density=2048", g.version, g.bsize, g.fsize)}, extra...)
	testenv.Run(t, "", "makefs", append(args, img, dir)...)
	return img
}

// openImage opens an image file as an FS.
func openImage(t testing.TB, path string) *FS {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	var logs []string
	fs, err := Open(nil, &bio.ReaderDevice{R: f, Len: st.Size()}, Options{Logf: func(f string, a ...any) {
		logs = append(logs, fmt.Sprintf(f, a...))
	}})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return fs
}

// fileData is deterministic content for a file of n bytes.
func fileData(seed uint64, n int) []byte { return vfstest.Pseudo(seed, n) }

// boundarySizes lists file sizes at every edge of the direct, single and
// (when small enough) double indirect ranges for geometry g.
func boundarySizes(g geometry) []int64 {
	B, F := int64(g.bsize), int64(g.fsize)
	ptr := int64(4)
	if g.version == 2 {
		ptr = 8
	}
	n := B / ptr
	edges := []int64{0, 1, F - 1, F, F + 1, B - 1, B, B + 1, 12*B - 1, 12 * B, 12*B + 1}
	if (12+n)*B <= 8<<20 {
		edges = append(edges, (12+n)*B-1, (12+n)*B, (12+n)*B+1)
	}
	var out []int64
	for _, e := range edges {
		if e >= 0 && e <= 8<<20 {
			out = append(out, e)
		}
	}
	return out
}

// buildTree writes the test tree under dir for geometry g: size-boundary
// files, a sparse file, deep paths, a wide directory, symlinks of both
// kinds, hard links, a FIFO, a device node, and odd modes and owners.
func buildTree(t testing.TB, dir string, g geometry, wide int) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sizes"), 0o755))
	for i, n := range boundarySizes(g) {
		must(os.WriteFile(filepath.Join(dir, "sizes", fmt.Sprintf("f%07d", n)), fileData(uint64(i), int(n)), 0o644))
	}
	// A sparse file: makefs writes its holes as zeros (or leaves them).
	sp := filepath.Join(dir, "sparse")
	f, err := os.Create(sp)
	must(err)
	_, err = f.WriteAt([]byte("tail"), int64(20*g.bsize))
	must(err)
	must(f.Close())

	deep := dir
	for i := range 40 {
		deep = filepath.Join(deep, fmt.Sprintf("d%02d", i))
	}
	must(os.MkdirAll(deep, 0o755))
	must(os.WriteFile(filepath.Join(deep, "bottom"), []byte("deep\n"), 0o600))

	wd := filepath.Join(dir, "wide")
	must(os.Mkdir(wd, 0o755))
	for i := range wide {
		must(os.WriteFile(filepath.Join(wd, fmt.Sprintf("entry-%05d-%s", i, strings.Repeat("x", i%60))), nil, 0o644))
	}

	must(os.Symlink("sizes/f0000001", filepath.Join(dir, "fastlink")))
	must(os.Symlink(strings.Repeat("long/", 60)+"end", filepath.Join(dir, "slowlink")))
	must(os.Symlink(strings.Repeat("y", 119), filepath.Join(dir, "link119")))
	must(os.Symlink(strings.Repeat("z", 120), filepath.Join(dir, "link120")))

	must(os.WriteFile(filepath.Join(dir, "hard1"), []byte("linked\n"), 0o644))
	must(os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "hard2")))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "sub", "hard3")))

	odd := filepath.Join(dir, "odd")
	must(os.Mkdir(odd, 0o755))
	for i, m := range []os.FileMode{0, 0o755 | os.ModeSetuid, 0o711 | os.ModeSetgid, 0o777 | os.ModeSticky, 0o777, 0o400} {
		p := filepath.Join(odd, fmt.Sprintf("m%d", i))
		must(os.WriteFile(p, []byte{byte(i)}, 0o600))
		must(syscall.Chmod(p, uint32(m.Perm())|modeBits(m)))
		must(os.Lchown(p, 1000+i*777, 50000+i))
	}
	must(os.Lchown(filepath.Join(dir, "fastlink"), 4242, 4343))
	must(syscall.Mkfifo(filepath.Join(odd, "fifo"), 0o640))
	must(syscall.Mknod(filepath.Join(odd, "chr"), syscall.S_IFCHR|0o600, int((1<<8)|3)))
}

func modeBits(m os.FileMode) uint32 {
	var v uint32
	if m&os.ModeSetuid != 0 {
		v |= syscall.S_ISUID
	}
	if m&os.ModeSetgid != 0 {
		v |= syscall.S_ISGID
	}
	if m&os.ModeSticky != 0 {
		v |= syscall.S_ISVTX
	}
	return v
}

var (
	lookPath = exec.LookPath
	readFile = os.ReadFile
)

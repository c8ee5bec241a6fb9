package layers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/rumpfs/rumpfs"

// The layers of docs/ARCHITECTURE.md, lowest first. A package imports
// only packages on a lower layer; packages on one layer do not import
// each other (vfs and rumpblk, etfs and p2k, two drivers). A pattern
// ending in "/..." covers a tree; the longest match wins, and any other
// package under vfs/ is a driver.
var layers = []struct {
	name string
	pkgs []string
}{
	{"host helpers", []string{"internal/..."}},
	{"kernel and images", []string{"kernel", "images"}},
	{"buffer cache", []string{"vfs/bio"}},
	{"vfs and the block device", []string{"vfs", "vfs/rumpblk"}},
	{"genfs", []string{"vfs/genfs"}},
	{"drivers", []string{"vfs/..."}},
	{"kernel entry", []string{"etfs", "p2k"}},
	{"commands", []string{"cmd/..."}},
	{"driver test kit", []string{"vfs/drivertest"}},
	{"test helpers", []string{"vfs/vfstest/...", "test"}},
}

// sideways are the imports allowed within one layer, beyond a driver's own
// subpackages (vfs/ext2fs imports vfs/ext2fs/disk).
var sideways = map[string][]string{
	// UFS is FFS's inode layer, as in NetBSD; each has its on-disk
	// layout in a disk/ package, and FFS's builds on UFS's.
	"vfs/ffs":      {"vfs/ufs", "vfs/ufs/disk"},
	"vfs/ffs/disk": {"vfs/ufs/disk"},
}

// layerOf returns the layer index of a module-relative package path, or
// -1 when no layer names it.
func layerOf(pkg string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		for _, p := range l.pkgs {
			n := len(p)
			ok := pkg == p
			if tree, isTree := strings.CutSuffix(p, "/..."); isTree {
				ok = pkg == tree || strings.HasPrefix(pkg, tree+"/")
				n = len(tree)
			} else {
				n++ // an exact name beats a tree of the same length
			}
			if ok && n > bestLen {
				best, bestLen = i, n
			}
		}
	}
	return best
}

// check returns one line per import that breaks the layering, for a graph
// of module-relative package paths.
func check(graph map[string][]string) []string {
	var bad []string
	for pkg, imps := range graph {
		from := layerOf(pkg)
		if from < 0 {
			bad = append(bad, fmt.Sprintf("%s is on no layer: add it to the table in internal/layers and to docs/ARCHITECTURE.md", pkg))
			continue
		}
		for _, imp := range imps {
			to := layerOf(imp)
			switch {
			case to >= 0 && to < from:
			case to == from && layers[from].name == "drivers" && strings.HasPrefix(imp, pkg+"/"):
			case to == from && contains(sideways[pkg], imp):
			default:
				bad = append(bad, fmt.Sprintf("%s (%s) imports %s (%s)", pkg, layers[from].name, imp, layerName(to)))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func layerName(i int) string {
	if i < 0 {
		return "no layer"
	}
	return layers[i].name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// moduleGraph lists every package of the module built for goos, with its
// imports from the module (go list; tests excluded).
func moduleGraph(t *testing.T, goos string) map[string][]string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list (GOOS=%s): %v", goos, err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := rel(f[0])
		if !ok {
			t.Fatalf("go list: %s is outside the module", f[0])
		}
		graph[pkg] = nil
		for _, imp := range f[1:] {
			if r, ok := rel(imp); ok {
				graph[pkg] = append(graph[pkg], r)
			}
		}
	}
	return graph
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	return strings.CutPrefix(path, module+"/")
}

// TestImportGraph: no package of the module imports one above it, on
// Linux and on macOS (whose files differ).
func TestImportGraph(t *testing.T) {
	for _, goos := range []string{"linux", "darwin"} {
		g := moduleGraph(t, goos)
		if len(g) < 10 {
			t.Fatalf("GOOS=%s: only %d packages listed", goos, len(g))
		}
		for _, line := range check(g) {
			t.Errorf("GOOS=%s: %s", goos, line)
		}
	}
}

// TestCheck: the checker itself refuses what the layering forbids.
func TestCheck(t *testing.T) {
	for _, c := range []struct {
		pkg, imp string
		ok       bool
	}{
		{"vfs/ffs", "vfs", true},
		{"vfs/ffs", "vfs/ufs", true},
		{"vfs/ext2fs", "vfs/ext2fs/disk", true},
		{"vfs/ext2fs", "vfs/rumpblk", true},
		{"etfs", "vfs/rumpblk", true},
		{"cmd/rumpfs", "p2k", true},
		{"vfs/vfstest", "vfs/ffs", true},
		{"vfs/ffs", "etfs", false},
		{"vfs/ext2fs", "vfs/ffs", false},
		{"vfs/rumpblk", "vfs", false},
		{"vfs", "vfs/rumpblk", false},
		{"vfs", "vfs/rumpfs", false},
		{"kernel", "vfs", false},
		{"kernel", "images", false},
		{"vfs/bio", "vfs", false},
		{"etfs", "p2k", false},
		{"p2k", "cmd/rumpfs", false},
		{"images", "kernel", false},
		{"nowhere", "kernel", false},
	} {
		bad := check(map[string][]string{c.pkg: {c.imp}})
		if (len(bad) == 0) != c.ok {
			t.Errorf("%s importing %s: ok %v, want %v (%q)", c.pkg, c.imp, len(bad) == 0, c.ok, bad)
		}
	}
}

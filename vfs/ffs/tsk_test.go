package ffs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs/ufs"
)

// ourListing is every path under the root with its inode number, as
// "path ino" lines, the way fls -r -p names them.
func ourListing(t *testing.T, f *FS) []string {
	var out []string
	var walk func(ip *ufs.Inode, prefix string)
	walk = func(ip *ufs.Inode, prefix string) {
		ip.ReadDir(nil, 0, func(d ufs.Direct) bool {
			if d.Name == "." || d.Name == ".." {
				return true
			}
			p := prefix + d.Name
			out = append(out, fmt.Sprintf("%s %d", p, d.Ino))
			if d.Type == ufs.DTDir {
				c, err := f.Inode(nil, uint64(d.Ino))
				if err != 0 {
					t.Fatalf("%s: %v", p, err)
				}
				walk(c, p+"/")
			}
			return true
		})
	}
	root, _ := f.Root(nil)
	walk(root, "")
	sort.Strings(out)
	return out
}

// TestSleuthKitAgrees compares names, inode numbers and file bytes with
// The Sleuth Kit, an independent reader (it opens makefs UFS1 images in
// both byte orders), on a tree with a directory of thousands of entries.
func TestSleuthKitAgrees(t *testing.T) {
	needTool(t, "fls")
	needTool(t, "icat")
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root to chown and mknod the source tree")
	}
	for _, g := range []geometry{{1, false, 4096, 512}, {1, true, 8192, 1024}} {
		t.Run(g.String(), func(t *testing.T) {
			src := t.TempDir()
			buildTree(t, src, g, 3000)
			img := makefs(t, g, src, "-M", "6m", "-o", "density=1024") // room for the inodes makefs undercounts
			f := openImage(t, img)
			out, err := exec.Command("fls", "-r", "-p", "-f", "ufs1", img).Output()
			if err != nil {
				t.Fatalf("fls: %v", err)
			}
			var theirs []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				// "r/r 12:\tpath"; TSK adds a virtual $OrphanFiles.
				head, path, ok := strings.Cut(line, "\t")
				if !ok || strings.Contains(path, "$OrphanFiles") {
					continue
				}
				fields := strings.Fields(head)
				ino := strings.TrimSuffix(fields[len(fields)-1], ":")
				theirs = append(theirs, path+" "+ino)
			}
			sort.Strings(theirs)
			ours := ourListing(t, f)
			if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
				t.Fatalf("listings differ: ours %d entries, fls %d", len(ours), len(theirs))
			}
			if len(ours) < 3000 {
				t.Fatalf("only %d entries listed", len(ours))
			}
			sizes, _ := os.ReadDir(filepath.Join(src, "sizes"))
			for _, e := range sizes {
				ip := namei(t, f, "sizes/"+e.Name())
				want, err := exec.Command("icat", "-f", "ufs1", img, fmt.Sprint(ip.Number)).Output()
				if err != nil {
					t.Fatalf("icat %d: %v", ip.Number, err)
				}
				got := make([]byte, ip.Size)
				n, _ := ip.ReadAt(nil, got, 0)
				if !bytes.Equal(got[:n], want) {
					t.Errorf("%s: our %d bytes differ from icat's %d", e.Name(), n, len(want))
				}
			}
		})
	}
}

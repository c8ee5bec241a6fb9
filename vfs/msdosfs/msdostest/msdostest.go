// Package msdostest makes FAT images for tests with the real tools:
// mkfs.fat for the file system, mtools' mcopy to fill it from a host
// tree.
package msdostest

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

// Mkfs makes a FAT image of sizeK KiB: fat is 12, 16 or 32, secPerClus
// the cluster size in 512-byte sectors. When src is not "", its contents
// are copied in with mcopy -s -m (modification times kept, at FAT's two
// seconds).
func Mkfs(t testing.TB, src string, fat, secPerClus, sizeK int) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), fmt.Sprintf("fat%d.img", fat))
	testenv.Run(t, "", "mkfs.fat", "-C", "-F", fmt.Sprint(fat), "-s", fmt.Sprint(secPerClus), "-n", "RUMPFS", img, fmt.Sprint(sizeK))
	if src == "" {
		return img
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		return img
	}
	args := []string{"-s", "-m", "-Q", "-i", img}
	for _, e := range ents {
		args = append(args, filepath.Join(src, e.Name()))
	}
	Mtools(t, "mcopy", append(args, "::/")...)
	return img
}

// Mtools runs an mtools program on UTF-8 names, without the geometry
// checks that refuse images not sized like floppies, and returns its
// output.
func Mtools(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, name), args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// FATTree copies what FAT can hold of the host tree src into a new
// directory and returns it: directories and regular files (a hard link
// becomes a copy); symbolic links, devices and FIFOs are left out. Times
// are kept.
func FATTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "fattree")
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		q := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			dirs = append(dirs, rel)
			return os.MkdirAll(q, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(q, b, 0o644); err != nil {
				return err
			}
			return keepTimes(p, q)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := keepTimes(filepath.Join(src, dirs[i]), filepath.Join(dst, dirs[i])); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func keepTimes(from, to string) error {
	st, err := os.Stat(from)
	if err != nil {
		return err
	}
	return os.Chtimes(to, st.ModTime(), st.ModTime())
}

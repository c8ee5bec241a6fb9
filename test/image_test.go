package test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

// makeTree fills dir with files, directories and a symlink, and returns
// what it made (path -> content, "->target" for symlinks, "/" for dirs).
func makeTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	tree := map[string]string{
		"a":            "hello\n",
		"sub/":         "/",
		"sub/big":      string(big),
		"sub/deeper/":  "/",
		"sub/deeper/x": strings.Repeat("x", 5000),
		"link":         "->a",
		"empty":        "",
	}
	for p, c := range tree {
		full := filepath.Join(dir, p)
		switch {
		case c == "/":
			os.MkdirAll(full, 0o755)
		case strings.HasPrefix(c, "->"):
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.Symlink(c[2:], full); err != nil {
				t.Fatal(err)
			}
		default:
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := map[string]string{}
	for p, c := range tree {
		out[strings.TrimSuffix(p, "/")] = c
	}
	return out
}

// readTree reads dir back in makeTree's form.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "->" + target
		case d.IsDir():
			out[rel] = "/"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

func compareTrees(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: %s missing", what, p)
		case g != w:
			t.Errorf("%s: %s differs (%d bytes, want %d)", what, p, len(g), len(w))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected %s", what, p)
		}
	}
}

func sha(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// makeFFS makes an FFS image of dir with NetBSD's makefs.
func makeFFS(t *testing.T, dir, img string) {
	t.Helper()
	testenv.Run(t, "", "makefs", "-t", "ffs", "-o", "version=1", "-s", "8m", img, dir)
}

// TestFFSImage mounts an FFS image made by makefs (type probed), reads
// the tree back, changes it, and after the unmount checks the image with
// rumpfs fsck and with The Sleuth Kit as an independent reader.
func TestFFSImage(t *testing.T) {
	needFUSE(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	want := makeTree(t, src)
	img := filepath.Join(tmp, "ffs.img")
	makeFFS(t, src, img)

	mnt := mountDir(t)
	s := startServer(t, mnt, img)
	compareTrees(t, "served image", readTree(t, mnt), want)
	write(t, filepath.Join(mnt, "new"), "written through FUSE\n")
	mkdir(t, filepath.Join(mnt, "newdir"))
	if err := os.Remove(filepath.Join(mnt, "sub/deeper/x")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Rename(filepath.Join(mnt, "a"), filepath.Join(mnt, "sub/a")); err != nil {
		t.Fatal(err)
	}
	s.unmount()
	want["new"] = "written through FUSE\n"
	want["newdir"] = "/"
	delete(want, "sub/deeper/x")
	want["sub/a"] = want["a"]
	delete(want, "a")

	if out, err := exec.Command(rumpfsBin, "fsck", "-n", img).CombinedOutput(); err != nil {
		t.Fatalf("rumpfs fsck -n after the mount: %v\n%s", err, out)
	}
	// Mounted again, the changes are there.
	s = startServer(t, mnt, "-o", "ro", "-t", "ufs", img)
	compareTrees(t, "image mounted again", readTree(t, mnt), want)
	s.unmount()

	fls, icat := needTool(t, "fls"), needTool(t, "icat")
	out, err := exec.Command(fls, "-r", "-p", "-f", "ufs1", img).CombinedOutput()
	if err != nil {
		t.Fatalf("fls: %v\n%s", err, out)
	}
	ino := ""
	for _, line := range strings.Split(string(out), "\n") {
		// r/r 7:	new
		if f := strings.Fields(line); len(f) == 3 && f[2] == "new" {
			ino = strings.TrimSuffix(f[1], ":")
		}
		if strings.HasSuffix(line, "\tsub/deeper/x") && !strings.Contains(line, "*") {
			t.Errorf("The Sleuth Kit still lists the removed sub/deeper/x: %s", line)
		}
	}
	if ino == "" {
		t.Fatalf("The Sleuth Kit does not list the new file; fls says:\n%s", out)
	}
	got, err := exec.Command(icat, "-f", "ufs1", img, ino).Output()
	if err != nil || string(got) != want["new"] {
		t.Fatalf("icat of the new file: %q (%v), want %q", got, err, want["new"])
	}
}

// TestImagePartitionReadOnly mounts partition 1 of an MBR disk image
// (IMAGE@1) read-only: the tree reads back, changes get EROFS, and not a
// byte of the image changes.
func TestImagePartitionReadOnly(t *testing.T) {
	needFUSE(t)
	sfdisk := needTool(t, "sfdisk")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	want := makeTree(t, src)
	part := filepath.Join(tmp, "part.img")
	makeFFS(t, src, part)
	fsData, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(tmp, "disk.img")
	const start = 1 << 20
	data := make([]byte, start+len(fsData)+start)
	copy(data[start:], fsData)
	if err := os.WriteFile(disk, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sfdisk, "--no-reread", "--no-tell-kernel", disk)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("label: dos\nstart=%d, size=%d, type=a9\n", start/512, len(fsData)/512))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	before := sha(t, disk)

	mnt := mountDir(t)
	s := startServer(t, mnt, "-o", "ro", disk+"@1")
	compareTrees(t, "partition 1", readTree(t, mnt), want)
	if err := os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("create on a read-only image: %v, want EROFS", err)
	}
	if err := os.Remove(filepath.Join(mnt, "a")); !errors.Is(err, unix.EROFS) {
		t.Errorf("remove on a read-only image: %v, want EROFS", err)
	}
	s.unmount()
	if sha(t, disk) != before {
		t.Fatal("a read-only mount changed the image")
	}
	if b, _ := os.ReadFile(disk); !bytes.Equal(b[start:start+len(fsData)], fsData) {
		t.Fatal("partition contents changed")
	}
}

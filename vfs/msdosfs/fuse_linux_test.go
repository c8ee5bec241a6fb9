package msdosfs_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/vfs/msdosfs/msdostest"
)

// TestFUSE serves a FAT32 image with the rumpfs binary (the type
// probed) and compares what the host sees through FUSE with what mcopy
// copies out of the same image.
func TestFUSE(t *testing.T) {
	testenv.FUSE(t)
	fusermount := testenv.Tool(t, "fusermount3")
	bin := filepath.Join(t.TempDir(), "rumpfs")
	if out, err := exec.Command(testenv.Tool(t, "go"), "build", "-o", bin, "../../cmd/rumpfs").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	img := msdostest.Mkfs(t, tree(t, 200), 32, 1, 300<<10)
	want := extract(t, img)
	mnt := t.TempDir()
	cmd := exec.Command(bin, "mount", "-q", "-o", "uid=4321", img, mnt)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil { // failed before the clean stop below
			exec.Command(fusermount, "-u", mnt).Run()
			cmd.Wait()
		}
	}()
	// Wait for the mount to be live (bounded: a server that died fails).
	for i := 0; ; i++ {
		if strings.Contains(string(must(os.ReadFile("/proc/self/mountinfo"))), " "+mnt+" ") {
			break
		}
		if i == 600 {
			t.Fatalf("no mount after a minute: %s", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	n := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(mnt, rel)
		ws, err := os.Stat(p)
		if err != nil {
			return err
		}
		gs, err := os.Stat(q)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		n++
		if gs.IsDir() != ws.IsDir() || !ws.IsDir() && gs.Size() != ws.Size() {
			t.Errorf("%s: dir %v size %d, want %v %d", rel, gs.IsDir(), gs.Size(), ws.IsDir(), ws.Size())
		}
		if rel != "." && gs.ModTime().Unix() != ws.ModTime().Unix() {
			t.Errorf("%s: mtime %v, want %v", rel, gs.ModTime(), ws.ModTime())
		}
		if d.Type().IsRegular() {
			a, b := must(os.ReadFile(p)), must(os.ReadFile(q))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: contents differ", rel)
			}
		}
		if d.IsDir() {
			ents, err := os.ReadDir(q)
			wents := must(os.ReadDir(p))
			if err != nil || len(ents) != len(wents) {
				t.Errorf("%s: %d entries (%v), want %d", rel, len(ents), err, len(wents))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 200 {
		t.Errorf("compared %d paths", n)
	}
	if err := exec.Command(fusermount, "-u", mnt).Run(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("rumpfs mount: %v\n%s", err, errb.String())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

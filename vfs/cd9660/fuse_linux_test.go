package cd9660_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"golang.org/x/sys/unix"
)

// End-to-end: the rumpfs binary probes an ISO image, serves it through
// FUSE, and the host sees what bsdtar extracts from it.

func isFUSEMount(mnt string) bool {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 10 && f[4] == mnt && strings.Contains(line, " - fuse") {
			return true
		}
	}
	return false
}

func TestFUSE(t *testing.T) {
	testenv.FUSE(t)
	testenv.Tool(t, "fusermount3")
	testenv.Tool(t, "go")
	bin := filepath.Join(t.TempDir(), "rumpfs")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/rumpfs").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	src := tree(t)
	img := xorriso(t, src, "-joliet", "on", "-hardlinks", "on")
	want := bsdtarX(t, img)
	fixLink(t, src, want, "slowlink")
	mnt := t.TempDir()
	var stderr bytes.Buffer
	// No -t: the probe must name cd9660 and find its driver.
	cmd := exec.Command(bin, "mount", "-o", "ro", img, mnt)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if isFUSEMount(mnt) {
			exec.Command("umount", "-l", mnt).Run()
		}
		cmd.Process.Kill()
	})
	deadline := time.Now().Add(60 * time.Second) // a hung server, not a speed limit
	for !isFUSEMount(mnt) {
		if time.Now().After(deadline) {
			t.Fatalf("not mounted after 60 s\n%s", stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("rumpfs mount exited: %v\n%s", err, stderr.String())
		case <-time.After(time.Millisecond):
		}
	}
	n := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(mnt, rel)
		var w, g unix.Stat_t
		if err := unix.Lstat(p, &w); err != nil {
			return err
		}
		if err := unix.Lstat(q, &g); err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		n++
		if rel == "." {
			return nil
		}
		got := fmt.Sprint(g.Mode, g.Uid, g.Gid, g.Mtim.Sec)
		if exp := fmt.Sprint(w.Mode, w.Uid, w.Gid, w.Mtim.Sec); got != exp {
			t.Errorf("%s: mode uid gid mtime %s, want %s", rel, got, exp)
		}
		switch w.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			a, _ := os.ReadFile(p)
			b, err := os.ReadFile(q)
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: read %d bytes (%v), want %d equal ones", rel, len(b), err, len(a))
			}
		case unix.S_IFLNK:
			a, _ := os.Readlink(p)
			if b, err := os.Readlink(q); err != nil || a != b {
				t.Errorf("%s: link %q (%v), want %q", rel, b, err, a)
			}
		case unix.S_IFDIR:
			a, _ := os.ReadDir(p)
			b, err := os.ReadDir(q)
			if err != nil || len(a) != len(b) {
				t.Errorf("%s: %d entries (%v), want %d", rel, len(b), err, len(a))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("walked only %d files", n)
	}
	for try := 0; ; try++ {
		out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput()
		if err == nil {
			break
		}
		if try == 100 || !strings.Contains(string(out), "busy") {
			t.Fatalf("fusermount3 -u: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Errorf("rumpfs mount exited with %v\n%s", err, stderr.String())
	}
}

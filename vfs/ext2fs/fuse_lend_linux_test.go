package ext2fs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestFUSELoans: reads through rumpfs mount are served from the image's
// mapping (lent) and the loans go back once replied: the bytes equal the
// file's, and after reading a 64 MiB file the server maps well under
// 64 MiB of file pages (a loan never handed back stays mapped).
func TestFUSELoans(t *testing.T) {
	needFUSE(t)
	need(t, "mke2fs")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	data := pseudo("loans", 64<<20)
	if err := os.WriteFile(filepath.Join(src, "big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "loans.img")
	run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-d", src, img, "96M")
	mnt := t.TempDir()
	s, err := startServer(t, "--stats", "-t", "ext4", "-o", "ro", img, mnt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(mnt, "big"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read through FUSE: %v, bytes equal %v", err, bytes.Equal(got, data))
	}
	rss := procStatusKiB(t, s.cmd.Process.Pid, "RssFile")
	if rss >= 32<<10 {
		t.Errorf("server maps %d KiB of file pages after reading a 64 MiB file: loans not handed back", rss)
	}
	s.stop(t)
	m := regexp.MustCompile(`rumpblk / bytes lent: (\d+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no lent-bytes counter in --stats:\n%s", s.stderr)
	}
	// Reads straddling two extents are copied: most are lent.
	if n, _ := strconv.Atoi(m[1]); n < len(data)*9/10 {
		t.Errorf("%d bytes lent for a %d-byte file: reads copied", n, len(data))
	}
}

// procStatusKiB reads a "Name: N kB" field of /proc/PID/status.
func procStatusKiB(t *testing.T, pid int, name string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name+":" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}

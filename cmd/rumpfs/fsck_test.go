package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

func fsckImage(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a"), []byte("hello\n"), 0o644)
	os.Mkdir(filepath.Join(src, "d"), 0o755)
	img := filepath.Join(t.TempDir(), "ffs.img")
	testenv.Run(t, "", "makefs", "-t", "ffs", "-o", "version=2", "-M", "1m", img, src)
	return img
}

func runFsck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	fsckStdout = &buf
	defer func() { fsckStdout = os.Stdout }()
	return cmdFsck(args), buf.String()
}

func TestFsckClean(t *testing.T) {
	img := fsckImage(t)
	rc, out := runFsck(t, "-n", img)
	if rc != 0 || !strings.Contains(out, "UFS2, clean: 3 files (2 directories)") || strings.Count(out, "\n") != 1 {
		t.Fatalf("fsck -n clean image: status %d, output:\n%s", rc, out)
	}
}

func TestFsckReportsProblems(t *testing.T) {
	img := fsckImage(t)
	// Make the superblock's free-inode total wrong (fs_cstotal.cs_nifree
	// at 1024; makefs writes little-endian here).
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sbloc int64 = -1
	for _, loc := range []int64{65536, 8192} {
		b := make([]byte, 4)
		f.ReadAt(b, loc+1372)
		if binary.LittleEndian.Uint32(b) == 0x19540119 {
			sbloc = loc
		}
	}
	if sbloc < 0 {
		t.Fatal("no UFS2 superblock in the makefs image")
	}
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, 999)
	f.WriteAt(b, sbloc+1024)
	f.Close()
	rc, out := runFsck(t, "-n", img)
	if rc != fsckErrorsLeft || !strings.Contains(out, "superblock: totals") || !strings.Contains(out, "1 problems found") {
		t.Fatalf("fsck -n damaged image: status %d, output:\n%s", rc, out)
	}
}

func TestFsckNotFFS(t *testing.T) {
	p := filepath.Join(t.TempDir(), "zero.img")
	os.WriteFile(p, make([]byte, 1<<20), 0o644)
	if rc, _ := runFsck(t, "-n", "-t", "ffs", p); rc != fsckOperational {
		t.Fatalf("fsck of zeros: status %d, want %d", rc, fsckOperational)
	}
}

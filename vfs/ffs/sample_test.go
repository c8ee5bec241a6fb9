package ffs

import (
	"bytes"
	"github.com/rumpfs/rumpfs/internal/testimg"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"testing"
)

const sampleTime = 1700000000 // mksample.sh's T

// sampleImage returns the bytes of the committed sample image.
func sampleImage(t testing.TB) []byte { return testimg.Gunzip(t, "testdata/sample.ffs.gz") }

func openBytes(t testing.TB, img []byte) *FS {
	t.Helper()
	fs, err := Open(nil, &bio.ReaderDevice{R: bytes.NewReader(img), Len: int64(len(img))}, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return fs
}

func TestSampleImage(t *testing.T) {
	img := sampleImage(t)
	if len(img) > 512<<10 {
		t.Errorf("sample image is %d bytes: keep it small", len(img))
	}
	f := openBytes(t, img)
	if !f.SB.UFS2 || !f.SB.IsClean() {
		t.Errorf("sample: ufs2=%v clean=%v, want both", f.SB.UFS2, f.SB.IsClean())
	}
	readme := namei(t, f, "README")
	buf := make([]byte, 4096)
	n, _ := readme.ReadAt(nil, buf, 0)
	if !bytes.HasPrefix(buf[:n], []byte("This is the rumpfs sample file system")) {
		t.Errorf("README reads %q", buf[:n])
	}
	if readme.UID != 0 || readme.GID != 0 || readme.Mode != 0o100644 || readme.Mtime != sampleTime {
		t.Errorf("README: uid %d gid %d mode %#o mtime %d", readme.UID, readme.GID, readme.Mode, readme.Mtime)
	}
	if target, _ := namei(t, f, "lines").ReadLink(nil); target != "docs/lines.txt" {
		t.Errorf("lines -> %q", target)
	}
	lines := namei(t, f, "docs/lines.txt")
	n, _ = lines.ReadAt(nil, buf[:10], int64(lines.Size)-10)
	if string(buf[:n]) != "line 2000\n" {
		t.Errorf("end of docs/lines.txt: %q", buf[:n])
	}
	namei(t, f, "docs/notes/todo.txt")
	r, err := Check(nil, &bio.ReaderDevice{R: bytes.NewReader(img), Len: int64(len(img))})
	if err != nil || !r.OK() {
		t.Fatalf("check sample: %v %v", err, r.Problems)
	}
}

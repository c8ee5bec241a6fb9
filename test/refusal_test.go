package test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMountRefusalReason: a driver that refuses an image says why in the
// mount error itself, without --verbose.
func TestMountRefusalReason(t *testing.T) {
	t.Run("ffs", func(t *testing.T) {
		dir := t.TempDir()
		img := emptyFFS(t, dir, ufs2, "4m")
		// An absurd fs_bsize (byte 48) in every superblock at a
		// standard offset (those with fs_magic at byte 1372).
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		patched := 0
		for _, off := range []int64{0, 8192, 65536, 262144} {
			var b [4]byte
			f.ReadAt(b[:], off+1372)
			if binary.LittleEndian.Uint32(b[:]) != 0x19540119 {
				continue
			}
			binary.LittleEndian.PutUint32(b[:], 3)
			f.WriteAt(b[:], off+48)
			patched++
		}
		f.Close()
		if patched == 0 {
			t.Fatal("no UFS2 superblock found to damage")
		}
		_, stderr, code := rumpfs("mount", "-t", "ffs", img, mountDir(t))
		if code == 0 {
			t.Fatal("exit 0")
		}
		oneLine(t, "absurd fs_bsize", stderr, "mount as ffs", "block size 3", "input/output error")
	})
	t.Run("ext2fs", func(t *testing.T) {
		mke2fs := needTool(t, "mke2fs")
		img := filepath.Join(t.TempDir(), "ext2.img")
		os.WriteFile(img, nil, 0o644)
		os.Truncate(img, 8<<20)
		run(t, "", mke2fs, "-q", "-F", "-t", "ext2", img)
		// An incompatible feature bit nobody knows (s_feature_incompat
		// is at byte 96 of the superblock, which is at 1024).
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		var b [4]byte
		f.ReadAt(b[:], 1024+96)
		binary.LittleEndian.PutUint32(b[:], binary.LittleEndian.Uint32(b[:])|1<<30)
		f.WriteAt(b[:], 1024+96)
		f.Close()
		_, stderr, code := rumpfs("mount", "-t", "ext2", "-o", "ro", img, mountDir(t))
		if code == 0 {
			t.Fatal("exit 0")
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1] + "\n"
		oneLine(t, "unknown incompat feature", last, "mount as ext2fs", "unsupported incompatible features: FEATURE_I30", "invalid argument")
	})
}

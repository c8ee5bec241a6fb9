package ffs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// namei resolves a slash-separated path from the root, without following
// symlinks.
func namei(t testing.TB, f *FS, path string) *ufs.Inode {
	t.Helper()
	ip, err := f.Root(nil)
	if err != 0 {
		t.Fatalf("root: %v", err)
	}
	for _, c := range strings.Split(path, "/") {
		if c == "" {
			continue
		}
		d, err := ip.Lookup(nil, c)
		if err != 0 {
			t.Fatalf("lookup %q in %s: %v", c, path, err)
		}
		if ip, err = f.Inode(nil, uint64(d.Ino)); err != 0 {
			t.Fatalf("inode %d (%s): %v", d.Ino, path, err)
		}
		if want := ufs.IFToDT(ip.Mode); !f.M.OldDirFmt && d.Type != want {
			t.Errorf("%s: d_type %d, inode says %d", path, d.Type, want)
		}
	}
	return ip
}

// compareTree checks every file under src against the image: type, mode,
// owner, link count, size, times, device number, bytes, symlink targets,
// and directory listings.
func compareTree(t *testing.T, f *FS, src string) {
	checked := 0
	err := filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			rel = ""
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		ip := namei(t, f, rel)
		checked++
		if uint32(ip.Mode) != uint32(st.Mode) {
			t.Errorf("%s: mode %#o, want %#o", rel, ip.Mode, st.Mode)
		}
		if rel != "" && (ip.UID != st.Uid || ip.GID != st.Gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, ip.UID, ip.GID, st.Uid, st.Gid)
		}
		if uint64(ip.Nlink) != uint64(st.Nlink) {
			t.Errorf("%s: nlink %d, want %d", rel, ip.Nlink, st.Nlink)
		}
		// This makefs stores whole seconds (nanoseconds are zero).
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if mt := fi.ModTime().Unix(); ip.Mtime != mt || ip.MtimeNsec != 0 {
			t.Errorf("%s: mtime %d.%09d, want %d", rel, ip.Mtime, ip.MtimeNsec, mt)
		}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			if ip.Size != uint64(st.Size) {
				t.Errorf("%s: size %d, want %d", rel, ip.Size, st.Size)
			}
			want, _ := os.ReadFile(p)
			got := make([]byte, len(want)+100)
			n, e := ip.ReadAt(nil, got, 0)
			if e != 0 || !bytes.Equal(got[:n], want) {
				t.Errorf("%s: content differs (read %d of %d bytes, err %v)", rel, n, len(want), e)
			}
			// An unaligned read in the middle.
			if len(want) > 3000 {
				off := len(want)/2 - 1234
				n, e := ip.ReadAt(nil, got[:2001], int64(off))
				if e != 0 || !bytes.Equal(got[:n], want[off:off+2001]) {
					t.Errorf("%s: read at %d differs", rel, off)
				}
			}
		case syscall.S_IFLNK:
			want, _ := os.Readlink(p)
			got, e := ip.ReadLink(nil)
			if e != 0 || got != want {
				t.Errorf("%s: link %q (%v), want %q", rel, got, e, want)
			}
		case syscall.S_IFCHR, syscall.S_IFBLK:
			if ip.Rdev() != uint64(st.Rdev) {
				t.Errorf("%s: rdev %#x, want %#x", rel, ip.Rdev(), st.Rdev)
			}
		case syscall.S_IFDIR:
			ents, _ := os.ReadDir(p)
			want := []string{".", ".."}
			for _, e := range ents {
				want = append(want, e.Name())
			}
			var got []string
			_, e := ip.ReadDir(nil, 0, func(d ufs.Direct) bool {
				got = append(got, d.Name)
				return true
			})
			if e != 0 {
				t.Errorf("%s: readdir: %v", rel, e)
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, "/") != strings.Join(want, "/") {
				t.Errorf("%s: readdir has %d names, want %d", rel, len(got), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked", checked)
	}
}

var geometries = []geometry{
	{1, false, 4096, 512},
	{2, false, 4096, 4096},
	{1, true, 8192, 1024},
	{2, true, 8192, 2048},
	{2, false, 16384, 2048},
	{1, false, 32768, 8192},
	{2, true, 32768, 4096},
	{1, true, 65536, 8192},
	{2, false, 65536, 16384},
}

func TestReadMakefsImages(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root to chown and mknod the source tree")
	}
	for _, g := range geometries {
		t.Run(g.String(), func(t *testing.T) {
			src := t.TempDir()
			buildTree(t, src, g, 300)
			f := openImage(t, makefs(t, g, src))
			if f.SB.UFS2 != (g.version == 2) || int(f.SB.BSize) != g.bsize || int(f.SB.FSize) != g.fsize {
				t.Fatalf("superblock says ufs2=%v bsize %d fsize %d", f.SB.UFS2, f.SB.BSize, f.SB.FSize)
			}
			compareTree(t, f, src)
		})
	}
}

func TestInodeNumbers(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a"), []byte("a"), 0o644)
	f := openImage(t, makefs(t, geometry{2, false, 4096, 512}, src))
	for _, tc := range []struct {
		ino  uint64
		want unix.Errno
	}{{0, unix.EINVAL}, {1, unix.EINVAL}, {f.M.MaxIno + 1, unix.ESTALE}, {1 << 40, unix.ESTALE}} {
		if _, err := f.Inode(nil, tc.ino); err != tc.want {
			t.Errorf("Inode(%d) = %v, want %v", tc.ino, err, tc.want)
		}
	}
	if _, err := f.Inode(nil, f.M.MaxIno); err != 0 {
		t.Errorf("Inode(max %d) = %v", f.M.MaxIno, err)
	}
}

package ext2fs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// TestRefusedFeatures: features this reader cannot present correctly
// refuse the mount with a message naming them.
func TestRefusedFeatures(t *testing.T) {
	need(t, "mke2fs")
	for _, feat := range []string{"bigalloc", "encrypt", "casefold", "verity"} {
		t.Run(feat, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-O", feat, img, "8M")
			var log testLog
			_, err := Open(nil, openDev(t, img), Options{Name: "x", Logf: log.logf})
			if err == nil || !strings.Contains(err.Error(), feat) || !strings.Contains(log.String(), feat) {
				t.Fatalf("Open: %v (log %q), want a refusal naming %s", err, log.String(), feat)
			}
			if !errors.Is(err, unix.EINVAL) {
				t.Errorf("errno of %v is not EINVAL", err)
			}
		})
	}
	t.Run("unknown-incompat", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "img")
		run(t, "mke2fs", "-q", "-F", "-t", "ext4", img, "8M")
		b, _ := os.ReadFile(img)
		sb := b[disk.SuperblockOffset:][:disk.SuperblockSize]
		binary.LittleEndian.PutUint32(sb[0x60:], binary.LittleEndian.Uint32(sb[0x60:])|1<<31)
		binary.LittleEndian.PutUint32(sb[0x3fc:], disk.SuperblockChecksum(sb))
		_, err := Open(nil, memDev(b), Options{})
		if err == nil || !strings.Contains(err.Error(), "FEATURE_I31") {
			t.Fatalf("Open: %v, want a refusal naming FEATURE_I31", err)
		}
	})
	t.Run("bad-superblock-checksum", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "img")
		run(t, "mke2fs", "-q", "-F", "-t", "ext4", img, "8M")
		b, _ := os.ReadFile(img)
		b[disk.SuperblockOffset+0x78] ^= 0xff // volume name
		if _, err := Open(nil, memDev(b), Options{}); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("Open: %v, want a superblock checksum error", err)
		}
	})
	t.Run("not-ext", func(t *testing.T) {
		if _, err := Open(nil, memDev(make([]byte, 1<<20)), Options{}); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Open of zeros: %v", err)
		}
	})
}

// TestChecksumFailureIsLocal: a damaged inode fails with EIO and a
// message, and the rest of the file system still reads.
func TestChecksumFailureIsLocal(t *testing.T) {
	img := makeImage(t, image{name: "csum", fstype: "ext4", sizeK: 8 << 10, tree: treeOpts{bigDir: 10}})
	b, _ := os.ReadFile(img)
	f, err := Open(nil, memDev(b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	victim, _ := resolve(t, f, "owners/u1000")
	g := f.groups[(victim.Ino-1)/f.sb.InodesPerGroup]
	off := int64(g.InodeTable)*int64(f.bsize) + int64((victim.Ino-1)%f.sb.InodesPerGroup)*int64(f.sb.InodeSize)
	b[off+0x10] ^= 1 // mtime
	var log testLog
	f, err = Open(nil, memDev(b), Options{Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	if _, e := resolve(t, f, "owners/u1000"); e != unix.EIO || !strings.Contains(log.String(), "checksum") {
		t.Errorf("damaged inode: %v, log %q", e, log.String())
	}
	if _, e := resolve(t, f, "owners/u70000"); e != 0 {
		t.Errorf("neighbour inode: %v", e)
	}
}

// TestBlockSize64K: the kernel here cannot mount 64 KiB blocks, so the
// tree mke2fs copied in is the reference.
func TestBlockSize64K(t *testing.T) {
	im := image{name: "64k", fstype: "ext4", args: []string{"-b", "65536"}, sizeK: 128 << 10,
		tree: treeOpts{bigDir: 3000, extents: 40, acls: false}}
	img := makeImage(t, im)
	f, err := Open(nil, openDev(t, img), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.bsize != 65536 {
		t.Fatalf("block size %d", f.bsize)
	}
	src := filepath.Join(filepath.Dir(img), "src")
	n := 0
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		n++
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		unix.Lstat(p, &st)
		ip, e := resolve(t, f, rel)
		if e != 0 {
			t.Errorf("%s: %v", rel, e)
			return nil
		}
		a := ip.Attr()
		if a.Mode != st.Mode || a.Uid != st.Uid || a.Gid != st.Gid || (!d.IsDir() && int64(a.Size) != st.Size) ||
			a.Mtime.Unix() != st.Mtim.Sec { // mke2fs -d copies whole seconds
			t.Errorf("%s: mode %#o uid %d gid %d size %d mtime %d, source %#o %d %d %d %d",
				rel, a.Mode, a.Uid, a.Gid, a.Size, a.Mtime.Unix(), st.Mode, st.Uid, st.Gid, st.Size, st.Mtim.Sec)
		}
		switch {
		case d.Type().IsRegular() && st.Size < 64<<20:
			want, _ := os.ReadFile(p)
			if got := readAll(t, ip); !bytes.Equal(got, want) {
				t.Errorf("%s: contents differ", rel)
			}
		case d.Type()&fs.ModeSymlink != 0:
			want, _ := os.Readlink(p)
			if got, _ := ip.Readlink(nil); string(got) != want {
				t.Errorf("%s: target %q, source %q", rel, got, want)
			}
		case d.IsDir():
			ents, _ := os.ReadDir(p)
			var want, got []string
			for _, e := range ents {
				want = append(want, e.Name())
			}
			for _, e := range listDir(t, ip, 100) {
				if e.Name != "." && e.Name != ".." && e.Name != "lost+found" {
					got = append(got, e.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %d entries, source %d", rel, len(got), len(want))
			}
		}
		return nil
	})
	if n < 3000 {
		t.Fatalf("walked %d files", n)
	}
}

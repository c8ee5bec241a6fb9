package ffs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testimg"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/ufs"
	"golang.org/x/sys/unix"
)

// Attribute calls on a path, through the VOPs as p2k makes them.

func withVnode(t testing.TB, l *kernel.LWP, path string, fn func(vp *vfs.Vnode) unix.Errno) unix.Errno {
	t.Helper()
	res, e := vfs.Namei(l, nil, path, vfs.LOOKUP, 0)
	if e != 0 {
		t.Fatalf("namei %s: %v", path, e)
	}
	defer res.Release(l)
	return fn(res.Vp)
}

func getx(t testing.TB, l *kernel.LWP, path, name string) ([]byte, unix.Errno) {
	t.Helper()
	var out []byte
	e := withVnode(t, l, path, func(vp *vfs.Vnode) unix.Errno {
		n, e := vfs.VOPGetextattr(l, vp, name, nil)
		if e != 0 {
			return e
		}
		if n > 0 {
			small := kernel.UioSetup(make([]byte, n-1), 0, kernel.UioRead)
			if m, e := vfs.VOPGetextattr(l, vp, name, small); e != unix.ERANGE || m != n {
				t.Errorf("%s %s: get into %d bytes: %d, %v; want %d, ERANGE", path, name, n-1, m, e, n)
			}
			kernel.UioFree(small)
		}
		buf := make([]byte, n+3)
		u := kernel.UioSetup(buf, 0, kernel.UioRead)
		m, e := vfs.VOPGetextattr(l, vp, name, u)
		moved := len(buf) - kernel.UioFree(u)
		if e == 0 && (m != n || moved != n) {
			t.Errorf("%s %s: size %d, then %d returned, %d moved", path, name, n, m, moved)
		}
		out = buf[:moved]
		return e
	})
	return out, e
}

func setx(t testing.TB, l *kernel.LWP, path, name string, val []byte, flags int) unix.Errno {
	t.Helper()
	return withVnode(t, l, path, func(vp *vfs.Vnode) unix.Errno {
		return vfs.VOPSetextattr(l, vp, name, val, flags)
	})
}

func delx(t testing.TB, l *kernel.LWP, path, name string) unix.Errno {
	t.Helper()
	return withVnode(t, l, path, func(vp *vfs.Vnode) unix.Errno {
		return vfs.VOPDeleteextattr(l, vp, name)
	})
}

func listx(t testing.TB, l *kernel.LWP, path string) ([]string, unix.Errno) {
	t.Helper()
	var names []string
	e := withVnode(t, l, path, func(vp *vfs.Vnode) unix.Errno {
		n, e := vfs.VOPListextattr(l, vp, nil)
		if e != 0 || n == 0 {
			return e
		}
		small := kernel.UioSetup(make([]byte, n-1), 0, kernel.UioRead)
		if _, e := vfs.VOPListextattr(l, vp, small); e != unix.ERANGE {
			t.Errorf("%s: list into %d bytes: %v, want ERANGE", path, n-1, e)
		}
		kernel.UioFree(small)
		buf := make([]byte, n)
		u := kernel.UioSetup(buf, 0, kernel.UioRead)
		m, e := vfs.VOPListextattr(l, vp, u)
		kernel.UioFree(u)
		if e != 0 {
			return e
		}
		if m != n || buf[n-1] != 0 {
			t.Errorf("%s: list of %d bytes returned %d: %q", path, n, m, buf)
		}
		for s := range strings.SplitSeq(string(buf[:m]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return 0
	})
	return names, e
}

func sameNames(got []string, want ...string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// TestExtattrRoundTrip sets, gets, lists, replaces and deletes attributes
// of every namespace on UFS2 images of both byte orders, fills the area
// to ENOSPC, and finds everything again after a remount, fsck clean.
func TestExtattrRoundTrip(t *testing.T) {
	for _, be := range []bool{false, true} {
		t.Run(fmt.Sprintf("be=%v", be), func(t *testing.T) {
			img := emptyImage(t, 2, be, "4m", "bsize=4096,fsize=512,density=4096")
			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("mount: %v\n%s", e, k.Dmesg())
			}
			f := "/mnt/f"
			if e := writeFile(t, l, f, []byte("data")); e != 0 {
				t.Fatal(e)
			}
			if names, e := listx(t, l, f); e != 0 || len(names) != 0 {
				t.Fatalf("fresh file lists %q, %v", names, e)
			}
			if _, e := getx(t, l, f, "user.none"); e != unix.ENODATA {
				t.Fatalf("get of a missing attribute: %v, want ENODATA", e)
			}
			steps := []struct {
				name  string
				val   string
				flags int
				want  unix.Errno
			}{
				{"user.a", "hello", 0, 0},
				{"user.a", "again", unix.XATTR_CREATE, unix.EEXIST},
				{"user.b", "x", unix.XATTR_REPLACE, unix.ENODATA},
				{"user.a", strings.Repeat("longer value ", 20), unix.XATTR_REPLACE, 0},
				{"user.empty", "", unix.XATTR_CREATE, 0},
				{"system.sys", "s", 0, 0},
				{"trusted.t", "tt", 0, 0},
				{"security.selinux", "ctx\x00", 0, 0},
				{"system.trusted.t", "no", 0, unix.EOPNOTSUPP},
				{"other.x", "no", 0, unix.EOPNOTSUPP},
				{"user.", "no", 0, unix.EINVAL},
				{"user." + strings.Repeat("n", 256), "no", 0, unix.ERANGE},
			}
			for _, s := range steps {
				if e := setx(t, l, f, s.name, []byte(s.val), s.flags); e != s.want {
					t.Fatalf("set %s flags %d: %v, want %v", s.name, s.flags, e, s.want)
				}
			}
			if e := setx(t, l, f, "user.huge", make([]byte, 65537), 0); e != unix.E2BIG {
				t.Fatalf("set of a 64 KiB+1 value: %v, want E2BIG", e)
			}
			want := map[string]string{
				"user.a": strings.Repeat("longer value ", 20), "user.empty": "",
				"system.sys": "s", "trusted.t": "tt", "security.selinux": "ctx\x00",
			}
			check := func(when string) {
				t.Helper()
				names, e := listx(t, l, f)
				if e != 0 || !sameNames(names, slices.Collect(mapKeys(want))...) {
					t.Fatalf("%s: list %q, %v; want %v", when, names, e, want)
				}
				for n, v := range want {
					got, e := getx(t, l, f, n)
					if e != 0 || string(got) != v {
						t.Fatalf("%s: get %s = %q, %v; want %q", when, n, got, e, v)
					}
				}
			}
			check("after set")
			if e := delx(t, l, f, "user.empty"); e != 0 {
				t.Fatalf("delete: %v", e)
			}
			delete(want, "user.empty")
			if e := delx(t, l, f, "user.empty"); e != unix.ENODATA {
				t.Fatalf("delete again: %v, want ENODATA", e)
			}
			check("after delete")
			if e := vfs.Truncate(l, f, 0); e != 0 {
				t.Fatal(e)
			}
			check("after truncating the file")

			// Fill the area (two 4 KiB blocks) of another file.
			g := "/mnt/g"
			writeFile(t, l, g, nil)
			val := bytes.Repeat([]byte{0x5a}, 200)
			n := 0
			for ; ; n++ {
				e := setx(t, l, g, fmt.Sprintf("user.fill%03d", n), val, 0)
				if e == unix.ENOSPC {
					break
				}
				if e != 0 || n > 100 {
					t.Fatalf("fill %d: %v", n, e)
				}
			}
			per := ufs.ExtattrRecordLen(len("fill000"), len(val))
			if n != 2*4096/per {
				t.Errorf("the area took %d records of %d bytes, want %d", n, per, 2*4096/per)
			}
			var st vfs.Vattr
			vfs.Stat(l, g, &st)
			if st.Bytes != 8192 {
				t.Errorf("full area: st_blocks says %d bytes, want 8192", st.Bytes)
			}
			// Shrinking to one record gives back all but one fragment.
			for i := 1; i < n; i++ {
				if e := delx(t, l, g, fmt.Sprintf("user.fill%03d", i)); e != 0 {
					t.Fatalf("delete fill %d: %v", i, e)
				}
			}
			vfs.Stat(l, g, &st)
			if st.Bytes != 512 {
				t.Errorf("one record left: st_blocks says %d bytes, want 512", st.Bytes)
			}
			if got, e := getx(t, l, g, "user.fill000"); e != 0 || !bytes.Equal(got, val) {
				t.Errorf("fill000 after the others went: %v", e)
			}
			halt(t, k, l)
			fsck(t, img)

			k, l = bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("remount: %v\n%s", e, k.Dmesg())
			}
			check("after remount")
			halt(t, k, l)
			fsck(t, img)
		})
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestExtattrFreedWithFile: attributes on every kind of inode that takes
// them, then unlink: all their space comes back and fsck is clean.
func TestExtattrFreedWithFile(t *testing.T) {
	img := emptyImage(t, 2, false, "4m", "bsize=8192,fsize=1024,density=4096")
	k, l := bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	var before vfs.Statvfs
	vfs.StatvfsPath(l, "/mnt", &before)
	big := bytes.Repeat([]byte("v"), 9000) // two blocks, the second a fragment run
	writeFile(t, l, "/mnt/file", fileData(1, 20000))
	vfs.Mkdir(l, "/mnt/dir", 0o755)
	vfs.Mknod(l, "/mnt/fifo", unix.S_IFIFO|0o644, 0)
	vfs.Symlink(l, "target", "/mnt/link")
	for _, p := range []string{"/mnt/file", "/mnt/dir"} {
		if e := setx(t, l, p, "user.big", big, 0); e != 0 {
			t.Fatalf("%s: %v", p, e)
		}
	}
	if e := setx(t, l, "/mnt/fifo", "system.label", big[:3000], 0); e != 0 {
		t.Fatalf("fifo: %v", e)
	}
	if e := setx(t, l, "/mnt/fifo", "user.x", []byte("v"), 0); e != unix.EPERM {
		t.Errorf("user attribute on a FIFO: %v, want EPERM", e)
	}
	if e := setx(t, l, "/mnt/link", "security.x", []byte("v"), 0); e != unix.EPERM {
		t.Errorf("attribute on a symlink: %v, want EPERM", e)
	}
	var st vfs.Vattr
	vfs.Stat(l, "/mnt/file", &st)
	if want := int64(20480 + 9216); st.Bytes != want { // 2 blocks and 4 fragments of data
		t.Errorf("file with a 9000-byte value holds %d bytes, want %d", st.Bytes, want)
	}
	vfs.Sync(l)
	fsck(t, img)
	for _, p := range []string{"/mnt/file", "/mnt/fifo", "/mnt/link"} {
		if e := vfs.Unlink(l, p); e != 0 {
			t.Fatal(e)
		}
	}
	if e := vfs.Rmdir(l, "/mnt/dir"); e != 0 {
		t.Fatal(e)
	}
	var after vfs.Statvfs
	vfs.StatvfsPath(l, "/mnt", &after)
	if after.Bfree != before.Bfree || after.Ffree != before.Ffree {
		t.Errorf("after unlinking: %d free frags, %d free inodes; before %d, %d", after.Bfree, after.Ffree, before.Bfree, before.Ffree)
	}
	halt(t, k, l)
	fsck(t, img)
}

// TestExtattrPermissions: who may read and change which namespace, and a
// read-only mount.
func TestExtattrPermissions(t *testing.T) {
	img := emptyImage(t, 2, false, "2m", "")
	k, l := bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	writeFile(t, l, "/mnt/mine", nil)
	writeFile(t, l, "/mnt/theirs", nil)
	vfs.Chown(l, "/mnt/mine", 1000, 1000)
	vfs.Chmod(l, "/mnt/theirs", 0o644)
	vfs.Chmod(l, "/mnt", 0o755)
	for _, n := range []string{"user.u", "trusted.t", "system.s"} {
		if e := setx(t, l, "/mnt/theirs", n, []byte("v"), 0); e != 0 {
			t.Fatalf("root sets %s: %v", n, e)
		}
	}
	l.SetCred(kernel.CredCreate(1000, 1000, nil))
	if e := setx(t, l, "/mnt/mine", "user.x", []byte("v"), 0); e != 0 {
		t.Errorf("owner sets user.x: %v", e)
	}
	if e := setx(t, l, "/mnt/theirs", "user.x", []byte("v"), 0); e != unix.EACCES {
		t.Errorf("non-owner sets user.x on a 0644 file: %v, want EACCES", e)
	}
	if e := delx(t, l, "/mnt/theirs", "user.u"); e != unix.EACCES {
		t.Errorf("non-owner deletes user.u: %v, want EACCES", e)
	}
	if e := setx(t, l, "/mnt/mine", "system.x", []byte("v"), 0); e != unix.EPERM {
		t.Errorf("non-root sets system.x: %v, want EPERM", e)
	}
	if e := setx(t, l, "/mnt/mine", "trusted.x", []byte("v"), 0); e != unix.EPERM {
		t.Errorf("non-root sets trusted.x: %v, want EPERM", e)
	}
	if v, e := getx(t, l, "/mnt/theirs", "user.u"); e != 0 || string(v) != "v" {
		t.Errorf("non-owner reads user.u of a 0644 file: %q, %v", v, e)
	}
	if _, e := getx(t, l, "/mnt/theirs", "trusted.t"); e != unix.ENODATA {
		t.Errorf("non-root reads trusted.t: %v, want ENODATA", e)
	}
	if names, _ := listx(t, l, "/mnt/theirs"); !sameNames(names, "user.u", "system.s") {
		t.Errorf("non-root lists %q, want user.u and system.s", names)
	}
	l.SetCred(kernel.CredCreate(0, 0, nil))
	halt(t, k, l)
	fsck(t, img)

	k, l = bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", vfs.MNT_RDONLY); e != 0 {
		t.Fatalf("read-only mount: %v\n%s", e, k.Dmesg())
	}
	if e := setx(t, l, "/mnt/theirs", "user.u", []byte("w"), 0); e != unix.EROFS {
		t.Errorf("set on a read-only mount: %v, want EROFS", e)
	}
	if e := delx(t, l, "/mnt/theirs", "user.u"); e != unix.EROFS {
		t.Errorf("delete on a read-only mount: %v, want EROFS", e)
	}
	if v, e := getx(t, l, "/mnt/theirs", "user.u"); e != 0 || string(v) != "v" {
		t.Errorf("get on a read-only mount: %q, %v", v, e)
	}
	halt(t, k, l)
}

// TestExtattrUFS1: UFS1 inodes have no attribute area.
func TestExtattrUFS1(t *testing.T) {
	img := emptyImage(t, 1, false, "2m", "")
	k, l := bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	writeFile(t, l, "/mnt/f", nil)
	if e := setx(t, l, "/mnt/f", "user.a", []byte("v"), 0); e != unix.ENOTSUP {
		t.Errorf("set: %v, want ENOTSUP", e)
	}
	if _, e := getx(t, l, "/mnt/f", "user.a"); e != unix.ENOTSUP {
		t.Errorf("get: %v, want ENOTSUP", e)
	}
	if e := delx(t, l, "/mnt/f", "user.a"); e != unix.ENOTSUP {
		t.Errorf("delete: %v, want ENOTSUP", e)
	}
	if names, e := listx(t, l, "/mnt/f"); e != 0 || len(names) != 0 {
		t.Errorf("list: %q, %v; want empty", names, e)
	}
	halt(t, k, l)
	fsck(t, img)
}

// graftExtArea builds an image whose file "target" carries area as its
// attribute area, by hand: makefs writes "donor" with one fragment of
// data; its fragment becomes target's di_extb[0] (di_extsize, di_blocks
// set to match) and donor is left empty. The maps need no change.
func graftExtArea(t *testing.T, be bool, area func(bo binary.ByteOrder) []byte) (img string, bo binary.ByteOrder) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "donor"), []byte("to be replaced"), 0o644)
	os.WriteFile(filepath.Join(dir, "target"), []byte("target data"), 0o644)
	img = makefs(t, geometry{version: 2, be: be, bsize: 4096, fsize: 1024}, dir)
	fs := openImage(t, img)
	sb := fs.SB
	bo = sb.Order
	root, _ := fs.Root(nil)
	ino := map[string]uint64{}
	for _, n := range []string{"donor", "target"} {
		de, e := root.Lookup(nil, n)
		if e != 0 {
			t.Fatalf("lookup %s: %v", n, e)
		}
		ino[n] = uint64(de.Ino)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	slot := func(i uint64) int64 {
		return sb.InoToFsba(i)<<sb.FShift + int64(sb.InoToFsbo(i)*ufs.Dinode2Size)
	}
	raw := func(i uint64) []byte {
		b := make([]byte, ufs.Dinode2Size)
		f.ReadAt(b, slot(i))
		return b
	}
	d, tg := raw(ino["donor"]), raw(ino["target"])
	frag := int64(bo.Uint64(d[112:])) // di_db[0]
	rec := area(bo)
	if len(rec) > 1024 {
		t.Fatalf("area of %d bytes does not fit one fragment", len(rec))
	}
	bo.PutUint64(d[16:], 0)  // di_size
	bo.PutUint64(d[24:], 0)  // di_blocks
	bo.PutUint64(d[112:], 0) // di_db[0]
	bo.PutUint32(tg[92:], uint32(len(rec)))
	bo.PutUint64(tg[96:], uint64(frag))
	bo.PutUint64(tg[24:], bo.Uint64(tg[24:])+2) // one 1 KiB fragment more
	f.WriteAt(d, slot(ino["donor"]))
	f.WriteAt(tg, slot(ino["target"]))
	blk := make([]byte, 1024)
	copy(blk, rec)
	if _, err := f.WriteAt(blk, frag<<sb.FShift); err != nil {
		t.Fatal(err)
	}
	return img, bo
}

// handACL is struct oldacl written field by field as NetBSD lays it out
// (32-bit mode_t), entries unsorted: user::rw-, other::---, mask::r--,
// group::r--, user:1000:r--.
func handACL(bo binary.ByteOrder) []byte {
	b := make([]byte, 4+32*12)
	ents := [][3]uint32{{1, ^uint32(0), 6}, {0x20, ^uint32(0), 0}, {0x10, ^uint32(0), 4}, {4, ^uint32(0), 4}, {2, 1000, 4}}
	bo.PutUint32(b, uint32(len(ents)))
	for i, e := range ents {
		for j, v := range e {
			bo.PutUint32(b[4+12*i+4*j:], v)
		}
	}
	return b
}

// TestExtattrHandBuilt reads attributes whose records were written byte
// by byte into an image, in both byte orders; fsck accepts the image,
// and the driver can add to the area and free it.
func TestExtattrHandBuilt(t *testing.T) {
	for _, be := range []bool{false, true} {
		t.Run(fmt.Sprintf("be=%v", be), func(t *testing.T) {
			img, _ := graftExtArea(t, be, func(bo binary.ByteOrder) []byte {
				return slices.Concat(
					testimg.UFSExtattr(bo, 1, "comment", []byte("hand made")),
					testimg.UFSExtattr(bo, 0, "", nil), // an empty slot
					testimg.UFSExtattr(bo, 2, "posix1e.acl_access", handACL(bo)),
					testimg.UFSExtattr(bo, 7, "unknown-namespace", []byte("kept")))
			})
			fsck(t, img)
			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("mount: %v\n%s", e, k.Dmesg())
			}
			f := "/mnt/target"
			if names, e := listx(t, l, f); e != 0 || !sameNames(names, "user.comment", "system.posix_acl_access") {
				t.Fatalf("list: %q, %v", names, e)
			}
			if v, e := getx(t, l, f, "user.comment"); e != 0 || string(v) != "hand made" {
				t.Fatalf("user.comment = %q, %v", v, e)
			}
			// The BSD record, entries in any order, reads as Linux's
			// sorted xattr form.
			want := []byte{2, 0, 0, 0,
				1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, // user::rw-
				2, 0, 4, 0, 0xe8, 3, 0, 0, // user:1000:r--
				4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, // group::r--
				0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, // mask::r--
				0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff} // other::---
			if v, e := getx(t, l, f, "system.posix_acl_access"); e != 0 || !bytes.Equal(v, want) {
				t.Fatalf("system.posix_acl_access = %v, %v; want %v", v, e, want)
			}
			if _, e := getx(t, l, f, "system.posix1e.acl_access"); e != unix.EOPNOTSUPP {
				t.Fatalf("the BSD name is not served: %v", e)
			}
			if got := readVFS(t, l, f); string(got) != "target data" {
				t.Fatalf("file data %q", got)
			}
			// Growing the area past the fragment moves or extends it.
			if e := setx(t, l, f, "user.more", bytes.Repeat([]byte("m"), 3000), 0); e != 0 {
				t.Fatalf("set: %v", e)
			}
			if v, e := getx(t, l, f, "user.comment"); e != 0 || string(v) != "hand made" {
				t.Fatalf("user.comment after growing = %q, %v", v, e)
			}
			halt(t, k, l)
			r := fsck(t, img)
			k, l = bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("remount: %v\n%s", e, k.Dmesg())
			}
			if v, e := getx(t, l, f, "user.more"); e != 0 || len(v) != 3000 {
				t.Fatalf("user.more after remount: %d bytes, %v", len(v), e)
			}
			vfs.Unlink(l, f)
			halt(t, k, l)
			if r2 := fsck(t, img); r2.FreeFrags <= r.FreeFrags {
				t.Errorf("unlinking target freed nothing: %d free fragments, %d before", r2.FreeFrags, r.FreeFrags)
			}
		})
	}
}

// TestExtattrCorrupt: bad records and bad area pointers are EIO with a
// dmesg line and a problem in fsck, never a panic.
func TestExtattrCorrupt(t *testing.T) {
	cases := map[string]func(bo binary.ByteOrder) []byte{
		"zero length": func(bo binary.ByteOrder) []byte {
			r := testimg.UFSExtattr(bo, 1, "a", []byte("b"))
			bo.PutUint32(r, 0)
			return r
		},
		"past the area": func(bo binary.ByteOrder) []byte {
			r := testimg.UFSExtattr(bo, 1, "a", []byte("b"))
			bo.PutUint32(r, 4096)
			return r
		},
		"name past the record": func(bo binary.ByteOrder) []byte {
			r := testimg.UFSExtattr(bo, 1, "a", []byte("b"))
			r[6] = 100
			return r
		},
	}
	for name, area := range cases {
		t.Run(name, func(t *testing.T) {
			img, _ := graftExtArea(t, false, area)
			f, _ := os.Open(img)
			st, _ := f.Stat()
			r, err := Check(nil, &bio.ReaderDevice{R: f, Len: st.Size()})
			f.Close()
			if err != nil || r.OK() {
				t.Fatalf("fsck found nothing wrong (%v)", err)
			}
			if !strings.Contains(fmt.Sprint(r.Problems), "extattr record") {
				t.Errorf("fsck problems do not name the record: %v", r.Problems)
			}
			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", vfs.MNT_RDONLY); e != 0 {
				t.Fatalf("mount: %v\n%s", e, k.Dmesg())
			}
			if _, e := getx(t, l, "/mnt/target", "user.a"); e != unix.EIO {
				t.Errorf("get: %v, want EIO", e)
			}
			if _, e := listx(t, l, "/mnt/target"); e != unix.EIO {
				t.Errorf("list: %v, want EIO", e)
			}
			if !strings.Contains(k.Dmesg(), "extattr record") {
				t.Errorf("no dmesg line names the record:\n%s", k.Dmesg())
			}
			halt(t, k, l)
		})
	}
	t.Run("block out of range", func(t *testing.T) {
		img, bo := graftExtArea(t, false, func(bo binary.ByteOrder) []byte { return testimg.UFSExtattr(bo, 1, "a", nil) })
		fs := openImage(t, img)
		root, _ := fs.Root(nil)
		de, _ := root.Lookup(nil, "target")
		sb := fs.SB
		f, _ := os.OpenFile(img, os.O_RDWR, 0)
		b := make([]byte, 8)
		bo.PutUint64(b, uint64(sb.Size+100))
		f.WriteAt(b, sb.InoToFsba(uint64(de.Ino))<<sb.FShift+int64(sb.InoToFsbo(uint64(de.Ino))*ufs.Dinode2Size)+96)
		f.Close()
		k, l := bootKernel(t)
		if e := mountImage(t, k, l, img, "/mnt", vfs.MNT_RDONLY); e != 0 {
			t.Fatalf("mount: %v\n%s", e, k.Dmesg())
		}
		if _, e := getx(t, l, "/mnt/target", "user.a"); e != unix.EIO {
			t.Errorf("get: %v, want EIO", e)
		}
		if !strings.Contains(k.Dmesg(), "extattr block 0") {
			t.Errorf("no dmesg line names the block:\n%s", k.Dmesg())
		}
		halt(t, k, l)
	})
}

// TestExtattrUFS2EA: NetBSD 10's UFS2 with extended attributes (its own
// superblock magic) mounts, takes attributes and keeps its magic.
func TestExtattrUFS2EA(t *testing.T) {
	img := emptyImage(t, 2, false, "2m", "")
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 4)
	magicAt := int64(-1)
	for _, loc := range disk.SBlockSearch {
		f.ReadAt(b, loc+disk.MagicOff)
		if binary.LittleEndian.Uint32(b) == disk.MagicUFS2 {
			magicAt = loc + disk.MagicOff
			break
		}
	}
	if magicAt < 0 {
		t.Fatal("no UFS2 magic in the image")
	}
	binary.LittleEndian.PutUint32(b, disk.MagicUFS2EA)
	f.WriteAt(b, magicAt)
	fsck(t, img)
	k, l := bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	writeFile(t, l, "/mnt/f", []byte("x"))
	if e := setx(t, l, "/mnt/f", "user.netbsd", []byte("ea"), 0); e != 0 {
		t.Fatalf("set: %v", e)
	}
	halt(t, k, l)
	fsck(t, img)
	f.ReadAt(b, magicAt)
	if got := binary.LittleEndian.Uint32(b); got != disk.MagicUFS2EA {
		t.Errorf("magic after unmount %#x, want %#x", got, disk.MagicUFS2EA)
	}
}

// TestExtattrDiskFull: with no free space, a set that needs a new block
// is ENOSPC and leaves the attributes as they were.
func TestExtattrDiskFull(t *testing.T) {
	img := emptyImage(t, 2, false, "2m", "bsize=4096,fsize=512,density=8192")
	k, l := bootKernel(t)
	if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
		t.Fatalf("mount: %v\n%s", e, k.Dmesg())
	}
	writeFile(t, l, "/mnt/f", nil)
	if e := setx(t, l, "/mnt/f", "user.keep", []byte("kept"), 0); e != 0 {
		t.Fatal(e)
	}
	fd, e := vfs.Open(l, "/mnt/filler", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if e != 0 {
		t.Fatal(e)
	}
	chunk := make([]byte, 512)
	for {
		if n, e := vfs.Write(l, fd, chunk); e != 0 || n < len(chunk) {
			break
		}
	}
	vfs.Close(l, fd)
	// The filler stopped when no whole block was left: a value this
	// size needs one.
	if e := setx(t, l, "/mnt/f", "user.big", make([]byte, 5000), 0); e != unix.ENOSPC {
		t.Fatalf("set on a full file system: %v, want ENOSPC", e)
	}
	if names, e := listx(t, l, "/mnt/f"); e != 0 || !sameNames(names, "user.keep") {
		t.Fatalf("after ENOSPC: %q, %v", names, e)
	}
	if v, e := getx(t, l, "/mnt/f", "user.keep"); e != 0 || string(v) != "kept" {
		t.Fatalf("user.keep after ENOSPC: %q, %v", v, e)
	}
	halt(t, k, l)
	fsck(t, img)
}

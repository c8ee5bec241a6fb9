package ext2fs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
)

// TestInodeSize: the snapshot of an inode lives beside every cached
// vnode (50,000 of them after a walk of as many files), so growing it
// costs memory on every mount, and a pointer in it would make the
// garbage collector scan them all. 144 bytes is a Go size class; the
// whole struct ext4_inode decoded, with the FS pointer, took 256.
func TestInodeSize(t *testing.T) {
	const limit = 144
	if n := unsafe.Sizeof(node{}); n > limit {
		t.Errorf("inode snapshot is %d bytes, more than %d: keep only what the vnode operations need", n, limit)
	}
	var pointerFree func(reflect.Type) bool
	pointerFree = func(typ reflect.Type) bool {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				if !pointerFree(typ.Field(i).Type) {
					return false
				}
			}
			return true
		case reflect.Array:
			return pointerFree(typ.Elem())
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return true
		}
		return false
	}
	if !pointerFree(reflect.TypeFor[node]()) {
		t.Error("inode snapshot holds a pointer, slice, string or interface: the garbage collector would scan every cached one")
	}
}

// TestLookupAllocs: a hashed lookup, reading the inode found and its
// attributes allocate only the inode snapshot, and mapping a block
// through an extent tree block allocates nothing: READDIRPLUS does this
// for every entry of every directory it lists.
func TestLookupAllocs(t *testing.T) {
	need(t, "mke2fs", "e2fsck")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		if err := os.WriteFile(filepath.Join(src, "d", fmt.Sprintf("f%03d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Six data blocks apart: more extents than the inode holds.
	sp, err := os.Create(filepath.Join(src, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := sp.WriteAt([]byte("y"), int64(i)*2*1024); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	img := filepath.Join(dir, "a.img")
	run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", src, img, "4M")
	if out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
			t.Fatalf("e2fsck -fyD: %v\n%s", err, out)
		}
	}
	f, err := Open(nil, openDev(t, img), Options{})
	if err != nil {
		t.Fatal(err)
	}
	child := func(name string) Inode {
		root, e := f.Root(nil)
		if e != 0 {
			t.Fatal(e)
		}
		ino, _, e := root.Lookup(nil, name)
		if e != 0 {
			t.Fatalf("%s: %v", name, e)
		}
		ip, e := f.Inode(nil, ino)
		if e != 0 {
			t.Fatalf("%s: %v", name, e)
		}
		return ip
	}
	d, s := child("d"), child("sparse")
	if !d.indexed() {
		t.Fatal("directory d is not indexed")
	}
	if root, err := disk.ParseExtentNode(s.block[:]); err != nil || root.Header.Depth == 0 {
		t.Fatalf("sparse file: extent root %+v %v, want an index node", root.Header, err)
	}
	var names []string
	for i := range 400 {
		names = append(names, fmt.Sprintf("f%03d", i))
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		name := names[i%400]
		i++
		ino, _, e := d.Lookup(nil, name)
		if e != 0 {
			t.Fatalf("lookup %s: %v", name, e)
		}
		ip, e := f.Inode(nil, ino)
		if e != 0 {
			t.Fatalf("inode %d: %v", ino, e)
		}
		ip.Attr()
		if r, e := s.Bmap(nil, uint64(i%12)); e != 0 || r.Zero != (i%12%2 == 1) {
			t.Fatalf("sparse block %d: %+v %v", i%12, r, e)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per lookup, inode and block map; want 1 (the snapshot)", allocs)
	}
}

// TestInodeEncode: for every inode in use in images made by mke2fs, with
// 128- and 256-byte inodes, with and without metadata_csum, decoding then
// encoding gives the stored bytes back: disk.Inode.Encode writes every
// field ParseInode reads (it is checked over a slot whose fields were
// zeroed) and computes the checksum (over a slot whose checksum was
// cleared); and the driver's in-core inode, encoded into its slot, gives
// the slot back, and a change to it reads back with a valid checksum.
func TestInodeEncode(t *testing.T) {
	tree := treeOpts{bigDir: 40, extents: 8, acls: true}
	images := []image{
		{name: "ext4-128", fstype: "ext4", args: []string{"-I", "128", "-O", "^metadata_csum"}, sizeK: 8 << 10, tree: tree},
		{name: "ext4-128-csum", fstype: "ext4", args: []string{"-I", "128", "-O", "metadata_csum"}, sizeK: 8 << 10, tree: tree},
		{name: "ext4-256", fstype: "ext4", args: []string{"-I", "256", "-O", "^metadata_csum"}, sizeK: 8 << 10, tree: tree},
		{name: "ext4-256-csum", fstype: "ext4", args: []string{"-I", "256", "-O", "metadata_csum"}, sizeK: 8 << 10, tree: tree},
		{name: "ext2-1k", fstype: "ext2", args: []string{"-b", "1024", "-I", "128"}, sizeK: 8 << 10, tree: tree},
	}
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			f, err := Open(nil, openDev(t, makeImage(t, im)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			sb := f.sb
			isz := int(sb.InodeSize)
			huge := sb.FeatureRoCompat&disk.RoCompatHugeFile != 0
			csum := sb.HasMetadataCsum()
			if want := strings.HasSuffix(im.name, "-csum"); csum != want || isz != int(sb.InodeSize) {
				t.Fatalf("metadata_csum %v, want %v", csum, want)
			}
			format := disk.InodeFormat{HugeFile: huge, Csum: csum, Seed: f.seed}
			checked := 0
			for ino := uint32(1); ino <= sb.InodesCount; ino++ {
				ip, e := f.Inode(nil, ino)
				if e != 0 {
					continue
				}
				g, idx := (ino-1)/sb.InodesPerGroup, (ino-1)%sb.InodesPerGroup
				raw := make([]byte, isz)
				if e := f.bd.readBytes(nil, raw, int64(f.groups[g].InodeTable)*int64(f.bsize)+int64(idx)*int64(isz)); e != 0 {
					t.Fatal(e)
				}
				in, err := disk.ParseInode(raw, huge)
				if err != nil {
					t.Fatalf("inode %d: %v", ino, err)
				}
				buf := bytes.Clone(raw)
				zero := disk.Inode{ExtraIsize: in.ExtraIsize}
				if err := zero.Encode(buf, disk.InodeFormat{HugeFile: huge}, ino); err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(buf, raw) {
					t.Fatalf("inode %d: encoding a zero inode changed nothing", ino)
				}
				if err := in.Encode(buf, format, ino); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf, raw) {
					t.Fatalf("inode %d: decode then encode differs:\n got %x\nwant %x", ino, buf, raw)
				}

				// The driver's in-core inode, over a slot with its
				// checksum cleared.
				buf = bytes.Clone(raw)
				clear(buf[0x7c:0x7e])
				if isz > 128 {
					clear(buf[0x82:0x84])
				}
				if err := ip.encode(buf); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf, raw) {
					t.Fatalf("inode %d: in-core inode encoded differs:\n got %x\nwant %x", ino, buf, raw)
				}
				n := *ip.node
				n.uid, n.mtime, n.Mode = 4321+ino, disk.Time{Lo: 1700000000 + ino, Extra: in.Mtime.Extra}, ip.Mode^0o7
				if err := (Inode{f, &n}).encode(buf); err != nil {
					t.Fatal(err)
				}
				back, err := disk.ParseInode(buf, huge)
				if err != nil {
					t.Fatal(err)
				}
				if back.Uid != 4321+ino || back.Mtime.Lo != 1700000000+ino || back.Mode != ip.Mode^0o7 || back.Size != in.Size {
					t.Fatalf("inode %d: changed inode reads back uid %d mtime %d mode %#o", ino, back.Uid, back.Mtime.Lo, back.Mode)
				}
				if csum {
					if err := disk.VerifyInode(f.seed, ino, buf, &back); err != nil {
						t.Fatalf("changed inode: %v", err)
					}
				}
				checked++
			}
			if checked < 50 {
				t.Fatalf("checked %d inodes", checked)
			}
			t.Logf("%d inodes round-tripped", checked)
		})
	}
}

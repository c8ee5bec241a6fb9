package ext2fs

import (
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
)

var (
	full = treeOpts{bigDir: 3000, extents: 400, acls: true, huge: true}
	mid  = treeOpts{bigDir: 1500, extents: 400, acls: true, huge: true}
)

// kernelImages is the matrix compared with the kernel: every default of
// mke2fs 1.47 for ext2/3/4 and the options the issue names.
var kernelImages = []image{
	{name: "ext4", fstype: "ext4", sizeK: 24 << 10, tree: full,
		post: []string{"fallocate /sparse/prealloc 0 100"}},
	{name: "ext4-1k", fstype: "ext4", args: []string{"-b", "1024"}, sizeK: 24 << 10, tree: full},
	{name: "ext4-2k-nocsum-32bit-uninit", fstype: "ext4", args: []string{"-b", "2048", "-O", "^metadata_csum,^64bit,uninit_bg"}, sizeK: 24 << 10, tree: mid},
	{name: "ext4-metabg", fstype: "ext4", args: []string{"-O", "meta_bg,^resize_inode"}, sizeK: 24 << 10, tree: mid},
	{name: "ext4-inline", fstype: "ext4", args: []string{"-O", "inline_data"}, sizeK: 24 << 10, tree: mid},
	{name: "ext4-blockmap-128", fstype: "ext4", args: []string{"-O", "^extent,^64bit", "-I", "128"}, sizeK: 24 << 10, tree: mid},
	{name: "ext4-tea-unsigned", fstype: "ext4", sizeK: 24 << 10, tree: full,
		pre: []string{"ssv def_hash_version tea", "ssv flags 2"}},
	{name: "ext4-legacy-signed", fstype: "ext4", args: []string{"-b", "1024"}, sizeK: 24 << 10, tree: full,
		pre: []string{"ssv def_hash_version legacy", "ssv flags 1"}},
	{name: "ext4-halfmd4-unsigned-csumseed", fstype: "ext4", args: []string{"-O", "metadata_csum_seed"}, sizeK: 24 << 10, tree: full,
		pre: []string{"ssv flags 2"}},
	{name: "ext3-1k-128", fstype: "ext3", args: []string{"-b", "1024", "-I", "128"}, sizeK: 24 << 10, tree: full},
	{name: "ext3", fstype: "ext3", sizeK: 24 << 10, tree: mid},
	{name: "ext2", fstype: "ext2", sizeK: 24 << 10, tree: mid},
	{name: "ext2-1k-nofiletype", fstype: "ext2", args: []string{"-b", "1024", "-O", "^filetype"}, sizeK: 24 << 10, tree: mid},
}

// TestAgainstKernel builds images with mke2fs -d across file system types
// and options and compares every file with the kernel's loop mount.
func TestAgainstKernel(t *testing.T) {
	for _, im := range kernelImages {
		t.Run(im.name, func(t *testing.T) {
			img := makeImage(t, im)
			before := sha(t, img)
			var log testLog
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("ext2fs messages:\n%s", log.String())
				}
			})
			f, err := Open(nil, openDev(t, img), Options{Name: im.name, Logf: log.logf})
			if err != nil {
				t.Fatal(err)
			}
			mnt := kernelMount(t, img, false)
			compareWithKernel(t, f, mnt)
			checkShapes(t, f, im)
			if log.String() != "" {
				t.Errorf("messages on a clean image:\n%s", log.String())
			}
			// The same tree through a mount and the VFS syscalls.
			v := bootKernel(t)
			v.mountImage(t, img)
			compareVFS(t, v, mnt)
			if err := v.k.Reboot(v.l, kernel.RB_HALT); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(v.k.Dmesg(), "ext2fs /dev/img") {
				t.Errorf("driver messages on a clean image:\n%s", v.k.Dmesg())
			}
			if after := sha(t, img); after != before {
				t.Errorf("image changed: sha256 %s -> %s", before, after)
			}
		})
	}
}

// checkShapes makes sure the images exercise what they claim to: an
// indexed big directory, deep extent trees, unwritten extents, inline
// data.
func checkShapes(t *testing.T, f *FS, im image) {
	big, e := resolve(t, f, "big")
	if e != 0 {
		t.Fatal(e)
	}
	if !big.indexed() {
		t.Errorf("big directory is not indexed (flags %#x)", big.Flags)
	}
	if big.IsDir() && big.indexed() {
		r, _ := big.Bmap(nil, 0)
		b, _ := f.bd.readMeta(nil, r.Physical)
		root, err := disk.ParseDxRoot(b, f.bsize, f.sb.HasMetadataCsum())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]uint8{"tea": disk.HashTea, "legacy": disk.HashLegacy}
		for k, v := range want {
			if strings.Contains(im.name, k) && root.Info.HashVersion != v {
				t.Errorf("big directory hashed with %d, want %d", root.Info.HashVersion, v)
			}
		}
		if strings.Contains(im.name, "unsigned") != f.sb.HashUnsigned() {
			t.Errorf("s_flags %#x for %s", f.sb.Flags, im.name)
		}
	}
	frag, e := resolve(t, f, "sparse/fragmented")
	if e != 0 {
		t.Fatal(e)
	}
	if frag.Flags&disk.FlagExtents != 0 {
		root, err := disk.ParseExtentNode(frag.block[:])
		if err != nil || root.Header.Depth < 1 || (f.bsize == 1024 && root.Header.Depth < 2) {
			t.Errorf("fragmented file: extent root %+v %v", root, err)
		}
	}
	if im.name == "ext4" {
		pre, _ := resolve(t, f, "sparse/prealloc")
		r, e := pre.Bmap(nil, 0)
		if e != 0 || !r.Zero || r.Len != 101 {
			t.Errorf("fallocated file: run %+v %v, want 101 unwritten blocks", r, e)
		}
	}
	if f.sb.FeatureIncompat&disk.IncompatInlineData != 0 {
		small, _ := resolve(t, f, "sizes/f0000059")
		if small.Flags&disk.FlagInlineData == 0 {
			t.Errorf("59-byte file is not inline (flags %#x)", small.Flags)
		}
	}
}

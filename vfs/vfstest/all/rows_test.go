package all

// The table: one row per file system variant.

import (
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	_ "github.com/rumpfs/rumpfs/vfs/cd9660" // registers cd9660
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	_ "github.com/rumpfs/rumpfs/vfs/ext2fs" // registers ext2fs
	"github.com/rumpfs/rumpfs/vfs/ffs"
	_ "github.com/rumpfs/rumpfs/vfs/msdosfs" // registers msdos
	"github.com/rumpfs/rumpfs/vfs/msdosfs/msdostest"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
)

// Row is one file system variant.
type Row struct {
	Name string
	Type string // the registered type it mounts as
	// FS is the writable variant for the POSIX suite and the model (nil
	// for read-only rows).
	FS *vfstest.FS
	// FromTree mounts, in a booted kernel, a file system holding the host
	// tree src and returns its kernel path.
	FromTree func(t testing.TB, k *kernel.Kernel, l *kernel.LWP, src string) string
	// Keeps is what the variant keeps of the tree.
	Keeps vfstest.Keeps
	// TreeRO: FromTree mounts read-only, and writes must fail (EROFS).
	TreeRO bool
	// ModelOps is how many random operations the model test runs.
	ModelOps int
	// Lockcheck runs the POSIX suite under the lock-asserting wrapper too.
	Lockcheck bool
}

// Rows is the table.
var Rows = append(append([]Row{rumpfsRow(false), rumpfsRow(true)}, ffsRows()...), append(append(extRows(), isoRows()...), fatRows()...)...)

func rumpfsRow(mounted bool) Row {
	name := "rumpfs"
	if mounted {
		name = "rumpfs-mounted" // a second rumpfs below the root: every lookup crosses a mount
	}
	mount := func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string {
		if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
			t.Fatal(e)
		}
		if mounted {
			if e := vfs.MountPath(l, "rumpfs", "none", "/mnt", 0, nil); e != 0 {
				t.Fatal(e)
			}
		}
		return "/mnt"
	}
	return Row{
		Name: name, Type: "rumpfs",
		FS: &vfstest.FS{Name: name, Mount: mount},
		FromTree: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP, src string) string {
			dir := mount(t, k, l)
			vfstest.CopyTree(t, l, src, dir+"/tree")
			return dir + "/tree"
		},
		Keeps:     vfstest.Keeps{Xattrs: true, MtimeNsec: true},
		ModelOps:  4000,
		Lockcheck: !mounted,
	}
}

func ffsRows() []Row {
	var rows []Row
	for _, c := range []struct {
		name    string
		version int
		be      bool
		opts    string
	}{
		{"ffs-ufs2", 2, false, "bsize=16384,fsize=2048,density=8192"},
		{"ffs-ufs1", 1, false, "bsize=8192,fsize=1024,density=8192"},
		{"ffs-ufs2-be", 2, true, "bsize=4096,fsize=512,density=8192"},
	} {
		var img string
		fs := &vfstest.FS{
			Name: c.name,
			Mount: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string {
				img = drivertest.Makefs(t, "", c.version, c.be, "64m", c.opts)
				return mountFFS(t, k, l, img, 0)
			},
			Remount: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string {
				return mountFFS(t, k, l, img, 0)
			},
			Check:   func(t testing.TB) { FsckFFS(t, img) },
			NoXattr: c.version == 1,
		}
		rows = append(rows, Row{
			Name: c.name, Type: "ffs", FS: fs, Lockcheck: c.name == "ffs-ufs2", ModelOps: 20000,
			FromTree: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP, src string) string {
				img := drivertest.Makefs(t, src, c.version, c.be, "8m", c.opts)
				return mountFFS(t, k, l, img, vfs.MNT_RDONLY)
			},
			// makefs copies times in seconds, and no extended attributes.
			Keeps:  vfstest.Keeps{},
			TreeRO: true,
		})
	}
	return rows
}

func mountFFS(t testing.TB, k *kernel.Kernel, l *kernel.LWP, img string, flags int) string {
	t.Helper()
	if e := drivertest.MountImage(t, k, l, img, "ffs", "/mnt", flags); e != 0 {
		t.Fatalf("mount %s: %v\n%s", img, e, k.Dmesg())
	}
	return "/mnt"
}

// FsckFFS runs the FFS checker on img and fails on any problem or an
// image not marked clean.
func FsckFFS(t testing.TB, img string) {
	t.Helper()
	r, err := ffs.Check(nil, drivertest.OpenFileDev(t, img, true))
	if err != nil {
		t.Fatalf("fsck %s: %v", img, err)
	}
	if !r.OK() {
		t.Fatalf("fsck %s: %d problems (+%d): %v", img, len(r.Problems), r.Dropped, r.Problems)
	}
	if !r.Clean {
		t.Fatalf("fsck %s: not marked clean", img)
	}
}

func extRows() []Row {
	var rows []Row
	type variant struct {
		name, fstype string
		args         []string
	}
	var vs []variant
	for _, bs := range []string{"1024", "4096"} {
		k := map[string]string{"1024": "1k", "4096": "4k"}[bs]
		vs = append(vs,
			variant{"ext2-" + k, "ext2", []string{"-b", bs, "-I", "128"}},
			variant{"ext3-" + k, "ext3", []string{"-b", bs}},
			variant{"ext4-" + k, "ext4", []string{"-b", bs, "-O", "metadata_csum,64bit"}},
			variant{"ext4-nocsum-" + k, "ext4", []string{"-b", bs, "-O", "^metadata_csum,^64bit"}},
		)
	}
	vs = append(vs, variant{"ext4-inline-4k", "ext4", []string{"-b", "4096", "-O", "inline_data"}})
	for _, v := range vs {
		rows = append(rows, Row{
			Name: v.name, Type: "ext2fs",
			FromTree: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP, src string) string {
				img := drivertest.Mke2fs(t, src, v.fstype, 8<<10, v.args...)
				if e := drivertest.MountImage(t, k, l, img, v.fstype, "/mnt", vfs.MNT_RDONLY); e != 0 {
					t.Fatalf("mount %s: %v\n%s", img, e, k.Dmesg())
				}
				return "/mnt"
			},
			// mke2fs -d copies times in seconds only.
			Keeps:  vfstest.Keeps{Xattrs: true},
			TreeRO: true,
		})
	}
	return rows
}

// isoRows are ISO 9660 images xorriso makes from the tree: Rock Ridge
// with Joliet beside it (Rock Ridge wins), the only layer that keeps
// modes, owners, links, devices and times.
func isoRows() []Row {
	return []Row{{
		Name: "cd9660-rr-joliet", Type: "cd9660",
		FromTree: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP, src string) string {
			img := filepath.Join(t.TempDir(), "tree.iso")
			testenv.Run(t, "", testenv.Tool(t, "xorriso"), "-outdev", img, "-joliet", "on", "-hardlinks", "on",
				"-map", src, "/", "-commit")
			if e := drivertest.MountImage(t, k, l, img, "cd9660", "/mnt", vfs.MNT_RDONLY); e != 0 {
				t.Fatalf("mount %s: %v\n%s", img, e, k.Dmesg())
			}
			return "/mnt"
		},
		// Rock Ridge TF times are in seconds; ISO 9660 has no xattrs.
		Keeps:  vfstest.Keeps{},
		TreeRO: true,
	}}
}

// fatRows are FAT images made by mkfs.fat and filled by mcopy with what
// FAT holds of the tree.
func fatRows() []Row {
	var rows []Row
	for _, c := range []struct {
		name            string
		fat, clus, size int
	}{
		{"fat12-2k", 12, 4, 4000},
		{"fat16-1k", 16, 2, 32 << 10},
		{"fat32-4k", 32, 8, 300 << 10},
	} {
		rows = append(rows, Row{
			Name: c.name, Type: "msdos",
			FromTree: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP, src string) string {
				img := msdostest.Mkfs(t, msdostest.FATTree(t, src), c.fat, c.clus, c.size)
				if e := drivertest.MountImage(t, k, l, img, "msdos", "/mnt", vfs.MNT_RDONLY); e != 0 {
					t.Fatalf("mount %s: %v\n%s", img, e, k.Dmesg())
				}
				return "/mnt"
			},
			Keeps:  vfstest.Keeps{FilesAndDirs: true, MtimeGrain: 2},
			TreeRO: true,
		})
	}
	return rows
}

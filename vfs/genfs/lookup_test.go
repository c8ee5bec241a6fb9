package genfs_test

import (
	"bytes"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// treeFS is a file system of directories only, for Lookup: inode numbers
// to entries; an entry may name an inode that is not in use.
type treeFS struct {
	mp   *vfs.Mount
	dirs map[uint64]map[string]uint64
}

type treeOps struct{ vfs.GenericOps }

func (f *treeFS) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno)  { return f.mp.Vget(l, 2) }
func (f *treeFS) Statvfs(*kernel.LWP, *vfs.Statvfs) unix.Errno { return 0 }
func (f *treeFS) Sync(*kernel.LWP, bool) unix.Errno            { return 0 }
func (f *treeFS) Unmount(*kernel.LWP, int) unix.Errno          { return 0 }
func (f *treeFS) VPToFH(*kernel.LWP, *vfs.Vnode) ([]byte, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}
func (f *treeFS) FHToVP(*kernel.LWP, []byte) (*vfs.Vnode, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}

func (f *treeFS) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	if f.dirs[ino] == nil {
		return unix.ENOENT
	}
	vp.Type, vp.Data = vfs.VDIR, ino
	vp.SetOps(treeOps{})
	return 0
}

// TestLookup: "." and an entry naming the directory itself are dvp,
// referenced; ".." comes from Parent (or Search without one); other names
// from Search, then Vget; a dangling entry is the driver's Dangling error
// (ENOENT without one).
func TestLookup(t *testing.T) {
	fs := &treeFS{dirs: map[uint64]map[string]uint64{
		2: {"..": 2, "a": 3, "self": 2, "gone": 99},
		3: {"..": 2},
	}}
	vfs.RegisterFSType(&vfs.FSType{Name: "genfstest", Mount: func(_ *kernel.LWP, mp *vfs.Mount, _ *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
		fs.mp = mp
		return fs, 0
	}})
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Reboot(l, kernel.RB_HALT)
	if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
		t.Fatal(e)
	}
	if e := vfs.MountPath(l, "genfstest", "none", "/mnt", 0, nil); e != 0 {
		t.Fatal(e)
	}
	root, e := fs.Root(l)
	if e != 0 {
		t.Fatal(e)
	}
	defer vfs.Vrele(l, root)
	dir := func(vp *vfs.Vnode, parent bool, dangling unix.Errno) *genfs.DirLookup {
		ino := vp.Data.(uint64)
		d := &genfs.DirLookup{Ino: ino, Search: func(_ *kernel.LWP, name string) (uint64, unix.Errno) {
			if name == "." {
				t.Errorf("Search asked for \".\"")
			}
			if parent && name == ".." {
				t.Errorf("Search asked for \"..\" though Parent is set")
			}
			if i, ok := fs.dirs[ino][name]; ok {
				return i, 0
			}
			return 0, unix.ENOENT
		}}
		if parent {
			d.Parent = func(*kernel.LWP) (uint64, unix.Errno) { return fs.dirs[ino][".."], 0 }
		}
		if dangling != 0 {
			d.Dangling = func(uint64, string) unix.Errno { return dangling }
		}
		return d
	}
	look := func(d *genfs.DirLookup, dvp *vfs.Vnode, name string) (*vfs.Vnode, unix.Errno) {
		vp, e := d.Lookup(l, dvp, &vfs.ComponentName{Name: name})
		if vp != nil {
			vfs.Vrele(l, vp)
		}
		return vp, e
	}
	for _, parent := range []bool{false, true} {
		d := dir(root, parent, unix.EIO)
		for _, name := range []string{".", "self", ".."} {
			if vp, e := look(d, root, name); vp != root || e != 0 {
				t.Errorf("parent callback %v: %q in the root: %p %v, want the root", parent, name, vp, e)
			}
		}
		a, e := d.Lookup(l, root, &vfs.ComponentName{Name: "a"})
		if e != 0 || a == nil || a.Data.(uint64) != 3 {
			t.Fatalf("parent callback %v: \"a\": %v %v, want inode 3", parent, a, e)
		}
		if vp, e := look(dir(a, parent, 0), a, ".."); vp != root || e != 0 {
			t.Errorf("parent callback %v: \"..\" of a: %p %v, want the root", parent, vp, e)
		}
		vfs.Vrele(l, a)
		if _, e := look(d, root, "missing"); e != unix.ENOENT {
			t.Errorf("a missing name: %v, want ENOENT", e)
		}
		if _, e := look(d, root, "gone"); e != unix.EIO {
			t.Errorf("an entry naming a free inode: %v, want Dangling's EIO", e)
		}
		if _, e := look(dir(root, parent, 0), root, "gone"); e != unix.ENOENT {
			t.Errorf("an entry naming a free inode, no Dangling: %v, want ENOENT", e)
		}
	}
}

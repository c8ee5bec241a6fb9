package vfs_test

import (
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// jrFS is a test file system whose root directory answers every lookup
// with EJUSTRETURN, as a NetBSD driver does for a name to create.
func init() {
	vfs.RegisterFSType(&vfs.FSType{Name: "vntest-jr", Mount: func(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
		return &jrFS{mp: mp}, 0
	}})
}

type jrFS struct{ mp *vfs.Mount }

func (fs *jrFS) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno)       { return fs.mp.Vget(l, 1) }
func (fs *jrFS) Statvfs(l *kernel.LWP, sb *vfs.Statvfs) unix.Errno { return 0 }
func (fs *jrFS) Sync(l *kernel.LWP, wait bool) unix.Errno          { return 0 }
func (fs *jrFS) Unmount(l *kernel.LWP, flags int) unix.Errno       { return 0 }
func (fs *jrFS) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}
func (fs *jrFS) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}
func (fs *jrFS) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	vp.Type = vfs.VDIR
	vp.SetOps(jrOps{})
	return 0
}

type jrOps struct{ vfs.GenericOps }

func (jrOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	return nil, kernel.EJUSTRETURN
}
func (jrOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	*va = vfs.Vattr{Type: vfs.VDIR, Mode: 0o755, Nlink: 2, Fileid: vp.Ino}
	return 0
}

// vnodeOf returns path's vnode, referenced; the caller is in the kernel.
func vnodeOf(t *testing.T, l *kernel.LWP, path string) *vfs.Vnode {
	t.Helper()
	res, e := vfs.Namei(l, nil, path, vfs.LOOKUP, 0)
	must(t, e, "namei "+path)
	return res.Vp
}

func TestVnLookup(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	user, _ := k.Rfork(l, kernel.RFCFDG)
	user.Proc().SetCred(kernel.CredCreate(1, 1, nil))
	must(t, vfs.Mkdir(l, "/tmp/m", 0o755), "mkdir")
	must(t, vfs.Mkdir(l, "/tmp/m/sub", 0o755), "mkdir")
	must(t, vfs.MountPath(l, "rumpfs", "none", "/tmp/m/sub", 0, nil), "mount")
	must(t, vfs.Mkdir(l, "/nox", 0o700), "mkdir")
	must(t, vfs.Mkdir(l, "/jr", 0o755), "mkdir")
	must(t, vfs.MountPath(l, "vntest-jr", "none", "/jr", 0, nil), "mount")
	writeFile(t, l, "/file", 0o644, "")

	func() {
		e := vfs.Enter(l)
		must(t, e, "enter")
		defer vfs.Leave(l, &e)
		vnLookupTable(t, l, user)
	}()
	// The caller's references stayed its own: the mounts are not busy.
	must(t, vfs.UnmountPath(l, "/tmp/m/sub", 0), "unmount")
	must(t, vfs.UnmountPath(l, "/jr", 0), "unmount")
}

func vnLookupTable(t *testing.T, l, user *kernel.LWP) {
	root, tmp, m := vnodeOf(t, l, "/"), vnodeOf(t, l, "/tmp"), vnodeOf(t, l, "/tmp/m")
	sub, nox, file, jr := vnodeOf(t, l, "/tmp/m/sub"), vnodeOf(t, l, "/nox"), vnodeOf(t, l, "/file"), vnodeOf(t, l, "/jr")
	if !sub.Root || sub.Mount == m.Mount || !jr.Root {
		t.Fatal("namei did not cross into the mounts")
	}
	lookup := func(who *kernel.LWP, top, dvp *vfs.Vnode, name string, op vfs.NameiOp, flags int) (*vfs.Vnode, unix.Errno) {
		cn := vfs.ComponentName{Op: op, Name: name, IsLast: true}
		vp, e := vfs.VnLookup(who, top, dvp, &cn, flags)
		if vp != nil {
			vfs.Vrele(who, vp)
		}
		return vp, e
	}
	for _, c := range []struct {
		who      *kernel.LWP
		top, dvp *vfs.Vnode
		name     string
		op       vfs.NameiOp
		flags    int
		want     *vfs.Vnode
		e        unix.Errno
	}{
		{l, root, root, "", vfs.LOOKUP, 0, nil, unix.ENOENT},
		{l, root, root, strings.Repeat("n", vfs.NameMax+1), vfs.LOOKUP, 0, nil, unix.ENAMETOOLONG},
		{l, root, root, "tmp/m", vfs.LOOKUP, 0, nil, unix.EINVAL},
		{l, root, root, "/", vfs.LOOKUP, 0, nil, unix.EINVAL},
		{l, root, file, "x", vfs.LOOKUP, 0, nil, unix.ENOTDIR},
		{l, root, root, "tmp", vfs.LOOKUP, 0, tmp, 0},
		{l, root, root, "..", vfs.LOOKUP, 0, root, 0}, // ".." at the root stays
		{l, root, m, "sub", vfs.LOOKUP, 0, sub, 0},    // crossing down
		{l, root, sub, "..", vfs.LOOKUP, 0, m, 0},     // crossing up
		{l, sub, sub, "..", vfs.LOOKUP, 0, sub, 0},    // ... but not above the client's top
		{l, m, sub, "..", vfs.LOOKUP, 0, m, 0},        // up to the top, no further
		{l, root, tmp, "nothere", vfs.LOOKUP, 0, nil, unix.ENOENT},
		{l, root, jr, "new", vfs.CREATE, 0, nil, unix.ENOENT}, // EJUSTRETURN
		{user, root, nox, "x", vfs.LOOKUP, 0, nil, unix.EACCES},
		{user, root, nox, "x", vfs.LOOKUP, vfs.ClientChecked, nil, unix.ENOENT},
		{l, root, nox, "x", vfs.LOOKUP, 0, nil, unix.ENOENT},
	} {
		vp, e := lookup(c.who, c.top, c.dvp, c.name, c.op, c.flags)
		if vp != c.want || e != c.e {
			t.Errorf("VnLookup(%q) in ino %d: %v %v, want %v %v", c.name, c.dvp.Ino, vp, e, c.want, c.e)
		}
	}
	for _, vp := range []*vfs.Vnode{root, tmp, m, sub, nox, file, jr} {
		vfs.Vrele(l, vp)
	}
}

// TestVnReadlink: the target, cut at the buffer's end; EINVAL for
// anything but a symlink. The system calls (Readlink), the walk and p2k's
// READLINK all read through it.
func TestVnReadlink(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	must(t, vfs.Symlink(l, "some/target", "/ln"), "symlink")
	writeFile(t, l, "/f", 0o644, "x")
	withVnode(t, l, "/ln", func(vp *vfs.Vnode) {
		buf := make([]byte, 64)
		if n, e := vfs.VnReadlink(l, vp, buf); e != 0 || string(buf[:n]) != "some/target" {
			t.Errorf("VnReadlink: %q, %v", buf[:n], e)
		}
		if n, e := vfs.VnReadlink(l, vp, buf[:4]); e != 0 || string(buf[:n]) != "some" {
			t.Errorf("VnReadlink into 4 bytes: %q, %v", buf[:n], e)
		}
	})
	for _, p := range []string{"/f", "/"} {
		withVnode(t, l, p, func(vp *vfs.Vnode) {
			if _, e := vfs.VnReadlink(l, vp, make([]byte, 8)); e != unix.EINVAL {
				t.Errorf("VnReadlink of %s: %v, want EINVAL", p, e)
			}
		})
	}
	buf := make([]byte, 64)
	if n, e := vfs.Readlink(l, "/ln", buf); e != 0 || string(buf[:n]) != "some/target" {
		t.Errorf("Readlink: %q, %v", buf[:n], e)
	}
	if _, e := vfs.Readlink(l, "/f", buf); e != unix.EINVAL {
		t.Errorf("Readlink of a file: %v, want EINVAL", e)
	}
}

package vfstest

import (
	"runtime"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Permission cases: each answer is what the Linux kernel gives the same
// callers on ext4 (issue #10's list).

func init() { Cases = append(Cases, permCases...) }

// As returns an LWP of a new process running with cred uid, gid, groups.
func (e *Env) As(uid, gid uint32, groups ...uint32) *kernel.LWP {
	e.T.Helper()
	l, err := e.K.Rfork(e.L, kernel.RFCFDG)
	if err != nil {
		e.T.Fatal(err)
	}
	l.Proc().SetCred(kernel.CredCreate(uid, gid, groups))
	e.T.Cleanup(func() { e.K.ReleaseLWP(l) })
	return l
}

// withVnode runs f on name's vnode, opened by root, inside the kernel.
func (e *Env) withVnode(name string, f func(vp *vfs.Vnode)) {
	e.T.Helper()
	vp, err := vfs.OpenVnode(e.L, name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	e.Must(err, "open "+name)
	e.Must(vfs.Enter(e.L), "enter")
	f(vp)
	vfs.VOPClose(e.L, vp, vfs.FREAD)
	vfs.Vrele(e.L, vp)
	var left unix.Errno
	vfs.Leave(e.L, &left)
}

// xattr calls op as l, inside the kernel.
func xattr(l *kernel.LWP, op func() unix.Errno) (e unix.Errno) {
	if e = vfs.Enter(l); e != 0 {
		return e
	}
	defer vfs.Leave(l, &e)
	return op()
}

var permCases = []Case{
	{"SupplementaryGroupRead", needOwners, func(e *Env) {
		f := e.P("g")
		e.WriteFile(f, []byte("secret"), 0o640)
		e.Must(vfs.Chown(e.L, f, 0, 50), "chown")
		e.Must(vfs.Chmod(e.L, f, 0o640), "chmod")
		if _, err := e.ReadFile(e.As(1000, 1000, 50), f); err != 0 {
			e.T.Fatalf("read through supplementary group 50: %v", err)
		}
		_, err := e.ReadFile(e.As(1000, 1000, 51), f)
		e.Want(err, unix.EACCES, "read without group 50")
	}},
	{"FifoOpenChecked", needSpecial, func(e *Env) {
		f := e.P("fifo")
		e.Must(vfs.Mknod(e.L, f, unix.S_IFIFO|0o600, 0), "mkfifo")
		e.Must(vfs.Chown(e.L, f, 1000, 1000), "chown")
		e.Must(vfs.Chmod(e.L, f, 0o600), "chmod")
		other := e.As(65534, 65534)
		_, err := vfs.Open(other, f, unix.O_RDONLY|unix.O_NONBLOCK, 0)
		e.Want(err, unix.EACCES, "another user's 0600 FIFO, read")
		_, err = vfs.Open(other, f, unix.O_WRONLY|unix.O_NONBLOCK, 0)
		e.Want(err, unix.EACCES, "another user's 0600 FIFO, write")
		fd, err := vfs.Open(e.User, f, unix.O_RDONLY|unix.O_NONBLOCK, 0)
		e.Must(err, "the owner's open")
		vfs.Close(e.User, fd)
	}},
	{"XattrPermissions", needXattr, func(e *Env) {
		f := e.P("rootfile")
		e.WriteFile(f, []byte("x"), 0o644)
		e.Must(vfs.Chmod(e.L, f, 0o644), "chmod")
		fifo := e.P("fifo")
		if !e.FS.NoSpecial {
			e.Must(vfs.Mknod(e.L, fifo, unix.S_IFIFO|0o666, 0), "mkfifo")
			e.Must(vfs.Chmod(e.L, fifo, 0o666), "chmod fifo")
		}
		sticky := e.P("sticky")
		e.Must(vfs.Mkdir(e.L, sticky, 0o777), "mkdir")
		e.Must(vfs.Chmod(e.L, sticky, 0o1777), "chmod sticky")
		u := e.User
		e.withVnode(f, func(vp *vfs.Vnode) {
			e.Must(vfs.VOPSetextattr(e.L, vp, "user.a", []byte("v"), 0), "root sets user.a")
			e.Want(xattr(u, func() unix.Errno { return vfs.VOPSetextattr(u, vp, "user.b", []byte("v"), 0) }),
				unix.EACCES, "user.b set on root's 0644 file")
			e.Want(xattr(u, func() unix.Errno { return vfs.VOPDeleteextattr(u, vp, "user.a") }),
				unix.EACCES, "user.a removed from root's 0644 file")
			e.Must(xattr(u, func() unix.Errno { _, err := vfs.VOPGetextattr(u, vp, "user.a", nil); return err }),
				"user.a read on a 0644 file")
			e.Want(xattr(u, func() unix.Errno { return vfs.VOPSetextattr(u, vp, "trusted.t", []byte("v"), 0) }),
				unix.EPERM, "trusted.t set by a user")
			e.Want(xattr(u, func() unix.Errno { return vfs.VOPSetextattr(u, vp, "security.s", []byte("v"), 0) }),
				unix.EPERM, "security.s set by a user")
			e.Must(vfs.VOPSetextattr(e.L, vp, "trusted.t", []byte("v"), 0), "root sets trusted.t")
			e.Want(xattr(u, func() unix.Errno { _, err := vfs.VOPGetextattr(u, vp, "trusted.t", nil); return err }),
				unix.ENODATA, "trusted.t read by a user")
			buf := make([]byte, 256)
			var n int
			e.Must(xattr(u, func() unix.Errno {
				uio := kernel.UioSetup(buf, 0, kernel.UioRead)
				defer kernel.UioFree(uio)
				var err unix.Errno
				n, err = vfs.VOPListextattr(u, vp, uio)
				return err
			}), "list as a user")
			if string(buf[:n]) != "user.a\x00" {
				e.T.Fatalf("a user lists %q, want only user.a", buf[:n])
			}
		})
		e.Must(vfs.Chmod(e.L, f, 0o600), "chmod 0600")
		e.withVnode(f, func(vp *vfs.Vnode) {
			e.Want(xattr(u, func() unix.Errno { _, err := vfs.VOPGetextattr(u, vp, "user.a", nil); return err }),
				unix.EACCES, "user.a read on root's 0600 file")
		})
		if !e.FS.NoSpecial {
			e.withVnode(fifo, func(vp *vfs.Vnode) {
				e.Want(xattr(u, func() unix.Errno { return vfs.VOPSetextattr(u, vp, "user.a", []byte("v"), 0) }),
					unix.EPERM, "user.a set on a FIFO")
				e.Want(xattr(u, func() unix.Errno { _, err := vfs.VOPGetextattr(u, vp, "user.a", nil); return err }),
					unix.ENODATA, "user.a read on a FIFO")
			})
		}
		e.withVnode(sticky, func(vp *vfs.Vnode) {
			e.Want(xattr(u, func() unix.Errno { return vfs.VOPSetextattr(u, vp, "user.a", []byte("v"), 0) }),
				unix.EPERM, "user.a set on root's sticky 01777 directory")
		})
	}},
	{"WriteKillsSetuid", needOwners, func(e *Env) {
		for _, c := range []struct{ mode, want uint32 }{
			{0o6777, 0o0777}, // setuid and a real setgid both go
			{0o6767, 0o0767}, // setgid without group execute: the writer is not in group 0
			{0o4666, 0o0666},
		} {
			f := e.P("suid")
			e.WriteFile(f, nil, 0o644)
			e.Must(vfs.Chmod(e.L, f, c.mode), "chmod")
			fd, err := vfs.Open(e.User, f, unix.O_WRONLY, 0)
			e.Must(err, "open world-writable setuid file as a user")
			_, err = vfs.Write(e.User, fd, []byte("x"))
			e.Must(err, "write as a user")
			vfs.Close(e.User, fd)
			if va := e.Stat(f); va.Mode != c.want {
				e.T.Fatalf("mode %#o after a user's write: %#o, want %#o", c.mode, va.Mode, c.want)
			}
			// Root's write keeps the bits (CAP_FSETID).
			e.Must(vfs.Chmod(e.L, f, c.mode), "chmod")
			fd, err = vfs.Open(e.L, f, unix.O_WRONLY, 0)
			e.Must(err, "open as root")
			vfs.Write(e.L, fd, []byte("y"))
			vfs.Close(e.L, fd)
			if va := e.Stat(f); va.Mode != c.mode {
				e.T.Fatalf("mode %#o after root's write: %#o", c.mode, va.Mode)
			}
			// A user's truncate drops them as a write does.
			e.Must(vfs.Truncate(e.User, f, 0), "truncate as a user")
			if va := e.Stat(f); va.Mode != c.want {
				e.T.Fatalf("mode %#o after a user's truncate: %#o, want %#o", c.mode, va.Mode, c.want)
			}
			e.Must(vfs.Unlink(e.L, f), "unlink")
		}
		// A member of the file's group keeps a setgid that is no real one.
		f := e.P("mand")
		e.WriteFile(f, nil, 0o644)
		e.Must(vfs.Chmod(e.L, f, 0o2666), "chmod")
		m := e.As(1000, 1000, 0)
		fd, err := vfs.Open(m, f, unix.O_WRONLY, 0)
		e.Must(err, "open as a member")
		vfs.Write(m, fd, []byte("x"))
		vfs.Close(m, fd)
		if va := e.Stat(f); va.Mode != 0o2666 {
			e.T.Fatalf("mode 02666 after a group member's write: %#o, want 02666", va.Mode)
		}
	}},
	{"FtruncateAfterChmod0", needOwners, func(e *Env) {
		e.Must(vfs.Chmod(e.L, e.Dir, 0o777), "chmod dir")
		f := e.P("t")
		fd, err := vfs.Open(e.User, f, unix.O_CREAT|unix.O_RDWR, 0o644)
		e.Must(err, "create as a user")
		defer vfs.Close(e.User, fd)
		vfs.Write(e.User, fd, []byte("0123456789"))
		e.Must(vfs.Chmod(e.User, f, 0), "chmod 0")
		e.Must(vfs.Ftruncate(e.User, fd, 3), "ftruncate of a descriptor open for writing")
		if va := e.Stat(f); va.Size != 3 {
			e.T.Fatalf("size %d after ftruncate, want 3", va.Size)
		}
		e.Want(vfs.Truncate(e.User, f, 1), unix.EACCES, "truncate by path of a mode 0 file")
		rfd, err := vfs.Open(e.L, f, unix.O_RDONLY, 0)
		e.Must(err, "open read-only")
		e.Want(vfs.Ftruncate(e.L, rfd, 0), unix.EINVAL, "ftruncate of a read-only descriptor")
		vfs.Close(e.L, rfd)
	}},
	{"NewFileGroup", needOwners, func(e *Env) {
		// The directory's group is 50; the creator's gid 1000.
		d := e.P("d")
		e.Must(vfs.Mkdir(e.L, d, 0o777), "mkdir")
		e.Must(vfs.Chown(e.L, d, 0, 50), "chown")
		e.Must(vfs.Chmod(e.L, d, 0o777), "chmod")
		u := e.User
		bsd := runtime.GOOS != "linux"
		want := uint32(1000)
		if bsd {
			want = 50
		}
		e.Must(vfs.Mkdir(u, d+"/plain", 0o755), "mkdir in a plain directory")
		if va := e.Stat(d + "/plain"); va.Gid != want || va.Uid != 1000 {
			e.T.Fatalf("new directory %d:%d, want 1000:%d", va.Uid, va.Gid, want)
		}
		// A setgid directory hands its group down, and setgid to new
		// directories; a setgid file of a group the creator is not in
		// loses setgid.
		e.Must(vfs.Chmod(e.L, d, 0o2777), "chmod g+s")
		fd, err := vfs.Open(u, d+"/f", unix.O_CREAT|unix.O_WRONLY, 0o2755)
		e.Must(err, "create in a setgid directory")
		vfs.Close(u, fd)
		if va := e.Stat(d + "/f"); va.Gid != 50 || va.Mode&0o2000 != 0 {
			e.T.Fatalf("new file in a setgid directory: gid %d mode %#o, want gid 50 without setgid", va.Gid, va.Mode)
		}
		e.Must(vfs.Mkdir(u, d+"/sub", 0o755), "mkdir in a setgid directory")
		if va := e.Stat(d + "/sub"); va.Gid != 50 || va.Mode&0o2000 == 0 {
			e.T.Fatalf("new directory in a setgid directory: gid %d mode %#o, want gid 50 and setgid", va.Gid, va.Mode)
		}
		m := e.As(1000, 1000, 50)
		fd, err = vfs.Open(m, d+"/g", unix.O_CREAT|unix.O_WRONLY, 0o2755)
		e.Must(err, "create as a member")
		vfs.Close(m, fd)
		if va := e.Stat(d + "/g"); va.Gid != 50 || va.Mode&0o2000 == 0 {
			e.T.Fatalf("a member's setgid file: gid %d mode %#o, want setgid kept", va.Gid, va.Mode)
		}
		// The mount's rule can be switched (grpid / nogrpid).
		mp := mountOf(e, d)
		mp.SetBSDGroups(!bsd)
		defer mp.SetBSDGroups(bsd)
		e.Must(vfs.Chmod(e.L, d, 0o777), "chmod g-s")
		e.Must(vfs.Mkdir(u, d+"/other", 0o755), "mkdir with the other rule")
		want = 50
		if bsd {
			want = 1000
		}
		if va := e.Stat(d + "/other"); va.Gid != want {
			e.T.Fatalf("with the other group rule: gid %d, want %d", va.Gid, want)
		}
	}},
}

// mountOf returns the mount holding path.
func mountOf(e *Env, path string) *vfs.Mount {
	e.T.Helper()
	vp, err := vfs.OpenVnode(e.L, path, unix.O_RDONLY, 0)
	e.Must(err, "open "+path)
	mp := vp.Mount
	e.Must(vfs.Enter(e.L), "enter")
	vfs.VOPClose(e.L, vp, vfs.FREAD)
	vfs.Vrele(e.L, vp)
	var left unix.Errno
	vfs.Leave(e.L, &left)
	return mp
}

package vfs_test

import (
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func TestOflagsToF(t *testing.T) {
	for _, c := range []struct{ o, f int }{
		{unix.O_RDONLY, vfs.FREAD},
		{unix.O_WRONLY, vfs.FWRITE},
		{unix.O_RDWR, vfs.FREAD | vfs.FWRITE},
		{unix.O_WRONLY | unix.O_APPEND, vfs.FWRITE | vfs.FAPPEND},
		{unix.O_RDONLY | unix.O_TRUNC | unix.O_CREAT, vfs.FREAD},
		{unix.O_ACCMODE, 0},
	} {
		if got := vfs.OflagsToF(c.o); got != c.f {
			t.Errorf("OflagsToF(%#x) = %#x, want %#x", c.o, got, c.f)
		}
	}
}

// withVnode runs fn on path's vnode (not following a final symlink)
// inside a kernel entry of l.
func withVnode(t *testing.T, l *kernel.LWP, path string, fn func(vp *vfs.Vnode)) {
	t.Helper()
	e := vfs.Enter(l)
	must(t, e, "enter")
	defer vfs.Leave(l, &e)
	res, e := vfs.Namei(l, nil, path, vfs.LOOKUP, 0)
	must(t, e, "namei "+path)
	defer vfs.Vrele(l, res.Vp)
	fn(res.Vp)
}

// vnOpen opens path's vnode with VnOpen and closes it again.
func vnOpen(t *testing.T, l *kernel.LWP, path string, oflags, how int) (e unix.Errno) {
	t.Helper()
	withVnode(t, l, path, func(vp *vfs.Vnode) {
		var ff int
		if ff, e = vfs.VnOpen(l, vp, oflags, how); e == 0 {
			vfs.VOPClose(l, vp, ff)
		}
	})
	return e
}

func writeFile(t *testing.T, l *kernel.LWP, path string, mode uint32, data string) {
	t.Helper()
	fd, e := vfs.Open(l, path, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, mode)
	must(t, e, "create "+path)
	if _, e := vfs.Write(l, fd, []byte(data)); e != 0 {
		t.Fatal(e)
	}
	must(t, vfs.Close(l, fd), "close")
	must(t, vfs.Chmod(l, path, mode), "chmod")
}

func TestVnOpenChecks(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	user, _ := k.Rfork(l, kernel.RFCFDG)
	user.Proc().SetCred(kernel.CredCreate(1, 1, nil))
	must(t, vfs.Mkdir(l, "/d", 0o755), "mkdir")
	writeFile(t, l, "/rootfile", 0o644, "data")
	must(t, vfs.Symlink(l, "/rootfile", "/link"), "symlink")
	must(t, vfs.Mknod(l, "/fifo", unix.S_IFIFO|0o666, 0), "mknod")
	must(t, vfs.Chmod(l, "/fifo", 0o666), "chmod")
	for _, c := range []struct {
		who    *kernel.LWP
		path   string
		oflags int
		how    int
		want   unix.Errno
	}{
		{l, "/link", unix.O_RDONLY, 0, unix.ELOOP},
		{l, "/d", unix.O_RDONLY, 0, 0},
		{l, "/d", unix.O_RDONLY | unix.O_DIRECTORY, 0, 0},
		{l, "/d", unix.O_WRONLY, 0, unix.EISDIR},
		{l, "/d", unix.O_RDWR, 0, unix.EISDIR},
		{l, "/d", unix.O_RDONLY | unix.O_TRUNC, 0, unix.EISDIR},
		{l, "/d", unix.O_RDONLY | unix.O_CREAT, 0, unix.EISDIR},
		{l, "/rootfile", unix.O_RDONLY | unix.O_DIRECTORY, 0, unix.ENOTDIR},
		{user, "/rootfile", unix.O_RDONLY, 0, 0},
		{user, "/rootfile", unix.O_WRONLY, 0, unix.EACCES},
		{user, "/rootfile", unix.O_RDONLY | unix.O_TRUNC, 0, unix.EACCES},
		{user, "/rootfile", unix.O_WRONLY, vfs.VnOpenClientChecked, 0},
		{user, "/rootfile", unix.O_RDWR, vfs.VnOpenCreated, 0},
		{user, "/d", unix.O_RDONLY, 0, 0},
		{user, "/fifo", unix.O_RDWR | unix.O_TRUNC, 0, 0}, // O_TRUNC means nothing to a FIFO
	} {
		if got := vnOpen(t, c.who, c.path, c.oflags, c.how); got != c.want {
			t.Errorf("VnOpen(%s, %#x, %#x) as uid %d: %v, want %v", c.path, c.oflags, c.how, c.who.Cred().Uid(), got, c.want)
		}
	}
}

func TestVnOpenTrunc(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	user, _ := k.Rfork(l, kernel.RFCFDG)
	user.Proc().SetCred(kernel.CredCreate(1, 1, nil))
	size := func(path string) int64 {
		var va vfs.Vattr
		must(t, vfs.Stat(l, path, &va), "stat")
		return va.Size
	}
	writeFile(t, l, "/f", 0o666, "data")
	must(t, vnOpen(t, l, "/f", unix.O_RDONLY|unix.O_TRUNC, 0), "open O_RDONLY|O_TRUNC")
	if s := size("/f"); s != 4 {
		t.Errorf("read-only O_TRUNC truncated: size %d", s)
	}
	must(t, vnOpen(t, l, "/f", unix.O_WRONLY|unix.O_TRUNC, vfs.VnOpenCreated), "open created")
	if s := size("/f"); s != 4 {
		t.Errorf("O_TRUNC of a file this open created truncated: size %d", s)
	}
	must(t, vnOpen(t, l, "/f", unix.O_WRONLY|unix.O_TRUNC, 0), "open O_WRONLY|O_TRUNC")
	if s := size("/f"); s != 0 {
		t.Errorf("O_TRUNC left size %d", s)
	}

	// Kill-priv: asked for, O_TRUNC drops setuid and setgid even when
	// nothing is truncated; not asked for, a read-only open keeps them.
	writeFile(t, l, "/suid", 0o6777, "x")
	must(t, vfs.Chown(l, "/suid", 1, 1), "chown")
	mode := func() uint32 {
		var va vfs.Vattr
		must(t, vfs.Stat(l, "/suid", &va), "stat")
		return va.Mode
	}
	must(t, vnOpen(t, user, "/suid", unix.O_RDONLY|unix.O_TRUNC, 0), "open")
	if m := mode(); m != 0o6777 {
		t.Errorf("mode %o after a read-only O_TRUNC", m)
	}
	must(t, vnOpen(t, user, "/suid", unix.O_RDONLY|unix.O_TRUNC, vfs.VnOpenKillPriv), "open kill-priv")
	if m := mode(); m != 0o777 {
		t.Errorf("mode %o after a kill-priv O_TRUNC, want 777", m)
	}
}

// TestRun: Run is one kernel entry around fn, with Leave's recovered
// panic path, and refuses to enter a halted kernel.
func TestRun(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	if e := vfs.Run(l, func() unix.Errno { return unix.ENOSPC }); e != unix.ENOSPC {
		t.Fatalf("Run: %v, want fn's ENOSPC", e)
	}
	if e := vfs.Run(l, func() unix.Errno { panic("vn run test") }); e != unix.EIO {
		t.Fatalf("Run of a panicking fn: %v, want EIO", e)
	}
	if !strings.Contains(k.Dmesg(), "vn run test") {
		t.Fatal("no dmesg line for the panic")
	}
	// The CPU came back: another entry runs.
	must(t, vfs.Run(l, func() unix.Errno { return 0 }), "Run after a panic")
	k.Reboot(l, kernel.RB_HALT)
	if e := vfs.Run(l, func() unix.Errno { t.Fatal("ran in a halted kernel"); return 0 }); e == 0 {
		t.Fatal("Run in a halted kernel succeeded")
	}
}

// TestVnOpenReadOnly: writing or truncating a regular file on a
// read-only mount, or for a client serving read-only, is EROFS even for
// root and a client that checked permissions itself; the type checks
// come first, and FIFOs stay writable.
func TestVnOpenReadOnly(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	writeFile(t, l, "/f", 0o644, "data")
	must(t, vfs.Mknod(l, "/fifo", unix.S_IFIFO|0o666, 0), "mknod")
	must(t, vfs.Mkdir(l, "/ro", 0o755), "mkdir")
	must(t, vfs.MountPath(l, "rumpfs", "none", "/ro", vfs.MNT_RDONLY, nil), "mount")
	for _, c := range []struct {
		path   string
		oflags int
		how    int
		want   unix.Errno
	}{
		{"/f", unix.O_RDONLY, vfs.VnOpenReadOnly, 0},
		{"/f", unix.O_WRONLY, vfs.VnOpenReadOnly, unix.EROFS},
		{"/f", unix.O_RDONLY | unix.O_TRUNC, vfs.VnOpenReadOnly | vfs.VnOpenClientChecked, unix.EROFS},
		{"/f", unix.O_WRONLY | unix.O_DIRECTORY, vfs.VnOpenReadOnly, unix.ENOTDIR},
		{"/fifo", unix.O_RDWR, vfs.VnOpenReadOnly, 0},
		{"/ro", unix.O_WRONLY, vfs.VnOpenReadOnly, unix.EISDIR},
		{"/f", unix.O_RDWR, 0, 0},
	} {
		if got := vnOpen(t, l, c.path, c.oflags, c.how); got != c.want {
			t.Errorf("VnOpen(%s, %#x, %#x): %v, want %v", c.path, c.oflags, c.how, got, c.want)
		}
	}
	// A read-only mount, through the system call.
	if _, e := vfs.Open(l, "/ro/x", unix.O_CREAT|unix.O_WRONLY, 0o644); e != unix.EROFS {
		t.Errorf("create on a read-only mount: %v, want EROFS", e)
	}
	if f, e := vfs.Open(l, "/f", unix.O_RDWR, 0); e != 0 {
		t.Errorf("open on a read-write mount: %v", e)
	} else {
		vfs.Close(l, f)
	}
}

// TestVnAccess: access(2)'s mode, existence alone, and EROFS for a
// client serving read-only; the system call answers the same.
func TestVnAccess(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	user, _ := k.Rfork(l, kernel.RFCFDG)
	user.Proc().SetCred(kernel.CredCreate(1, 1, nil))
	writeFile(t, l, "/f", 0o600, "x")
	must(t, vfs.Mknod(l, "/fifo", unix.S_IFIFO|0o666, 0), "mknod")
	must(t, vfs.Chmod(l, "/fifo", 0o666), "chmod")
	for _, c := range []struct {
		who   *kernel.LWP
		path  string
		mode  uint32
		flags int
		want  unix.Errno
	}{
		{l, "/f", unix.R_OK | unix.W_OK, 0, 0},
		{l, "/f", 8, 0, unix.EINVAL},
		{user, "/f", 0, 0, 0},
		{user, "/f", unix.R_OK, 0, unix.EACCES},
		{l, "/f", unix.W_OK, vfs.ClientReadOnly, unix.EROFS},
		{l, "/f", unix.R_OK, vfs.ClientReadOnly, 0},
		{l, "/", unix.W_OK, vfs.ClientReadOnly, unix.EROFS},
		{user, "/fifo", unix.W_OK, vfs.ClientReadOnly, 0},
	} {
		var got unix.Errno
		withVnode(t, c.who, c.path, func(vp *vfs.Vnode) { got = vfs.VnAccess(c.who, vp, c.mode, c.flags) })
		if got != c.want {
			t.Errorf("VnAccess(%s, %o, %#x) as uid %d: %v, want %v", c.path, c.mode, c.flags, c.who.Cred().Uid(), got, c.want)
		}
		if c.flags == 0 {
			if e := vfs.Access(c.who, c.path, c.mode); e != c.want {
				t.Errorf("Access(%s, %o) as uid %d: %v, want %v", c.path, c.mode, c.who.Cred().Uid(), e, c.want)
			}
		}
	}
}

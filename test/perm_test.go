package test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Permission answers compared with the Linux kernel (issue #10): the same
// operations, as the same unprivileged callers, against the kernel's loop
// mount of an ext4 image and against rumpfs mounts (allow_other); the
// kernel's answers are the expected ones.

// permHelperBin is a copy of the test binary that unprivileged callers can
// run (the go test binary may sit in a directory only root can enter).
var permHelperBin = sync.OnceValues(func() (string, error) {
	self, err := os.Open(os.Args[0])
	if err != nil {
		return "", err
	}
	defer self.Close()
	p := filepath.Join(base, "perm-helper")
	out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, self); err != nil {
		out.Close()
		return "", err
	}
	return p, out.Close()
})

// caller is who runs an operation.
type caller struct {
	uid, gid uint32
	groups   []uint32
}

var (
	user1000   = caller{1000, 1000, nil}
	member50   = caller{1000, 1000, []uint32{50}}
	nonMember  = caller{1000, 1000, []uint32{51}}
	nobodyUser = caller{65534, 65534, nil}
)

// permOp runs the perm helper as c: op and its arguments; the answer is
// "ok ..." or the errno's name.
func permOp(t *testing.T, c caller, args ...string) string {
	t.Helper()
	bin, err := permHelperBin()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), helperEnv+"=perm")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: c.uid, Gid: c.gid, Groups: c.groups}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("perm helper %v as %d: %v\n%s", args, c.uid, err, out)
	}
	return strings.TrimSpace(string(out))
}

// permHelper is the helper's body: one operation on a path, with umask 0.
func permHelper(args []string) int {
	unix.Umask(0)
	errName := func(err error) string {
		if en, ok := err.(syscall.Errno); ok {
			return unix.ErrnoName(en)
		}
		if pe, ok := err.(*os.PathError); ok {
			if en, ok := pe.Err.(syscall.Errno); ok {
				return unix.ErrnoName(en)
			}
		}
		return err.Error()
	}
	res := func(info string, err error) int {
		if err != nil {
			fmt.Println(errName(err))
		} else {
			fmt.Println("ok", info)
		}
		return 0
	}
	if len(args) < 2 {
		return 2
	}
	op, p := args[0], args[1]
	mode := func() uint32 {
		m, _ := strconv.ParseUint(args[2], 8, 32)
		return uint32(m)
	}
	switch op {
	case "read":
		b, err := os.ReadFile(p)
		return res(string(b), err)
	case "openfifo": // read side without blocking
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK, 0)
		if err == nil {
			unix.Close(fd)
		}
		return res("", err)
	case "append":
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_APPEND, 0)
		if err != nil {
			return res("", err)
		}
		_, err = unix.Write(fd, []byte("x"))
		unix.Close(fd)
		return res("", err)
	case "ftrunc": // create, write, chmod 0, ftruncate the open descriptor
		fd, err := unix.Open(p, unix.O_CREAT|unix.O_RDWR, 0o644)
		if err != nil {
			return res("", err)
		}
		defer unix.Close(fd)
		unix.Write(fd, []byte("0123456789"))
		if err := unix.Fchmod(fd, 0); err != nil {
			return res("fchmod", err)
		}
		if err := unix.Ftruncate(fd, 3); err != nil {
			return res("", err)
		}
		var st unix.Stat_t
		unix.Fstat(fd, &st)
		return res(fmt.Sprint("size ", st.Size), nil)
	case "create":
		fd, err := unix.Open(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, mode())
		if err == nil {
			unix.Close(fd)
		}
		return res("", err)
	case "mkdir":
		return res("", unix.Mkdir(p, mode()))
	case "setxattr":
		return res("", unix.Setxattr(p, args[2], []byte("v"), 0))
	case "getxattr":
		buf := make([]byte, 64)
		n, err := unix.Getxattr(p, args[2], buf)
		if err != nil {
			return res("", err)
		}
		return res(string(buf[:n]), nil)
	}
	return 2
}

// stat answers "mode uid:gid" of p, as root.
func statOf(t *testing.T, p string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return unix.ErrnoName(err.(syscall.Errno))
	}
	return fmt.Sprintf("%#o %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// loopMount mounts img with the host kernel's ext4 at a new directory.
func loopMount(t *testing.T, img string, ro bool, extra ...string) string {
	t.Helper()
	needTool(t, "losetup")
	mnt := mountDir(t)
	opts := strings.Join(append([]string{"loop"}, extra...), ",")
	if ro {
		opts += ",ro"
	}
	if out, err := exec.Command("mount", "-t", "ext4", "-o", opts, img, mnt).CombinedOutput(); err != nil {
		t.Skipf("the host cannot loop-mount ext4: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

func mkext4(t *testing.T) string {
	t.Helper()
	mke2fs := needTool(t, "mke2fs")
	img := filepath.Join(t.TempDir(), "ext4.img")
	if out, err := exec.Command(mke2fs, "-q", "-F", "-t", "ext4", "-O", "^has_journal", img, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
	return img
}

// TestPermReadOnlyVsKernel: an ext4 image changed by the kernel, then the
// kernel's read-only loop mount and `rumpfs mount -o ro,allow_other` of it
// answer the same callers alike.
func TestPermReadOnlyVsKernel(t *testing.T) {
	needFUSE(t)
	img := mkext4(t)
	k := loopMount(t, img, false)
	must(t, os.WriteFile(k+"/g", []byte("group"), 0o640))
	must(t, os.Chown(k+"/g", 0, 50))
	must(t, os.Chmod(k+"/g", 0o640))
	must(t, unix.Mkfifo(k+"/fifo", 0o600))
	must(t, os.Chown(k+"/fifo", 1000, 1000))
	must(t, os.Chmod(k+"/fifo", 0o600))
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"u", 0o644}, {"p", 0o600}} {
		must(t, os.WriteFile(k+"/"+f.name, []byte("x"), f.mode))
		must(t, os.Chmod(k+"/"+f.name, f.mode))
		must(t, unix.Setxattr(k+"/"+f.name, "user.a", []byte("va"), 0))
	}
	must(t, exec.Command("umount", k).Run())

	kro := loopMount(t, img, true)
	r := mountDir(t)
	s := startServer(t, r, "-o", "ro,allow_other", "-t", "ext4", img)
	cases := []struct {
		what string
		c    caller
		args []string
	}{
		{"0640 root:50 read by a supplementary member of 50", member50, []string{"read", "g"}},
		{"0640 root:50 read by a non-member", nonMember, []string{"read", "g"}},
		{"0600 FIFO of 1000 opened by 65534", nobodyUser, []string{"openfifo", "fifo"}},
		{"0600 FIFO of 1000 opened by its owner", user1000, []string{"openfifo", "fifo"}},
		{"user.a of a 0644 root file read by 1000", user1000, []string{"getxattr", "u", "user.a"}},
		{"user.a of a 0600 root file read by 1000", user1000, []string{"getxattr", "p", "user.a"}},
	}
	for _, c := range cases {
		argsK := append([]string{c.args[0], kro + "/" + c.args[1]}, c.args[2:]...)
		argsR := append([]string{c.args[0], r + "/" + c.args[1]}, c.args[2:]...)
		want, got := permOp(t, c.c, argsK...), permOp(t, c.c, argsR...)
		t.Logf("%-50s kernel %-8s rumpfs %s", c.what, want, got)
		if got != want {
			t.Errorf("%s: rumpfs %q, kernel %q", c.what, got, want)
		}
	}
	s.unmount()
}

// TestPermReadWriteVsKernel runs the read-write cases on a kernel loop
// mount of a scratch ext4 image and on rumpfs mounts (allow_other) of a
// UFS2 image and of the in-memory root, and wants the kernel's answers.
func TestPermReadWriteVsKernel(t *testing.T) {
	needFUSE(t)
	targets := []struct{ name, dir string }{{"kernel-ext4", loopMount(t, mkext4(t), false)}}
	ufsMnt := mountDir(t)
	ufs := startServer(t, ufsMnt, "-o", "allow_other", emptyFFS(t, t.TempDir(), ufs2, "32m"))
	memMnt := mountDir(t)
	mem := startServer(t, memMnt, "-o", "allow_other", "-t", "rumpfs", "none")
	targets = append(targets, struct{ name, dir string }{"rumpfs-ufs2", ufsMnt}, struct{ name, dir string }{"rumpfs-memory", memMnt})

	// Each step runs on every target; a result is a list of answers.
	type step func(t *testing.T, d string) []string
	steps := []struct {
		name string
		run  step
	}{
		{"kill-priv on a user's write", func(t *testing.T, d string) []string {
			var out []string
			for _, m := range []uint32{0o6777, 0o6767, 0o4666} {
				p := fmt.Sprintf("%s/s%o", d, m)
				must(t, os.WriteFile(p, nil, 0o644))
				must(t, os.Chmod(p, os.FileMode(m&0o777)|modeBits(m)))
				out = append(out, permOp(t, user1000, "append", p), statOf(t, p))
			}
			return out
		}},
		{"ftruncate after chmod 0", func(t *testing.T, d string) []string {
			must(t, os.Mkdir(d+"/w", 0o777))
			must(t, os.Chmod(d+"/w", 0o777))
			return []string{permOp(t, user1000, "ftrunc", d+"/w/f"), statOf(t, d+"/w/f")}
		}},
		{"group of new files", func(t *testing.T, d string) []string {
			g := d + "/g"
			must(t, os.Mkdir(g, 0o777))
			must(t, os.Chown(g, 0, 50))
			must(t, os.Chmod(g, 0o777))
			out := []string{
				permOp(t, user1000, "mkdir", g+"/d", "755"), statOf(t, g+"/d"),
				permOp(t, user1000, "create", g+"/f", "644"), statOf(t, g+"/f"),
			}
			must(t, os.Chmod(g, 0o777|os.ModeSetgid))
			return append(out,
				permOp(t, user1000, "mkdir", g+"/sd", "755"), statOf(t, g+"/sd"),
				permOp(t, user1000, "create", g+"/sf", "2755"), statOf(t, g+"/sf"),
				permOp(t, member50, "create", g+"/mf", "2755"), statOf(t, g+"/mf"))
		}},
		{"user xattr set", func(t *testing.T, d string) []string {
			must(t, os.WriteFile(d+"/r", []byte("x"), 0o644))
			must(t, os.Chmod(d+"/r", 0o644))
			must(t, os.Mkdir(d+"/x", 0o777))
			must(t, os.Chmod(d+"/x", 0o777))
			out := []string{
				permOp(t, user1000, "setxattr", d+"/r", "user.b"),
				permOp(t, user1000, "create", d+"/x/own", "644"),
				permOp(t, user1000, "setxattr", d+"/x/own", "user.b"),
				permOp(t, user1000, "getxattr", d+"/x/own", "user.b"),
				permOp(t, user1000, "setxattr", d+"/x/own", "trusted.b"),
			}
			must(t, os.Chmod(d+"/x", 0o777|os.ModeSticky))
			return append(out, permOp(t, user1000, "setxattr", d+"/x", "user.c"))
		}},
		{"FIFO of another user", func(t *testing.T, d string) []string {
			must(t, unix.Mkfifo(d+"/fifo", 0o600))
			must(t, os.Chown(d+"/fifo", 1000, 1000))
			must(t, os.Chmod(d+"/fifo", 0o600))
			return []string{permOp(t, nobodyUser, "openfifo", d+"/fifo"), permOp(t, user1000, "openfifo", d+"/fifo")}
		}},
	}
	for _, st := range steps {
		t.Run(strings.ReplaceAll(st.name, " ", "_"), func(t *testing.T) {
			var want []string
			for i, tg := range targets {
				dir := filepath.Join(tg.dir, strings.Fields(st.name)[0])
				must(t, os.Mkdir(dir, 0o755))
				got := st.run(t, dir)
				t.Logf("%-14s %s", tg.name, strings.Join(got, " | "))
				if i == 0 {
					want = got
				} else if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s on %s:\n got  %q\n want %q (the kernel's)", st.name, tg.name, got, want)
				}
			}
		})
	}
	ufs.unmountFFS()
	mem.unmount()
}

// modeBits converts setuid, setgid and sticky to os.FileMode bits.
func modeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&0o4000 != 0 {
		fm |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// TestPermGrpidVsKernel: with -o grpid new files and directories take
// their directory's group, on the kernel's ext4 and on rumpfs alike.
func TestPermGrpidVsKernel(t *testing.T) {
	needFUSE(t)
	memMnt := mountDir(t)
	mem := startServer(t, memMnt, "-o", "allow_other,grpid", "-t", "rumpfs", "none")
	var want []string
	for i, d := range []string{loopMount(t, mkext4(t), false, "grpid"), memMnt} {
		g := d + "/g"
		must(t, os.Mkdir(g, 0o777))
		must(t, os.Chown(g, 0, 50))
		must(t, os.Chmod(g, 0o777))
		got := []string{
			permOp(t, user1000, "mkdir", g+"/d", "755"), statOf(t, g+"/d"),
			permOp(t, user1000, "create", g+"/f", "644"), statOf(t, g+"/f"),
		}
		t.Logf("%d: %s", i, strings.Join(got, " | "))
		if i == 0 {
			want = got
		} else if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("grpid: rumpfs %q, kernel %q", got, want)
		}
	}
	mem.unmount()
}

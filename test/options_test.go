package test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitFor polls cond until it holds; a minute without is a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// TestSIGINTBusy: a first SIGINT leaves a busy mount alone and says so, a
// second detaches it; the server exits 0 once the last open file closes.
func TestSIGINTBusy(t *testing.T) {
	needFUSE(t)
	host := filepath.Join(t.TempDir(), "f")
	write(t, host, "0123456789")
	mnt := mountDir(t)
	s := startServer(t, mnt, append([]string{"--etfs", "/f=" + host}, rootArgs...)...)
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s.signal(syscall.SIGINT)
	waitFor(t, "the busy message", func() bool { return strings.Contains(s.stderr.String(), "is busy") })
	if !isMounted(mnt) {
		t.Fatal("the first SIGINT unmounted a busy mount")
	}
	s.signal(syscall.SIGINT)
	waitFor(t, "the lazy unmount", func() bool { return !isMounted(mnt) })
	// The open file is still served after the detach.
	if _, err := f.WriteAt([]byte("ab"), 2); err != nil {
		t.Fatalf("write through a file open across the lazy unmount: %v", err)
	}
	select {
	case <-s.done:
		t.Fatal("the server exited while a file on the detached mount was open")
	default:
	}
	f.Close()
	if st := s.wait(); st.ExitCode() != 0 {
		t.Fatalf("server exited %v; stderr:\n%s", st, s.stderr.String())
	}
	if msg := s.stderr.String(); strings.Count(msg, "\n") != 2 || !strings.Contains(msg, "detached") {
		t.Errorf("want the busy and the detached line on stderr, got:\n%s", msg)
	}
	wantContent(t, host, "01ab456789")
}

// TestStatsAndVerbose: --verbose shows the boot lines, SIGUSR1 prints
// counters while running and --stats prints them at exit.
func TestStatsAndVerbose(t *testing.T) {
	needFUSE(t)
	mnt := mountDir(t)
	s := startServer(t, mnt, append([]string{"--stats", "--verbose"}, rootArgs...)...)
	write(t, filepath.Join(mnt, "f"), "x")
	s.signal(syscall.SIGUSR1)
	waitFor(t, "SIGUSR1's vnode counts", func() bool { return strings.Contains(s.stdout.String(), "vnodes:") })
	if out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput(); err != nil {
		t.Fatalf("fusermount3 -u: %v %s", err, out)
	}
	if st := s.wait(); st.ExitCode() != 0 {
		t.Fatalf("server exited %v; stderr:\n%s", st, s.stderr.String())
	}
	out := s.stdout.String()
	if n := strings.Count(out, "vnodes:"); n != 2 {
		t.Errorf("want vnode counts twice (SIGUSR1, exit), got %d times:\n%s", n, out)
	}
	if !strings.Contains(out, "p2k:") || !strings.Contains(out, " / ") {
		t.Errorf("want p2k counters and \"group / name: count\" event counters, got:\n%s", out)
	}
	errOut := s.stderr.String()
	if !strings.Contains(errOut, "booting") || !strings.Contains(errOut, "halted") {
		t.Errorf("--verbose: want the kernel's boot and halt lines on stderr, got:\n%s", errOut)
	}
}

// TestReadOnly: -o ro refuses every change with EROFS, leaves the etfs
// host file as it was, and raises the mount's read-ahead to 1 MiB.
func TestReadOnly(t *testing.T) {
	needFUSE(t)
	host := filepath.Join(t.TempDir(), "f")
	write(t, host, "read only")
	mnt := mountDir(t)
	s := startServer(t, mnt, append([]string{"-o", "ro", "--etfs", "/f=" + host}, rootArgs...)...)
	wantContent(t, filepath.Join(mnt, "f"), "read only")
	if _, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_WRONLY, 0); !errors.Is(err, unix.EROFS) {
		t.Errorf("open for writing on a ro mount: %v, want EROFS", err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); !errors.Is(err, unix.EROFS) {
		t.Errorf("mkdir on a ro mount: %v, want EROFS", err)
	}
	for _, m := range mountinfo() {
		if m.mnt != mnt {
			continue
		}
		// The server raises it once the FUSE handshake is done, which
		// can be just after the mount answers its first requests.
		ra := "/sys/class/bdi/" + m.dev + "/read_ahead_kb"
		var b []byte
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b, err = os.ReadFile(ra); err != nil || strings.TrimSpace(string(b)) == "1024" {
				break
			}
		}
		if err == nil && strings.TrimSpace(string(b)) != "1024" {
			t.Errorf("%s = %s, want 1024", ra, b)
		}
	}
	s.unmount()
	wantContent(t, host, "read only")
}

// TestOwnerOptions: uid=, gid= and umask= change what every file shows;
// fsname= and subtype= name the mount in the mount table.
func TestOwnerOptions(t *testing.T) {
	needFUSE(t)
	mnt := mountDir(t)
	s := startServer(t, mnt, "-o", "uid=1234,gid=5678", "-o", "umask=027,fsname=myfs,subtype=rumpfs", "-t", "rumpfs", "none")
	write(t, filepath.Join(mnt, "f"), "x")
	os.Chmod(filepath.Join(mnt, "f"), 0o666)
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(mnt, "f"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1234 || st.Gid != 5678 || st.Mode&0o777 != 0o640 {
		t.Errorf("with uid=1234,gid=5678,umask=027 a 0666 root file shows %d:%d %o", st.Uid, st.Gid, st.Mode&0o777)
	}
	found := false
	for _, m := range mountinfo() {
		if m.mnt == mnt {
			found = m.fstype == "fuse.rumpfs" && m.source == "myfs"
			if !found {
				t.Errorf("mount table: type %s source %s, want fuse.rumpfs myfs", m.fstype, m.source)
			}
		}
	}
	if !found {
		t.Error("mount not found in the mount table")
	}
	s.unmount()
}

// TestUnprivilegedServer: a non-root user mounts through fusermount3 on a
// directory of their own, uses it and unmounts it; on a directory they
// cannot write to, the refusal is one clear line.
func TestUnprivilegedServer(t *testing.T) {
	needFUSE(t)
	setpriv := needTool(t, "setpriv")
	needTool(t, "fusermount3")
	nobody := []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}
	mnt := mountDir(t)
	if err := os.Chown(mnt, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat("/dev/fuse"); err == nil && st.Mode().Perm()&0o006 != 0o006 {
		// As in some containers: only root may use FUSE here.
		out, err := exec.Command(nobody[0], append(nobody[1:], rumpfsBin, "mount", "-t", "rumpfs", "none", mnt)...).CombinedOutput()
		if err == nil {
			t.Fatal("nobody mounted although /dev/fuse is closed to them")
		}
		oneLine(t, "non-root without access to /dev/fuse", string(out), "/dev/fuse", "permission denied")
		t.Skipf("*** /dev/fuse is mode %o here: non-root mounts cannot be tested beyond their error message ***", st.Mode().Perm())
	}
	s := startServerAs(t, nobody, mnt, rootArgs...)
	if out, err := asNobody(t, "sh", "-c", "echo hi > "+mnt+"/f && cat "+mnt+"/f"); err != nil || out != "hi\n" {
		t.Fatalf("nobody using their own mount: %v %q", err, out)
	}
	if out, err := asNobody(t, "fusermount3", "-u", mnt); err != nil {
		t.Fatalf("nobody unmounting their own mount: %v %s", err, out)
	}
	s.waitClean()

	rootOwned := mountDir(t)
	cmd := exec.Command(nobody[0], append(nobody[1:], rumpfsBin, "mount", "-t", "rumpfs", "none", rootOwned)...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("nobody mounted on a root-owned 0755 directory")
	}
	oneLine(t, "non-root on a root-owned mount point", string(out), rootOwned, "permission denied")
	if conf, _ := os.ReadFile("/etc/fuse.conf"); !strings.Contains("\n"+string(conf), "\nuser_allow_other") {
		cmd := exec.Command(nobody[0], append(nobody[1:], rumpfsBin, "mount", "-o", "allow_other", "-t", "rumpfs", "none", mnt)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatal("nobody mounted with allow_other without user_allow_other in /etc/fuse.conf")
		}
		oneLine(t, "non-root allow_other", string(out), "allow_other", "user_allow_other", "/etc/fuse.conf")
	}
}

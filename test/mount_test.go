package test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rootArgs serve the kernel's in-memory root.
var rootArgs = []string{"-t", "rumpfs", "none"}

// TestBigFile writes a 256 MiB file through the mount and reads it back
// (from the server, not the page cache) by checksum.
func TestBigFile(t *testing.T) {
	needFUSE(t)
	mnt := mountDir(t)
	s := startServer(t, mnt, rootArgs...)
	const size = 256 << 20
	p := filepath.Join(mnt, "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 1<<20)
	wsum := sha256.New()
	for off := 0; off < size; off += len(buf) {
		rng.Read(buf)
		wsum.Write(buf)
		if _, err := f.Write(buf); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, _ := f.Stat(); st.Size() != size {
		t.Fatalf("size %d, want %d", st.Size(), size)
	}
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	rsum := sha256.New()
	if n, err := io.CopyBuffer(rsum, f, buf); err != nil || n != size {
		t.Fatalf("read back %d bytes, err %v; want %d", n, err, size)
	}
	if !bytes.Equal(wsum.Sum(nil), rsum.Sum(nil)) {
		t.Fatalf("read back a different 256 MiB: sha256 %x, wrote %x", rsum.Sum(nil), wsum.Sum(nil))
	}
	f.Close()
	s.unmount()
}

// TestManyFiles lists and removes 10,000 files in one directory.
func TestManyFiles(t *testing.T) {
	needFUSE(t)
	mnt := mountDir(t)
	s := startServer(t, mnt, rootArgs...)
	const n = 10000
	dir := filepath.Join(mnt, "many")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("file-%05d", i)
		if err := os.WriteFile(filepath.Join(dir, want[i]), []byte(want[i]), 0o644); err != nil {
			t.Fatalf("create %s: %v", want[i], err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(ents))
	for i, e := range ents {
		got[i] = e.Name()
	}
	sort.Strings(got)
	if len(got) != n {
		t.Fatalf("listed %d entries, want %d", len(got), n)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("listing differs at %d: %q, want %q", i, got[i], want[i])
		}
	}
	for _, i := range []int{0, 1, 4999, 9998, 9999} {
		if b, err := os.ReadFile(filepath.Join(dir, want[i])); err != nil || string(b) != want[i] {
			t.Fatalf("%s holds %q (%v)", want[i], b, err)
		}
	}
	for _, name := range want {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatalf("remove %s: %v", name, err)
		}
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("after removing all: %d entries (%v)", len(ents), err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	s.unmount()
}

func write(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func wantContent(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != want {
		t.Fatalf("%s holds %q (err %v), want %q", p, b, err, want)
	}
}

func wantMissing(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: want ENOENT, got %v", p, err)
	}
}

func wantErrno(t *testing.T, what string, err error, want ...syscall.Errno) {
	t.Helper()
	for _, w := range want {
		if errors.Is(err, w) {
			return
		}
	}
	t.Fatalf("%s: got %v, want %v", what, err, want)
}

// TestRename renames over files and directories (unix.Rename: os.Rename
// refuses any existing directory as the target by itself).
func TestRename(t *testing.T) {
	needFUSE(t)
	mnt := mountDir(t)
	s := startServer(t, mnt, rootArgs...)
	p := func(name string) string { return filepath.Join(mnt, name) }

	write(t, p("a"), "A")
	write(t, p("b"), "B")
	if err := unix.Rename(p("a"), p("b")); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, p("a"))
	wantContent(t, p("b"), "A")

	// Into another directory, over a file there.
	mkdir(t, p("d1"))
	write(t, p("d1/x"), "old")
	if err := unix.Rename(p("b"), p("d1/x")); err != nil {
		t.Fatal(err)
	}
	wantContent(t, p("d1/x"), "A")
	wantMissing(t, p("b"))

	// A directory over an empty directory, keeping its contents.
	mkdir(t, p("d2"))
	if err := unix.Rename(p("d1"), p("d2")); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, p("d1"))
	wantContent(t, p("d2/x"), "A")

	// Over a non-empty directory, file over directory, directory over
	// file, a directory into itself.
	mkdir(t, p("d3"))
	wantErrno(t, "rename dir over non-empty dir", unix.Rename(p("d3"), p("d2")), unix.ENOTEMPTY, unix.EEXIST)
	write(t, p("f"), "F")
	wantErrno(t, "rename file over dir", unix.Rename(p("f"), p("d3")), unix.EISDIR)
	wantErrno(t, "rename dir over file", unix.Rename(p("d3"), p("f")), unix.ENOTDIR)
	wantErrno(t, "rename dir into itself", unix.Rename(p("d2"), p("d2/sub")), unix.EINVAL)

	// ".." of a moved directory follows it.
	mkdir(t, p("d3/inner"))
	if err := unix.Rename(p("d3/inner"), p("d2/inner")); err != nil {
		t.Fatal(err)
	}
	wantContent(t, p("d2/inner/../x"), "A")
	s.unmount()
}

// TestLinks checks hard links and symlinks.
func TestLinks(t *testing.T) {
	needFUSE(t)
	mnt := mountDir(t)
	s := startServer(t, mnt, rootArgs...)
	p := func(name string) string { return filepath.Join(mnt, name) }

	write(t, p("orig"), "one")
	if err := os.Link(p("orig"), p("hard")); err != nil {
		t.Fatal(err)
	}
	var a, b unix.Stat_t
	unix.Stat(p("orig"), &a)
	unix.Stat(p("hard"), &b)
	if a.Ino != b.Ino || a.Nlink != 2 || b.Nlink != 2 {
		t.Fatalf("after link: ino %d/%d nlink %d/%d, want one inode with nlink 2", a.Ino, b.Ino, a.Nlink, b.Nlink)
	}
	write(t, p("hard"), "two")
	wantContent(t, p("orig"), "two")
	if err := os.Remove(p("orig")); err != nil {
		t.Fatal(err)
	}
	unix.Stat(p("hard"), &b)
	if b.Nlink != 1 {
		t.Fatalf("after unlinking one name: nlink %d, want 1", b.Nlink)
	}
	wantContent(t, p("hard"), "two")
	mkdir(t, p("dir"))
	wantErrno(t, "link a directory", os.Link(p("dir"), p("dirlink")), unix.EPERM)
	wantErrno(t, "link onto an existing name", os.Link(p("hard"), p("dir")), unix.EEXIST)

	// Symlinks: relative, absolute (host path), to a directory, dangling.
	if err := os.Symlink("hard", p("sym")); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(p("sym")); err != nil || target != "hard" {
		t.Fatalf("readlink: %q %v", target, err)
	}
	wantContent(t, p("sym"), "two")
	if fi, err := os.Lstat(p("sym")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("lstat sym: %v %v", fi, err)
	}
	write(t, p("dir/in"), "inside")
	if err := os.Symlink(p("dir"), p("dirsym")); err != nil {
		t.Fatal(err)
	}
	wantContent(t, p("dirsym/in"), "inside")
	if err := os.Symlink("nowhere", p("dangling")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p("dangling")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat dangling symlink: %v, want ENOENT", err)
	}
	long := strings.Repeat("x/", 400) + "end"
	if err := os.Symlink(long, p("long")); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(p("long")); target != long {
		t.Fatalf("readlink of an 803-byte target: got %d bytes", len(target))
	}
	// A hard link to a symlink is a link to the symlink itself.
	if err := os.Link(p("sym"), p("symhard")); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(p("symhard")); err != nil || target != "hard" {
		t.Fatalf("readlink of a hard link to a symlink: %q %v", target, err)
	}
	s.unmount()
}

// asNobody runs a command as uid/gid 65534 with no supplementary groups.
func asNobody(t *testing.T, args ...string) (string, error) {
	t.Helper()
	setpriv := needTool(t, "setpriv")
	out, err := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestNonRootCaller: an unprivileged caller is refused a 0600 root file and
// owns what it creates, with the kernel's checks and with the host's
// (default_permissions).
func TestNonRootCaller(t *testing.T) {
	needFUSE(t)
	for _, opts := range []string{"allow_other", "allow_other,default_permissions"} {
		t.Run(opts, func(t *testing.T) {
			mnt := mountDir(t)
			s := startServer(t, mnt, append([]string{"-o", opts}, rootArgs...)...)
			p := func(name string) string { return filepath.Join(mnt, name) }
			write(t, p("secret"), "root only")
			if err := os.Chmod(p("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			mkdir(t, p("pub"))
			if err := os.Chmod(p("pub"), 0o777); err != nil {
				t.Fatal(err)
			}
			if out, err := asNobody(t, "cat", p("secret")); err == nil || !strings.Contains(out, "Permission denied") {
				t.Fatalf("nobody read a 0600 root file: %v %q", err, out)
			}
			if out, err := asNobody(t, "sh", "-c", "echo mine > "+p("pub/mine")+" && mkdir "+p("pub/d")+" && cat "+p("pub/mine")); err != nil || out != "mine\n" {
				t.Fatalf("nobody creating in a 0777 directory: %v %q", err, out)
			}
			var pub unix.Stat_t
			unix.Stat(p("pub"), &pub)
			for _, name := range []string{"pub/mine", "pub/d"} {
				var st unix.Stat_t
				if err := unix.Stat(p(name), &st); err != nil {
					t.Fatal(err)
				}
				// The group is the creator's (System V, Linux) or
				// the parent directory's (BSD, as NetBSD does).
				if st.Uid != 65534 || (st.Gid != 65534 && st.Gid != pub.Gid) {
					t.Errorf("%s made by nobody is owned by %d:%d, want 65534:65534 (or group %d, the directory's)", name, st.Uid, st.Gid, pub.Gid)
				}
			}
			var root unix.Stat_t
			unix.Stat(mnt, &root)
			if root.Mode&0o002 == 0 {
				if out, err := asNobody(t, "touch", p("intruder")); err == nil {
					t.Fatalf("nobody created a file in the root-owned %o root directory: %q", root.Mode&0o7777, out)
				}
			}
			if out, err := asNobody(t, "rm", "-f", p("secret")); err == nil {
				t.Fatalf("nobody removed root's file: %q", out)
			}
			s.unmount()
		})
	}
}

// TestEtfsRegWriteThrough writes an etfs REG file through the mount and
// finds the new bytes in the host file once the server has exited.
func TestEtfsRegWriteThrough(t *testing.T) {
	needFUSE(t)
	host := filepath.Join(t.TempDir(), "host.dat")
	old := bytes.Repeat([]byte("a"), 64<<10)
	if err := os.WriteFile(host, old, 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := mountDir(t)
	s := startServer(t, mnt, append([]string{"--etfs", "/data=" + host + ":reg"}, rootArgs...)...)
	got, err := os.ReadFile(filepath.Join(mnt, "data"))
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("reading the etfs file: %d bytes, err %v; want the host's %d", len(got), err, len(old))
	}
	f, err := os.OpenFile(filepath.Join(mnt, "data"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("NEW BYTES"), 4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s.unmount()
	want := append([]byte(nil), old...)
	copy(want[4096:], "NEW BYTES")
	got, err = os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("host file after unmount differs from what was written at byte %d (len %d, want %d)", i, len(got), len(want))
	}
}

// TestTraceShowsCallerPid: every READ in the --trace file carries the pid
// of the process that read.
func TestTraceShowsCallerPid(t *testing.T) {
	needFUSE(t)
	trace := filepath.Join(t.TempDir(), "trace")
	mnt := mountDir(t)
	s := startServer(t, mnt, append([]string{"--trace", trace}, rootArgs...)...)
	write(t, filepath.Join(mnt, "f"), strings.Repeat("data", 1<<16))
	cat := exec.Command("cat", filepath.Join(mnt, "f"))
	cat.Stdout = io.Discard
	if err := cat.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cat.Process.Pid
	s.unmount()
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	reads, ours := 0, 0
	for _, line := range strings.Split(string(data), "\n") {
		op, lpid, ok := traceOpPid(line)
		if !ok || op != "read" {
			continue
		}
		reads++
		if lpid == pid {
			ours++
		} else if lpid != 0 {
			t.Errorf("a READ traced with pid %d, but only cat (pid %d) read: %s", lpid, pid, line)
		}
	}
	if ours == 0 {
		t.Fatalf("no READ line with cat's pid %d among %d READ lines; trace:\n%s", pid, reads, head(string(data), 40))
	}
}

// traceOpPid picks the operation and the kernel-side pid out of a trace
// line. p2k writes "... pid=P lid=L uid=U op=OP ..." or similar
// name=value fields; the operation name is compared in lower case.
func traceOpPid(line string) (op string, pid int, ok bool) {
	havePid := false
	for _, f := range strings.Fields(line) {
		k, v, isKV := strings.Cut(f, "=")
		if !isKV {
			continue
		}
		switch strings.ToLower(k) {
		case "pid":
			if n, err := strconv.Atoi(v); err == nil {
				pid, havePid = n, true
			}
		case "op":
			op = strings.ToLower(v)
		}
	}
	return op, pid, havePid && op != ""
}

func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// TestSIGTERMDuringWrites: SIGTERM while a process streams writes into an
// etfs file; the server exits 0, and what was fsynced is on the host.
func TestSIGTERMDuringWrites(t *testing.T) {
	needFUSE(t)
	host := filepath.Join(t.TempDir(), "stream.dat")
	if err := os.WriteFile(host, make([]byte, 2*streamSynced*streamBlock), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := mountDir(t)
	s := startServer(t, mnt, append([]string{"--etfs", "/data=" + host + ":reg"}, rootArgs...)...)
	w := helper("writer", filepath.Join(mnt, "data"))
	stdout, err := w.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Stderr = os.Stderr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Process.Kill()
	lines := bufio.NewScanner(stdout)
	want := "synced " + strconv.Itoa(streamSynced*streamBlock)
	for lines.Scan() && lines.Text() != want {
		if !strings.HasPrefix(lines.Text(), "synced ") {
			t.Fatalf("writer: %s", lines.Text())
		}
	}
	s.signal(syscall.SIGTERM)
	st := s.wait()
	if st.ExitCode() != 0 || s.stderr.String() != "" {
		t.Fatalf("after SIGTERM the server exited %v; stderr:\n%s", st, s.stderr.String())
	}
	if isMounted(mnt) {
		t.Errorf("%s still mounted after the server exited", mnt)
	}
	// The stream was cut off while it ran: its next write failed.
	rest, _ := io.ReadAll(stdout)
	w.Wait()
	if !strings.Contains(string(rest), "write error") {
		t.Errorf("the writer was not interrupted by the server's exit; it said %q", rest)
	}
	got, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < streamSynced; i++ {
		blk := got[i*streamBlock : (i+1)*streamBlock]
		if n := bytes.Count(blk, []byte{byte(i + 1)}); n != streamBlock {
			t.Fatalf("block %d, fsynced before SIGTERM: %d of %d bytes on the host are %#x", i, n, streamBlock, i+1)
		}
	}
}

// TestSIGINT: the first SIGINT unmounts an idle mount and the server exits
// 0 having written everything to the host.
func TestSIGINT(t *testing.T) {
	needFUSE(t)
	host := filepath.Join(t.TempDir(), "f")
	write(t, host, "before")
	mnt := mountDir(t)
	s := startServer(t, mnt, append([]string{"--etfs", "/f=" + host}, rootArgs...)...)
	write(t, filepath.Join(mnt, "f"), "after!")
	s.signal(syscall.SIGINT)
	s.waitClean()
	if isMounted(mnt) {
		t.Errorf("%s still mounted after SIGINT", mnt)
	}
	wantContent(t, host, "after!")
}

// findDaemon returns the pid of the rumpfs server serving mnt, found by
// its command line.
func findDaemon(mnt string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > 2 && args[0] == rumpfsBin && args[len(args)-1] == mnt {
			return pid
		}
	}
	return 0
}

// processGone reports whether pid has exited (or is a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(after, "Z") || strings.HasPrefix(after, "X")
}

// TestDaemon: --daemon returns once the mount is live, and reports a
// failure with the server's message and a non-zero status.
func TestDaemon(t *testing.T) {
	needFUSE(t)
	mnt := mountDir(t)
	stdout, stderr, code := rumpfs(append(append([]string{"mount", "--daemon"}, rootArgs...), mnt)...)
	pid := findDaemon(mnt)
	if code != 0 || stdout != fmt.Sprintf("%d\n", pid) || stderr != "" {
		t.Fatalf("rumpfs mount --daemon: exit %d, stdout %q (want the pid, %d), stderr %q", code, stdout, pid, stderr)
	}
	t.Cleanup(func() {
		if isMounted(mnt) {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
		if pid != 0 && !processGone(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if !isMounted(mnt) {
		t.Fatalf("rumpfs mount --daemon returned 0 but nothing is mounted on %s", mnt)
	}
	write(t, filepath.Join(mnt, "x"), "served by the daemon")
	wantContent(t, filepath.Join(mnt, "x"), "served by the daemon")
	if pid == 0 {
		t.Fatal("cannot find the daemon's process")
	}
	if out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput(); err != nil {
		t.Fatalf("fusermount3 -u: %v %s", err, out)
	}
	for deadline := time.Now().Add(time.Minute); !processGone(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("daemon %d still running a minute after the unmount", pid)
		}
	}

	missing := filepath.Join(base, "no-such-dir")
	_, stderr, code = rumpfs(append(append([]string{"mount", "--daemon"}, rootArgs...), missing)...)
	if code == 0 {
		t.Fatal("rumpfs mount --daemon on a missing mount point exited 0")
	}
	oneLine(t, "--daemon on a missing mount point", stderr, missing, "does not exist")
}

// TestMountErrors: each refusal is one clear line and a non-zero exit
// (malformed options are usage errors: TestUsageErrors).
func TestMountErrors(t *testing.T) {
	needFUSE(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	write(t, file, "not a directory")
	mnt := mountDir(t)
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing image", []string{"-t", "ffs", filepath.Join(tmp, "missing.img"), mnt}, []string{"missing.img", "no such file"}},
		{"missing image, type probed", []string{filepath.Join(tmp, "missing.img"), mnt}, []string{"missing.img", "no such file"}},
		{"unknown type", []string{"-t", "zfs", "none", mnt}, []string{`unknown file system type "zfs"`, "ffs (ufs)", "rumpfs"}},
		{"mount point missing", []string{"-t", "rumpfs", "none", filepath.Join(tmp, "nope")}, []string{"nope", "does not exist"}},
		{"mount point not a directory", []string{"-t", "rumpfs", "none", file}, []string{file, "not a directory"}},
		{"missing etfs host file", []string{"--etfs", "/x=" + filepath.Join(tmp, "gone"), "-t", "rumpfs", "none", mnt}, []string{"gone", "no such file"}},
	} {
		_, stderr, code := rumpfs(append([]string{"mount"}, c.args...)...)
		if code == 0 {
			t.Errorf("%s: exit 0", c.name)
		}
		oneLine(t, c.name, stderr, c.want...)
	}

	// The mount point is already a rumpfs mount: refused, and the first
	// mount goes on serving.
	s := startServer(t, mnt, rootArgs...)
	_, stderr, code := rumpfs(append(append([]string{"mount"}, rootArgs...), mnt)...)
	if code == 0 {
		t.Error("mounting twice on one mount point: exit 0")
	}
	oneLine(t, "already a rumpfs mount", stderr, mnt, "busy", "already a rumpfs mount")
	write(t, filepath.Join(mnt, "still"), "serving")
	s.unmount()

	// A mount whose server died.
	s = startServer(t, mnt, rootArgs...)
	s.signal(syscall.SIGKILL)
	s.wait()
	_, stderr, code = rumpfs(append(append([]string{"mount"}, rootArgs...), mnt)...)
	if code == 0 {
		t.Error("mounting on a dead mount: exit 0")
	}
	oneLine(t, "dead mount", stderr, mnt, "server is gone", "fusermount -u")
	unix.Unmount(mnt, unix.MNT_DETACH)

	// No /dev/fuse: in a mount namespace of its own with an empty /dev.
	t.Run("no /dev/fuse", func(t *testing.T) {
		unshare := needTool(t, "unshare")
		cmd := exec.Command(unshare, "-m", "sh", "-c", `mount -t tmpfs none /dev && exec "$0" mount -t rumpfs none "$1"`, rumpfsBin, mnt)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil {
			t.Fatal("mount without /dev/fuse: exit 0")
		}
		oneLine(t, "no /dev/fuse", stderr.String(), "/dev/fuse", "modprobe fuse", "fuse3")
	})
}

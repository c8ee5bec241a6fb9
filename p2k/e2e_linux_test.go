package p2k

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/hanwen/go-fuse/v2/posixtest"
	"github.com/rumpfs/rumpfs/internal/testenv"
	"golang.org/x/sys/unix"
)

// requireFUSE skips a test that needs real FUSE mounts when this machine
// cannot make them, loudly, unless RUMPFS_E2E=1 asks for the end-to-end
// tests to run, which makes it a failure.
func requireFUSE(t testing.TB) {
	t.Helper()
	var why string
	if _, err := os.Stat("/dev/fuse"); err != nil {
		why = "no /dev/fuse"
	} else if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			if _, err := exec.LookPath("fusermount"); err != nil {
				why = "not root and no fusermount"
			}
		}
	}
	if why == "" {
		return
	}
	testenv.Unmet(t, why)
}

// mount serves fs at a new directory and unmounts it when the test ends
// (before the bridge's Close, which testBridge registered earlier).
func mount(t testing.TB, fs fuse.RawFileSystem, opts *fuse.MountOptions) string {
	t.Helper()
	requireFUSE(t)
	mnt := t.TempDir()
	o := fuse.MountOptions{
		MaxWrite:    1 << 20,
		FsName:      "rumpfs",
		Name:        "rumpfs",
		DirectMount: true,
		Debug:       os.Getenv("P2K_DEBUG") != "",
	}
	if opts != nil {
		o = *opts
	}
	srv, err := fuse.NewServer(fs, mnt, &o)
	if err != nil {
		t.Fatalf("mount %s: %v", mnt, err)
	}
	served := make(chan struct{})
	go func() {
		srv.Serve()
		close(served)
	}()
	if err := srv.WaitMount(); err != nil {
		t.Fatalf("mount %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
		<-served
	})
	return mnt
}

// posixSkips are the posixtest cases whose semantics the VOP set does not
// offer.
var posixSkips = map[string]string{
	"Fallocate":         "the VOP set has no VOP_FALLOCATE; FALLOCATE answers ENOSYS (EOPNOTSUPP to the caller)",
	"FallocateKeepSize": "the VOP set has no VOP_FALLOCATE; FALLOCATE answers ENOSYS (EOPNOTSUPP to the caller)",
	"Tmpfile":           "the VOP set has no way to make an unnamed file; TMPFILE answers ENOSYS (EOPNOTSUPP to the caller)",
	"FcntlFlockLocksFile": "no driver implements VOP_ADVLOCK, so p2k does not take FUSE locks and the host keeps " +
		"POSIX locks itself, per process: a second open by the same process is not refused",
}

// TestPosix runs go-fuse's POSIX suite on the rumpfs root served through
// p2k, each case on a freshly booted kernel whose boot-time /dev and /tmp
// are removed first, so that the root starts empty.
func TestPosix(t *testing.T) {
	requireFUSE(t)
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if why, ok := posixSkips[name]; ok {
				t.Skip(why)
			}
			b, _ := testBridge(t, DefaultOptions())
			mnt := mount(t, b, nil)
			for _, d := range []string{"dev", "tmp"} {
				if err := os.Remove(filepath.Join(mnt, d)); err != nil {
					t.Fatal(err)
				}
			}
			posixtest.All[name](t, mnt)
		})
	}
}

// TestMountedTree exercises the namespace operations through the host
// kernel: hard links, symlinks, rename over files and directories, a
// large directory listed and removed.
func TestMountedTree(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	mnt := mount(t, b, nil)
	p := func(s string) string { return filepath.Join(mnt, s) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(p("a"), []byte("A"), 0o644))
	must(os.Link(p("a"), p("b")))
	must(os.Symlink("a", p("s")))
	if got, err := os.ReadFile(p("s")); err != nil || string(got) != "A" {
		t.Fatalf("read through symlink: %q %v", got, err)
	}
	var st syscall.Stat_t
	must(syscall.Stat(p("b"), &st))
	if st.Nlink != 2 {
		t.Errorf("nlink %d, want 2", st.Nlink)
	}
	// Rename over a file, and a directory over an empty directory.
	must(os.WriteFile(p("c"), []byte("C"), 0o644))
	must(os.Rename(p("c"), p("a")))
	if got, _ := os.ReadFile(p("a")); string(got) != "C" {
		t.Errorf("after rename over: %q", got)
	}
	must(os.MkdirAll(p("d1/sub"), 0o755))
	must(os.Mkdir(p("d2"), 0o755))
	// os.Rename refuses a directory target itself; ask the kernel.
	must(syscall.Rename(p("d1"), p("d2")))
	if _, err := os.Stat(p("d2/sub")); err != nil {
		t.Errorf("directory renamed over an empty one: %v", err)
	}
	must(os.Mkdir(p("d3"), 0o755))
	if err := syscall.Rename(p("d3"), p("d2")); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		t.Errorf("rename over a non-empty directory: %v", err)
	}

	// Many entries in one directory: listed exactly once, then removed.
	const n = 10000
	must(os.Mkdir(p("big"), 0o755))
	for i := range n {
		f, err := os.Create(p(fmt.Sprintf("big/entry-with-a-long-name-%05d", i)))
		must(err)
		f.Close()
	}
	ents, err := os.ReadDir(p("big"))
	must(err)
	seen := map[string]bool{}
	for _, e := range ents {
		if seen[e.Name()] {
			t.Fatalf("%q listed twice", e.Name())
		}
		seen[e.Name()] = true
	}
	if len(ents) != n {
		t.Errorf("%d entries listed, want %d", len(ents), n)
	}
	for _, e := range ents {
		must(os.Remove(p("big/" + e.Name())))
	}
	must(os.Remove(p("big")))
}

// TestTraceShowsReaderPid checks that the trace shows the pid of the host
// process that issued a read, for reads made by another process.
func TestTraceShowsReaderPid(t *testing.T) {
	var trace syncBuffer
	b, _ := testBridge(t, Options{UID: -1, GID: -1, Umask: -1, Trace: &trace})
	mnt := mount(t, b, nil)
	data := bytes.Repeat([]byte("p2k trace\n"), 50000)
	if err := os.WriteFile(filepath.Join(mnt, "file"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{
		{"cat", filepath.Join(mnt, "file")},
		{"dd", "if=" + filepath.Join(mnt, "file"), "of=/dev/null", "bs=64k", "iflag=direct"},
	} {
		cmd := exec.Command(argv[0], argv[1:]...)
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v", argv[0], err)
		}
		if argv[0] == "cat" && !bytes.Equal(out.Bytes(), data) {
			t.Errorf("cat read %d bytes, want %d", out.Len(), len(data))
		}
		pid := cmd.Process.Pid
		re := regexp.MustCompile(fmt.Sprintf(`(?m)^\S+ pid=%d lid=\d+ uid=0 op=read ino=\d+ err=0 `, pid))
		if !re.MatchString(trace.String()) {
			t.Errorf("no read by %s (pid %d) in the trace:\n%s", argv[0], pid, tail(trace.String(), 20))
		}
		if !strings.Contains(trace.String(), fmt.Sprintf("pid=%d lid=%d uid=0 op=open", pid, pid)) {
			t.Errorf("no open by %s (pid %d) in the trace", argv[0], pid)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestUnprivilegedCaller mounts with allow_other and no
// default_permissions, so the kernel's own checks decide: an unprivileged
// user is refused a 0600 root file and owns what it creates.
func TestUnprivilegedCaller(t *testing.T) {
	requireFUSE(t)
	testenv.Root(t) // to switch to an unprivileged user
	setpriv := testenv.Tool(t, "setpriv")
	b, _ := testBridge(t, DefaultOptions())
	o := fuse.MountOptions{MaxWrite: 1 << 20, DirectMount: true, AllowOther: true, Name: "rumpfs", ExtraCapabilities: Capabilities}
	mnt := mount(t, b, &o)
	// The temporary directories above the mount point are 0700.
	for d := mnt; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	secret := filepath.Join(mnt, "secret")
	if err := os.WriteFile(secret, []byte("root only"), 0o600); err != nil {
		t.Fatal(err)
	}
	as := func(args ...string) ([]byte, error) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=4321", "--regid=4321", "--clear-groups", "--"}, args...)...)
		return cmd.CombinedOutput()
	}
	if out, err := as("cat", secret); err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("uid 4321 read a 0600 root file: %v %s", err, out)
	}
	mine := filepath.Join(mnt, "tmp", "mine")
	if out, err := as("sh", "-c", "echo hi > "+mine); err != nil {
		t.Fatalf("uid 4321 creating in /tmp: %v %s", err, out)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(mine, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 4321 {
		t.Errorf("file made by uid 4321 is owned by %d", st.Uid)
	}
	if out, err := as("rm", "-f", secret); err == nil {
		t.Errorf("uid 4321 removed root's file from a 0755 root directory: %s", out)
	}
	// Only the kernel's checks decide here, so the supplementary groups
	// must come with the request: a member of 50 reads a 0640 root:50
	// file, a member of 51 alone does not.
	group := filepath.Join(mnt, "group")
	if err := os.WriteFile(group, []byte("fifty"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(group, 0, 50); err != nil {
		t.Fatal(err)
	}
	inGroup := func(g string, args ...string) ([]byte, error) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=4321", "--regid=4321", "--groups=" + g, "--"}, args...)...)
		return cmd.CombinedOutput()
	}
	if out, err := inGroup("51,50", "cat", group); err != nil || string(out) != "fifty" {
		t.Errorf("a supplementary member of 50 read a 0640 root:50 file: %v %s", err, out)
	}
	if out, err := inGroup("51", "cat", group); err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("a member of 51 alone read a 0640 root:50 file: %v %s", err, out)
	}
	// A world-writable setuid file: a user's write goes through and
	// drops setuid (FUSE_HANDLE_KILLPRIV_V2).
	suid := filepath.Join(mnt, "tmp", "suid")
	if err := os.WriteFile(suid, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(suid, 0o777|os.ModeSetuid)
	if out, err := as("sh", "-c", "echo x >> "+suid); err != nil {
		t.Errorf("uid 4321 writing a 04777 file: %v %s", err, out)
	}
	if fi, err := os.Stat(suid); err != nil || fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("setuid after another user's write: %v %v", fi.Mode(), err)
	}
}

// TestLargeFileChecksum writes a 256 MiB file through the mount and reads
// it back, comparing checksums.
func TestLargeFileChecksum(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB through FUSE")
	}
	b, _ := testBridge(t, DefaultOptions())
	mnt := mount(t, b, nil)
	name := filepath.Join(mnt, "big")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	wsum := sha256.New()
	for range 256 {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
		}
		wsum.Write(buf)
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rsum := sha256.New()
	n, err := io.CopyBuffer(rsum, f, buf)
	if err != nil || n != 256<<20 {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	if !bytes.Equal(wsum.Sum(nil), rsum.Sum(nil)) {
		t.Error("the file read back differs from what was written")
	}
}

// Package test holds rumpfs's end-to-end tests: the rumpfs binary, built
// once, runs as a real process serving real FUSE mounts, and the tests use
// the mounts through the host kernel, as a user would.
//
// They need root and /dev/fuse. Elsewhere they skip with a loud message,
// unless RUMPFS_E2E=1 (CI), which makes that a failure.
package test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"golang.org/x/sys/unix"
)

var (
	// rumpfsBin is the rumpfs binary under test.
	rumpfsBin string
	// base holds the mount points; mode 0755 so that unprivileged
	// callers can reach them.
	base string
)

// helperEnv makes the test binary run a helper (see helpers) instead of
// the tests.
const helperEnv = "RUMPFS_E2E_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	dir, err := os.MkdirTemp("", "rumpfs-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755)
	base = dir
	rumpfsBin = filepath.Join(dir, "rumpfs")
	// RUMPFS_E2E_BUILDFLAGS (say, -race) go to the build of the server.
	buildArgs := append([]string{"build", "-o", rumpfsBin}, strings.Fields(os.Getenv("RUMPFS_E2E_BUILDFLAGS"))...)
	build := exec.Command("go", append(buildArgs, "./cmd/rumpfs")...)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "test: go build ./cmd/rumpfs: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	// Never descend into a mount a failed test left behind.
	for _, mp := range mountsUnder(dir) {
		unix.Unmount(mp, unix.MNT_DETACH)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// needFUSE skips (or, with RUMPFS_E2E=1, fails) a test that cannot mount.
func needFUSE(t *testing.T) { testenv.FUSE(t) }

// needTool returns the path of a host tool, by the same rule.
func needTool(t *testing.T, name string) string { return testenv.Tool(t, name) }

var mountSeq struct {
	sync.Mutex
	n int
}

// mountDir makes an empty mount point (0755) for t under base.
func mountDir(t *testing.T) string {
	t.Helper()
	mountSeq.Lock()
	mountSeq.n++
	n := mountSeq.n
	mountSeq.Unlock()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	p := filepath.Join(base, fmt.Sprintf("%s-%d", name, n))
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o755)
	t.Cleanup(func() { os.Remove(p) })
	return p
}

// mountRow is one line of /proc/self/mountinfo.
type mountRow struct{ dev, mnt, fstype, source string }

// mountinfo reads /proc/self/mountinfo.
func mountinfo() []mountRow {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	unescape := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\134`, `\`).Replace
	var out []mountRow
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 2 {
			continue
		}
		out = append(out, mountRow{f[2], unescape(f[4]), g[0], unescape(g[1])})
	}
	return out
}

// isMounted reports whether a rumpfs FUSE mount is on mnt.
func isMounted(mnt string) bool {
	for _, m := range mountinfo() {
		if m.mnt == mnt && strings.HasPrefix(m.fstype, "fuse.") {
			return true
		}
	}
	return false
}

func mountsUnder(dir string) []string {
	var out []string
	for _, m := range mountinfo() {
		if strings.HasPrefix(m.mnt, dir+"/") {
			out = append(out, m.mnt)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer = testenv.SyncBuffer

// server is one running `rumpfs mount` process.
type server struct {
	t              *testing.T
	mnt            string
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	state          *os.ProcessState
	dev            string // the mount's maj:min, to abort its connection
}

// startServer runs `rumpfs mount ARGS... MNT` in the foreground and
// returns once the mount is live. The cleanup unmounts and stops it if the
// test did not.
func startServer(t *testing.T, mnt string, args ...string) *server {
	t.Helper()
	return startServerAs(t, nil, mnt, args...)
}

// startServerAs is startServer with a command prefix (setpriv ...).
func startServerAs(t *testing.T, prefix []string, mnt string, args ...string) *server {
	t.Helper()
	s := &server{t: t, mnt: mnt, done: make(chan struct{})}
	argv := append(append(append(prefix, rumpfsBin, "mount"), args...), mnt)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		s.state = s.cmd.ProcessState
		close(s.done)
	}()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(30 * time.Second)
	for !isMounted(mnt) {
		select {
		case <-s.done:
			t.Fatalf("rumpfs mount %s exited (%v) before the mount was live; stderr:\n%s", strings.Join(args, " "), s.state, s.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("rumpfs mount %s: no mount on %s after 30 s; stderr:\n%s", strings.Join(args, " "), mnt, s.stderr.String())
		}
	}
	for _, m := range mountinfo() {
		if m.mnt == mnt && strings.HasPrefix(m.fstype, "fuse.") {
			s.dev = m.dev
		}
	}
	// The mount is listed as soon as mount(2) returns, before the server
	// has read the host's INIT; an unmount in that window ends the
	// connection under the server's handshake. A statfs waits for INIT.
	var st unix.Statfs_t
	unix.Statfs(mnt, &st)
	return s
}

// unmount unmounts with fusermount -u, as a user would, and waits for the
// server to finish: fusermount returns before the server has halted.
func (s *server) unmount() {
	s.t.Helper()
	if out, err := exec.Command("fusermount3", "-u", s.mnt).CombinedOutput(); err != nil {
		if out2, err2 := exec.Command("umount", s.mnt).CombinedOutput(); err2 != nil {
			s.t.Fatalf("fusermount3 -u %s: %v %s; umount: %v %s", s.mnt, err, out, err2, out2)
		}
	}
	s.waitClean()
}

// stopWait is how long a server may take to halt once told to stop.
// Test images are small: a halt takes well under a second, so this only
// bounds a hang, which then fails fast instead of eating the package's
// timeout.
const stopWait = 30 * time.Second

// wait waits for the server process to exit and returns its status. A
// server still running after stopWait fails the test with the kernel
// stacks of its threads (where it is stuck), and is then cut loose: its
// FUSE connection aborted through fusectl, so that nothing is left in
// uninterruptible sleep, and killed.
func (s *server) wait() *os.ProcessState {
	s.t.Helper()
	select {
	case <-s.done:
		return s.state
	case <-time.After(stopWait):
	}
	stacks := threadStacks(s.cmd.Process.Pid)
	s.abort()
	s.t.Fatalf("rumpfs server on %s still running %v after it was told to stop; its threads:\n%s\nstderr:\n%s", s.mnt, stopWait, stacks, s.stderr.String())
	return nil
}

// abort ends the server's FUSE connection (fusectl) and kills it.
func (s *server) abort() {
	var maj, min uint32
	if _, err := fmt.Sscanf(s.dev, "%d:%d", &maj, &min); err == nil {
		exec.Command("mount", "-t", "fusectl", "none", "/sys/fs/fuse/connections").Run()
		os.WriteFile(fmt.Sprintf("/sys/fs/fuse/connections/%d/abort", maj<<20|min), []byte("1"), 0)
	}
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// threadStacks returns the state, wait channel and kernel stack of each
// thread of process pid, as /proc shows them (root only for the stacks).
func threadStacks(pid int) string {
	var b strings.Builder
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, t := range tasks {
		stat, _ := os.ReadFile(t + "/stat")
		wchan, _ := os.ReadFile(t + "/wchan")
		stack, _ := os.ReadFile(t + "/stack")
		state := ""
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
			state = string(stat[i+2 : i+3])
		}
		if state == "S" && !strings.Contains(string(stack), "fuse") {
			continue // an idle goroutine thread: not where it is stuck
		}
		fmt.Fprintf(&b, "thread %s state %s wchan %s\n%s", filepath.Base(t), state, wchan, stack)
	}
	if b.Len() == 0 {
		return "(no thread in a FUSE wait or uninterruptible sleep)\n"
	}
	return b.String()
}

// waitClean waits for the exit and wants status 0 and nothing on stderr.
func (s *server) waitClean() {
	s.t.Helper()
	st := s.wait()
	if st.ExitCode() != 0 || s.stderr.String() != "" {
		s.t.Fatalf("rumpfs server on %s: %v, stderr:\n%s", s.mnt, st, s.stderr.String())
	}
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// stop is the cleanup: detach a mount left behind and kill the server.
func (s *server) stop() {
	if isMounted(s.mnt) {
		unix.Unmount(s.mnt, unix.MNT_DETACH)
	}
	select {
	case <-s.done:
		return
	case <-time.After(10 * time.Second):
	}
	s.t.Errorf("rumpfs server on %s did not exit after unmount; its threads:\n%s\naborting its connection and killing it; stderr:\n%s", s.mnt, threadStacks(s.cmd.Process.Pid), s.stderr.String())
	s.abort()
}

// rumpfs runs the rumpfs binary to completion.
func rumpfs(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	cmd := exec.Command(rumpfsBin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Run()
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// oneLine checks that msg is exactly one "rumpfs: ..." line containing
// every want.
func oneLine(t *testing.T, what, msg string, want ...string) {
	t.Helper()
	if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "rumpfs: ") || !strings.HasSuffix(msg, "\n") {
		t.Errorf("%s: want one line starting with \"rumpfs: \", got %q", what, msg)
		return
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: message %q does not say %q", what, msg, w)
		}
	}
}

// helper starts the test binary as helper name with env and args.
func helper(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	return cmd
}

func runHelper(name string) int {
	switch name {
	case "writer":
		return writerHelper(os.Args[1])
	case "perm":
		return permHelper(os.Args[1:])
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
	return 2
}

// Writer stream geometry for TestSIGTERMDuringWrites.
const (
	streamBlock  = 1 << 20
	streamSynced = 8 // blocks written and fsynced before the stream goes on
)

// writerHelper writes blocks 0..streamSynced-1 of path (block i filled
// with byte i+1), fsyncs after every fourth, prints "synced N" after each
// fsync, then rewrites the blocks after them without fsync until a write
// fails: a stream that a signal to the server must interrupt.
func writerHelper(path string) int {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	blk := make([]byte, streamBlock)
	for i := 0; ; i++ {
		b, fill := i, byte(i+1)
		if i >= streamSynced {
			b, fill = streamSynced+i%streamSynced, 0xee
		}
		for j := range blk {
			blk[j] = fill
		}
		if _, err := f.WriteAt(blk, int64(b)*streamBlock); err != nil {
			fmt.Fprintln(out, "write error:", err)
			out.Flush()
			return 0
		}
		if i < streamSynced && i%4 == 3 {
			if err := f.Sync(); err != nil {
				fmt.Fprintln(out, "fsync error:", err)
				out.Flush()
				return 1
			}
			fmt.Fprintln(out, "synced", strconv.Itoa((i+1)*streamBlock))
			out.Flush()
		}
	}
}

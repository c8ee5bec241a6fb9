package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/images"
	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/internal/testimg"
	"golang.org/x/sys/unix"
)

// Hostile inputs at the command level (issue #11): odd host files, huge
// tables, names with escape sequences, and signals at every stage. These
// run the built binary, as a user would.

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// rumpfsBinary builds the command once per test run.
func rumpfsBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "rumpfs-cmdtest")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "rumpfs")
		var out []byte
		out, binErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if binErr != nil {
			binErr = &buildError{binErr, string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("building rumpfs: %v", binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// liveness is how long a command may take to refuse, or to stop after a
// signal: generous for a loaded 2-core machine; it catches a hang, not
// slowness.
const liveness = 20 * time.Second

// runBin runs the binary to completion (killed past liveness) and
// returns its exit status, standard output and standard error.
func runBin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	cmd := exec.CommandContext(ctx, rumpfsBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("rumpfs %s: still running after %v (killed)", strings.Join(args, " "), liveness)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rumpfs %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

// gptNamed writes a 64 MiB image whose GPT has n entries (a multiple of
// 4), every one covering all the usable LBAs, entry i named name(i), with
// correct CRCs on both copies.
func gptNamed(t *testing.T, n int, name func(i int) string) string {
	t.Helper()
	const sectors = 64 << 20 / 512
	first, last := testimg.GPTUsable(sectors, n)
	parts := make([]testimg.GPTPart, n)
	for i := range parts {
		parts[i] = testimg.GPTPart{Type: testimg.LinuxFSType, First: first, Last: last, Name: name(i)}
	}
	p := filepath.Join(t.TempDir(), "gpt.img")
	if err := os.WriteFile(p, testimg.GPT(sectors, n, parts...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// stallFS serves one file, img, over FUSE (direct I/O, so reads reach it
// as the reader makes them). A read touching [from, to) blocks until the
// test ends, after announcing itself on stalled (writes too): a command stuck there is
// stuck at a known stage, and the test signals it only then.
type stallFS struct {
	fs.Inode
	mu       sync.Mutex // data, between Read and Write
	data     []byte
	from, to int64
	stalled  chan int64
	release  chan struct{}
}

type stallFile struct {
	fs.Inode
	s *stallFS
}

func (s *stallFS) OnAdd(ctx context.Context) {
	ch := s.NewPersistentInode(ctx, &stallFile{s: s}, fs.StableAttr{Mode: syscall.S_IFREG})
	s.AddChild("img", ch, false)
}

func (f *stallFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o644
	out.Size = uint64(len(f.s.data))
	return 0
}

func (f *stallFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (f *stallFile) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off < f.s.to && off+int64(len(dest)) > f.s.from {
		select {
		case f.s.stalled <- off:
		default:
		}
		select {
		case <-ctx.Done():
			return nil, syscall.EINTR
		case <-f.s.release:
		}
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if off >= int64(len(f.s.data)) {
		return fuse.ReadResultData(nil), 0
	}
	n := copy(dest, f.s.data[off:])
	return fuse.ReadResultData(dest[:n]), 0
}

// Write stores into the image (a read-write mount writes while it
// mounts); the stalled range stalls writes too.
func (f *stallFile) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if off < f.s.to && off+int64(len(data)) > f.s.from {
		select {
		case f.s.stalled <- off:
		default:
		}
		select {
		case <-ctx.Done():
			return 0, syscall.EINTR
		case <-f.s.release:
		}
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if off < 0 || off+int64(len(data)) > int64(len(f.s.data)) {
		return 0, syscall.EFBIG
	}
	copy(f.s.data[off:], data)
	return uint32(len(data)), 0
}

func (f *stallFile) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	return 0
}

var (
	_ fs.NodeFsyncer   = (*stallFile)(nil)
	_ fs.NodeWriter    = (*stallFile)(nil)
	_ fs.NodeOnAdder   = (*stallFS)(nil)
	_ fs.NodeGetattrer = (*stallFile)(nil)
	_ fs.NodeOpener    = (*stallFile)(nil)
	_ fs.NodeReader    = (*stallFile)(nil)
)

// serveStalling serves the image at src with reads in [from, to) stalling,
// and returns the path to read it at and the channel stalled reads are
// announced on.
func serveStalling(t *testing.T, src string, from, to int64) (string, <-chan int64) {
	t.Helper()
	testenv.FUSE(t)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	s := &stallFS{data: data, from: from, to: to, stalled: make(chan int64, 1), release: make(chan struct{})}
	dir := t.TempDir()
	srv, err := fs.Mount(dir, s, &fs.Options{MountOptions: fuse.MountOptions{DirectMount: true, Name: "stallfs"}})
	if err != nil {
		t.Fatalf("mounting the stalling file system: %v", err)
	}
	t.Cleanup(func() {
		close(s.release)
		srv.Unmount()
	})
	return filepath.Join(dir, "img"), s.stalled
}

// TestOddHostFilesRefused: every command refuses a FIFO, a socket,
// /dev/zero and a directory as its image at once (a FIFO opened without
// O_NONBLOCK would block until killed), with one line naming the path and
// what it is; so do mount's journal_path= and --etfs file keys.
func TestOddHostFilesRefused(t *testing.T) {
	testenv.FUSE(t) // mount checks FUSE before it looks at the image
	ext4 := filepath.Join(t.TempDir(), "ext4.img")
	os.WriteFile(ext4, nil, 0o644)
	os.Truncate(ext4, 8<<20)
	makeImage(t, "mke2fs", "-q", "-F", "-t", "ext4", ext4)
	mnt := t.TempDir()
	for path, what := range testimg.OddFiles(t) {
		for _, args := range [][]string{
			{"parts", path},
			{"parts", "--json", path},
			{"info", path},
			{"info", path + "@1"},
			{"fsck", "-n", path},
			{"mount", path, mnt},
			{"mount", "-t", "ffs", path, mnt},
			{"mount", "-o", "ro,journal_path=" + path, ext4, mnt},
			{"mount", "--etfs", "/x=" + path + ":blk", "-t", "rumpfs", "none", mnt},
			{"mount", "--etfs", "/x=" + path + ":reg", "-t", "rumpfs", "none", mnt},
		} {
			code, _, stderr := runBin(t, args...)
			want := 1
			if args[0] == "fsck" {
				want = 8 // fsck(8)'s operational error
			}
			if code != want || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, path) || !strings.Contains(stderr, what) {
				t.Errorf("rumpfs %s: exit %d, stderr %q; want %d and one line naming %s and %q", strings.Join(args, " "), code, stderr, want, path, what)
			}
		}
	}
}

// started is a rumpfs process under test.
type started struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
}

func startBin(t *testing.T, stdout *os.File, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(rumpfsBinary(t), args...), done: make(chan struct{})}
	s.cmd.Stdout, s.cmd.Stderr = stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// stopWith sends sig and returns the exit status, failing the test if
// the process is still there after liveness.
func (s *started) stopWith(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	select {
	case <-s.done:
		t.Fatalf("%v: exited before the signal (status %d, stderr %q)", s.cmd.Args, s.cmd.ProcessState.ExitCode(), s.stderr.String())
	default:
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(liveness):
		t.Fatalf("%v: still running %v after %v", s.cmd.Args, liveness, sig)
	}
	return s.cmd.ProcessState.ExitCode()
}

// waitStalled waits until the process is stuck on a stalled read.
func (s *started) waitStalled(t *testing.T, stalled <-chan int64) int64 {
	t.Helper()
	select {
	case off := <-stalled:
		return off
	case <-s.done:
		t.Fatalf("%v: exited (status %d, stderr %q) without reaching the stalled reads", s.cmd.Args, s.cmd.ProcessState.ExitCode(), s.stderr.String())
	case <-time.After(2 * liveness):
		t.Fatalf("%v: never reached the stalled reads", s.cmd.Args)
	}
	return 0
}

// checkStopped: status 128+signal and one line saying so.
func checkStopped(t *testing.T, s *started, sig syscall.Signal, code int) {
	t.Helper()
	word := map[syscall.Signal]string{syscall.SIGINT: "interrupted", syscall.SIGTERM: "terminated"}[sig]
	if code != 128+int(sig) || strings.Count(s.stderr.String(), "\n") != 1 || !strings.Contains(s.stderr.String(), word) {
		t.Errorf("%v after %v: exit %d, stderr %q; want %d and one line saying %s", s.cmd.Args, sig, code, s.stderr.String(), 128+int(sig), word)
	}
}

func makeImage(t *testing.T, name string, args ...string) { testenv.Run(t, "", name, args...) }

// TestSignalsAtEveryStage: a command stuck at each stage (reads of the
// image that never come back, served by stallFS) stops on SIGINT or
// SIGTERM within liveness, with status 130 or 143 and one line.
func TestSignalsAtEveryStage(t *testing.T) {
	testenv.FUSE(t)
	gpt := gptNamed(t, 128, func(i int) string { return "p" })
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "d"), 0o755)
	for i := 0; i < 200; i++ {
		os.WriteFile(filepath.Join(src, "d", "f"+strings.Repeat("x", i%50)+string(rune('a'+i%26))), []byte("data"), 0o644)
	}
	ffs32k := filepath.Join(dir, "ffs32k.img")
	makeImage(t, "makefs", "-t", "ffs", "-o", "version=2", "-s", "32m", ffs32k, src)
	ffs := filepath.Join(dir, "ffs.img")
	// Small blocks make small cylinder groups: fsck reads a group header
	// in each 8 MiB or so.
	makeImage(t, "makefs", "-t", "ffs", "-o", "version=2,bsize=4096,fsize=512", "-s", "32m", ffs, src)
	ext4 := filepath.Join(dir, "ext4.img")
	os.WriteFile(ext4, nil, 0o644)
	os.Truncate(ext4, 64<<20)
	makeImage(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", ext4)

	// An ext4 whose journal needs recovery: a transaction written with
	// debugfs; replay reads it from journal block 1.
	dirty := filepath.Join(dir, "dirty.img")
	os.WriteFile(dirty, nil, 0o644)
	os.Truncate(dirty, 64<<20)
	makeImage(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", dirty)
	blk := filepath.Join(dir, "blk")
	os.WriteFile(blk, bytes.Repeat([]byte("J"), 4096), 0o644)
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("jo\njw -b 5000 "+blk+"\njc\n"), 0o644)
	makeImage(t, "debugfs", "-w", "-f", script, dirty)
	out, err := exec.Command("debugfs", "-R", "bmap <8> 1", dirty).Output()
	log1, perr := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || perr != nil {
		t.Fatalf("debugfs bmap <8> 1: %q, %v, %v", out, err, perr)
	}

	for _, c := range []struct {
		stage    string
		img      string
		from, to int64 // stalled reads; to < 0 counts from the end
		sig      syscall.Signal
		args     func(img string) []string
	}{
		{"parts: reading the tables", gpt, 0, 64 << 20, syscall.SIGTERM, func(img string) []string { return []string{"parts", img} }},
		{"info: reading the tables", gpt, 0, 64 << 20, syscall.SIGINT, func(img string) []string { return []string{"info", img + "@1"} }},
		{"fsck: checking", ffs, 12 << 20, -(64 << 10), syscall.SIGTERM, func(img string) []string { return []string{"fsck", "-n", img} }},
		{"mount: probing", ext4, 0, 64 << 20, syscall.SIGTERM, func(img string) []string { return []string{"mount", img, t.TempDir()} }},
		{"mount: mounting ext4 read-only in the kernel", ext4, 4096, -4096, syscall.SIGINT, func(img string) []string { return []string{"mount", "-o", "ro", img, t.TempDir()} }},
		{"mount: replaying the journal", dirty, log1 * 4096, (log1 + 1) * 4096, syscall.SIGTERM, func(img string) []string { return []string{"mount", "-o", "ro", img, t.TempDir()} }},
		// makefs puts this image's cylinder-group summary at byte
		// 90112, past what probing reads; a read-write mount reads and
		// rewrites it inside the kernel's mount.
		{"mount: mounting FFS read-write in the kernel", ffs32k, 90112, 91136, syscall.SIGTERM, func(img string) []string { return []string{"mount", img, t.TempDir()} }},
	} {
		t.Run(c.stage, func(t *testing.T) {
			st, _ := os.Stat(c.img)
			to := c.to
			if to < 0 {
				to += st.Size()
			}
			path, stalled := serveStalling(t, c.img, c.from, to)
			args := c.args(path)
			if args[0] == "mount" {
				// Should the mount come up after all, take it down.
				t.Cleanup(func() { unix.Unmount(args[len(args)-1], unix.MNT_DETACH) })
			}
			s := startBin(t, nil, args...)
			t.Logf("stalled at byte %d", s.waitStalled(t, stalled))
			checkStopped(t, s, c.sig, s.stopWith(t, c.sig))
			if args[0] == "mount" {
				mi, _ := os.ReadFile("/proc/self/mountinfo")
				if strings.Contains(string(mi), " "+args[len(args)-1]+" ") {
					t.Errorf("%s is still mounted", args[len(args)-1])
				}
			}
		})
	}
}

// TestSignalDuringLongListing: parts --json of a huge table into a pipe
// nobody reads blocks writing; SIGTERM still stops it.
func TestSignalDuringLongListing(t *testing.T) {
	img := gptNamed(t, 32768, func(i int) string { return "p" })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := startBin(t, w, "parts", "--json", img)
	w.Close()
	// Wait for the pipe to fill (64 KiB): the command is then blocked
	// writing its listing.
	deadline := time.Now().Add(2 * liveness)
	for {
		n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		if n >= 60<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listing never filled the pipe (%d bytes)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkStopped(t, s, syscall.SIGTERM, s.stopWith(t, syscall.SIGTERM))
}

// checkInert fails if human output holds a byte a terminal acts on: any
// control character but the newline ending each line, DEL, or a C1
// control.
func checkInert(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Errorf("%s: byte %d is %#x:\n%s", what, i, r, out)
			return
		}
	}
}

// evilName is a GPT name (at most 36 UTF-16 units) that retitles the
// terminal, rings the bell, breaks the line and colours what follows.
func evilName(i int) string { return fmt.Sprintf("\x1b]0;pwned\x07a\nb\x1b[31m\u202e%d", i) }

const evilEscaped = `\e]0;pwned\aa\nb\e[31m\u202e`

// TestImageStringsEscaped: GPT names and an ext4 volume label holding
// escape sequences and newlines print escaped in every human listing and
// exactly in JSON.
func TestImageStringsEscaped(t *testing.T) {
	gpt := gptNamed(t, 4, evilName)
	for _, args := range [][]string{{"parts", gpt}, {"info", gpt}, {"info", gpt + "@2"}} {
		code, out, stderr := runBin(t, args...)
		checkInert(t, strings.Join(args, " "), out+stderr)
		want := []string{evilEscaped + "1"}
		if args[0] == "parts" || len(args[1]) == len(gpt) {
			want = []string{evilEscaped + "0", evilEscaped + "3"}
		}
		for _, w := range want {
			if code != 0 || !strings.Contains(out, w) {
				t.Errorf("rumpfs %s: exit %d, want %s in:\n%s%s", strings.Join(args, " "), code, w, out, stderr)
			}
		}
	}
	var parts partsJSON
	if _, out, _ := runBin(t, "parts", "--json", gpt); json.Unmarshal([]byte(out), &parts) != nil || len(parts.Partitions) != 4 {
		t.Fatalf("parts --json:\n%s", out)
	}
	for i, p := range parts.Partitions {
		if p.Name != evilName(i) {
			t.Errorf("parts --json: name %q, want %q", p.Name, evilName(i))
		}
	}
	var info infoJSON
	if _, out, _ := runBin(t, "info", "--json", gpt+"@3"); json.Unmarshal([]byte(out), &info) != nil || info.Partition == nil || info.Partition.Name != evilName(2) {
		t.Errorf("info --json @3:\n%s", out)
	}

	// An ext4 label of raw bytes: escapes, a newline, a byte that is not
	// UTF-8. JSON carries it as valid UTF-8 (the stray byte as U+FFFD).
	testenv.Tool(t, "mke2fs")
	label := "\x1b[31mred\nX\xff"
	ext4 := filepath.Join(t.TempDir(), "ext4.img")
	os.WriteFile(ext4, nil, 0o644)
	os.Truncate(ext4, 8<<20)
	makeImage(t, "mke2fs", "-q", "-F", "-t", "ext4", "-L", label, ext4)
	for _, args := range [][]string{{"parts", ext4}, {"info", ext4}} {
		_, out, stderr := runBin(t, args...)
		checkInert(t, strings.Join(args, " "), out+stderr)
		if !strings.Contains(out, `\e[31mred\nX\xff`) {
			t.Errorf("rumpfs %s: label not escaped:\n%s", strings.Join(args, " "), out)
		}
	}
	if _, out, _ := runBin(t, "info", "--json", ext4); json.Unmarshal([]byte(out), &info) != nil || info.FS == nil || info.FS.Label != strings.ToValidUTF8(label, "\uFFFD") {
		t.Errorf("info --json: label not carried:\n%s", out)
	}
}

// TestFsckFileNameEscaped: a problem that quotes a file name holding
// escape sequences and a newline stays one inert line.
func TestFsckFileNameEscaped(t *testing.T) {
	testenv.Tool(t, "makefs")
	src := t.TempDir()
	name := "evil\x1b]0;pwned\x07\nline2\x1b[2J"
	os.WriteFile(filepath.Join(src, name), []byte("x"), 0o644)
	img := filepath.Join(t.TempDir(), "ffs.img")
	makeImage(t, "makefs", "-t", "ffs", "-o", "version=2", "-M", "1m", img, src)
	// Change the entry's d_type (two bytes before its name) from
	// regular file to directory.
	b, _ := os.ReadFile(img)
	at := bytes.Index(b, []byte(name))
	if at < 2 || b[at-2] != 8 {
		t.Fatalf("entry %q not found in the makefs image", name)
	}
	b[at-2] = 4
	os.WriteFile(img, b, 0o644)
	code, out, stderr := runBin(t, "fsck", "-n", img)
	checkInert(t, "fsck", out+stderr)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 4 || len(lines) < 2 || !strings.Contains(out, "line2") {
		t.Fatalf("fsck -n: exit %d, output:\n%s%s", code, out, stderr)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, img+": ") {
			t.Errorf("line %q does not start with the image path", l)
		}
	}
}

// TestHugeTableCommands: parts, info and mount on a GPT of 32,768
// overlapping entries finish and print bounded output.
func TestHugeTableCommands(t *testing.T) {
	img := gptNamed(t, 32768, func(i int) string { return fmt.Sprint("p", i) })
	code, out, _ := runBin(t, "parts", img)
	if n := strings.Count(out, "\n"); code != 0 || n > maxListed+images.MaxWarnings+10 || !strings.Contains(out, "... and 32,512 more") {
		t.Errorf("parts: exit %d, %d lines, ends:\n%s", code, n, out[max(0, len(out)-2000):])
	}
	code, out, _ = runBin(t, "parts", "--json", img)
	var parts partsJSON
	if err := json.Unmarshal([]byte(out), &parts); code != 0 || err != nil || len(parts.Partitions) != maxListed || parts.Truncated != 32768-maxListed || len(out) > 1<<20 {
		t.Errorf("parts --json: exit %d, %v, %d partitions, truncated %d, %d bytes", code, err, len(parts.Partitions), parts.Truncated, len(out))
	}
	code, out, _ = runBin(t, "info", img)
	if n := strings.Count(out, "\n"); code != 0 || n > maxListed+images.MaxWarnings+10 || !strings.Contains(out, "... and 32,512 more") {
		t.Errorf("info: exit %d, %d lines, ends:\n%s", code, n, out[max(0, len(out)-2000):])
	}
	code, out, _ = runBin(t, "info", img+"@32768")
	if n := strings.Count(out, "\n"); code != 0 || n > images.MaxWarnings+10 || !strings.Contains(out, "partition 32768") {
		t.Errorf("info @32768: exit %d, %d lines:\n%s", code, n, out)
	}
	testenv.FUSE(t)
	for _, src := range []string{img, img + "@32768", img + "@nothing"} {
		code, _, stderr := runBin(t, "mount", src, t.TempDir())
		if code != 1 || strings.Count(stderr, "\n") != 1 || len(stderr) > 2000 {
			t.Errorf("mount %s: exit %d, stderr %q", src, code, stderr)
		}
	}
}

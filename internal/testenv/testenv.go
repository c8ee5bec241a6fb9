// Package testenv decides, for every test package, whether a test that
// needs something from the machine (a tool, root, FUSE) runs, skips or
// fails. The rule: when the need is not met the test skips with a loud
// message, unless RUMPFS_E2E is set (CI sets it to 1), where it fails.
// Run runs such a tool for a test, the one helper every package's tests
// use to make and inspect images.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// E2E reports whether RUMPFS_E2E asks for every test to run.
func E2E() bool { return os.Getenv("RUMPFS_E2E") != "" }

// Unmet skips t (or fails it under RUMPFS_E2E) because of why.
func Unmet(t testing.TB, why string) {
	t.Helper()
	if E2E() {
		t.Fatalf("RUMPFS_E2E is set but this test cannot run: %s", why)
		return
	}
	t.Skipf("*** SKIPPING: %s (RUMPFS_E2E=1 makes this a failure) ***", why)
}

// Tool returns the path of each named program, in order of the names, or
// skips/fails when one is missing.
func Tool(t testing.TB, names ...string) string {
	t.Helper()
	path := ""
	for _, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			Unmet(t, name+" is not installed")
		}
		path = p
	}
	return path
}

// Root skips/fails unless the test runs as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unmet(t, "not running as root")
	}
}

// FUSE skips/fails unless this process can make FUSE mounts: /dev/fuse
// exists and we are root (the tests mount directly).
func FUSE(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		Unmet(t, "/dev/fuse is missing")
	}
	Root(t)
}

// Run runs the program name (skipping or failing as Tool when it is not
// installed) with stdin fed from in, and returns its standard output; a
// program that fails fails t with all it printed.
func Run(t testing.TB, in string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Tool(t, name), args...)
	cmd.Stdin = strings.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers: a process's
// output, written while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

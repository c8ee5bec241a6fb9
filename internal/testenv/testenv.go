// Package testenv decides, for every test package, whether a test that
// needs something from the machine (a tool, root, FUSE) runs, skips or
// fails. The rule: when the need is not met the test skips with a loud
// message, unless RUMPFS_E2E is set (CI sets it to 1), where it fails.
package testenv

import (
	"os"
	"os/exec"
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

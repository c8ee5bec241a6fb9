package ffs

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"golang.org/x/sys/unix"
)

// emptyImage makes an empty FFS image of size bytes with makefs.
func emptyImage(t testing.TB, version int, be bool, size string, opts string) string {
	t.Helper()
	return drivertest.Makefs(t, "", version, be, size, opts)
}

// halt stops the kernel (drivertest.Halt).
func halt(t testing.TB, k *kernel.Kernel, l *kernel.LWP) { t.Helper(); drivertest.Halt(t, k, l) }

// bootKernel boots a kernel without threads and returns a root LWP.
func bootKernel(t testing.TB) (*kernel.Kernel, *kernel.LWP) { t.Helper(); return drivertest.Boot(t) }

// mountImage registers img as /dev/<name> and mounts it on dir.
func mountImage(t testing.TB, k *kernel.Kernel, l *kernel.LWP, img, dir string, flags int) unix.Errno {
	t.Helper()
	return drivertest.MountImage(t, k, l, img, "ffs", dir, flags)
}

// fsck runs the checker on img and fails the test on any problem.
func fsck(t testing.TB, img string) *Report {
	t.Helper()
	r, err := Check(nil, drivertest.OpenFileDev(t, img, true))
	if err != nil {
		t.Fatalf("fsck %s: %v", img, err)
	}
	if !r.OK() {
		var b strings.Builder
		for _, p := range r.Problems {
			fmt.Fprintln(&b, p)
		}
		t.Fatalf("fsck %s: %d problems (+%d)\n%s", img, len(r.Problems), r.Dropped, b.String())
	}
	return r
}

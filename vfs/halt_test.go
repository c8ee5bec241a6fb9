package vfs_test

import (
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
)

// TestHaltUnmountsNestedInReverse mounts three file systems each inside
// the previous one: halting must unmount the innermost first, or the outer
// ones are busy.
func TestHaltUnmountsNestedInReverse(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	dirs := []string{"/a", "/a/b", "/a/b/c"}
	for _, d := range dirs {
		must(t, vfs.Mkdir(l, d, 0o755), "mkdir "+d)
		must(t, vfs.MountPath(l, "rumpfs", "none", d, 0, nil), "mount "+d)
	}
	if err := k.Reboot(l, kernel.RB_HALT); err != nil {
		t.Fatal(err)
	}
	d := k.Dmesg()
	if strings.Contains(d, "halt: unmount") {
		t.Fatalf("an unmount failed at halt:\n%s", d)
	}
	last := -1
	for i := len(dirs) - 1; i >= 0; i-- {
		at := strings.Index(d, "unmounted "+dirs[i]+"\n")
		if at <= last {
			t.Fatalf("%s not unmounted after the ones inside it:\n%s", dirs[i], d)
		}
		last = at
	}
	if n := len(vfs.Of(k).Mounts()); n != 1 {
		t.Fatalf("%d mounts left after halt, want the root only", n)
	}
}

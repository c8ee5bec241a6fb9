package vfs_test

import (
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
)

// TestPOSIX runs the shared suite on the rumpfs root and on a second
// rumpfs mounted below it (crossing a mount point on every lookup).
func TestPOSIX(t *testing.T) {
	t.Run("rumpfs", func(t *testing.T) {
		vfstest.Run(t, vfstest.FS{Name: "rumpfs", Mount: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string {
			if e := vfs.Mkdir(l, "/work", 0o755); e != 0 {
				t.Fatal(e)
			}
			return "/work"
		}})
	})
	t.Run("rumpfs-mounted", func(t *testing.T) {
		vfstest.Run(t, vfstest.FS{Name: "rumpfs", Mount: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string {
			if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
				t.Fatal(e)
			}
			if e := vfs.MountPath(l, "rumpfs", "none", "/mnt", 0, nil); e != 0 {
				t.Fatal(e)
			}
			return "/mnt"
		}})
	})
}

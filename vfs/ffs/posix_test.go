package ffs

import (
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/vfstest"
)

// TestPOSIX runs the shared POSIX suite on fresh makefs images, UFS1 and
// UFS2 and a big-endian one, and fscks each image after the kernel halted.
func TestPOSIX(t *testing.T) {
	for _, c := range []struct {
		name    string
		version int
		be      bool
		opts    string
	}{
		{"ffs-ufs2", 2, false, "bsize=16384,fsize=2048,density=8192"},
		{"ffs-ufs1", 1, false, "bsize=8192,fsize=1024,density=8192"},
		{"ffs-ufs2-be", 2, true, "bsize=4096,fsize=512,density=8192"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var img string
			vfstest.Run(t, vfstest.FS{
				Name: c.name,
				Mount: func(t testing.TB, k *kernel.Kernel, l *kernel.LWP) string {
					img = emptyImage(t, c.version, c.be, "64m", c.opts)
					if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
						t.Fatalf("mount: %v\n%s", e, k.Dmesg())
					}
					return "/mnt"
				},
				Check: func(t testing.TB) {
					if r := fsck(t, img); !r.Clean {
						t.Fatal("image not marked clean after the halt")
					}
				},
				NoXattr: c.version == 1,
			})
		})
	}
}

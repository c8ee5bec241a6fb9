package ext2fs

import (
	"testing"
)

// TestAgainstKernel builds images with mke2fs -d across file system types
// and options and compares every file with the kernel's loop mount.
func TestAgainstKernel(t *testing.T) {
	base := treeOpts{bigDir: 3000, extents: 400, acls: true}
	images := []image{
		{name: "ext4", fstype: "ext4", sizeK: 24 << 10, tree: treeOpts{bigDir: 3000, extents: 400, acls: true, huge: true}},
	}
	_ = base
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			img := makeImage(t, im)
			before := sha(t, img)
			var log testLog
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("ext2fs messages:\n%s", log.String())
				}
			})
			f, err := Open(nil, openDev(t, img), Options{Name: im.name, Logf: log.logf})
			if err != nil {
				t.Fatal(err)
			}
			mnt := kernelMount(t, img, false)
			compareWithKernel(t, f, mnt)
			if log.String() != "" {
				t.Errorf("messages on a clean image:\n%s", log.String())
			}
			if after := sha(t, img); after != before {
				t.Errorf("image changed: sha256 %s -> %s", before, after)
			}
		})
	}
}

package ext2fs

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
)

// TestJournalReplay writes transactions into the journal with debugfs
// (data blocks, a revoked block, an escaped block, an inode table block,
// an uncommitted transaction), then compares our in-memory replay of the
// image with the kernel's view of a copy it recovered itself.
func TestJournalReplay(t *testing.T) {
	small := treeOpts{bigDir: 200, extents: 20}
	cases := []struct {
		im image
		jo string // journal_open arguments
		v  uint32 // expected journal checksum feature
	}{
		{image{name: "ext4-csum3", fstype: "ext4", sizeK: 16 << 10, tree: small}, "-c", disk.JIncompatCsumV3},
		{image{name: "ext4-csum2", fstype: "ext4", args: []string{"-b", "1024"}, sizeK: 16 << 10, tree: small}, "-c -v 2", disk.JIncompatCsumV2},
		{image{name: "ext4-32bit-nocsum", fstype: "ext4", args: []string{"-O", "^metadata_csum,^64bit"}, sizeK: 16 << 10, tree: small}, "", 0},
		{image{name: "ext3-1k", fstype: "ext3", args: []string{"-b", "1024", "-I", "128"}, sizeK: 16 << 10, tree: small}, "", 0},
	}
	for _, c := range cases {
		t.Run(c.im.name, func(t *testing.T) {
			img := makeImage(t, c.im)
			dir := filepath.Dir(img)
			blks := dirtyJournal(t, img, c.jo)
			before := sha(t, img)

			var log testLog
			f, err := Open(nil, openDev(t, img), Options{Name: c.im.name, Logf: log.logf})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("replayed %d blocks; messages:\n%s", f.Replayed, log.String())
			if f.Replayed < 3 {
				t.Errorf("replayed %d blocks, want at least 3", f.Replayed)
			}
			if got := f.sb.FeatureIncompat & disk.IncompatRecover; got == 0 {
				t.Errorf("image does not need recovery: debugfs did not leave a dirty journal")
			}
			if _, ok := f.bd.remap.Remapped(int64(blks[1])); ok {
				t.Error("revoked block replayed")
			}
			if _, ok := f.bd.remap.Remapped(int64(blks[3])); ok {
				t.Error("uncommitted block replayed")
			}
			u, _ := resolve(t, f, "owners/u1000")
			if u.Attr().Uid != 4321 {
				t.Errorf("journalled inode: uid %d, want 4321", u.Attr().Uid)
			}
			copyImg := filepath.Join(dir, "recovered.img")
			run(t, "cp", "--sparse=always", img, copyImg)
			mnt := kernelMount(t, copyImg, true)
			compareWithKernel(t, f, mnt)
			// Mounted, walked and halted, the image keeps every byte.
			v := bootKernel(t)
			v.mountImage(t, img)
			compareVFS(t, v, mnt)
			if !strings.Contains(v.k.Dmesg(), "replayed") {
				t.Errorf("no replay message in dmesg:\n%s", v.k.Dmesg())
			}
			if err := v.k.Reboot(v.l, kernel.RB_HALT); err != nil {
				t.Fatal(err)
			}
			if after := sha(t, img); after != before {
				t.Errorf("image changed: sha256 %s -> %s", before, after)
			}
		})
	}
}

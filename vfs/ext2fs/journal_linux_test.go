package ext2fs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
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
			f, err := Open(nil, openDev(t, img), Options{})
			if err != nil {
				t.Fatal(err)
			}
			bs := f.bsize
			victim, e := resolve(t, f, "sizes/f0300000")
			if e != 0 {
				t.Fatal(e)
			}
			var blks []uint64
			for i := uint64(0); i < 4; i++ {
				r, e := victim.Bmap(nil, i)
				if e != 0 || r.Zero {
					t.Fatalf("victim block %d: %+v %v", i, r, e)
				}
				blks = append(blks, r.Physical)
			}
			file := func(name string, data []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			fill := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n*bs) }
			escaped := fill('C', 1)
			binary.BigEndian.PutUint32(escaped, disk.JournalMagic)

			// An inode table block with owners/u1000 given a new uid and
			// mtime, its checksum recomputed.
			target, _ := resolve(t, f, "owners/u1000")
			ipg := f.sb.InodesPerGroup
			isz := int(f.sb.InodeSize)
			g := f.groups[(target.Ino-1)/ipg]
			off := uint64((target.Ino-1)%ipg) * uint64(isz)
			itBlk := g.InodeTable + off/uint64(bs)
			itab := make([]byte, bs)
			if e := f.bd.readBlocks(nil, itab, itBlk, 0); e != 0 {
				t.Fatal(e)
			}
			raw := itab[off%uint64(bs):][:isz]
			binary.LittleEndian.PutUint16(raw[0x2:], 4321)
			binary.LittleEndian.PutUint32(raw[0x10:], 1234567890)
			if f.sb.HasMetadataCsum() {
				c := disk.InodeChecksum(f.seed, target.Ino, raw)
				binary.LittleEndian.PutUint16(raw[0x7c:], uint16(c))
				if isz > 128 {
					binary.LittleEndian.PutUint16(raw[0x82:], uint16(c>>16))
				}
			}
			cmds := strings.Join([]string{
				"jo " + c.jo,
				fmt.Sprintf("jw -b %d,%d %s", blks[0], blks[1], file("b", fill('B', 2))),
				fmt.Sprintf("jw -r %d", blks[1]),
				fmt.Sprintf("jw -b %d %s", blks[2], file("c", escaped)),
				fmt.Sprintf("jw -b %d %s", itBlk, file("itab", itab)),
				fmt.Sprintf("jw -b %d -c %s", blks[3], file("d", fill('D', 1))),
				"jc",
			}, "\n") + "\n"
			run(t, "debugfs", "-w", "-f", file("cmds", []byte(cmds)), img)
			before := sha(t, img)

			var log testLog
			f, err = Open(nil, openDev(t, img), Options{Name: c.im.name, Logf: log.logf})
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
			if _, ok := f.bd.overlay[blks[1]]; ok {
				t.Error("revoked block replayed")
			}
			if _, ok := f.bd.overlay[blks[3]]; ok {
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

package ext2fs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// External journals: a file system made with mke2fs -J device=JOURNAL, the
// journal a separate image (mke2fs -O journal_dev), transactions written
// into it with debugfs (jo -f JOURNAL), replayed by us from the journal
// device and compared with the kernel's own recovery of a copy.

// extJournal is a file system image and its external journal image.
type extJournal struct {
	img, jnl string
	bs       int
}

// journalBlocks is the size of every test journal device: the kernel
// refuses a journal of fewer than 1024 log blocks.
const journalBlocks = 2048

// losetup attaches path to a free loop device and detaches it at cleanup.
func losetup(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("losetup", "-f", "--show", path).Output()
	if err != nil {
		t.Fatalf("losetup -f --show %s: %v", path, err)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", loop).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v\n%s", loop, err, out)
		}
	})
	return loop
}

// makeJournalDev makes an external journal device image with mke2fs.
func makeJournalDev(t testing.TB, path string, bs int, args ...string) {
	t.Helper()
	a := append([]string{"-q", "-F", "-O", "journal_dev", "-b", fmt.Sprint(bs)}, args...)
	run(t, "mke2fs", append(a, path, fmt.Sprint(journalBlocks))...)
}

// makeExtJournal makes a journal device and a file system of im using it.
// mke2fs -J device= wants a block device, so the journal is attached to a
// loop device while mke2fs runs: root only.
func makeExtJournal(t testing.TB, im image, bs int) extJournal {
	need(t, "mke2fs", "debugfs", "losetup")
	needRoot(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	genTree(t, src, im.tree)
	x := extJournal{img: filepath.Join(dir, im.name+".img"), jnl: filepath.Join(dir, im.name+".journal"), bs: bs}
	makeJournalDev(t, x.jnl, bs)
	loop := losetup(t, x.jnl)
	args := append([]string{"-q", "-F", "-t", im.fstype, "-N", "5000", "-b", fmt.Sprint(bs), "-J", "device=" + loop}, im.args...)
	run(t, "mke2fs", append(args, "-d", src, x.img, fmt.Sprint(im.sizeK))...)
	return x
}

// dirtyExt writes dirtyJournal's transactions into x's external journal
// (debugfs jo -f) and returns the victim's blocks.
func dirtyExt(t *testing.T, x extJournal, jo string) []uint64 {
	t.Helper()
	return dirtyJournal(t, x.img, strings.TrimSpace("-f "+x.jnl+" "+jo))
}

// kernelMountExt lets the kernel recover a copy of x (read-write loop
// mount with journal_path=) and returns its mount point.
func kernelMountExt(t *testing.T, x extJournal) string {
	needRoot(t)
	dir := t.TempDir()
	img, jnl := filepath.Join(dir, "recovered.img"), filepath.Join(dir, "recovered.journal")
	run(t, "cp", "--sparse=always", x.img, img)
	run(t, "cp", "--sparse=always", x.jnl, jnl)
	loop := losetup(t, jnl)
	mnt := t.TempDir()
	run(t, "mount", "-t", "ext4", "-o", "loop,noatime,journal_path="+loop, img, mnt)
	// Registered after losetup's cleanup, so run before it.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	return mnt
}

// mountExt mounts x's image on /mnt in v with the driver options opts,
// registering the image as /dev/img and the journal as /dev/ext2journal0
// the first time.
func (v *vk) mountExt(t testing.TB, x extJournal, opts map[string]string) unix.Errno {
	t.Helper()
	e := etfs.Of(v.k)
	if e.Device("/dev/img") == nil {
		if err := e.RegisterReadOnly("/dev/img", x.img, etfs.BLK); err != nil {
			t.Fatal(err)
		}
		if err := e.RegisterReadOnly("/dev/ext2journal0", x.jnl, etfs.BLK); err != nil {
			t.Fatal(err)
		}
	}
	return vfs.MountPath(v.l, "ext4", "/dev/img", "/mnt", vfs.MNT_RDONLY, opts)
}

// errnoOf returns the errno of an Open error, 0 for none.
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if err != nil && !errors.As(err, &e) {
		return unix.EPERM // not an errno at all: never expected
	}
	return e
}

// TestExternalJournalReplay: a file system whose external journal needs
// recovery reads, through the library and through the VFS, exactly as the
// kernel's recovered copy; the image and the journal keep every byte.
func TestExternalJournalReplay(t *testing.T) {
	small := treeOpts{bigDir: 200, extents: 20}
	cases := []struct {
		im image
		bs int
		jo string // journal_open arguments besides -f
	}{
		{image{name: "ext4-csum3", fstype: "ext4", sizeK: 16 << 10, tree: small}, 4096, "-c"},
		{image{name: "ext4-1k-csum2", fstype: "ext4", sizeK: 16 << 10, tree: small}, 1024, "-c -v 2"},
		{image{name: "ext3-1k", fstype: "ext3", args: []string{"-I", "128"}, sizeK: 16 << 10, tree: small}, 1024, ""},
	}
	for _, c := range cases {
		t.Run(c.im.name, func(t *testing.T) {
			x := makeExtJournal(t, c.im, c.bs)
			blks := dirtyExt(t, x, c.jo)
			imgSum, jnlSum := sha(t, x.img), sha(t, x.jnl)

			// No journal device: refused, saying what to do.
			var log testLog
			_, err := Open(nil, openDev(t, x.img), Options{Name: c.im.name, Logf: log.logf})
			if errnoOf(err) != unix.EINVAL || !strings.Contains(err.Error(), "journal_path=") || !strings.Contains(err.Error(), "norecovery") {
				t.Errorf("open without the journal device: %v, want EINVAL naming journal_path= and norecovery", err)
			}

			f, err := Open(nil, openDev(t, x.img), Options{Name: c.im.name, Logf: log.logf, JournalDev: openDev(t, x.jnl)})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("replayed %d blocks; messages:\n%s", f.Replayed, log.String())
			if f.sb.JournalInum != 0 || f.sb.FeatureIncompat&disk.IncompatRecover == 0 {
				t.Fatalf("journal inode %d, features %s: want an external journal needing recovery", f.sb.JournalInum, f.sb.FeatureString())
			}
			if f.Replayed < 3 {
				t.Errorf("replayed %d blocks, want at least 3", f.Replayed)
			}
			if _, ok := f.bd.remap.Remapped(int64(blks[1])); ok {
				t.Error("revoked block replayed")
			}
			if _, ok := f.bd.remap.Remapped(int64(blks[3])); ok {
				t.Error("uncommitted block replayed")
			}
			if u, e := resolve(t, f, "owners/u1000"); e != 0 {
				t.Errorf("owners/u1000: %v", e)
			} else if uid := u.Attr().Uid; uid != 4321 {
				t.Errorf("journalled inode owners/u1000: uid %d, want 4321", uid)
			}
			victim, e := resolve(t, f, "sizes/f0300000")
			if e != 0 {
				t.Fatalf("sizes/f0300000: %v", e)
			}
			head := make([]byte, 3*x.bs)
			if _, e := victim.ReadAt(nil, head, 0); e != 0 {
				t.Fatal(e)
			}
			if head[0] != 'B' || head[x.bs] == 'B' || !bytes.Equal(head[2*x.bs+4:3*x.bs], bytes.Repeat([]byte{'C'}, x.bs-4)) ||
				binary.BigEndian.Uint32(head[2*x.bs:]) != disk.JournalMagic {
				t.Errorf("victim's first blocks start %q, %q, %q: want the replayed B, the revoked original, the escaped C block",
					head[:4], head[x.bs:x.bs+4], head[2*x.bs:2*x.bs+8])
			}

			// The replayed block lives on the journal device: it has no
			// address on the file system's device (VOP_BMAP is EIO); the
			// revoked second block keeps its own.
			if _, _, e := f.bd.mapOverlay(blks[0], 1); e != unix.EIO {
				t.Errorf("device address of a block replayed from the external journal: %v, want EIO", e)
			}
			if b, _, e := f.bd.mapOverlay(blks[1], 1); e != 0 || b != blks[1] {
				t.Errorf("device address of an untouched block: %d %v, want %d", b, e, blks[1])
			}

			mnt := kernelMountExt(t, x)
			compareWithKernel(t, f, mnt)

			v := bootKernel(t)
			if e := v.mountExt(t, x, nil); e != unix.EINVAL || !strings.Contains(v.k.Dmesg(), "journal_path=") {
				t.Errorf("VFS mount without journal_path: %v, want EINVAL and a message naming journal_path=\n%s", e, v.k.Dmesg())
			}
			if e := v.mountExt(t, x, map[string]string{"journal_path": "/dev/ext2journal0"}); e != 0 {
				t.Fatalf("VFS mount with journal_path: %v\n%s", e, v.k.Dmesg())
			}
			compareVFS(t, v, mnt)
			if !strings.Contains(v.k.Dmesg(), "replayed") {
				t.Errorf("no replay message in dmesg:\n%s", v.k.Dmesg())
			}
			if err := v.k.Reboot(v.l, kernel.RB_HALT); err != nil {
				t.Fatal(err)
			}
			if after := sha(t, x.img); after != imgSum {
				t.Errorf("image changed: sha256 %s -> %s", imgSum, after)
			}
			if after := sha(t, x.jnl); after != jnlSum {
				t.Errorf("journal changed: sha256 %s -> %s", jnlSum, after)
			}
		})
	}
}

// TestExternalJournalErrors: a journal device that is not this file
// system's is refused with EINVAL (or EIO when damaged) and a message
// naming what is wrong; a clean journal is checked too, unless
// norecovery.
func TestExternalJournalErrors(t *testing.T) {
	x := makeExtJournal(t, image{name: "ext4", fstype: "ext4", sizeK: 8 << 10, tree: treeOpts{bigDir: 10}}, 4096)
	dir := filepath.Dir(x.img)
	clean := extJournal{img: filepath.Join(dir, "clean.img"), jnl: x.jnl, bs: x.bs}
	run(t, "cp", "--sparse=always", x.img, clean.img)
	dirtyExt(t, x, "")

	f, err := Open(nil, openDev(t, clean.img), Options{})
	if err != nil {
		t.Fatal(err)
	}
	uuid := uuidString(f.sb.JournalUUID)
	other := filepath.Join(dir, "other.journal")
	makeJournalDev(t, other, 4096)
	small := filepath.Join(dir, "1k.journal")
	makeJournalDev(t, small, 1024, "-U", uuid)
	jnl, err := os.ReadFile(x.jnl)
	if err != nil {
		t.Fatal(err)
	}
	// The journal with another file system in its users list (no
	// journal checksum: debugfs jo without -c).
	stranger := append(memDev(nil), jnl...)
	copy(stranger[x.bs+0x100:], "a stranger's fs!")

	for _, c := range []struct {
		name  string
		img   string
		dev   func() bio.Device // nil: no journal device
		errno unix.Errno
		msg   string
	}{
		{"dirty, no device", x.img, nil, unix.EINVAL, "journal_path="},
		{"dirty, right device", x.img, func() bio.Device { return openDev(t, x.jnl) }, 0, ""},
		{"the image itself", x.img, func() bio.Device { return openDev(t, x.img) }, unix.EINVAL, "not an external journal"},
		{"another journal", x.img, func() bio.Device { return openDev(t, other) }, unix.EINVAL, "journal device has uuid"},
		{"block size", x.img, func() bio.Device { return openDev(t, small) }, unix.EINVAL, "block size 1024"},
		{"users list", x.img, func() bio.Device { return stranger }, unix.EINVAL, "not this file system"},
		{"too small", x.img, func() bio.Device { return memDev(jnl[:4096]) }, unix.EINVAL, "too small"},
		{"clean, no device", clean.img, nil, 0, ""},
		{"clean, right device", clean.img, func() bio.Device { return openDev(t, x.jnl) }, 0, ""},
		{"clean, another journal", clean.img, func() bio.Device { return openDev(t, other) }, unix.EINVAL, "journal device has uuid"},
	} {
		var log testLog
		opts := Options{Logf: log.logf}
		if c.dev != nil {
			opts.JournalDev = c.dev()
		}
		_, err := Open(nil, openDev(t, c.img), opts)
		if got := errnoOf(err); got != c.errno || (c.msg != "" && !strings.Contains(err.Error(), c.msg)) {
			t.Errorf("%s: %v (errno %d), want errno %d and a message containing %q\n%s", c.name, err, got, c.errno, c.msg, log.String())
		}
		if c.dev != nil {
			// norecovery loads no journal: nothing is checked.
			opts.NoRecovery = true
			if _, err := Open(nil, openDev(t, c.img), opts); err != nil {
				t.Errorf("%s with norecovery: %v", c.name, err)
			}
		}
	}

	// Through the VFS: journal_path must name a block device.
	v := bootKernel(t)
	for path, want := range map[string]unix.Errno{"/dev/nothing": unix.ENOENT, "/mnt": unix.ENOTBLK, "": unix.EINVAL} {
		if e := v.mountExt(t, x, map[string]string{"journal_path": path}); e != want {
			t.Errorf("journal_path=%q: %v, want %v", path, e, want)
		}
	}
	if !strings.Contains(v.k.Dmesg(), "not a block device") {
		t.Errorf("no message for a journal_path that is not a block device:\n%s", v.k.Dmesg())
	}
	if e := v.mountExt(t, x, map[string]string{"journal_path": "/dev/ext2journal0"}); e != 0 {
		t.Errorf("journal_path=/dev/ext2journal0: %v\n%s", e, v.k.Dmesg())
	}
}

// TestExternalJournalDamage flips random bytes in the external journal's
// superblocks and log blocks and opens the dirty file system with it:
// errors (EIO, EINVAL) and views replayed from what survives are fine;
// panics and hangs are not.
func TestExternalJournalDamage(t *testing.T) {
	iters := 150
	if testing.Short() {
		iters = 40
	}
	for _, c := range []struct {
		name, jo string
		bs       int
	}{{"csum3", "-c", 4096}, {"nocsum-1k", "", 1024}} {
		t.Run(c.name, func(t *testing.T) {
			x := makeExtJournal(t, image{name: c.name, fstype: "ext4", sizeK: 8 << 10, tree: treeOpts{bigDir: 50}}, c.bs)
			dirtyExt(t, x, c.jo)
			img, err := os.ReadFile(x.img)
			if err != nil {
				t.Fatal(err)
			}
			pristine, err := os.ReadFile(x.jnl)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(nil, memDev(img), Options{JournalDev: memDev(pristine)})
			if err != nil {
				t.Fatal(err)
			}
			if f.Replayed == 0 {
				t.Fatal("nothing replayed from the pristine journal")
			}
			// The interesting bytes: the ext2 superblock, the jbd2
			// superblock and the log the transactions wrote.
			super := disk.SuperblockOffset/c.bs + 1
			regions := [][2]int{
				{disk.SuperblockOffset, disk.SuperblockOffset + disk.SuperblockSize},
				{super * c.bs, super*c.bs + disk.JSuperSize},
				{(super + 1) * c.bs, (super + 12) * c.bs},
			}
			seed := testSeed(t)
			r := rand.New(rand.NewSource(seed))
			var opened, refused atomic.Int64
			defer func() { t.Logf("%d opened and walked, %d refused", opened.Load(), refused.Load()) }()
			for i := range iters {
				d := append(memDev(nil), pristine...)
				var what []string
				for range 1 + r.Intn(8) {
					reg := regions[r.Intn(len(regions))]
					off := reg[0] + r.Intn(reg[1]-reg[0])
					d[off] = byte(r.Intn(256))
					what = append(what, fmt.Sprint(off))
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("iteration %d (seed %d, journal bytes %s): panic: %v", i, seed, strings.Join(what, ","), p)
						}
					}()
					f, err := Open(nil, memDev(img), Options{Logf: func(string, ...any) {}, JournalDev: d})
					if err != nil {
						if e := errnoOf(err); e != unix.EIO && e != unix.EINVAL {
							t.Errorf("iteration %d (seed %d, journal bytes %s): %v: want EIO or EINVAL", i, seed, strings.Join(what, ","), err)
						}
						refused.Add(1)
						return
					}
					walkAll(f, 20000)
					opened.Add(1)
				}()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Fatalf("iteration %d (seed %d, journal bytes %s): open and walk do not finish", i, seed, strings.Join(what, ","))
				}
			}
		})
	}
}

// TestFUSEExternalJournal: rumpfs mount -o ro,journal_path=JOURNAL serves
// the recovered view (the host sees what the kernel's recovered copy
// holds); without journal_path the mount is refused with the hint.
func TestFUSEExternalJournal(t *testing.T) {
	needFUSE(t)
	x := makeExtJournal(t, image{name: "ext4", fstype: "ext4", sizeK: 16 << 10, tree: treeOpts{bigDir: 200, extents: 20}}, 4096)
	dirtyExt(t, x, "-c")
	imgSum, jnlSum := sha(t, x.img), sha(t, x.jnl)
	kmnt := kernelMountExt(t, x)

	mnt := t.TempDir()
	if s, err := startServer(t, "-t", "ext4", "-o", "ro", x.img, mnt); err == nil {
		s.stop(t)
		t.Error("mounted without journal_path a file system whose external journal needs recovery")
	} else if !strings.Contains(err.Error(), "journal_path=") {
		t.Errorf("refusal does not name journal_path=: %v", err)
	}
	s, err := startServer(t, "-t", "ext4", "-o", "ro,journal_path="+x.jnl, x.img, mnt)
	if err != nil {
		t.Fatal(err)
	}
	compareHostTrees(t, mnt, kmnt)
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(mnt, "owners/u1000"), &st); err != nil || st.Uid != 4321 {
		t.Errorf("journalled inode: uid %d (%v), want 4321", st.Uid, err)
	}
	s.stop(t)
	if after := sha(t, x.img); after != imgSum {
		t.Errorf("image changed: sha256 %s -> %s", imgSum, after)
	}
	if after := sha(t, x.jnl); after != jnlSum {
		t.Errorf("journal changed: sha256 %s -> %s", jnlSum, after)
	}
}

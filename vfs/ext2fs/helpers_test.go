package ext2fs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"golang.org/x/sys/unix"
)

// openDev opens an image file as a read-only device.
func openDev(t testing.TB, path string) *drivertest.FileDev {
	return drivertest.OpenFileDev(t, path, true)
}

// memDev is a device over a byte slice (damaged-image tests).
type memDev = drivertest.MemDev

// need finds a tool: a missing one skips loudly, or fails under
// RUMPFS_E2E=1.
func need(t testing.TB, tools ...string) { testenv.Tool(t, tools...) }

// needRoot is for loop mounts, which need root.
func needRoot(t testing.TB) { testenv.Root(t) }

func run(t testing.TB, name string, args ...string) string { return testenv.Run(t, "", name, args...) }

func sha(t testing.TB, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// testLog collects Logf lines.
type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (tl *testLog) logf(format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.lines = append(tl.lines, fmt.Sprintf(format, args...))
}

func (tl *testLog) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return strings.Join(tl.lines, "\n")
}

// treeOpts shapes the generated source tree.
type treeOpts struct {
	bigDir  int  // entries in the big directory
	huge    bool // sparse files past 4 GiB (triple indirect at 4 KiB)
	acls    bool
	extents int // one-block chunks in the fragmented file
}

// pseudo returns n deterministic bytes for name.
func pseudo(name string, n int) []byte {
	r := rand.New(rand.NewSource(int64(len(name)) * 7919))
	for _, c := range name {
		r.Seed(r.Int63() ^ int64(c))
	}
	b := make([]byte, n)
	r.Read(b)
	return b
}

// genTree builds the source tree mke2fs -d copies: every inode type,
// deep paths, a big directory, files at block-map and extent boundaries,
// sparse files, owners, odd modes, nanosecond times and xattrs.
func genTree(t testing.TB, dir string, o treeOpts) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, data []byte) string {
		p := filepath.Join(dir, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, 0o644))
		return p
	}
	// Sizes around 60 bytes (inline), block sizes and the direct and
	// indirect limits of 1 KiB and 4 KiB blocks.
	for _, n := range []int{0, 1, 59, 60, 61, 200, 1023, 1024, 1025, 4095, 4096, 4097,
		12*1024 - 1, 12 * 1024, 12*1024 + 1, 12*4096 + 1, 268*1024 - 1, 268*1024 + 1, 300000} {
		write(fmt.Sprintf("sizes/f%07d", n), pseudo(fmt.Sprint("f", n), n))
	}
	// Deep path.
	deep := "deep"
	for i := range 24 {
		deep = filepath.Join(deep, fmt.Sprintf("level-%02d", i))
	}
	write(filepath.Join(deep, "bottom.txt"), []byte("at the bottom\n"))
	// Big directory, including names whose bytes are >= 0x80 so that
	// signed and unsigned hashes differ.
	must(os.MkdirAll(filepath.Join(dir, "big"), 0o755))
	for i := range o.bigDir {
		name := fmt.Sprintf("entry-%05d-%s", i, strings.Repeat("x", i%40))
		if i%10 == 0 {
			name = fmt.Sprintf("é-ü-%05d-ÿ", i)
		}
		f, err := os.Create(filepath.Join(dir, "big", name))
		must(err)
		if i%500 == 0 {
			f.Write(pseudo(name, 100+i))
		}
		f.Close()
	}
	// Sparse files: one chunk in each mapping region of 1 KiB and
	// 4 KiB block maps, and a fragmented file for deep extent trees.
	sp, err := os.Create(filepath.Join(dir, "sparse/boundaries"))
	if os.IsNotExist(err) {
		must(os.MkdirAll(filepath.Join(dir, "sparse"), 0o755))
		sp, err = os.Create(filepath.Join(dir, "sparse/boundaries"))
	}
	must(err)
	var offs []int64
	for _, bs := range []int64{1024, 4096} {
		apb := bs / 4
		for _, lb := range []int64{11, 12, 12 + apb - 1, 12 + apb, 12 + apb + apb*apb - 1, 12 + apb + apb*apb} {
			if lb*bs > 1<<32 && !o.huge {
				continue
			}
			offs = append(offs, lb*bs)
		}
	}
	for i, off := range offs {
		_, err := sp.WriteAt(pseudo(fmt.Sprint("chunk", i), 5000), off)
		must(err)
	}
	sp.Close()
	if o.huge {
		f, err := os.Create(filepath.Join(dir, "sparse/huge"))
		must(err)
		_, err = f.WriteAt([]byte("past four gibibytes"), 5<<30)
		must(err)
		f.Close()
	}
	if o.extents > 0 {
		f, err := os.Create(filepath.Join(dir, "sparse/fragmented"))
		must(err)
		for i := range o.extents {
			_, err := f.WriteAt(pseudo(fmt.Sprint("frag", i), 4096), int64(i)*8192)
			must(err)
		}
		f.Close()
	}
	// A file left with a size and no blocks (fallocate'd later).
	f, err := os.Create(filepath.Join(dir, "sparse/prealloc"))
	must(err)
	must(f.Truncate(1 << 20))
	f.Close()
	// Symlinks: fast, slow (> 60 bytes), dangling, to a directory.
	must(os.MkdirAll(filepath.Join(dir, "links"), 0o755))
	must(os.Symlink("../sizes/f0000001", filepath.Join(dir, "links/fast")))
	must(os.Symlink(strings.Repeat("long-component/", 20)+"end", filepath.Join(dir, "links/slow")))
	must(os.Symlink("nowhere", filepath.Join(dir, "links/dangling")))
	must(os.Symlink("../deep", filepath.Join(dir, "links/todir")))
	// Device nodes, a fifo, a socket, hard links.
	must(os.MkdirAll(filepath.Join(dir, "dev"), 0o755))
	must(unix.Mknod(filepath.Join(dir, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(unix.Mknod(filepath.Join(dir, "dev/loop"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 0))))
	must(unix.Mknod(filepath.Join(dir, "dev/bignum"), unix.S_IFCHR|0o600, int(unix.Mkdev(300, 70000))))
	must(unix.Mkfifo(filepath.Join(dir, "dev/fifo"), 0o640))
	ln, err := net.Listen("unix", filepath.Join(dir, "dev/sock"))
	must(err)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	hl := write("links/hard1", []byte("hard linked\n"))
	must(os.Link(hl, filepath.Join(dir, "links/hard2")))
	must(os.Link(hl, filepath.Join(dir, "deep/hard3")))
	// Owners and modes.
	own := write("owners/u1000", []byte("x"))
	must(os.Lchown(own, 1000, 1000))
	own = write("owners/u70000", []byte("y"))
	must(os.Lchown(own, 70000, 70001))
	must(os.Chmod(write("owners/setuid", []byte("z")), 0o4755))
	must(os.Chmod(write("owners/nomode", nil), 0))
	must(os.MkdirAll(filepath.Join(dir, "owners/sticky"), 0o755))
	must(os.Chmod(filepath.Join(dir, "owners/sticky"), 0o1777))
	must(os.Lchown(filepath.Join(dir, "links/fast"), 1234, 5678))
	// Extended attributes: small ones stay in a 256-byte inode, large
	// ones and many go to an attribute block.
	x := write("xattr/small", []byte("small"))
	must(unix.Lsetxattr(x, "user.color", []byte("blue"), 0))
	must(unix.Lsetxattr(x, "trusted.t", []byte{0, 1, 2}, 0))
	x = write("xattr/big", []byte("big"))
	must(unix.Lsetxattr(x, "user.big", pseudo("bigval", 700), 0))
	must(unix.Lsetxattr(x, "security.label", []byte("system_u:object_r:thing"), 0))
	x = write("xattr/many", []byte("many"))
	for i := range 12 {
		must(unix.Lsetxattr(x, fmt.Sprintf("user.attr%02d", i), pseudo(fmt.Sprint("v", i), 10+4*i), 0))
	}
	must(unix.Lsetxattr(filepath.Join(dir, "xattr"), "user.ondir", []byte("dir value"), 0))
	must(unix.Lsetxattr(filepath.Join(dir, "links/slow"), "trusted.onlink", []byte("link value"), 0))
	if o.acls {
		// user::rw- user:1000:r-- group::r-- mask::r-- other::---
		acl := []byte{2, 0, 0, 0,
			1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
			2, 0, 4, 0, 0xe8, 3, 0, 0,
			4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
			0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
			0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}
		x = write("xattr/acl", []byte("acl"))
		must(unix.Lsetxattr(x, "system.posix_acl_access", acl, 0))
		must(os.MkdirAll(filepath.Join(dir, "xattr/acldir"), 0o755))
		must(unix.Lsetxattr(filepath.Join(dir, "xattr/acldir"), "system.posix_acl_default", acl, 0))
	}
	// Times with nanoseconds, set last.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink != 0 {
			return err
		}
		ts := []unix.Timespec{{Sec: 1600000000, Nsec: 123456789}, {Sec: 1500000000 + int64(len(p)), Nsec: int64(len(p)) * 1000003 % 1e9}}
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
}

// image describes one mke2fs run.
type image struct {
	name   string
	fstype string   // ext2, ext3, ext4
	args   []string // extra mke2fs arguments
	sizeK  int
	pre    []string // debugfs -w requests before e2fsck -D
	post   []string // debugfs -w requests after e2fsck -D
	tree   treeOpts
}

// makeImage generates the tree, runs mke2fs -d, indexes directories with
// e2fsck -fD and applies the debugfs requests.
func makeImage(t testing.TB, im image) string {
	need(t, "mke2fs", "e2fsck", "debugfs")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	genTree(t, src, im.tree)
	img := filepath.Join(dir, im.name+".img")
	args := append([]string{"-q", "-F", "-t", im.fstype, "-N", "5000"}, im.args...)
	args = append(args, "-d", src, img, fmt.Sprint(im.sizeK))
	run(t, "mke2fs", args...)
	for _, req := range im.pre {
		run(t, "debugfs", "-w", "-R", req, img)
	}
	// e2fsck exits 1 when it optimised directories.
	if out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
			t.Fatalf("e2fsck -fyD: %v\n%s", err, out)
		}
	}
	for _, req := range im.post {
		run(t, "debugfs", "-w", "-R", req, img)
	}
	return img
}

// kernelMount loop-mounts img at a fresh directory (read-only unless
// rw) and unmounts at cleanup.
func kernelMount(t testing.TB, img string, rw bool) string {
	needRoot(t)
	mnt := t.TempDir()
	opts := "ro,loop"
	if rw {
		opts = "loop,noatime"
	}
	run(t, "mount", "-t", "ext4", "-o", opts, img, mnt)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	return mnt
}

// debugfsScript runs debugfs -w with the requests in one session (debugfs
// honours only the last of several -R options).
func debugfsScript(t testing.TB, img string, reqs ...string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "debugfs.cmds")
	if err := os.WriteFile(f, []byte(strings.Join(reqs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "debugfs", "-w", "-f", f, img)
}

// debugfsOut runs one debugfs request and returns its standard output.
func debugfsOut(t testing.TB, img, req string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", req, img).Output()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v", req, err)
	}
	return strings.TrimSpace(string(out))
}

// testSeed is the seed of a randomised test: fixed, so that CI runs the
// same cases every time, unless RUMPFS_SEED asks for another ("random"
// for a new one each run). The seed is logged to replay a failure.
func testSeed(t testing.TB) int64 {
	seed := int64(20261126)
	switch v := os.Getenv("RUMPFS_SEED"); v {
	case "":
	case "random":
		seed = time.Now().UnixNano()
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("RUMPFS_SEED=%q: not a number", v)
		}
		seed = n
	}
	t.Logf("seed %d (RUMPFS_SEED replays it)", seed)
	return seed
}

// settle waits until no background read-ahead of d is in flight, so that
// counting cached blocks measures what a request read, not what an
// earlier one is still reading.
func (d *blockDev) settle() {
	for {
		d.mu.Lock()
		n := len(d.ahead)
		d.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

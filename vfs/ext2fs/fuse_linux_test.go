package ext2fs

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/testenv"
	"golang.org/x/sys/unix"
)

// End-to-end: the rumpfs binary serves an image through FUSE, and the
// host sees the same tree as through the kernel's loop mount.

// needFUSE skips loudly (fails under RUMPFS_E2E=1) without root, /dev/fuse
// or fusermount3.
func needFUSE(t testing.TB) {
	t.Helper()
	testenv.FUSE(t)
	testenv.Tool(t, "fusermount3")
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// rumpfsBinary builds cmd/rumpfs once per test binary.
func rumpfsBinary(t testing.TB) string {
	t.Helper()
	need(t, "go")
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ext2fs-rumpfs-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "rumpfs")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/rumpfs").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build ./cmd/rumpfs: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// isMounted reports whether mnt is a mount point of fstype (a prefix
// such as "fuse").
func isMounted(mnt, fstype string) bool {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || f[4] != mnt {
			continue
		}
		for i, x := range f {
			if x == "-" && i+1 < len(f) && strings.HasPrefix(f[i+1], fstype) {
				return true
			}
		}
	}
	return false
}

// server is a running rumpfs mount process.
type server struct {
	cmd    *exec.Cmd
	mnt    string
	stderr *bytes.Buffer
	done   chan error
}

// startServer runs rumpfs mount with args (the last one the mount point)
// and waits until the mount is live or the process exits.
func startServer(t testing.TB, args ...string) (*server, error) {
	return startServerBin(t, rumpfsBinary(t), args...)
}

// startServerBin is startServer with the rumpfs binary bin.
func startServerBin(t testing.TB, bin string, args ...string) (*server, error) {
	mnt := args[len(args)-1]
	s := &server{cmd: exec.Command(bin, append([]string{"mount"}, args...)...), mnt: mnt, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	s.cmd.Stderr = s.stderr
	s.cmd.Stdout = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !isMounted(mnt, "fuse") {
		select {
		case err := <-s.done:
			s.done <- err
			return s, fmt.Errorf("rumpfs mount exited before mounting: %v\n%s", err, s.stderr)
		case <-time.After(200 * time.Microsecond):
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			t.Fatalf("rumpfs mount: %s not mounted after 30 s\n%s", mnt, s.stderr)
		}
	}
	// Live: the first request (which waits for FUSE_INIT) is answered.
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		s.cmd.Process.Kill()
		t.Fatalf("stat of the new mount %s: %v\n%s", mnt, err, s.stderr)
	}
	t.Cleanup(func() {
		if isMounted(mnt, "fuse") {
			exec.Command("umount", "-l", mnt).Run()
		}
		s.cmd.Process.Kill()
	})
	return s, nil
}

// stop unmounts and waits for the server to exit (fusermount returns
// before the server has halted its kernel).
func (s *server) stop(t testing.TB) {
	t.Helper()
	// Right after mounting, go-fuse's poll workaround may still hold a
	// file open on the mount: EBUSY for a moment.
	for try := 0; ; try++ {
		out, err := exec.Command("fusermount3", "-u", s.mnt).CombinedOutput()
		if err == nil {
			break
		}
		if try == 100 || !strings.Contains(string(out), "busy") {
			t.Errorf("fusermount3 -u %s: %v\n%s", s.mnt, err, out)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("rumpfs mount exited with %v\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("rumpfs mount still running 30 s after the unmount\n%s", s.stderr)
	}
}

// compareHostTrees checks that the tree under ours matches the tree under
// ref (the kernel's loop mount): lstat fields with nanosecond times,
// bytes, symlink targets, directory listings and extended attributes.
func compareHostTrees(t *testing.T, ours, ref string) {
	count := 0
	err := filepath.WalkDir(ref, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ref, p)
		q := filepath.Join(ours, rel)
		count++
		var want, got unix.Stat_t
		if err := unix.Lstat(p, &want); err != nil {
			return err
		}
		if err := unix.Lstat(q, &got); err != nil {
			t.Errorf("%s: lstat: %v", rel, err)
			return nil
		}
		check := func(what string, g, w any) {
			if g != w {
				t.Errorf("%s: %s = %v, kernel %v", rel, what, g, w)
			}
		}
		check("ino", got.Ino, want.Ino)
		check("mode", got.Mode, want.Mode)
		check("nlink", got.Nlink, want.Nlink)
		check("uid", got.Uid, want.Uid)
		check("gid", got.Gid, want.Gid)
		check("size", got.Size, want.Size)
		check("blocks", got.Blocks, want.Blocks)
		check("atime", got.Atim, want.Atim)
		check("mtime", got.Mtim, want.Mtim)
		check("ctime", got.Ctim, want.Ctim)
		if want.Mode&unix.S_IFMT == unix.S_IFCHR || want.Mode&unix.S_IFMT == unix.S_IFBLK {
			check("rdev", got.Rdev, want.Rdev)
		}
		compareHostXattrs(t, rel, q, p)
		switch want.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			compareHostData(t, rel, q, p, want.Size)
		case unix.S_IFLNK:
			w, _ := os.Readlink(p)
			g, err := os.Readlink(q)
			if err != nil || g != w {
				t.Errorf("%s: readlink %q %v, kernel %q", rel, g, err, w)
			}
		case unix.S_IFDIR:
			w, _ := os.ReadDir(p)
			g, err := os.ReadDir(q)
			names := func(ds []os.DirEntry) []string {
				var out []string
				for _, d := range ds {
					out = append(out, d.Name()+":"+d.Type().String())
				}
				return out
			}
			if err != nil || !slices.Equal(names(g), names(w)) {
				t.Errorf("%s: %d entries %v, kernel %d", rel, len(g), err, len(w))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count < 50 {
		t.Fatalf("walked only %d files", count)
	}
}

func compareHostData(t *testing.T, rel, q, p string, size int64) {
	if size <= 64<<20 {
		w, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		g, err := os.ReadFile(q)
		if err != nil || !bytes.Equal(g, w) {
			t.Errorf("%s: contents differ (%d bytes, %v; kernel %d)", rel, len(g), err, len(w))
		}
		return
	}
	wf, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Close()
	gf, err := os.Open(q)
	if err != nil {
		t.Errorf("%s: open: %v", rel, err)
		return
	}
	defer gf.Close()
	r := rand.New(rand.NewSource(size))
	offs := []int64{0, size - 10}
	for off := int64(0); off < size; {
		d, err := unix.Seek(int(wf.Fd()), off, unix.SEEK_DATA)
		if err != nil {
			break
		}
		h, _ := unix.Seek(int(wf.Fd()), d, unix.SEEK_HOLE)
		offs = append(offs, max(0, d-100), d, h-100)
		off = h
	}
	for range 16 {
		offs = append(offs, r.Int63n(size))
	}
	for _, off := range offs {
		w := make([]byte, 9000)
		n, _ := wf.ReadAt(w, off)
		g := make([]byte, 9000)
		m, _ := gf.ReadAt(g, off)
		if m != n || !bytes.Equal(g[:m], w[:n]) {
			t.Errorf("%s: %d bytes at %d differ (got %d, kernel %d)", rel, len(w), off, m, n)
		}
	}
}

func listXattrs(path string) ([]string, error) {
	buf := make([]byte, 65536)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

func compareHostXattrs(t *testing.T, rel, q, p string) {
	want, err := listXattrs(p)
	if err != nil {
		t.Errorf("%s: kernel listxattr: %v", rel, err)
		return
	}
	got, err := listXattrs(q)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s: xattrs %q %v, kernel %q", rel, got, err, want)
		return
	}
	for _, name := range want {
		w := make([]byte, 65536)
		n, _ := unix.Lgetxattr(p, name, w)
		g := make([]byte, 65536)
		m, err := unix.Lgetxattr(q, name, g)
		if err != nil || !bytes.Equal(g[:m], w[:n]) {
			t.Errorf("%s: xattr %s = %q %v, kernel %q", rel, name, g[:m], err, w[:n])
		}
		if n > 0 {
			if _, err := unix.Lgetxattr(q, name, make([]byte, n-1)); err != unix.ERANGE {
				t.Errorf("%s: xattr %s into %d bytes: %v, want ERANGE", rel, name, n-1, err)
			}
		}
	}
}

// TestFUSEMount serves images with rumpfs mount -t ext2fs -o ro (and the
// ext3/ext4 aliases) and compares the host's view with the kernel's loop
// mount; after the unmount the server exits cleanly and the image is
// unchanged. A dirty journal shows its replayed view.
func TestFUSEMount(t *testing.T) {
	needFUSE(t)
	small := treeOpts{bigDir: 500, extents: 100, acls: true, huge: true}
	for _, c := range []struct {
		im    image
		typ   string
		dirty bool
	}{
		{image{name: "ext4", fstype: "ext4", sizeK: 24 << 10, tree: small, post: []string{"fallocate /sparse/prealloc 0 100"}}, "ext2fs", false},
		{image{name: "ext2", fstype: "ext2", args: []string{"-b", "1024", "-I", "128"}, sizeK: 24 << 10, tree: small}, "ext2", false},
		{image{name: "ext3-dirty", fstype: "ext3", sizeK: 24 << 10, tree: small}, "ext3", true},
	} {
		t.Run(c.im.name, func(t *testing.T) {
			img := makeImage(t, c.im)
			ref := img
			if c.dirty {
				blk := filepath.Join(filepath.Dir(img), "blk")
				os.WriteFile(blk, bytes.Repeat([]byte("J"), 4096), 0o644)
				// Overwrite the first data block of sizes/f0300000.
				debugfsScript(t, img, "jo", "jw -b "+debugfsOut(t, img, "bmap /sizes/f0300000 0")+" "+blk, "jc")
				ref = filepath.Join(filepath.Dir(img), "recovered.img")
				run(t, "cp", "--sparse=always", img, ref)
			}
			before := sha(t, img)
			kmnt := kernelMount(t, ref, c.dirty)
			mnt := t.TempDir()
			s, err := startServer(t, "-t", c.typ, "-o", "ro", img, mnt)
			if err != nil {
				t.Fatal(err)
			}
			compareHostTrees(t, mnt, kmnt)
			if c.dirty {
				b, err := os.ReadFile(filepath.Join(mnt, "sizes/f0300000"))
				if err != nil || !bytes.HasPrefix(b, []byte("JJJJ")) {
					t.Errorf("journalled block not in the view (%v)", err)
				}
			}
			s.stop(t)
			if after := sha(t, img); after != before {
				t.Errorf("image changed: sha256 %s -> %s", before, after)
			}
		})
	}
}

// TestFUSEMountReadWriteRefused: without -o ro the mount is refused with
// the reason, and the image is unchanged.
func TestFUSEMountReadWriteRefused(t *testing.T) {
	needFUSE(t)
	img := makeImage(t, image{name: "rw", fstype: "ext4", sizeK: 8 << 10, tree: treeOpts{bigDir: 10}})
	before := sha(t, img)
	mnt := t.TempDir()
	// rumpfs mount asks for writes only with -o rw, and refuses that
	// itself: the driver is registered read-only (the driver's own
	// refusal is TestMountReadWriteRefused's).
	s, err := startServer(t, "-t", "ext4", "-o", "rw", img, mnt)
	if err == nil {
		s.stop(t)
		t.Fatal("read-write mount served")
	}
	if !strings.Contains(s.stderr.String(), "can only be mounted read-only: the ext2fs driver cannot write yet") {
		t.Errorf("stderr lacks the reason:\n%s", s.stderr)
	}
	if after := sha(t, img); after != before {
		t.Errorf("image changed: sha256 %s -> %s", before, after)
	}
}

package test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/posixtest"
	"github.com/rumpfs/rumpfs/internal/testenv"
	"golang.org/x/sys/unix"
)

// FFS through real FUSE mounts: makefs images served read-write by
// `rumpfs mount -t ffs`, used by host tools, then checked after the
// server exited with `rumpfs fsck -n` and, on UFS1, The Sleuth Kit.

// ffsKind is a flavour of makefs image.
type ffsKind struct {
	name      string
	version   int  // UFS1 or UFS2
	bigEndian bool // makefs -B be
}

var (
	ufs1   = ffsKind{"ufs1", 1, false}
	ufs2   = ffsKind{"ufs2", 2, false}
	ufs2be = ffsKind{"ufs2-be", 2, true}
)

// emptyFFS makes an empty makefs image of the given kind and size in dir,
// with one inode per 4 KiB of space so that workloads of many small files
// fit.
func emptyFFS(t testing.TB, dir string, kind ffsKind, size string) string {
	t.Helper()
	src := filepath.Join(dir, "empty-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, kind.name+".img")
	makefsImage(t, src, img, kind, size)
	return img
}

// makefsImage runs makefs -t ffs on src.
func makefsImage(t testing.TB, src, img string, kind ffsKind, size string) {
	t.Helper()
	opts := fmt.Sprintf("version=%d,bsize=8192,fsize=1024,density=4096", kind.version)
	order := "le"
	if kind.bigEndian {
		order = "be"
	}
	testenv.Run(t, "", "makefs", "-t", "ffs", "-B", order, "-o", opts, "-s", size, img, src)
}

// fsckClean wants `rumpfs fsck -n img` to exit 0.
func fsckClean(t testing.TB, what, img string) {
	t.Helper()
	out, err := exec.Command(rumpfsBin, "fsck", "-n", img).CombinedOutput()
	if err != nil {
		t.Fatalf("rumpfs fsck -n %s %s: %v\n%s", img, what, err, out)
	}
}

// unmountFFS unmounts like unmount, retrying while the mount is busy for
// a moment right after it went live (go-fuse's poll workaround holds a
// file open on it), and waits for a clean exit of the server: status 0
// and nothing on stderr.
func (s *server) unmountFFS() {
	s.t.Helper()
	for try := 0; ; try++ {
		out, err := exec.Command("fusermount3", "-u", s.mnt).CombinedOutput()
		if err == nil {
			break
		}
		if try == 100 || !strings.Contains(string(out), "busy") {
			s.t.Fatalf("fusermount3 -u %s: %v %s", s.mnt, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.waitClean()
}

// ffsPosixSkips are the posixtest cases that FFS through p2k cannot pass,
// with the reason (the same gaps as p2k's own run on the rumpfs root).
var ffsPosixSkips = map[string]string{
	"Fallocate":         "the VOP set has no VOP_FALLOCATE; FALLOCATE answers ENOSYS (EOPNOTSUPP to the caller)",
	"FallocateKeepSize": "the VOP set has no VOP_FALLOCATE; FALLOCATE answers ENOSYS (EOPNOTSUPP to the caller)",
	"Tmpfile":           "the VOP set has no way to make an unnamed file; TMPFILE answers ENOSYS (EOPNOTSUPP to the caller)",
	"FcntlFlockLocksFile": "ffs does not implement VOP_ADVLOCK, so p2k takes no FUSE locks and the host keeps " +
		"POSIX locks itself, per process: a second open by the same process is not refused",
}

// TestFFSPosix runs go-fuse's posixtest suite through a read-write FUSE
// mount of a fresh makefs image, UFS2, UFS1 and big-endian UFS2, one
// image and one server per case, and fscks each image after its server exited.
func TestFFSPosix(t *testing.T) {
	needFUSE(t)
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, kind := range []ffsKind{ufs2, ufs1, ufs2be} {
		t.Run(kind.name, func(t *testing.T) {
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					if why, ok := ffsPosixSkips[name]; ok {
						t.Skip(why)
					}
					img := emptyFFS(t, t.TempDir(), kind, "32m")
					mnt := mountDir(t)
					s := startServer(t, mnt, "-t", "ffs", img)
					posixtest.All[name](t, mnt)
					s.unmountFFS()
					fsckClean(t, "after posixtest "+name, img)
				})
			}
		})
	}
}

// tarTree writes a tarball of n files spread over nested directories,
// with a few large files, symlinks and hard links when full is set, and
// returns its tree in makeTree's form.
func tarTree(t testing.TB, tarball string, n int, full bool, seed uint64) map[string]string {
	t.Helper()
	f, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	rng := rand.New(rand.NewPCG(seed, 7))
	tree := map[string]string{}
	now := time.Unix(1700000000, 0)
	add := func(h *tar.Header, data []byte) {
		h.ModTime, h.Uname, h.Gname = now, "", ""
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	dirOf := func(i int) string {
		d := fmt.Sprintf("d%02d", i%40)
		if i%3 == 1 {
			d += fmt.Sprintf("/s%d", i%7)
		}
		if i%9 == 4 {
			d += "/deeper/still/deeper"
		}
		return d
	}
	for i := 0; i < n; i++ {
		d := dirOf(i)
		for p := d; p != "."; p = path.Dir(p) {
			if tree[p] == "" {
				tree[p] = "/"
			}
		}
	}
	dirs := make([]string, 0, len(tree))
	for d := range tree {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs) // parents first
	for _, d := range dirs {
		add(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}, nil)
	}
	var regular []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s/f%05d", dirOf(i), i)
		size := rng.IntN(6000)
		switch {
		case !full:
			size = rng.IntN(2000)
		case i == 17:
			size = 5<<20 + 123 // single indirect blocks with 8 KiB blocks
		case i%250 == 3:
			size = 100<<10 + rng.IntN(200<<10)
		case i%11 == 0:
			size = 0
		}
		switch {
		case full && i%97 == 5 && len(regular) > 0:
			target := regular[rng.IntN(len(regular))]
			add(&tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}, nil)
			tree[name] = tree[target]
		case full && i%89 == 6:
			target := strings.Repeat("x/", i%130) + "target" // fast and slow symlinks
			add(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target}, nil)
			tree[name] = "->" + target
		default:
			data := make([]byte, size)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			add(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o640, Size: int64(size)}, data)
			tree[name] = string(data)
			regular = append(regular, name)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return tree
}

// under returns tree with every path prefixed by dir (and dir itself).
func under(dir string, tree map[string]string) map[string]string {
	out := map[string]string{dir: "/"}
	for p, c := range tree {
		out[dir+"/"+p] = c
	}
	return out
}

// fls lists the allocated names on a UFS1 image with The Sleuth Kit:
// path -> inode number.
func fls(t *testing.T, img string) map[string]string {
	t.Helper()
	out, err := exec.Command(needTool(t, "fls"), "-r", "-p", "-f", "ufs1", img).CombinedOutput()
	if err != nil {
		t.Fatalf("fls: %v\n%s", err, out)
	}
	names := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		// "r/r 7:\tsub/name"; deleted names carry a "*".
		meta, name, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 2 {
			continue
		}
		names[name] = strings.TrimSuffix(f[1], ":")
	}
	return names
}

// tskAgrees checks with The Sleuth Kit that a UFS1 image holds exactly
// the names of tree, and the bytes of some of its regular files.
func tskAgrees(t *testing.T, img string, tree map[string]string, samples int) {
	t.Helper()
	names := fls(t, img)
	for p := range tree {
		if _, ok := names[p]; !ok {
			t.Errorf("The Sleuth Kit does not list %s", p)
		}
	}
	for p := range names {
		if _, ok := tree[p]; !ok && !strings.HasPrefix(p, ".") && p != "$OrphanFiles" {
			t.Errorf("The Sleuth Kit lists %s, which is not in the tree", p)
		}
	}
	icat := needTool(t, "icat")
	var files []string
	for p, c := range tree {
		if c != "/" && !strings.HasPrefix(c, "->") {
			files = append(files, p)
		}
	}
	sort.Slice(files, func(i, j int) bool { return len(tree[files[i]]) > len(tree[files[j]]) })
	// The largest files, then a spread of the others.
	picked := files[:min(samples/2, len(files))]
	for i := len(picked); i < len(files) && len(picked) < samples; i += len(files)/samples + 1 {
		picked = append(picked, files[i])
	}
	for _, p := range picked {
		ino, ok := names[p]
		if !ok {
			continue
		}
		got, err := exec.Command(icat, "-f", "ufs1", img, ino).Output()
		if err != nil || string(got) != tree[p] {
			t.Errorf("icat %s (inode %s): %d bytes (%v), want %d", p, ino, len(got), err, len(tree[p]))
		}
	}
}

func run(t *testing.T, dir string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// TestFFSWorkloads untars a few thousand files into UFS1 and UFS2 images
// through the mount, copies the tree with cp -a, removes part of the copy
// and renames directories (across parents too); the tree then reads back
// through the mount, after the server exited the image is fsck clean,
// mounted again it shows the same tree, and on UFS1 The Sleuth Kit lists
// the same names and reads the same bytes (it does not read makefs's
// UFS2 images).
func TestFFSWorkloads(t *testing.T) {
	needFUSE(t)
	tarBin := needTool(t, "tar")
	tarball := filepath.Join(t.TempDir(), "tree.tar")
	files := tarTree(t, tarball, 3000, true, 1)
	for _, kind := range []ffsKind{ufs1, ufs2} {
		t.Run(kind.name, func(t *testing.T) { workloads(t, kind, tarBin, tarball, files) })
	}
}

func workloads(t *testing.T, kind ffsKind, tarBin, tarball string, files map[string]string) {
	img := emptyFFS(t, t.TempDir(), kind, "96m")
	mnt := mountDir(t)
	s := startServer(t, mnt, "-t", "ffs", img)

	mkdir(t, filepath.Join(mnt, "t"))
	run(t, mnt, tarBin, "-xf", tarball, "-C", "t")
	want := under("t", files)
	compareTrees(t, "untarred", readTree(t, mnt), want)

	run(t, mnt, "cp", "-a", "t", "copy")
	for p, c := range files {
		want["copy/"+p] = c
	}
	want["copy"] = "/"
	// rm -rf a quarter of the copy.
	for i := 0; i < 40; i += 4 {
		d := fmt.Sprintf("d%02d", i)
		run(t, mnt, "rm", "-rf", "copy/"+d)
		for p := range want {
			if p == "copy/"+d || strings.HasPrefix(p, "copy/"+d+"/") {
				delete(want, p)
			}
		}
	}
	// Rename directories: within a parent, into another parent (".."
	// changes), and one up the tree.
	move := func(from, to string) {
		t.Helper()
		if err := unix.Rename(filepath.Join(mnt, from), filepath.Join(mnt, to)); err != nil {
			t.Fatalf("rename %s %s: %v", from, to, err)
		}
		for p, c := range want {
			if p == from || strings.HasPrefix(p, from+"/") {
				delete(want, p)
				want[to+p[len(from):]] = c
			}
		}
	}
	move("t/d01", "t/d01-renamed")
	move("t/d05", "t/d06/moved-here")
	move("copy/d07/s0", "copy/d07-s0")
	move("t/d10/s4/deeper/still", "t/d11/still")
	compareTrees(t, "after cp -a, rm -rf and renames", readTree(t, mnt), want)
	s.unmountFFS()

	fsckClean(t, "after the workloads", img)
	s = startServer(t, mnt, "-o", "ro", "-t", "ffs", img)
	compareTrees(t, "image mounted again", readTree(t, mnt), want)
	s.unmountFFS()
	if kind.version == 1 {
		tskAgrees(t, img, want, 20)
	}
}

// sigtermWriter is the workload that SIGTERM interrupts: it writes files
// f1, f2, ... in $1, file i holding the first (i*7919)%150000+1 bytes of
// $2, fsyncs every fifth one (sync FILE) and then prints "synced i",
// until a write fails.
const sigtermWriter = `
d=$1 src=$2 i=0
while :; do
	i=$((i+1))
	head -c $(( (i*7919) % 150000 + 1 )) "$src" > "$d/f$i" || exit 0
	if [ $((i % 5)) = 0 ]; then
		sync "$d/f$i" || exit 0
		echo "synced $i"
	fi
done
`

// TestFFSSIGTERMMidWorkload sends SIGTERM to the server while a shell
// loop writes and fsyncs files on a UFS1 image: the server exits 0, the
// image is fsck clean, every file fsynced before the signal holds its
// bytes (mounted again read-only, and by The Sleuth Kit), and any other
// file written by then holds a prefix of its bytes.
func TestFFSSIGTERMMidWorkload(t *testing.T) {
	needFUSE(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	data := make([]byte, 150000)
	rng := rand.NewChaCha8([32]byte{4})
	rng.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	content := func(i int) string { return string(data[:(i*7919)%150000+1]) }

	img := emptyFFS(t, tmp, ufs1, "256m")
	mnt := mountDir(t)
	s := startServer(t, mnt, "-t", "ffs", img)
	mkdir(t, filepath.Join(mnt, "w"))
	w := exec.Command("sh", "-c", sigtermWriter, "writer", filepath.Join(mnt, "w"), src)
	out, err := w.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var werr bytes.Buffer
	w.Stderr = &werr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Process.Kill()
	lines := bufio.NewScanner(out)
	synced := 0
	for synced < 60 && lines.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(lines.Text(), "synced "))
		if err != nil {
			t.Fatalf("writer says %q", lines.Text())
		}
		synced = n
	}
	if synced < 60 {
		t.Fatalf("the writer stopped after %d files; stderr:\n%s", synced, werr.String())
	}
	s.signal(syscall.SIGTERM)
	if st := s.wait(); st.ExitCode() != 0 {
		t.Fatalf("server after SIGTERM: %v; stderr:\n%s", st, s.stderr.String())
	}
	// Anything the writer still printed was fsynced before the signal
	// cut it off, or failed.
	for lines.Scan() {
		if n, err := strconv.Atoi(strings.TrimPrefix(lines.Text(), "synced ")); err == nil {
			synced = n
		}
	}
	w.Wait()
	if isMounted(mnt) {
		t.Fatalf("%s still mounted after the server exited", mnt)
	}
	fsckClean(t, "after SIGTERM mid-workload", img)

	s = startServer(t, mnt, "-o", "ro", "-t", "ffs", img)
	got := readTree(t, filepath.Join(mnt, "w"))
	s.unmountFFS()
	for i := 1; i <= synced; i++ {
		if c, ok := got[fmt.Sprintf("f%d", i)]; !ok || c != content(i) {
			t.Errorf("f%d (written before the signal) holds %d bytes (present %v), want %d", i, len(c), ok, len(content(i)))
		}
	}
	for name, c := range got {
		i, err := strconv.Atoi(strings.TrimPrefix(name, "f"))
		if err != nil || i < 1 {
			t.Errorf("unexpected %s on the image", name)
			continue
		}
		if want := content(i); !strings.HasPrefix(want, c) {
			t.Errorf("%s holds %d bytes that are not a prefix of what was written", name, len(c))
		}
	}
	t.Logf("%d files fsynced before SIGTERM, %d on the image", synced, len(got))

	names := fls(t, img)
	icat := needTool(t, "icat")
	for _, i := range []int{5, synced / 2, synced} {
		p := fmt.Sprintf("w/f%d", i)
		ino, ok := names[p]
		if !ok {
			t.Errorf("The Sleuth Kit does not list %s", p)
			continue
		}
		b, err := exec.Command(icat, "-f", "ufs1", img, ino).Output()
		if err != nil || string(b) != content(i) {
			t.Errorf("icat %s: %d bytes (%v), want %d", p, len(b), err, len(content(i)))
		}
	}
}

// TestFFSReadOnlyUnchanged walks a read-only mount of a UFS2 image made
// from a tree, reading every byte and stat field: the tree matches and
// not one byte of the image changes (no atime update, no clean flag
// write).
func TestFFSReadOnlyUnchanged(t *testing.T) {
	needFUSE(t)
	tmp := t.TempDir()
	tarball := filepath.Join(tmp, "tree.tar")
	files := tarTree(t, tarball, 600, true, 2)
	src := filepath.Join(tmp, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, src, needTool(t, "tar"), "-xf", tarball)
	img := filepath.Join(tmp, "ufs2.img")
	makefsImage(t, src, img, ufs2, "48m")
	before := sha(t, img)

	mnt := mountDir(t)
	s := startServer(t, mnt, "-o", "ro", "-t", "ffs", img)
	compareTrees(t, "read-only mount", readTree(t, mnt), files)
	var st unix.Stat_t
	if err := filepath.Walk(mnt, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return unix.Lstat(p, &st)
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("create on a read-only mount: %v, want EROFS", err)
	}
	s.unmountFFS()
	if sha(t, img) != before {
		t.Fatal("a read-only mount and walk changed the image")
	}
	fsckClean(t, "after the read-only walk", img)
}

// TestFFSLargeReadsQuiet reads a file through the mount in 1 MiB
// requests (O_DIRECT, read-only and read-write mounts): the bytes are
// right and the server writes nothing on stderr.
// (go-fuse logged "trySplice: splice: want 1052688 bytes, max pipe size
// 1048576" for every such read while it spliced memory replies.)
func TestFFSLargeReadsQuiet(t *testing.T) {
	needFUSE(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{5}).Read(data)
	if err := os.WriteFile(filepath.Join(src, "big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(tmp, "ufs2.img")
	makefsImage(t, src, img, ufs2, "16m")
	mnt := mountDir(t)
	for _, mode := range []string{"ro", "rw"} {
		s := startServer(t, mnt, "-o", mode, "-t", "ffs", img)
		fd, err := unix.Open(filepath.Join(mnt, "big"), unix.O_RDONLY|unix.O_DIRECT, 0)
		if err != nil {
			t.Fatal(err)
		}
		// O_DIRECT wants an aligned buffer: anonymous memory is.
		buf, err := unix.Mmap(-1, 0, len(data), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			t.Fatal(err)
		}
		n, err := unix.Read(fd, buf)
		unix.Close(fd)
		defer unix.Munmap(buf)
		if err != nil || n != len(data) || !bytes.Equal(buf, data) {
			t.Fatalf("%s: O_DIRECT read of 4 MiB: %d bytes, %v, equal %v", mode, n, err, bytes.Equal(buf[:max(n, 0)], data[:max(n, 0)]))
		}
		s.unmountFFS() // fails on anything on the server's stderr
	}
}

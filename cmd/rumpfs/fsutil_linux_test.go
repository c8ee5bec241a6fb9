package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

// The fs-utils commands through the real binary, as user nobody on an
// image nobody owns, checked against GNU coreutils on the Linux kernel's
// loop mount of the same image and against the source tree.

const nobody = 65534

// fsuTree makes a source tree with the kinds of file get and ls must
// handle: setuid, an old time, symlinks (one pointing up and out), a hard
// link, a FIFO, a hidden name, nested directories.
func fsuTree(t *testing.T) string {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "d", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "a"), []byte("hello\n"), 0o644))
	must(os.WriteFile(filepath.Join(src, "d", "big"), bytes.Repeat([]byte("0123456789abcdef"), 20000), 0o755))
	must(os.Chmod(filepath.Join(src, "d", "big"), 0o755|os.ModeSetuid))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(os.Chtimes(filepath.Join(src, "d", "big"), old, old))
	must(os.Symlink("a", filepath.Join(src, "l")))
	must(os.Symlink("../../../../etc/passwd", filepath.Join(src, "d", "sub", "out")))
	must(os.Link(filepath.Join(src, "a"), filepath.Join(src, "hard")))
	must(syscall.Mkfifo(filepath.Join(src, "fifo"), 0o640))
	must(os.WriteFile(filepath.Join(src, ".hidden"), []byte("h"), 0o600))
	must(os.Chmod(filepath.Join(src, "d", "sub"), 0o750))
	return src
}

// fsuExt4 makes an ext4 image of tree src owned by nobody.
func fsuExt4(t *testing.T, src string) string {
	testenv.Tool(t, "mke2fs", "setpriv")
	dir := t.TempDir()
	// nobody must reach it: the test's temporary directory is 0700.
	os.Chmod(filepath.Dir(dir), 0o755)
	img := filepath.Join(dir, "root.ext4")
	testenv.Run(t, "", "mke2fs", "-q", "-t", "ext4", "-d", src, img, "16M")
	os.Chown(filepath.Dir(img), nobody, nobody)
	if err := os.Chown(img, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return img
}

// runAsNobody runs rumpfs as user nobody (when root; else as is) in the C
// locale and UTC, and returns stdout, stderr and the exit status.
func runAsNobody(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	bin := rumpfsBinary(t)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// loopMount mounts img read-only through the host kernel.
func loopMount(t *testing.T, img string) string {
	testenv.Root(t)
	mnt := t.TempDir()
	testenv.Run(t, "", "mount", "-o", "loop,ro", img, mnt)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

func gnu(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestFsutilLsStatMatchGNU(t *testing.T) {
	img := fsuExt4(t, fsuTree(t))
	mnt := loopMount(t, img)

	// -R headers name the paths differently (img:/d against ./d): compare
	// each listing's lines after its header.
	for _, flags := range []string{"-ln", "-lnRi", "-lnh", "-1", "-lnd"} {
		ours, stderr, code := runAsNobody(t, "ls", strings.Replace(flags, "n", "", 1), img+":/")
		if code != 0 {
			t.Fatalf("rumpfs ls %s: status %d: %s", flags, code, stderr)
		}
		theirs := gnu(t, mnt, "ls", flags, ".")
		header := regexp.MustCompile(`(?m)^(\S*:\S*|\.[^ ]*):$`)
		ours, theirs = header.ReplaceAllString(ours, "HEADER:"), header.ReplaceAllString(theirs, "HEADER:")
		if flags == "-lnd" {
			// the mount root's link count and name differ only by name
			ours, theirs = strings.Fields(ours)[0], strings.Fields(theirs)[0]
		}
		if ours != theirs {
			t.Errorf("ls %s differs from GNU ls on the loop mount:\nrumpfs:\n%s\nGNU:\n%s", flags, ours, theirs)
		}
	}

	names := []string{"a", "l", "d", "d/big", "d/sub", "d/sub/out", "fifo", "hard", ".hidden"}
	var args []string
	for _, n := range names {
		args = append(args, img+":/"+n)
	}
	ours, stderr, code := runAsNobody(t, append([]string{"stat"}, args...)...)
	if code != 0 {
		t.Fatalf("rumpfs stat: status %d: %s", code, stderr)
	}
	theirs := gnu(t, mnt, "stat", names...)
	// The names are given differently and the devices are each kernel's
	// own; every other field must be equal.
	dev := regexp.MustCompile(`Device: \S+`)
	ours = dev.ReplaceAllString(strings.ReplaceAll(ours, img+":/", ""), "Device: X")
	theirs = dev.ReplaceAllString(theirs, "Device: X")
	if ours != theirs {
		t.Errorf("stat differs from GNU stat on the loop mount:\nrumpfs:\n%s\nGNU:\n%s", ours, theirs)
	}
	ours, _, _ = runAsNobody(t, "stat", "-c", "%n %a %A %u %g %s %h %i %F %Y", img+":/d/big")
	theirs = gnu(t, mnt, "stat", "-c", "%n %a %A %u %g %s %h %i %F %Y", "d/big")
	if strings.TrimPrefix(ours, img+":/") != theirs {
		t.Errorf("stat -c: %q, GNU %q", ours, theirs)
	}
}

func TestFsutilErrors(t *testing.T) {
	img := fsuExt4(t, fsuTree(t))
	_, stderr, code := runAsNobody(t, "ls", img+":/nope")
	want := "rumpfs ls: cannot access '" + img + ":/nope': No such file or directory\n"
	if code != 2 || stderr != want {
		t.Errorf("ls of a missing path: status %d, stderr %q; want 2, %q", code, stderr, want)
	}
	out, stderr, code := runAsNobody(t, "cat", img+":/a", img+":/nope", img+":/hard")
	if code != 1 || out != "hello\nhello\n" || !strings.Contains(stderr, "nope: No such file or directory") {
		t.Errorf("cat with one missing file: status %d, out %q, stderr %q", code, out, stderr)
	}
	// ".." never leaves the image: it stops at the image's root.
	out, _, code = runAsNobody(t, "cat", img+":/../../../d/../a")
	if code != 0 || out != "hello\n" {
		t.Errorf("cat through ..: status %d, out %q", code, out)
	}
	_, stderr, code = runAsNobody(t, "ls", "/not/an/image/spec")
	if code != 2 || !strings.Contains(stderr, "not IMAGE:PATH") {
		t.Errorf("ls of a host path: status %d, stderr %q", code, stderr)
	}
}

func TestFsutilGetTree(t *testing.T) {
	src := fsuTree(t)
	img := fsuExt4(t, src)
	dst := filepath.Join(filepath.Dir(img), "out")
	os.Mkdir(dst, 0o755)
	os.Chown(dst, nobody, nobody)
	if _, stderr, code := runAsNobody(t, "get", "-r", img+":/d", img+":/a", img+":/l", img+":/hard", img+":/fifo", img+":/.hidden", dst); code != 0 {
		t.Fatalf("get -r: status %d: %s", code, stderr)
	}
	compareTrees(t, src, dst, []string{"a", "d", "l", "hard", "fifo", ".hidden"})
	// Nothing outside dst: the symlink pointing out is a symlink.
	if target, err := os.Readlink(filepath.Join(dst, "d", "sub", "out")); err != nil || target != "../../../../etc/passwd" {
		t.Errorf("d/sub/out: %q, %v", target, err)
	}
	// A second get refuses to overwrite, and -f replaces.
	os.WriteFile(filepath.Join(dst, "a"), []byte("changed"), 0o644)
	if _, stderr, code := runAsNobody(t, "get", img+":/a", dst); code != 1 || !strings.Contains(stderr, "File exists") {
		t.Errorf("get over an existing file: status %d, stderr %q", code, stderr)
	}
	if _, stderr, code := runAsNobody(t, "get", "-f", img+":/a", dst); code != 0 {
		t.Errorf("get -f: status %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a")); string(b) != "hello\n" {
		t.Errorf("after get -f: %q", b)
	}
}

// compareTrees checks that names under got equal those under want: bytes,
// type, mode, modification time, symlink targets, and hard links.
func compareTrees(t *testing.T, want, got string, names []string) {
	t.Helper()
	inodes := map[uint64]string{} // want's inode -> got's inode path
	var walk func(rel string)
	walk = func(rel string) {
		w, g := filepath.Join(want, rel), filepath.Join(got, rel)
		ws, err := os.Lstat(w)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := os.Lstat(g)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		if ws.Mode() != gs.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, gs.Mode(), ws.Mode())
		}
		// mke2fs -d stores whole seconds (the loop mount shows .000000000).
		if ws.Mode()&os.ModeSymlink == 0 && ws.ModTime().Unix() != gs.ModTime().Unix() {
			t.Errorf("%s: mtime %v, want %v", rel, gs.ModTime(), ws.ModTime())
		}
		switch {
		case ws.Mode().IsRegular():
			wb, _ := os.ReadFile(w)
			gb, _ := os.ReadFile(g)
			if !bytes.Equal(wb, gb) {
				t.Errorf("%s: contents differ", rel)
			}
			wi := ws.Sys().(*syscall.Stat_t)
			gi := gs.Sys().(*syscall.Stat_t)
			if first, ok := inodes[wi.Ino]; ok {
				fs, _ := os.Lstat(first)
				if fs.Sys().(*syscall.Stat_t).Ino != gi.Ino {
					t.Errorf("%s: not a hard link of %s", rel, first)
				}
			}
			inodes[wi.Ino] = g
		case ws.Mode()&os.ModeSymlink != 0:
			wl, _ := os.Readlink(w)
			gl, _ := os.Readlink(g)
			if wl != gl {
				t.Errorf("%s: link to %q, want %q", rel, gl, wl)
			}
		case ws.IsDir():
			ents, _ := os.ReadDir(w)
			gents, _ := os.ReadDir(g)
			if len(ents) != len(gents) {
				t.Errorf("%s: %d entries, want %d", rel, len(gents), len(ents))
			}
			for _, e := range ents {
				walk(filepath.Join(rel, e.Name()))
			}
		}
	}
	for _, n := range names {
		walk(n)
	}
}

// fsuFFS makes an empty FFS image owned by nobody.
func fsuFFS(t *testing.T) string {
	testenv.Tool(t, "makefs", "setpriv")
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chown(dir, nobody, nobody)
	empty := t.TempDir()
	img := filepath.Join(dir, "disk.ffs")
	testenv.Run(t, "", "makefs", "-t", "ffs", "-o", "version=2", "-s", "16m", img, empty)
	if err := os.Chown(img, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return img
}

// mustBeClean runs rumpfs fsck -n on img and fails the test unless clean.
func mustBeClean(t *testing.T, img, after string) {
	t.Helper()
	out, stderr, code := runAsNobody(t, "fsck", "-n", img)
	if code != 0 || !strings.Contains(out, "clean:") || strings.Contains(out, "not marked clean") {
		t.Fatalf("after %s: fsck -n: status %d:\n%s%s", after, code, out, stderr)
	}
}

func TestFsutilPutGetFFS(t *testing.T) {
	src := fsuTree(t)
	// nobody reads it: the tree becomes nobody's
	os.Chmod(src, 0o755)
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, nobody, nobody) })
	img := fsuFFS(t)
	var hosts []string
	for _, n := range []string{"a", "d", "l", "hard", "fifo", ".hidden"} {
		hosts = append(hosts, filepath.Join(src, n))
	}
	if _, stderr, code := runAsNobody(t, append(append([]string{"put", "-r"}, hosts...), img+":/")...); code != 0 {
		t.Fatalf("put -r: status %d: %s", code, stderr)
	}
	mustBeClean(t, img, "put")
	if _, stderr, code := runAsNobody(t, "put", filepath.Join(src, "a"), img+":/"); code != 1 || !strings.Contains(stderr, "File exists") {
		t.Errorf("put over an existing file: status %d, stderr %q", code, stderr)
	}
	dst := filepath.Join(filepath.Dir(img), "back")
	os.Mkdir(dst, 0o755)
	os.Chown(dst, nobody, nobody)
	if _, stderr, code := runAsNobody(t, "get", "-r", img+":/", dst); code != 0 {
		t.Fatalf("get -r: status %d: %s", code, stderr)
	}
	compareTrees(t, src, dst, []string{"a", "d", "l", "hard", "fifo", ".hidden"})
	// New files belong to root unless --preserve-owner.
	out, _, _ := runAsNobody(t, "stat", "-c", "%u:%g", img+":/d/big")
	if out != "0:0\n" {
		t.Errorf("owner of a put file: %q, want 0:0", out)
	}
}

func TestFsutilWriteCommandsFFS(t *testing.T) {
	img := fsuFFS(t)
	steps := []struct {
		args []string
		ls   string // then ls -R of the image must contain this
	}{
		{[]string{"mkdir", "-p", img + ":/etc/app/conf.d"}, "conf.d"},
		{[]string{"touch", "-d", "2024-01-01T00:00:00Z", img + ":/etc/app/x.conf"}, "x.conf"},
		{[]string{"ln", "-s", "app/x.conf", img + ":/etc/x"}, "x -> app/x.conf"},
		{[]string{"ln", img + ":/etc/app/x.conf", img + ":/etc/app/y.conf"}, "y.conf"},
		{[]string{"chmod", "600", img + ":/etc/app/y.conf"}, "-rw------- 2 0 0   0 Jan  1  2024 x.conf"},
		{[]string{"mv", img + ":/etc/app/conf.d", img + ":/etc/app/conf"}, "conf"},
		{[]string{"rm", "-r", img + ":/etc/app/conf"}, "y.conf"},
		{[]string{"rmdir", img + ":/etc/app"}, ""}, // fails: not empty
		{[]string{"rm", "-r", img + ":/etc"}, ""},
	}
	for _, s := range steps {
		_, stderr, code := runAsNobody(t, s.args...)
		if s.args[0] == "rmdir" {
			if code != 1 || !strings.Contains(stderr, "Directory not empty") {
				t.Errorf("rmdir of a full directory: status %d, %q", code, stderr)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("%v: status %d: %s", s.args, code, stderr)
		}
		mustBeClean(t, img, s.args[0])
		out, _, _ := runAsNobody(t, "ls", "-lR", img+":/")
		if !strings.Contains(out, s.ls) {
			t.Errorf("after %v, ls -lR has no %q:\n%s", s.args, s.ls, out)
		}
		if s.args[0] == "mv" && strings.Contains(out, "conf.d") {
			t.Errorf("after mv, conf.d is still there:\n%s", out)
		}
	}
	out, _, _ := runAsNobody(t, "ls", img+":/")
	if out != "" {
		t.Errorf("after rm -r /etc the root lists %q", out)
	}
	// rm refuses the root; the image stays clean after every failure.
	if _, stderr, code := runAsNobody(t, "rm", "-r", img+":/"); code != 1 || !strings.Contains(stderr, "root") {
		t.Errorf("rm -r of the root: status %d, %q", code, stderr)
	}
	mustBeClean(t, img, "failed rm")
}

// A signal while a command works stops it at its next check, and the
// kernel still halts (syncs) before the process exits 128+signal. cat
// into a pipe nobody reads blocks in the middle of a file: the signal
// comes then, deterministically.
func TestFsutilSignalStops(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "big"), bytes.Repeat([]byte("x"), 8<<20), 0o644)
	img := fsuExt4(t, src)
	cmd := exec.Command(rumpfsBinary(t), "cat", img+":/big")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 4096)
	if _, err := io.ReadFull(out, first); err != nil { // it has the image mounted and is writing
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	n, _ := io.Copy(io.Discard, out)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 143 || !strings.Contains(stderr.String(), "terminated; stopped") {
		t.Errorf("cat after SIGTERM: status %d, stderr %q", code, stderr.String())
	}
	if n+4096 >= 8<<20 {
		t.Errorf("cat wrote the whole file (%d bytes) after SIGTERM", n+4096)
	}
}

func TestFsutilDuReadlinkMatchGNU(t *testing.T) {
	img := fsuExt4(t, fsuTree(t))
	mnt := loopMount(t, img)
	for _, flags := range []string{"-a", "-s", "-sh"} {
		ours, stderr, code := runAsNobody(t, "du", flags, img+":/")
		if code != 0 {
			t.Fatalf("du %s: status %d: %s", flags, code, stderr)
		}
		theirs := gnu(t, mnt, "du", flags, ".")
		// GNU du walks in the host driver's readdir order (ext4's hash
		// order), ours in the image's: compare the lines as sets.
		norm := func(s, prefix string) string {
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(strings.ReplaceAll(s, prefix, "")), "\n") {
				// a and hard are one file: each du names the one it met first
				if !strings.HasSuffix(l, "\ta") && !strings.HasSuffix(l, "\thard") {
					lines = append(lines, l)
				}
			}
			sort.Strings(lines)
			return strings.Join(lines, "\n")
		}
		o := norm(strings.ReplaceAll(ours, img+":/\n", ".\n"), img+":/")
		th := norm(theirs, "./")
		if o != th {
			t.Errorf("du %s differs from GNU du on the loop mount:\nrumpfs:\n%s\nGNU:\n%s", flags, o, th)
		}
	}
	out, _, code := runAsNobody(t, "readlink", img+":/d/sub/out", img+":/l")
	if code != 0 || out != "../../../../etc/passwd\na\n" {
		t.Errorf("readlink: status %d, %q", code, out)
	}
	if _, _, code := runAsNobody(t, "readlink", img+":/a"); code != 1 {
		t.Errorf("readlink of a regular file: status %d, want 1", code)
	}
	ours, _, _ := runAsNobody(t, "df", "-i", img)
	theirs := gnu(t, mnt, "df", "-i", ".")
	if o, th := strings.Fields(ours), strings.Fields(theirs); len(o) < 12 || len(th) < 12 || strings.Join(o[8:12], " ") != strings.Join(th[8:12], " ") {
		t.Errorf("df -i: %q, GNU %q", ours, theirs)
	}
}

func TestFsutilChownTruncateFFS(t *testing.T) {
	img := fsuFFS(t)
	for _, args := range [][]string{
		{"truncate", "-s", "1MiB", img + ":/sparse"},
		{"chown", "7:8", img + ":/sparse"},
		{"truncate", "-s", "10", img + ":/sparse"},
	} {
		if _, stderr, code := runAsNobody(t, args...); code != 0 {
			t.Fatalf("%v: status %d: %s", args, code, stderr)
		}
		mustBeClean(t, img, args[0])
	}
	out, _, _ := runAsNobody(t, "stat", "-c", "%u:%g %s", img+":/sparse")
	if out != "7:8 10\n" {
		t.Errorf("after chown and truncate: %q", out)
	}
	if _, _, code := runAsNobody(t, "chown", "x:y", img+":/sparse"); code != 2 {
		t.Errorf("chown with names: status %d, want 2", code)
	}
	mustBeClean(t, img, "a refused chown")
}

// get never writes outside HOSTDIR: not through a symlink already in
// HOSTDIR where the image has a directory or file of that name, not
// through the image's own symlinks.
func TestFsutilGetStaysInside(t *testing.T) {
	img := fsuExt4(t, fsuTree(t))
	base := filepath.Dir(img)
	dst, outside := filepath.Join(base, "dst"), filepath.Join(base, "outside")
	for _, d := range []string{dst, outside} {
		os.Mkdir(d, 0o755)
		os.Chown(d, nobody, nobody)
	}
	os.Symlink(outside, filepath.Join(dst, "d"))
	os.Symlink(filepath.Join(outside, "a"), filepath.Join(dst, "a"))
	os.Lchown(filepath.Join(dst, "d"), nobody, nobody)
	os.Lchown(filepath.Join(dst, "a"), nobody, nobody)
	_, stderr, code := runAsNobody(t, "get", "-rf", img+":/d", img+":/a", img+":/l", dst)
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("get wrote %d entries outside its target (status %d, %s)", len(ents), code, stderr)
	}
	if code != 1 || !strings.Contains(stderr, "cannot create directory") {
		t.Errorf("get onto a symlinked directory: status %d, stderr %q", code, stderr)
	}
	// -f replaced the symlink a with the file itself.
	if st, err := os.Lstat(filepath.Join(dst, "a")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("a after get -f: %v, %v", st, err)
	}
}

func TestFsutilFindMatchesGNU(t *testing.T) {
	img := fsuExt4(t, fsuTree(t))
	mnt := loopMount(t, img)
	for _, expr := range [][]string{
		nil,
		{"-type", "f"},
		{"-type", "l", "-o", "-name", "b*"},
		{"!", "-type", "d", "-size", "-2"},
		{"-size", "+1k"},
		{"-maxdepth", "1", "-mindepth", "1"},
		{"-mtime", "+300"},
		{"-inum", "13"},
		{"-newer", "d/big", "-type", "f"},
	} {
		ourExpr := append([]string(nil), expr...)
		for i, a := range ourExpr {
			if i > 0 && ourExpr[i-1] == "-newer" {
				ourExpr[i] = img + ":/" + a
			}
		}
		ours, stderr, code := runAsNobody(t, append([]string{"find", img + ":/"}, ourExpr...)...)
		if code != 0 {
			t.Fatalf("find %v: status %d: %s", expr, code, stderr)
		}
		theirs := gnu(t, mnt, "find", append([]string{"."}, expr...)...)
		set := func(s, prefix string) string {
			lines := strings.Split(strings.TrimSpace(s), "\n")
			for i, l := range lines {
				lines[i] = strings.TrimPrefix(l, prefix)
			}
			sort.Strings(lines)
			return strings.Join(lines, "\n")
		}
		o, th := set(strings.ReplaceAll(ours, img+":/\n", ".\n"), img+":/"), set(theirs, "./")
		if o != th {
			t.Errorf("find %v differs from GNU find on the loop mount:\nrumpfs:\n%s\nGNU:\n%s", expr, o, th)
		}
	}
}

// A put that fills the file system stops with one message, copies
// nothing after, and leaves the image clean.
func TestFsutilPutENOSPC(t *testing.T) {
	testenv.Tool(t, "makefs", "setpriv")
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	img := filepath.Join(dir, "small.ffs")
	testenv.Run(t, "", "makefs", "-t", "ffs", "-o", "version=2", "-s", "2m", img, t.TempDir())
	os.Chown(img, nobody, nobody)
	big, small := filepath.Join(dir, "big"), filepath.Join(dir, "small")
	os.WriteFile(big, bytes.Repeat([]byte{0xa5}, 4<<20), 0o644)
	os.WriteFile(small, []byte("x"), 0o644)
	_, stderr, code := runAsNobody(t, "put", big, small, img+":/")
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "full (ENOSPC)") {
		t.Errorf("put past the end: status %d, stderr %q", code, stderr)
	}
	mustBeClean(t, img, "put hitting ENOSPC")
	if _, _, code := runAsNobody(t, "stat", img+":/small"); code != 1 {
		t.Errorf("put went on after ENOSPC: small was copied")
	}
}

// A damaged inode: the commands report EIO for it, go on with the rest
// and exit non-zero.
func TestFsutilDamagedInode(t *testing.T) {
	testenv.Tool(t, "debugfs", "dumpe2fs")
	img := fsuExt4(t, fsuTree(t))
	imap := testenv.Run(t, "", "debugfs", "-R", "imap /d/big", img)
	var block, off int64
	if m := regexp.MustCompile(`block (\d+), offset 0x([0-9a-f]+)`).FindStringSubmatch(imap); m != nil {
		block, _ = strconv.ParseInt(m[1], 10, 64)
		off, _ = strconv.ParseInt(m[2], 16, 64)
	} else {
		t.Fatalf("debugfs imap: %q", imap)
	}
	bs := int64(0)
	if m := regexp.MustCompile(`Block size:\s+(\d+)`).FindStringSubmatch(testenv.Run(t, "", "dumpe2fs", "-h", img)); m != nil {
		bs, _ = strconv.ParseInt(m[1], 10, 64)
	}
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0, 0}, block*bs+off+40) // the extent header's magic
	f.Close()
	dst := filepath.Join(filepath.Dir(img), "out")
	os.Mkdir(dst, 0o755)
	os.Chown(dst, nobody, nobody)
	_, stderr, code := runAsNobody(t, "get", "-r", img+":/", dst)
	if code != 1 || !strings.Contains(stderr, "d/big': Input/output error") {
		t.Errorf("get -r of a damaged image: status %d, stderr %q", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "a")); err != nil || string(b) != "hello\n" {
		t.Errorf("get -r stopped at the damage: a: %q, %v", b, err)
	}
}

func TestFsutilJSON(t *testing.T) {
	img := fsuExt4(t, fsuTree(t))
	mnt := loopMount(t, img)
	out, stderr, code := runAsNobody(t, "ls", "--json", "-aR", img+":/")
	if code != 0 {
		t.Fatalf("ls --json: status %d: %s", code, stderr)
	}
	var files []fileJSON
	if err := json.Unmarshal([]byte(out), &files); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, out)
	}
	seen := 0
	for _, f := range files {
		rel := strings.TrimPrefix(f.Path, img+":/")
		if rel == f.Path || strings.HasSuffix(rel, ".") {
			continue // . and ..
		}
		seen++
		want := strings.Fields(gnu(t, mnt, "stat", "-c", "%04a %h %u %g %s %b %i %Y", rel))
		mt, _ := time.Parse(time.RFC3339Nano, f.Mtime)
		got := []string{f.Mode, fmt.Sprint(f.Nlink), fmt.Sprint(f.UID), fmt.Sprint(f.GID), fmt.Sprint(f.Size), fmt.Sprint(f.Blocks), fmt.Sprint(f.Inode), fmt.Sprint(mt.Unix())}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("ls --json %s: %v, GNU stat %v", rel, got, want)
		}
		if f.Type == "symlink" && f.Target == "" {
			t.Errorf("ls --json %s: no target", rel)
		}
	}
	if seen < 10 {
		t.Errorf("ls --json -aR listed %d files, want all 10:\n%s", seen, out)
	}
	for _, cmd := range [][]string{{"stat", "--json", img + ":/a"}, {"find", "--json", img + ":/", "-type", "f"}, {"du", "--json", img + ":/"}, {"df", "--json", img}} {
		out, _, code := runAsNobody(t, cmd...)
		if code != 0 || !json.Valid([]byte(out)) {
			t.Errorf("%v: status %d, not JSON: %s", cmd, code, out)
		}
	}
}

// Reading commands open the image O_RDONLY: they work on an image nobody
// may only read; a writing command says why it cannot.
func TestFsutilReadOnlyImage(t *testing.T) {
	img := fsuFFS(t)
	if _, stderr, code := runAsNobody(t, "mkdir", img+":/d"); code != 0 {
		t.Fatalf("mkdir: %d %s", code, stderr)
	}
	os.Chmod(img, 0o444)
	if out, stderr, code := runAsNobody(t, "ls", img+":/"); code != 0 || out != "d\n" {
		t.Errorf("ls of a read-only image: status %d, %q %q", code, out, stderr)
	}
	_, stderr, code := runAsNobody(t, "rmdir", img+":/d")
	if code != 1 || !strings.Contains(stderr, "read-only file system") || strings.Contains(stderr, "-o ro") {
		t.Errorf("rmdir on a read-only image: status %d, %q", code, stderr)
	}
}

// cp -r inside an image makes a copy equal to the original (checked by
// getting both out), and the image stays clean.
func TestFsutilCpInsideFFS(t *testing.T) {
	src := fsuTree(t)
	os.Chmod(src, 0o755)
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, nobody, nobody) })
	img := fsuFFS(t)
	if _, stderr, code := runAsNobody(t, "put", "-r", "--preserve-owner", filepath.Join(src, "d"), filepath.Join(src, "a"), filepath.Join(src, "hard"), img+":/"); code != 0 {
		t.Fatalf("put: %d %s", code, stderr)
	}
	if _, stderr, code := runAsNobody(t, "mkdir", img+":/copy"); code != 0 {
		t.Fatalf("mkdir: %d %s", code, stderr)
	}
	if _, stderr, code := runAsNobody(t, "cp", "-r", img+":/d", img+":/a", img+":/hard", img+":/copy"); code != 0 {
		t.Fatalf("cp -r: %d %s", code, stderr)
	}
	mustBeClean(t, img, "cp -r")
	if _, stderr, code := runAsNobody(t, "cp", "-r", img+":/copy", img+":/copy/inner"); code != 1 || !strings.Contains(stderr, "into itself") {
		t.Errorf("cp into itself: %d %q", code, stderr)
	}
	base := filepath.Dir(img)
	orig, cp := filepath.Join(base, "orig"), filepath.Join(base, "cp")
	for _, d := range []string{orig, cp} {
		os.Mkdir(d, 0o755)
		os.Chown(d, nobody, nobody)
	}
	runAsNobody(t, "get", "-r", img+":/d", img+":/a", img+":/hard", orig)
	runAsNobody(t, "get", "-r", img+":/copy/d", img+":/copy/a", img+":/copy/hard", cp)
	compareTrees(t, orig, cp, []string{"d", "a", "hard"})
	out, _, _ := runAsNobody(t, "stat", "-c", "%u:%g %h", img+":/copy/a")
	if out != "65534:65534 2\n" {
		t.Errorf("cp kept owner and links as %q, want 65534:65534 2", out)
	}
}

func TestFsutilDiff(t *testing.T) {
	src := fsuTree(t)
	os.Chmod(src, 0o755)
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, nobody, nobody) })
	img := fsuFFS(t)
	if _, stderr, code := runAsNobody(t, "put", "-r", "--preserve-owner", filepath.Join(src, "d"), filepath.Join(src, "a"), filepath.Join(src, "l"), img+":/"); code != 0 {
		t.Fatalf("put: %d %s", code, stderr)
	}
	if out, stderr, code := runAsNobody(t, "diff", img+":/d", filepath.Join(src, "d")); code != 0 {
		t.Errorf("diff of a tree and its copy: status %d:\n%s%s", code, out, stderr)
	}
	os.WriteFile(filepath.Join(src, "d", "big"), bytes.Repeat([]byte("0123456789abcdeF"), 20000), 0o755)
	os.Chmod(filepath.Join(src, "d", "sub"), 0o700)
	os.WriteFile(filepath.Join(src, "d", "new"), nil, 0o644)
	out, _, code := runAsNobody(t, "diff", "--no-times", img+":/d", filepath.Join(src, "d"))
	for _, want := range []string{"Files " + img + ":/d/big and " + filepath.Join(src, "d", "big") + " differ", "Only in " + filepath.Join(src, "d") + ": new", "Modes differ: " + img + ":/d/sub 0750"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff after changes: no %q in:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("diff of different trees: status %d, want 1", code)
	}
	if _, _, code := runAsNobody(t, "diff", img+":/nope", src); code != 2 {
		t.Errorf("diff of a missing path: status %d, want 2", code)
	}
}

func TestFsutilXattrs(t *testing.T) {
	testenv.Tool(t, "debugfs", "getfattr")
	img := fsuExt4(t, fsuTree(t))
	testenv.Run(t, "", "debugfs", "-w", "-R", "ea_set /a user.foo bar", img)
	testenv.Run(t, "", "debugfs", "-w", "-R", "ea_set /d/big user.bin 0x0102", img)
	mnt := loopMount(t, img)
	for _, flags := range [][]string{{"-d"}, {"-d", "-e", "hex"}, {"-n", "user.foo"}, {}} {
		files := []string{"a", "d/big"}
		if len(flags) > 0 && flags[0] == "-n" {
			files = files[:1] // d/big has no user.foo: an error in both
		}
		args := []string{"getfattr"}
		args = append(args, flags...)
		for _, f := range files {
			args = append(args, img+":/"+f)
		}
		ours, stderr, code := runAsNobody(t, args...)
		if code != 0 {
			t.Fatalf("getfattr %v: %d %s", flags, code, stderr)
		}
		theirs := gnu(t, mnt, "getfattr", append(flags, files...)...)
		if strings.ReplaceAll(ours, img+":/", "") != theirs {
			t.Errorf("getfattr %v differs from getfattr on the loop mount:\nrumpfs:\n%s\ngetfattr:\n%s", flags, ours, theirs)
		}
	}
	// get --xattrs gives the host copies the same attributes, and put
	// --xattrs carries them into an FFS image.
	dst := filepath.Join(filepath.Dir(img), "x")
	os.Mkdir(dst, 0o755)
	os.Chown(dst, nobody, nobody)
	if _, stderr, code := runAsNobody(t, "get", "-r", "--xattrs", img+":/a", img+":/d", dst); code != 0 {
		t.Fatalf("get --xattrs: %d %s", code, stderr)
	}
	hostView := gnu(t, dst, "getfattr", "-d", "-e", "hex", "a", "d/big")
	if want := gnu(t, mnt, "getfattr", "-d", "-e", "hex", "a", "d/big"); hostView != want {
		t.Errorf("get --xattrs: the copies have\n%s\nthe loop mount\n%s", hostView, want)
	}
	ffs := fsuFFS(t)
	if _, stderr, code := runAsNobody(t, "put", "-r", "--xattrs", filepath.Join(dst, "a"), filepath.Join(dst, "d"), ffs+":/"); code != 0 {
		t.Fatalf("put --xattrs: %d %s", code, stderr)
	}
	mustBeClean(t, ffs, "put --xattrs")
	if ours, _, _ := runAsNobody(t, "getfattr", "-d", "-e", "hex", ffs+":/a", ffs+":/d/big"); strings.ReplaceAll(ours, ffs+":/", "") != hostView {
		t.Errorf("put --xattrs: the image has\n%s\nthe host\n%s", ours, hostView)
	}
	runAsNobody(t, "touch", ffs+":/f")
	if _, stderr, code := runAsNobody(t, "setfattr", "-n", "user.k", "-v", "0x00ff", ffs+":/f"); code != 0 {
		t.Fatalf("setfattr: %d %s", code, stderr)
	}
	mustBeClean(t, ffs, "setfattr")
	if out, _, _ := runAsNobody(t, "getfattr", "-d", "-e", "hex", ffs+":/f"); !strings.Contains(out, "user.k=0x00ff") {
		t.Errorf("getfattr after setfattr: %q", out)
	}
	runAsNobody(t, "setfattr", "-x", "user.k", ffs+":/f")
	mustBeClean(t, ffs, "setfattr -x")
	if out, _, _ := runAsNobody(t, "getfattr", "-d", ffs+":/f"); out != "" {
		t.Errorf("getfattr after setfattr -x: %q", out)
	}
}

// The image-builder job on a partitioned disk, without root: a GPT disk
// with an FFS and an ext4 partition; files put into the FFS one (then
// clean), the ext4 one read through its selector and compared with the
// kernel's loop mount of that partition.
func TestFsutilPartitionedDisk(t *testing.T) {
	testenv.Tool(t, "sgdisk", "makefs", "mke2fs", "setpriv")
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	disk := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(disk, 48<<20)
	testenv.Run(t, "", "sgdisk", "-n", "1:2048:+16M", "-c", "1:boot", "-n", "2:0:+16M", "-c", "2:root", disk)
	ffs := filepath.Join(dir, "p1.ffs")
	testenv.Run(t, "", "makefs", "-t", "ffs", "-o", "version=2", "-s", "16m", ffs, t.TempDir())
	testenv.Run(t, "", "dd", "if="+ffs, "of="+disk, "bs=1M", "seek=1", "conv=notrunc", "status=none")
	src := fsuTree(t)
	// partition 2 starts right after partition 1: sector 2048+32768
	testenv.Run(t, "", "mke2fs", "-q", "-t", "ext4", "-E", fmt.Sprintf("offset=%d", (2048+32768)*512), "-d", src, disk, "16M")
	os.Chown(disk, nobody, nobody)

	conf := filepath.Join(dir, "app.conf")
	os.WriteFile(conf, []byte("key=value\n"), 0o644)
	if _, stderr, code := runAsNobody(t, "mkdir", "-p", disk+"@boot:/EFI/app"); code != 0 {
		t.Fatalf("mkdir in partition boot: %d %s", code, stderr)
	}
	if _, stderr, code := runAsNobody(t, "put", conf, disk+"@1:/EFI/app"); code != 0 {
		t.Fatalf("put into partition 1: %d %s", code, stderr)
	}
	mustBeClean(t, disk+"@1", "put into a partition")
	if out, _, code := runAsNobody(t, "cat", disk+"@boot:/EFI/app/app.conf"); code != 0 || out != "key=value\n" {
		t.Errorf("cat back from partition boot: %d %q", code, out)
	}

	ours, stderr, code := runAsNobody(t, "ls", "-lR", disk+"@root:/d")
	if code != 0 {
		t.Fatalf("ls of partition root: %d %s", code, stderr)
	}
	testenv.Root(t)
	mnt := t.TempDir()
	testenv.Run(t, "", "mount", "-o", fmt.Sprintf("loop,ro,offset=%d", (2048+32768)*512), disk, mnt)
	defer exec.Command("umount", mnt).Run()
	theirs := gnu(t, mnt, "ls", "-lnR", "d")
	header := regexp.MustCompile(`(?m)^\S+:$`)
	if header.ReplaceAllString(ours, "H:") != header.ReplaceAllString(theirs, "H:") {
		t.Errorf("ls -lR of the ext4 partition differs from GNU on its loop mount:\nrumpfs:\n%s\nGNU:\n%s", ours, theirs)
	}
}

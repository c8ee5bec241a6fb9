package test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The command as people use it (issue #14): every answer below goes
// through the built binary, and is checked for its stream and status.

// TestUsageErrors: a parse error is printed with the command's synopsis
// and exits 2 (fsck: 16, as fsck(8)); nothing goes to stdout.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"info", "--bogus", "x"}, 2, "unknown flag: --bogus"},
		{[]string{"mount", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"parts", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"fsck", "--bogus"}, 16, "unknown flag: --bogus"},
		{[]string{"parts"}, 2, "missing arguments"},
		{[]string{"info", "a", "b"}, 2, `unexpected argument "b"`},
		{[]string{"mount", "--daemon", "-f", "x", "y"}, 2, "--daemon and --foreground contradict"},
		{[]string{"mount", "-o", "ro,bogus", "x", "y"}, 2, `unknown option "bogus"`},
		{[]string{"mount", "--cache", "lots", "x", "y"}, 2, `--cache "lots"`},
	} {
		stdout, stderr, code := rumpfs(tc.args...)
		cmd := tc.args[0]
		if code != tc.code || stdout != "" || !strings.HasPrefix(stderr, "rumpfs "+cmd+": "+tc.say) ||
			!strings.Contains(stderr, "\nusage: rumpfs "+cmd) || !strings.Contains(stderr, "rumpfs help "+cmd) {
			t.Errorf("rumpfs %s: exit %d, stdout %q, stderr %q; want %d, the error, the synopsis and the help hint on stderr",
				strings.Join(tc.args, " "), code, stdout, stderr, tc.code)
		}
	}
}

// TestHelp: help asked for goes to stdout with options and examples,
// booleans shown as plain flags, exit 0.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"mount", "info", "parts", "fsck"} {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			stdout, stderr, code := rumpfs(args...)
			if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: rumpfs "+cmd) ||
				!strings.Contains(stdout, "\nexamples:\n  rumpfs "+cmd) || !strings.Contains(stdout, "\noptions:\n") {
				t.Errorf("rumpfs %s: exit %d, stderr %q, stdout:\n%s", strings.Join(args, " "), code, stderr, stdout)
			}
			if strings.Contains(stdout, "[=true|false]") || strings.Contains(stdout, "[=") {
				t.Errorf("rumpfs %s: a boolean shown with a value:\n%s", strings.Join(args, " "), stdout)
			}
		}
	}
	stdout, _, _ := rumpfs("mount", "--help")
	for _, want := range []string{"  -f, --foreground ", "the default", "      --daemon ", "--pidfile FILE", "--log FILE", "-q, --quiet "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("mount --help lacks %q", want)
		}
	}
	if stdout, _, code := rumpfs("--help"); code != 0 || !strings.Contains(stdout, "commands:") {
		t.Errorf("rumpfs --help: exit %d, stdout %q", code, stdout)
	}
	if _, stderr, code := rumpfs(); code != 2 || !strings.Contains(stderr, "commands:") {
		t.Errorf("rumpfs alone: exit %d, stderr %q; want 2 and the commands on stderr", code, stderr)
	}
}

// TestVersion: version, commit, Go version and the drivers built in.
func TestVersion(t *testing.T) {
	stdout, stderr, code := rumpfs("--version")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || stderr != "" || len(lines) != 4 || !strings.HasPrefix(lines[0], "rumpfs ") ||
		!strings.HasPrefix(lines[1], "commit ") || !strings.HasPrefix(lines[2], "go1.") ||
		!strings.HasPrefix(lines[3], "drivers: ") || !strings.Contains(lines[3], "ext2fs") || !strings.Contains(lines[3], "ffs") {
		t.Errorf("rumpfs --version: exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
}

// ext4Image makes an ext4 image of size MiB holding files f0 to f5 of
// fileMiB MiB each, file i filled with the digit i.
func ext4Image(t *testing.T, mib, fileMiB int) string {
	t.Helper()
	mke2fs := needTool(t, "mke2fs")
	src := t.TempDir()
	for i := range 6 {
		write(t, filepath.Join(src, "f"+strconv.Itoa(i)), strings.Repeat(strconv.Itoa(i), fileMiB<<20))
	}
	img := filepath.Join(t.TempDir(), "ext4.img")
	run(t, "", mke2fs, "-q", "-F", "-t", "ext4", "-b", "4096", "-d", src, img, strconv.Itoa(mib)+"M")
	return img
}

// TestProbeDriversBuiltIn: info, parts and mount agree with the drivers
// the binary links in (rumpfs --version lists them): a FAT image has a
// driver exactly when msdos is linked in, and without one mount says this
// build has none and names those it has.
func TestProbeDriversBuiltIn(t *testing.T) {
	mkfs := needTool(t, "mkfs.vfat")
	version, _, _ := rumpfs("--version")
	_, list, ok := strings.Cut(version, "drivers: ")
	if !ok {
		t.Fatalf("--version names no drivers:\n%s", version)
	}
	list = strings.TrimSpace(list)
	hasMsdos := slices.Contains(strings.Split(list, ", "), "msdos")
	img := filepath.Join(t.TempDir(), "fat.img")
	os.WriteFile(img, nil, 0o644)
	os.Truncate(img, 4<<20)
	run(t, "", mkfs, img)
	stdout, _, code := rumpfs("info", img)
	if code != 0 || strings.Contains(stdout, "FAT12 (no driver)") == hasMsdos {
		t.Errorf("info with drivers %s: exit %d:\n%s", list, code, stdout)
	}
	stdout, _, _ = rumpfs("parts", "--json", img)
	var parts struct {
		FS struct {
			Type   string
			Driver bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &parts); err != nil || parts.FS.Type != "msdos" || parts.FS.Driver != hasMsdos {
		t.Errorf("parts --json with drivers %s: %v %+v", list, err, parts)
	}
	if hasMsdos {
		return
	}
	_, stderr, code := rumpfs("mount", img, mountDir(t))
	if code != 1 {
		t.Errorf("mount of FAT: exit %d", code)
	}
	oneLine(t, "mount of FAT", stderr, img+" holds FAT12", "no msdos driver", "drivers: "+list)
}

// TestMountMessages: the image is named (never /dev/rumpfsN), a wrong -t
// names what the image holds, a partitioned disk lists its selectors, an
// unknown --etfs type is named, -o rw on ext4 is refused.
func TestMountMessages(t *testing.T) {
	dir := t.TempDir()
	ffsImg := emptyFFS(t, dir, ufs2, "4m")
	ext4 := ext4Image(t, 16, 1)
	mnt := mountDir(t)

	_, stderr, code := rumpfs("mount", "-t", "ext4", ffsImg, mnt)
	if code != 1 {
		t.Errorf("-t ext4 on FFS: exit %d", code)
	}
	oneLine(t, "-t ext4 on FFS", stderr, ffsImg+" holds FFSv2, not ext2fs", "-t ffs")
	_, stderr, _ = rumpfs("mount", "-t", "ffs", ext4, mnt)
	oneLine(t, "-t ffs on ext4", stderr, ext4+" holds ext4, not ffs", "-t ext2fs")

	_, stderr, code = rumpfs("mount", "-o", "rw", ext4, mnt)
	if code != 1 {
		t.Errorf("-o rw on ext4: exit %d", code)
	}
	oneLine(t, "-o rw on ext4", stderr, "ext4 can only be mounted read-only", "drop -o rw")

	_, stderr, code = rumpfs("mount", "--etfs", "/img="+ext4+":bogus", "-t", "rumpfs", "none", mnt)
	if code != 1 {
		t.Errorf("--etfs :bogus: exit %d", code)
	}
	oneLine(t, "--etfs :bogus", stderr, `unknown type "bogus"`)

	sgdisk := needTool(t, "sgdisk")
	disk := filepath.Join(dir, "disk.img")
	os.WriteFile(disk, nil, 0o644)
	os.Truncate(disk, 24<<20)
	run(t, "", sgdisk, "-n", "1:2048:+16M", "-c", "1:linuxdata", "-t", "1:8300", "-n", "2:0:0", "-c", "2:spare", disk)
	part, _ := os.ReadFile(ext4)
	f, _ := os.OpenFile(disk, os.O_WRONLY, 0)
	f.WriteAt(part, 2048*512)
	f.Close()
	_, stderr, code = rumpfs("mount", disk, mnt)
	if code != 1 {
		t.Errorf("partitioned disk: exit %d", code)
	}
	oneLine(t, "partitioned disk without a selector", stderr, "partitioned disk (GPT)",
		disk+"@1 or "+disk+"@linuxdata (ext4)", disk+"@2 or "+disk+"@spare", "use "+disk+"@1 or "+disk+"@linuxdata")

	// A driver's own message names the image as given: a superblock
	// with an unknown incompatible feature.
	b, _ := os.ReadFile(ext4)
	b[1024+96+3] |= 0x40
	bad := filepath.Join(dir, "bad.img")
	os.WriteFile(bad, b, 0o644)
	_, stderr, _ = rumpfs("mount", "-o", "ro", bad, mnt)
	if strings.Contains(stderr, "/dev/rumpfs") || !strings.Contains(stderr, "ext2fs "+bad+":") {
		t.Errorf("driver refusal: want the image named, not the kernel's device; got:\n%s", stderr)
	}
}

// TestReadOnlyDriverMount: a plain mount of ext4 mounts read-only with a
// one-line notice, and says one line on stdout once live; -q silences
// both.
func TestReadOnlyDriverMount(t *testing.T) {
	needFUSE(t)
	img := ext4Image(t, 16, 1)
	mnt := mountDir(t)
	s := startServer(t, mnt, img)
	if got := s.stderr.String(); got != "rumpfs: mount: "+img+": ext4 mounted read-only: the ext2fs driver cannot write yet\n" {
		t.Errorf("notice: %q", got)
	}
	wantContent(t, filepath.Join(mnt, "f3"), strings.Repeat("3", 1<<20))
	if err := os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("create on the read-only mount: %v, want EROFS", err)
	}
	waitFor(t, "the live line", func() bool { return strings.Contains(s.stdout.String(), "\n") })
	if out := s.stdout.String(); out != "rumpfs: mount: serving "+img+" on "+mnt+" (ext4, read-only); fusermount -u "+mnt+" or Ctrl-C stops it\n" {
		t.Errorf("live line: %q", out)
	}
	exec.Command("fusermount3", "-u", mnt).Run()
	s.wait()

	q := startServer(t, mountDir(t), "-q", img)
	q.unmount()
	if q.stdout.String() != "" {
		t.Errorf("-q: stdout %q", q.stdout.String())
	}
}

// TestTruncatedImage: the first part of an ext4 image mounts read-only
// with a warning; files inside the part are there, reads past it fail
// with EIO; info reports the truncation.
func TestTruncatedImage(t *testing.T) {
	needFUSE(t)
	// 24 MiB of files: the last ones lie past the first 20 MiB.
	full := ext4Image(t, 64, 4)
	b, _ := os.ReadFile(full)
	img := filepath.Join(t.TempDir(), "trunc.img")
	os.WriteFile(img, b[:20<<20], 0o644)
	stdout, _, code := rumpfs("info", img)
	if code != 0 || !strings.Contains(stdout, "truncated:    it holds 20 MiB of the 64 MiB its ext4 file system spans") {
		t.Errorf("info of a truncated image: exit %d:\n%s", code, stdout)
	}
	mnt := mountDir(t)
	s := startServer(t, mnt, "-q", img)
	if got := s.stderr.String(); !strings.HasPrefix(got, "rumpfs: mount: warning: "+img+" is truncated") || strings.Count(got, "\n") != 1 {
		t.Errorf("warning: %q", got)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(mnt, &st); err != nil || st.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("statfs: %v, flags %#x: want a read-only mount", err, st.Flags)
	}
	wantContent(t, filepath.Join(mnt, "f0"), strings.Repeat("0", 4<<20))
	// Every name is listed (the directory is early); a file whose data
	// lies past the end answers EIO, never zeros.
	eio := 0
	for i := range 6 {
		got, err := os.ReadFile(filepath.Join(mnt, "f"+strconv.Itoa(i)))
		switch {
		case errors.Is(err, unix.EIO):
			eio++
		case err != nil:
			t.Errorf("f%d: %v, want its data or EIO", i, err)
		case string(got) != strings.Repeat(strconv.Itoa(i), 4<<20):
			t.Errorf("f%d: wrong data", i)
		}
	}
	if eio == 0 {
		t.Error("no file past the end of the image answered EIO")
	}
	exec.Command("fusermount3", "-u", mnt).Run()
	s.wait()
	_, stderr, code := rumpfs("mount", "-o", "rw", img, mnt)
	if code != 1 {
		t.Errorf("-o rw on a truncated image: exit %d", code)
	}
	oneLine(t, "-o rw on a truncated image", stderr, "is truncated", "drop -o rw")
}

// TestFsckStatuses: fsck(8)'s exit statuses.
func TestFsckStatuses(t *testing.T) {
	dir := t.TempDir()
	clean := emptyFFS(t, dir, ufs2, "4m")
	if _, _, code := rumpfs("fsck", "-n", clean); code != 0 {
		t.Errorf("clean FFS: exit %d, want 0", code)
	}
	ext4 := ext4Image(t, 16, 1)
	if _, stderr, code := rumpfs("fsck", "-n", ext4); code != 8 {
		t.Errorf("ext4 (cannot be checked): exit %d, want 8; %s", code, stderr)
	}
	if _, _, code := rumpfs("fsck", "-n", filepath.Join(dir, "missing")); code != 8 {
		t.Errorf("missing image: exit %d, want 8", code)
	}
	if _, _, code := rumpfs("fsck", "--no=false", clean); code != 16 {
		t.Errorf("--no=false: exit %d, want 16", code)
	}
	// Damage the summary: a problem found and left.
	b, _ := os.ReadFile(clean)
	for _, off := range []int{65536, 8192} {
		if len(b) > off+1376 && string(b[off+1372:off+1376]) == "\x19\x01\x54\x19" {
			b[off+1024] ^= 0x55 // fs_cstotal.cs_ndir
			break
		}
	}
	damaged := filepath.Join(dir, "damaged.img")
	os.WriteFile(damaged, b, 0o644)
	if stdout, _, code := rumpfs("fsck", "-n", damaged); code != 4 {
		t.Errorf("damaged FFS: exit %d, want 4:\n%s", code, stdout)
	}
}

// TestDaemonPidfileLog: --daemon prints the server's pid and returns once
// live; --pidfile holds the pid while it runs; --log gets the live line,
// the kernel's messages and --stats, and the pid file goes at exit.
func TestDaemonPidfileLog(t *testing.T) {
	needFUSE(t)
	dir := t.TempDir()
	pidfile, logFile := filepath.Join(dir, "pid"), filepath.Join(dir, "log")
	mnt := mountDir(t)
	cmd := exec.Command(rumpfsBin, "mount", "--daemon", "--pidfile", pidfile, "--log", logFile, "--stats", "-t", "rumpfs", "none", mnt)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mount --daemon: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		t.Fatalf("mount --daemon printed %q, want the pid", out)
	}
	t.Cleanup(func() {
		if isMounted(mnt) {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
	})
	if !isMounted(mnt) {
		t.Fatal("--daemon returned before the mount was live")
	}
	if b, err := os.ReadFile(pidfile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		t.Errorf("pid file: %q %v, want %d", b, err, pid)
	}
	write(t, filepath.Join(mnt, "f"), "x")
	if err := exec.Command("fusermount3", "-u", mnt).Run(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("daemon %d still running 30 s after its unmount", pid)
		}
	}
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	lf, _ := os.Open(logFile)
	b, _ := io.ReadAll(lf)
	lf.Close()
	log := string(b)
	for _, want := range []string{"rumpfs: mount: serving none on " + mnt, "pid " + strconv.Itoa(pid), "vnodes:", "p2k:"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestInfoRefused: info says what the driver would refuse, asking it:
// casefold and bigalloc ext4.
func TestInfoRefused(t *testing.T) {
	mke2fs := needTool(t, "mke2fs")
	for _, tc := range []struct{ opts, want string }{
		{"casefold", "unsupported incompatible features: casefold"},
		{"bigalloc", "unsupported features: bigalloc"},
	} {
		img := filepath.Join(t.TempDir(), tc.opts+".img")
		run(t, "", mke2fs, "-q", "-F", "-t", "ext4", "-O", tc.opts, img, "32M")
		stdout, _, code := rumpfs("info", img)
		if code != 0 || !strings.Contains(stdout, "refused:      the ext2fs driver will not mount it: "+tc.want) {
			t.Errorf("info of %s ext4: exit %d:\n%s", tc.opts, code, stdout)
		}
		stdout, _, _ = rumpfs("info", "--json", img)
		var got struct{ Refused string }
		if err := json.Unmarshal([]byte(stdout), &got); err != nil || got.Refused != tc.want {
			t.Errorf("info --json of %s ext4: %v, refused %q", tc.opts, err, got.Refused)
		}
	}
	plain := ext4Image(t, 16, 1)
	if stdout, _, _ := rumpfs("info", plain); strings.Contains(stdout, "refused") {
		t.Errorf("info of a plain ext4 says refused:\n%s", stdout)
	}
}

// TestMakeInstall: make install puts a working rumpfs in PREFIX/bin, with
// the commit it was built from.
func TestMakeInstall(t *testing.T) {
	mk := needTool(t, "make")
	needTool(t, "git")
	dir := t.TempDir()
	out, err := exec.Command(mk, "-C", "..", "install", "BIN="+filepath.Join(dir, "build", "rumpfs"), "PREFIX="+filepath.Join(dir, "usr")).CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	head, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	v, err := exec.Command(filepath.Join(dir, "usr", "bin", "rumpfs"), "--version").Output()
	if err != nil || !strings.Contains(string(v), "\ncommit "+strings.TrimSpace(string(head))) {
		t.Errorf("installed rumpfs --version: %v\n%s", err, v)
	}
}

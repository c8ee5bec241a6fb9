package test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

// renameScript runs renameat2 exchanges and long symlinks in dir (made
// empty by the caller) as a user would, and returns what each step
// answered and what the tree looked like after it. The expected answer is
// the same script on a Linux kernel mount.
func renameScript(t *testing.T, dir string) []string {
	t.Helper()
	p := func(name string) string { return filepath.Join(dir, name) }
	var out []string
	step := func(what string, err error) {
		out = append(out, fmt.Sprintf("%s: %s", what, errnoName(err)))
		out = append(out, snapshot(t, dir)...)
	}
	x := func(from, to string, flags uint) {
		step(fmt.Sprintf("renameat2(%s, %s, %#x)", from, to, flags), unix.Renameat2(unix.AT_FDCWD, p(from), unix.AT_FDCWD, p(to), flags))
	}
	write(t, p("a"), "A")
	write(t, p("b"), "B")
	for _, d := range []string{"p1", "p2", "p1/d1", "p2/d2", "p2/d2/sub"} {
		mkdir(t, p(d))
	}
	write(t, p("p2/d2/inner"), "I")
	step("setup", nil)
	x("a", "b", unix.RENAME_EXCHANGE)
	x("p1/d1", "p2/d2", unix.RENAME_EXCHANGE)
	x("a", "p2/d2", unix.RENAME_EXCHANGE)
	x("p2/d2", "p1", unix.RENAME_EXCHANGE)
	x("b", "none", unix.RENAME_EXCHANGE)
	x("none", "b", unix.RENAME_EXCHANGE)
	for _, d := range []string{"q", "q/r", "q/r/s"} {
		mkdir(t, p(d))
	}
	x("q", "q/r/s", unix.RENAME_EXCHANGE)
	x("q/r/s", "q", unix.RENAME_EXCHANGE)
	x("q/r", "q/r/s", unix.RENAME_EXCHANGE)
	x("q/r/s", "q/r", unix.RENAME_EXCHANGE)
	x("b", "p1", unix.RENAME_EXCHANGE|unix.RENAME_NOREPLACE)
	x("b", "b", unix.RENAME_EXCHANGE)
	x("b", "p1", unix.RENAME_NOREPLACE)
	x("b", "c", unix.RENAME_NOREPLACE)

	// Symlinks of "./" repeated and a name, resolving to a file and a
	// directory, made with ln -s and followed by the host.
	for _, n := range []int{1023, 1024, 4095, 4096} {
		for _, to := range []string{"c", "q"} {
			tail := to
			if (n-len(tail))%2 != 0 {
				tail = "/" + tail
			}
			target := strings.Repeat("./", (n-len(tail))/2) + tail
			link := fmt.Sprintf("%s%d", to, n)
			b, err := exec.Command("ln", "-s", target, p(link)).CombinedOutput()
			msg := string(b)
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				msg = msg[i+2:] // ln's message names the link: keep the reason
			}
			out = append(out, fmt.Sprintf("ln -s <%d bytes> %s: %v %s", n, link, err, msg))
			got, err := os.Readlink(p(link))
			out = append(out, fmt.Sprintf("readlink %s: %d bytes, equal %v, %s", link, len(got), got == target, errnoName(err)))
			b, err = os.ReadFile(p(link))
			out = append(out, fmt.Sprintf("read through %s: %q %s", link, b, errnoName(err)))
			ents, err := os.ReadDir(p(link + "/"))
			out = append(out, fmt.Sprintf("readdir through %s/: %d entries %s", link, len(ents), errnoName(err)))
		}
	}
	out = append(out, snapshot(t, dir)...)
	return out
}

// errnoName spells an error as its errno, "ok" for none.
func errnoName(err error) string {
	var en syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &en):
		return unix.ErrnoName(en)
	}
	return err.Error()
}

// snapshot describes the tree under dir in terms two file systems share:
// types, file contents, link targets (length and digest), link counts of
// directories, and whether a directory's ".." is its parent.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		var st, up, parent unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			unix.Stat(path+"/..", &up)
			unix.Stat(filepath.Dir(path), &parent)
			line := fmt.Sprintf("%s dir nlink %d", rel, st.Nlink)
			if rel != "." {
				line += fmt.Sprintf(" dotdot-is-parent %v", up.Ino == parent.Ino)
			}
			out = append(out, line)
		case unix.S_IFREG:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s file nlink %d %q", rel, st.Nlink, b))
		case unix.S_IFLNK:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s link %d bytes %x", rel, len(target), sha256.Sum256([]byte(target))))
		default:
			out = append(out, fmt.Sprintf("%s mode %o", rel, st.Mode))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// ext4Scratch loop-mounts a fresh ext4 image read-write and returns an
// empty directory on it (its root holds lost+found). The block size is
// 4096: ext4 refuses a symlink target whose NUL does not fit in one block,
// so mke2fs's 1 KiB default for a small image would stop at 1023 bytes.
func ext4Scratch(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "ext4.img")
	testenv.Run(t, "", "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", img, "16M")
	mnt := t.TempDir()
	testenv.Run(t, "", "mount", "-t", "ext4", "-o", "loop", img, mnt)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	w := filepath.Join(mnt, "w")
	mkdir(t, w)
	return w
}

// TestRenameExchangeAndLongSymlinks runs renameScript through FUSE mounts
// of the in-memory root and of a makefs UFS2 image, and wants every
// answer and every tree as the Linux kernel gives them on ext4. The FFS
// image is then checked with rumpfs fsck -n.
func TestRenameExchangeAndLongSymlinks(t *testing.T) {
	needFUSE(t)
	needTool(t, "ln")
	want := renameScript(t, ext4Scratch(t))
	compare := func(t *testing.T, got []string) {
		t.Helper()
		for i := 0; i < max(len(got), len(want)); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Fatalf("line %d differs from the kernel's ext4:\n got: %s\nwant: %s", i, g, w)
			}
		}
	}
	t.Run("rumpfs", func(t *testing.T) {
		mnt := mountDir(t)
		s := startServer(t, mnt, rootArgs...)
		w := filepath.Join(mnt, "w")
		mkdir(t, w)
		compare(t, renameScript(t, w))
		wantErrno(t, "RENAME_WHITEOUT", unix.Renameat2(unix.AT_FDCWD, filepath.Join(w, "c"), unix.AT_FDCWD, filepath.Join(w, "e"), unix.RENAME_WHITEOUT), unix.EINVAL)
		s.unmount()
	})
	t.Run("ffs-ufs2", func(t *testing.T) {
		img := emptyFFS(t, t.TempDir(), ufs2, "32m")
		mnt := mountDir(t)
		s := startServer(t, mnt, "-t", "ffs", img)
		w := filepath.Join(mnt, "w")
		mkdir(t, w)
		compare(t, renameScript(t, w))
		wantErrno(t, "RENAME_WHITEOUT", unix.Renameat2(unix.AT_FDCWD, filepath.Join(w, "c"), unix.AT_FDCWD, filepath.Join(w, "e"), unix.RENAME_WHITEOUT), unix.EINVAL)
		s.unmountFFS()
		fsckClean(t, "after exchanges and long symlinks", img)
	})
}

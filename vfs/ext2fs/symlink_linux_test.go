package ext2fs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestLongSymlinks reads slow symlinks of 1023, 1024 and 4095 bytes (the
// longest a 4 KiB block holds with its NUL, and Linux's PATH_MAX less one)
// from images mke2fs -d made, through the VFS, and wants the targets and
// the files reached through them to be what the kernel's loop mount shows.
// A 1 KiB-block image holds only the 1023-byte ones.
func TestLongSymlinks(t *testing.T) {
	need(t, "mke2fs")
	for _, c := range []struct {
		fstype string
		bsize  int
	}{{"ext4", 4096}, {"ext2", 4096}, {"ext4", 1024}} {
		t.Run(fmt.Sprintf("%s-%d", c.fstype, c.bsize), func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			if err := os.MkdirAll(filepath.Join(src, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(src, "f"), []byte("F"), 0o644)
			os.WriteFile(filepath.Join(src, "d", "g"), []byte("G"), 0o644)
			var links []string
			for _, n := range []int{1023, 1024, 4095} {
				if n >= c.bsize {
					continue
				}
				for _, to := range []string{"f", "d"} {
					tail := to
					if (n-len(tail))%2 != 0 {
						tail = "/" + tail
					}
					link := fmt.Sprintf("%s%d", to, n)
					if err := os.Symlink(strings.Repeat("./", (n-len(tail))/2)+tail, filepath.Join(src, link)); err != nil {
						t.Fatal(err)
					}
					links = append(links, link)
				}
			}
			img := filepath.Join(dir, "img")
			run(t, "mke2fs", "-q", "-F", "-t", c.fstype, "-b", fmt.Sprint(c.bsize), "-d", src, img, "8M")
			kmnt := kernelMount(t, img, false)
			v := bootKernel(t)
			v.mountImage(t, img)
			buf := make([]byte, 2*vfs.PathMax)
			for _, link := range links {
				want, err := os.Readlink(filepath.Join(kmnt, link))
				if err != nil {
					t.Fatal(err)
				}
				n, e := vfs.Readlink(v.l, "/mnt/"+link, buf)
				if e != 0 || string(buf[:n]) != want {
					t.Errorf("%s: readlink %d bytes %v, kernel %d bytes", link, n, e, len(want))
				}
				// Through the link: the file, or a file in the directory.
				rel := link
				if link[0] == 'd' {
					rel += "/g"
				}
				kb, kerr := os.ReadFile(filepath.Join(kmnt, rel))
				var va vfs.Vattr
				if e := vfs.Stat(v.l, "/mnt/"+rel, &va); e != 0 || kerr != nil || va.Size != int64(len(kb)) {
					t.Errorf("stat through %s: size %d %v; kernel %q %v", rel, va.Size, e, kb, kerr)
				}
			}
			// ext2fs does not write: an exchange answers EROFS.
			if e := vfs.Rename2(v.l, "/mnt/f", "/mnt/d", vfs.RenameExchange); e != unix.EROFS {
				t.Errorf("exchange on a read-only ext2fs mount: %v, want EROFS", e)
			}
			if len(links) == 0 {
				t.Fatal("no links made")
			}
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(kmnt, links[len(links)-1]), &st); err != nil || st.Blocks == 0 {
				t.Fatalf("the longest link is not a slow one: %v %d blocks", err, st.Blocks)
			}
		})
	}
}

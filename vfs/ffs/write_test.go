package ffs

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"golang.org/x/sys/unix"
)

func writeFile(t testing.TB, l *kernel.LWP, p string, data []byte) unix.Errno {
	t.Helper()
	fd, e := vfs.Open(l, p, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
	if e != 0 {
		return e
	}
	defer vfs.Close(l, fd)
	for len(data) > 0 {
		n, e := vfs.Write(l, fd, data)
		if e != 0 {
			return e
		}
		if n == 0 {
			return unix.EIO
		}
		data = data[n:]
	}
	return 0
}

func readVFS(t testing.TB, l *kernel.LWP, p string) []byte {
	t.Helper()
	fd, e := vfs.Open(l, p, unix.O_RDONLY, 0)
	if e != 0 {
		t.Fatalf("open %s: %v", p, e)
	}
	defer vfs.Close(l, fd)
	var out []byte
	buf := make([]byte, 256<<10)
	for {
		n, e := vfs.Read(l, fd, buf)
		if e != 0 {
			t.Fatalf("read %s: %v", p, e)
		}
		if n == 0 {
			return out
		}
		out = append(out, buf[:n]...)
	}
}

// TestENOSPC fills a small image with files of odd sizes (fragments,
// indirect blocks) until ENOSPC, checks what was written, halts and
// fscks, then deletes everything on a remount and finds all space back.
func TestENOSPC(t *testing.T) {
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("ufs%d", v), func(t *testing.T) {
			img := emptyImage(t, v, false, "4m", "bsize=4096,fsize=512,density=4096")
			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("mount: %v\n%s", e, k.Dmesg())
			}
			var before vfs.Statvfs
			var rootBefore vfs.Vattr
			vfs.StatvfsPath(l, "/mnt", &before)
			vfs.Stat(l, "/mnt", &rootBefore)
			written := map[string][]byte{}
			full := false
			for i := 0; i < 1000 && !full; i++ {
				p := fmt.Sprintf("/mnt/f%03d", i)
				size := 1000 + (i*37_123)%120_000
				data := fileData(uint64(i), size)
				fd, e := vfs.Open(l, p, unix.O_CREAT|unix.O_WRONLY, 0o644)
				if e == unix.ENOSPC {
					full = true
					break
				}
				if e != 0 {
					t.Fatalf("create %s: %v", p, e)
				}
				n, e := vfs.Write(l, fd, data)
				vfs.Close(l, fd)
				written[p] = data[:n]
				if e == unix.ENOSPC || n < size {
					full = true
				} else if e != 0 {
					t.Fatalf("write %s: %v", p, e)
				}
			}
			if !full {
				t.Fatal("never ran out of space")
			}
			// Full: more writes and a directory fail cleanly.
			if e := writeFile(t, l, "/mnt/more", fileData(9, 64<<10)); e != unix.ENOSPC {
				t.Fatalf("write on a full file system: %v, want ENOSPC", e)
			}
			if e := vfs.Mkdir(l, "/mnt/dir", 0o755); e != 0 && e != unix.ENOSPC {
				t.Fatalf("mkdir on a full file system: %v", e)
			}
			for p, want := range written {
				if got := readVFS(t, l, p); !bytes.Equal(got, want) {
					t.Fatalf("%s: %d bytes read back, %d written", p, len(got), len(want))
				}
			}
			halt(t, k, l)
			fsck(t, img)

			k, l = bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatalf("remount: %v\n%s", e, k.Dmesg())
			}
			ents, _ := vfs.ReadDir(l, "/mnt")
			for _, d := range ents {
				switch {
				case d.Name == "." || d.Name == "..":
				case d.Type == unix.DT_DIR:
					vfs.Rmdir(l, "/mnt/"+d.Name)
				default:
					if e := vfs.Unlink(l, "/mnt/"+d.Name); e != 0 {
						t.Fatalf("unlink %s: %v", d.Name, e)
					}
				}
			}
			var after vfs.Statvfs
			var rootAfter vfs.Vattr
			vfs.StatvfsPath(l, "/mnt", &after)
			vfs.Stat(l, "/mnt", &rootAfter)
			// Directories do not shrink: the root keeps what it grew.
			grown := uint64(rootAfter.Bytes-rootBefore.Bytes) / after.Frsize
			if after.Bfree+grown != before.Bfree || after.Ffree != before.Ffree {
				t.Errorf("after deleting everything: %d free frags, %d free inodes; before %d, %d",
					after.Bfree, after.Ffree, before.Bfree, before.Ffree)
			}
			halt(t, k, l)
			fsck(t, img)
		})
	}
}

// setSuperblock edits the superblock of img with fn (offsets as in
// struct fs).
func setSuperblock(t *testing.T, img string, fn func(sb *Superblock, raw []byte)) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sb, err := FindSuperblock(nil, &bio.ReaderDevice{R: f, Len: st.Size()})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, sb.SBSize)
	f.ReadAt(raw, sb.Location)
	fn(sb, raw)
	if _, err := f.WriteAt(raw, sb.Location); err != nil {
		t.Fatal(err)
	}
}

func sha(t *testing.T, img string) [32]byte {
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestDirtyRefused: an image whose clean flag is off, or that carries a
// WAPBL journal, refuses a read-write mount with a message saying why
// and mounts read-only with a warning, without a byte changed.
func TestDirtyRefused(t *testing.T) {
	for _, c := range []struct {
		name, why string
		edit      func(sb *Superblock, raw []byte)
	}{
		{"unclean", "not cleanly unmounted", func(sb *Superblock, raw []byte) { raw[209] = 0 }},
		{"wapbl-dirty", "WAPBL journal that needs replaying", func(sb *Superblock, raw []byte) {
			raw[209] = 0
			sb.Order.PutUint32(raw[1312:], sb.Flags|disk.FlagWAPBL)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := emptyImage(t, 2, false, "8m", "")
			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/w", 0); e != 0 {
				t.Fatal(e)
			}
			writeFile(t, l, "/w/file", []byte("hello"))
			halt(t, k, l)
			setSuperblock(t, img, c.edit)
			sum := sha(t, img)

			k, l = bootKernel(t)
			if e := mountImage(t, k, l, img, "/rw", 0); e != unix.EROFS {
				t.Fatalf("read-write mount of a %s image: %v, want EROFS", c.name, e)
			}
			if d := k.Dmesg(); !strings.Contains(d, c.why) || !strings.Contains(d, "refusing a read-write mount") {
				t.Fatalf("dmesg does not say why:\n%s", d)
			}
			if e := mountImage(t, k, l, img, "/ro", vfs.MNT_RDONLY); e != 0 {
				t.Fatalf("read-only mount: %v\n%s", e, k.Dmesg())
			}
			if d := k.Dmesg(); !strings.Contains(d, "mounted read-only") {
				t.Fatalf("no warning for the read-only mount:\n%s", d)
			}
			if got := readVFS(t, l, "/ro/file"); string(got) != "hello" {
				t.Fatalf("read %q", got)
			}
			if e := writeFile(t, l, "/ro/new", []byte("x")); e != unix.EROFS {
				t.Fatalf("create on the read-only mount: %v", e)
			}
			halt(t, k, l)
			if sha(t, img) != sum {
				t.Fatal("the image changed under a read-only mount")
			}
		})
	}
}

// TestSleuthKitAfterWrite: a UFS1 image written through the driver (both
// byte orders) reads the same through The Sleuth Kit: fls -r lists our
// names and inode numbers, icat gives our bytes.
func TestSleuthKitAfterWrite(t *testing.T) {
	needTool(t, "fls")
	needTool(t, "icat")
	for _, be := range []bool{false, true} {
		t.Run(fmt.Sprintf("be=%v", be), func(t *testing.T) {
			img := emptyImage(t, 1, be, "16m", "bsize=4096,fsize=512,density=4096")
			k, l := bootKernel(t)
			if e := mountImage(t, k, l, img, "/mnt", 0); e != 0 {
				t.Fatal(e)
			}
			files := map[string][]byte{}
			must := func(e unix.Errno, what string) {
				t.Helper()
				if e != 0 {
					t.Fatalf("%s: %v", what, e)
				}
			}
			must(vfs.Mkdir(l, "/mnt/dir", 0o755), "mkdir")
			must(vfs.Mkdir(l, "/mnt/dir/sub", 0o755), "mkdir")
			for i, size := range []int{0, 1, 511, 512, 4095, 4096, 4097, 12*4096 + 1, 1100 * 4096, 3000} {
				p := fmt.Sprintf("/mnt/dir/f%d", i)
				if i%3 == 0 {
					p = fmt.Sprintf("/mnt/dir/sub/g%d", i)
				}
				files[p] = fileData(uint64(i), size)
				must(writeFile(t, l, p, files[p]), "write "+p)
			}
			// Growth in place and by moving, truncation, renames, removal.
			must(writeFile(t, l, "/mnt/grow", fileData(1, 700)), "write")
			must(writeFile(t, l, "/mnt/blocker", fileData(2, 700)), "write")
			fd, _ := vfs.Open(l, "/mnt/grow", unix.O_WRONLY|unix.O_APPEND, 0)
			vfs.Write(l, fd, fileData(3, 3000))
			vfs.Close(l, fd)
			files["/mnt/grow"] = append(fileData(1, 700), fileData(3, 3000)...)
			files["/mnt/blocker"] = fileData(2, 700)
			must(vfs.Truncate(l, "/mnt/dir/f8", 20*4096+5), "truncate")
			files["/mnt/dir/f8"] = files["/mnt/dir/f8"][:20*4096+5]
			must(vfs.Rename(l, "/mnt/dir/f1", "/mnt/moved"), "rename")
			files["/mnt/moved"] = files["/mnt/dir/f1"]
			delete(files, "/mnt/dir/f1")
			must(vfs.Unlink(l, "/mnt/dir/f2"), "unlink")
			delete(files, "/mnt/dir/f2")
			must(vfs.Symlink(l, "dir/f4", "/mnt/link"), "symlink")
			for i := range 200 {
				must(writeFile(t, l, fmt.Sprintf("/mnt/dir/sub/many-%03d", i), nil), "create")
			}
			inos := map[string]uint64{}
			for p := range files {
				var va vfs.Vattr
				must(vfs.Stat(l, p, &va), "stat")
				inos[p] = va.Fileid
			}
			halt(t, k, l)
			fsck(t, img)

			out, err := exec.Command("fls", "-r", "-p", "-u", "-f", "ufs1", img).Output()
			if err != nil {
				t.Fatalf("fls: %v", err)
			}
			listed := map[string]uint64{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				head, p, ok := strings.Cut(line, "\t")
				if !ok || strings.Contains(p, "$OrphanFiles") {
					continue
				}
				fields := strings.Fields(head)
				n, _ := strconv.ParseUint(strings.TrimSuffix(fields[len(fields)-1], ":"), 10, 64)
				listed["/mnt/"+p] = n
			}
			var names []string
			for p := range listed {
				names = append(names, p)
			}
			sort.Strings(names)
			if len(listed) != len(files)+200+3 { // + many-*, dir, sub, link
				t.Errorf("fls lists %d names, want %d: %v", len(listed), len(files)+203, names)
			}
			for p, want := range files {
				if listed[p] != inos[p] {
					t.Fatalf("%s: fls says inode %d, we %d", p, listed[p], inos[p])
				}
				got, err := exec.Command("icat", "-f", "ufs1", img, fmt.Sprint(inos[p])).Output()
				if err != nil {
					t.Fatalf("icat %s: %v", p, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: icat gives %d bytes, we wrote %d", p, len(got), len(want))
				}
			}
		})
	}
}

// failWrites is a device whose writes fail (EIO) while fail says so.
type failWrites struct {
	*drivertest.FileDev
	fail func(p []byte, off int64) bool
}

func (d *failWrites) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if d.fail != nil && d.fail(p, off) {
		return 0, unix.EIO
	}
	return d.FileDev.WriteAt(l, p, off)
}

// TestWriteDeviceError: a data write that fails is EIO, or a short count
// after progress; the file keeps the size and bytes of what reached the
// device, the blocks allocated for the
// rest go back (free space as before), and fsck finds nothing wrong.
func TestWriteDeviceError(t *testing.T) {
	for _, c := range []struct {
		name     string
		old, off int    // the file's size before, where the write starts
		n        int    // bytes written
		failLen  int    // the failing request's length
		nth      int    // which request of that length fails (1: the first)
		size     uint64 // the size after
	}{
		{"fresh block", 32768, 32768, 100000, 32768, 1, 32768},
		{"second fresh block", 32768, 32768, 100000, 32768, 2, 65536},
		{"grown fragment", 5000, 5000, 10000, 15360 - 4608, 1, 5000},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := emptyImage(t, 2, false, "8m", "bsize=32768,fsize=4096")
			k, l := bootKernel(t)
			dev := &failWrites{FileDev: drivertest.OpenFileDev(t, img, false)}
			if e := drivertest.MountDev(t, k, l, dev, "ffs", "/mnt", 0, nil); e != 0 {
				t.Fatalf("mount: %v\n%s", e, k.Dmesg())
			}
			data := fileData(1, c.off+c.n)
			if e := writeFile(t, l, "/mnt/f", data[:c.old]); e != 0 {
				t.Fatal(e)
			}
			var before vfs.Statvfs
			vfs.StatvfsPath(l, "/mnt", &before)
			seen := 0
			dev.fail = func(p []byte, _ int64) bool {
				if len(p) == c.failLen {
					seen++
					return seen == c.nth
				}
				return false
			}
			fd, e := vfs.Open(l, "/mnt/f", unix.O_WRONLY, 0)
			if e != 0 {
				t.Fatal(e)
			}
			n, e := vfs.Pwrite(l, fd, data[c.off:], int64(c.off))
			vfs.Close(l, fd)
			dev.fail = nil
			// Progress is a short count, no progress the error.
			wantN, wantE := int(c.size)-c.off, unix.Errno(0)
			if wantN <= 0 {
				wantN, wantE = 0, unix.EIO
			}
			if n != wantN || e != wantE {
				t.Fatalf("write with a failing device: %d, %v; want %d, %v", n, e, wantN, wantE)
			}
			var st vfs.Vattr
			if e := vfs.Stat(l, "/mnt/f", &st); e != 0 || uint64(st.Size) != c.size {
				t.Fatalf("size after the failed write: %d (%v), want %d", st.Size, e, c.size)
			}
			if got := readVFS(t, l, "/mnt/f"); !bytes.Equal(got, data[:c.size]) {
				t.Fatal("the file's bytes differ from what reached the device")
			}
			if c.size == uint64(c.old) {
				var after vfs.Statvfs
				vfs.StatvfsPath(l, "/mnt", &after)
				if after.Bfree != before.Bfree {
					t.Errorf("%d free fragments after the failed write, %d before", after.Bfree, before.Bfree)
				}
			}
			halt(t, k, l)
			fsck(t, img)
		})
	}
}

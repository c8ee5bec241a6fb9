package ext2fs

import (
	"bytes"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// resolve walks rel from the root with Lookup, not following symlinks.
func resolve(t testing.TB, f *FS, rel string) (Inode, unix.Errno) {
	ip, e := f.Root(nil)
	if e != 0 || rel == "." {
		return ip, e
	}
	for _, c := range strings.Split(rel, "/") {
		ino, _, e := ip.Lookup(nil, c)
		if e != 0 {
			return Inode{}, e
		}
		if ip, e = f.Inode(nil, ino); e != 0 {
			return Inode{}, e
		}
	}
	return ip, 0
}

// readAll reads a file through Read(uio) in uneven chunks.
func readAll(t testing.TB, ip Inode) []byte {
	var out []byte
	buf := make([]byte, 100003)
	for off := int64(0); ; {
		u := kernel.UioSetup(buf, off, kernel.UioRead)
		e := ip.Read(nil, u)
		n := len(buf) - kernel.UioFree(u)
		if e != 0 {
			t.Fatalf("inode %d: read at %d: %v", ip.Ino, off, e)
		}
		if n == 0 {
			return out
		}
		out = append(out, buf[:n]...)
		off += int64(n)
	}
}

// listDir reads a directory in slices of a few entries, resuming at each
// Next cookie, so that cookies are exercised.
func listDir(t testing.TB, ip Inode, batch int) []Dirent {
	var all []Dirent
	cookie := int64(0)
	for {
		var got []Dirent
		e := ip.Readdir(nil, cookie, func(d Dirent) bool {
			got = append(got, d)
			return len(got) < batch
		})
		if e != 0 {
			t.Fatalf("readdir inode %d at %d: %v", ip.Ino, cookie, e)
		}
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
		cookie = got[len(got)-1].Next
	}
}

func tsEqual(a unix.Timespec, sec int64, nsec int64) bool { return a.Sec == sec && a.Nsec == nsec }

// compareWithKernel walks the kernel's mount at mnt and checks that f
// reports the same tree: names, inode numbers, attributes with
// nanosecond times, contents, symlink targets and xattrs.
func compareWithKernel(t *testing.T, f *FS, mnt string) {
	count := 0
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		count++
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		ip, e := resolve(t, f, rel)
		if e != 0 {
			t.Errorf("%s: lookup: %v", rel, e)
			return nil
		}
		a := ip.Attr()
		check := func(what string, got, want any) {
			if got != want {
				t.Errorf("%s: %s = %v, kernel %v", rel, what, got, want)
			}
		}
		check("ino", uint64(a.Ino), st.Ino)
		check("mode", a.Mode, st.Mode)
		check("nlink", uint64(a.Nlink), uint64(st.Nlink))
		check("uid", a.Uid, st.Uid)
		check("gid", a.Gid, st.Gid)
		check("size", int64(a.Size), st.Size)
		check("blocks", int64(a.Blocks), st.Blocks)
		if !tsEqual(st.Atim, a.Atime.Unix(), int64(a.Atime.Nanosecond())) ||
			!tsEqual(st.Mtim, a.Mtime.Unix(), int64(a.Mtime.Nanosecond())) ||
			!tsEqual(st.Ctim, a.Ctime.Unix(), int64(a.Ctime.Nanosecond())) {
			t.Errorf("%s: times a/m/c %v %v %v, kernel %v %v %v", rel, a.Atime, a.Mtime, a.Ctime, st.Atim, st.Mtim, st.Ctim)
		}
		var sx unix.Statx_t
		if unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &sx) == nil && sx.Mask&unix.STATX_BTIME != 0 {
			if a.Btime.IsZero() || a.Btime.Unix() != sx.Btime.Sec || a.Btime.Nanosecond() != int(sx.Btime.Nsec) {
				t.Errorf("%s: btime %v, kernel %d.%09d", rel, a.Btime, sx.Btime.Sec, sx.Btime.Nsec)
			}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR || st.Mode&unix.S_IFMT == unix.S_IFBLK {
			check("major", a.Major, unix.Major(st.Rdev))
			check("minor", a.Minor, unix.Minor(st.Rdev))
		}
		compareXattrs(t, ip, p, rel)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			compareData(t, ip, p, rel, st.Size)
		case unix.S_IFLNK:
			want, _ := os.Readlink(p)
			got, e := ip.Readlink(nil)
			if e != 0 || string(got) != want {
				t.Errorf("%s: readlink %q %v, kernel %q", rel, got, e, want)
			}
		case unix.S_IFDIR:
			compareDir(t, ip, p, rel)
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

func compareData(t *testing.T, ip Inode, p, rel string, size int64) {
	want, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if size <= 64<<20 {
		kb, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, ip); !bytes.Equal(got, kb) {
			t.Errorf("%s: contents differ (%d bytes, kernel %d)", rel, len(got), len(kb))
		}
		return
	}
	// Large sparse files: every data segment the kernel reports, and
	// random samples.
	var offs []int64
	for off := int64(0); off < size; {
		d, err := unix.Seek(int(want.Fd()), off, unix.SEEK_DATA)
		if err != nil {
			break
		}
		h, _ := unix.Seek(int(want.Fd()), d, unix.SEEK_HOLE)
		offs = append(offs, max(0, d-100), d, h-100)
		off = h
	}
	r := rand.New(rand.NewSource(size))
	for range 32 {
		offs = append(offs, r.Int63n(size))
	}
	offs = append(offs, size-10)
	for _, off := range offs {
		kb := make([]byte, 9000)
		n, _ := want.ReadAt(kb, off)
		got := make([]byte, 9000)
		m, e := ip.ReadAt(nil, got, off)
		if e != 0 || m != n || !bytes.Equal(got[:m], kb[:n]) {
			t.Errorf("%s: %d bytes at %d differ (got %d, %v; kernel %d)", rel, len(kb), off, m, e, n)
		}
	}
}

func compareDir(t *testing.T, ip Inode, p, rel string) {
	ents, err := os.ReadDir(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{}
	for _, d := range ents {
		var st unix.Stat_t
		unix.Lstat(filepath.Join(p, d.Name()), &st)
		want[d.Name()] = st.Ino
	}
	got := map[string]uint64{}
	seenDot := 0
	for _, d := range listDir(t, ip, 7) {
		if d.Name == "." || d.Name == ".." {
			seenDot++
			continue
		}
		if _, dup := got[d.Name]; dup {
			t.Errorf("%s: %q listed twice", rel, d.Name)
		}
		got[d.Name] = uint64(d.Ino)
		var st unix.Stat_t
		unix.Lstat(filepath.Join(p, d.Name), &st)
		if d.Type != unix.DT_UNKNOWN && uint32(d.Type) != (st.Mode&unix.S_IFMT)>>12 {
			t.Errorf("%s/%s: type %d, kernel mode %#o", rel, d.Name, d.Type, st.Mode)
		}
	}
	if seenDot != 2 {
		t.Errorf("%s: %d of . and ..", rel, seenDot)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d entries, kernel %d", rel, len(got), len(want))
	}
	for n, ino := range want {
		if got[n] != ino {
			t.Errorf("%s/%s: ino %d, kernel %d", rel, n, got[n], ino)
		}
	}
	if _, _, e := ip.Lookup(nil, "no-such-name-here"); e != unix.ENOENT {
		t.Errorf("%s: lookup of a missing name: %v", rel, e)
	}
}

// kernelXattrs is the kernel's list of p's attribute names (buf is
// scratch); a failure is reported as rel's and gives ok false.
func kernelXattrs(t *testing.T, p, rel string, buf []byte) (names []string, ok bool) {
	t.Helper()
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Errorf("%s: kernel listxattr: %v", rel, err)
		return nil, false
	}
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names, true
}

func compareXattrs(t *testing.T, ip Inode, p, rel string) {
	buf := make([]byte, 65536)
	want, ok := kernelXattrs(t, p, rel, buf)
	if !ok {
		return
	}
	got, e := ip.ListXattr(nil)
	if e != 0 {
		t.Errorf("%s: listxattr: %v", rel, e)
		return
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: xattrs %q, kernel %q", rel, got, want)
		return
	}
	for _, name := range want {
		n, err := unix.Lgetxattr(p, name, buf)
		if err != nil {
			t.Errorf("%s: kernel getxattr %s: %v", rel, name, err)
			continue
		}
		v, e := ip.GetXattr(nil, name)
		if e != 0 || !bytes.Equal(v, buf[:n]) {
			t.Errorf("%s: xattr %s = %q %v, kernel %q", rel, name, v, e, buf[:n])
		}
	}
	if _, e := ip.GetXattr(nil, "user.not-there"); e != unix.ENODATA {
		t.Errorf("%s: missing xattr: %v", rel, e)
	}
}

package main

// rumpfs diff: compares a tree inside an image with a host tree (or
// another tree in the same image), as diff -r reports, plus the metadata
// a copy must keep.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register("diff", "compare a tree in an image with a host tree (no mount)", cmdDiff)
}

// diffSide is one tree diff compares: in the image or on the host.
type diffSide interface {
	shown(rel string) string
	lstat(rel string) (vfs.Vattr, error)
	names(rel string) ([]string, error)
	readlink(rel string) (string, error)
	open(rel string) (io.ReadCloser, error)
}

type imageSide struct {
	s *session
	a imageArg
}

func (i imageSide) shown(rel string) string { return joinShown(i.a.arg, rel) }
func (i imageSide) p(rel string) string     { return path.Join(i.a.path, rel) }
func (i imageSide) lstat(rel string) (vfs.Vattr, error) {
	var va vfs.Vattr
	if e := vfs.Lstat(i.s.l, i.p(rel), &va); e != 0 {
		return va, e
	}
	return va, nil
}
func (i imageSide) names(rel string) ([]string, error) {
	des, e := vfs.ReadDir(i.s.l, i.p(rel))
	var out []string
	for _, d := range des {
		if !isDots(d.Name) {
			out = append(out, d.Name)
		}
	}
	if e != 0 {
		return out, e
	}
	return out, nil
}
func (i imageSide) readlink(rel string) (string, error) {
	buf := make([]byte, 4096)
	n, e := vfs.Readlink(i.s.l, i.p(rel), buf)
	if e != 0 {
		return "", e
	}
	return string(buf[:n]), nil
}
func (i imageSide) open(rel string) (io.ReadCloser, error) {
	fd, e := vfs.Open(i.s.l, i.p(rel), unix.O_RDONLY, 0)
	if e != 0 {
		return nil, e
	}
	return &vfsFile{i.s, fd}, nil
}

// vfsFile reads a file open in the kernel.
type vfsFile struct {
	s  *session
	fd int
}

func (f *vfsFile) Read(p []byte) (int, error) {
	n, e := vfs.Read(f.s.l, f.fd, p)
	if e != 0 {
		return n, e
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
func (f *vfsFile) Close() error { vfs.Close(f.s.l, f.fd); return nil }

type hostSide struct{ root string }

func (h hostSide) shown(rel string) string { return filepath.Join(h.root, rel) }
func (h hostSide) lstat(rel string) (vfs.Vattr, error) {
	var va vfs.Vattr
	st, err := os.Lstat(h.shown(rel))
	if err != nil {
		return va, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return va, unix.ENOTSUP
	}
	mode := uint32(sys.Mode)
	va.Type = map[uint32]vfs.VType{unix.S_IFREG: vfs.VREG, unix.S_IFDIR: vfs.VDIR, unix.S_IFLNK: vfs.VLNK, unix.S_IFIFO: vfs.VFIFO, unix.S_IFSOCK: vfs.VSOCK, unix.S_IFBLK: vfs.VBLK, unix.S_IFCHR: vfs.VCHR}[mode&unix.S_IFMT]
	va.Mode, va.Uid, va.Gid, va.Size = mode&0o7777, sys.Uid, sys.Gid, st.Size()
	va.Atime, va.Mtime = statTimes(sys)
	return va, nil
}
func (h hostSide) names(rel string) ([]string, error) {
	ents, err := os.ReadDir(h.shown(rel))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, err
}
func (h hostSide) readlink(rel string) (string, error) { return os.Readlink(h.shown(rel)) }
func (h hostSide) open(rel string) (io.ReadCloser, error) {
	return os.Open(h.shown(rel))
}

func cmdDiff(args []string) int {
	fl := newImageFlags("diff", helpText{
		usage: "rumpfs diff [options] IMAGE[@SEL]:PATH HOSTPATH|IMAGE[@SEL]:PATH",
		about: "Compares a tree inside an image with a host tree (or another tree in\n" +
			"the same image), without mounting the image (opened read-only): names\n" +
			"only on one side, types, contents, symlink targets, modes, owners and\n" +
			"modification times (to the second when either side keeps no\n" +
			"nanoseconds). One line per difference, in diff -r's words where it has\n" +
			"them. Exit status as diff: 0 the same, 1 different, 2 trouble.",
		examples: "  rumpfs diff root.ext4:/etc ./rootfs/etc\n" +
			"  rumpfs diff --no-owner disk.ffs:/srv ./srv",
	})
	noOwner := flagBool(fl.FlagSet, "no-owner", "", "do not compare owners and groups")
	noTimes := flagBool(fl.FlagSet, "no-times", "", "do not compare modification times")
	if code, ok := parseArgs(fl.FlagSet, args, 2); !ok {
		return code
	}
	left, ok := parseImageArg(fl.Arg(0))
	if !ok {
		return usageError("diff", exitUsage, "%q is not IMAGE:PATH", fl.Arg(0))
	}
	s, code := openImage("diff", left.image, fl.img, false, 2)
	if code != 0 {
		return code
	}
	var right diffSide = hostSide{fl.Arg(1)}
	if r, ok := parseImageArg(fl.Arg(1)); ok {
		if r.image != left.image {
			s.close(0)
			return usageError("diff", exitUsage, "%s and %s name different images (one image per command)", left.arg, r.arg)
		}
		right = imageSide{s: s, a: r}
	}
	d := &differ{a: imageSide{s: s, a: left}, b: right, owner: !*noOwner, times: !*noTimes}
	d.compare("")
	return s.close(d.status)
}

type differ struct {
	a, b         diffSide
	owner, times bool
	status       int // 0, 1 differ, 2 trouble
}

func (d *differ) say(format string, args ...any) {
	fmt.Fprintln(fsStdout, textesc.Line(fmt.Sprintf(format, args...)))
	d.status = max(d.status, 1)
}

func (d *differ) trouble(what string, err error) {
	fmt.Fprintf(errOut, "rumpfs diff: %s: %s\n", textesc.Escape(what), errnoText(err))
	d.status = 2
}

func (d *differ) compare(rel string) {
	if stopped() {
		return
	}
	va, err := d.a.lstat(rel)
	if err != nil {
		d.trouble(d.a.shown(rel), err)
		return
	}
	vb, err := d.b.lstat(rel)
	if err != nil {
		d.trouble(d.b.shown(rel), err)
		return
	}
	A, B := d.a.shown(rel), d.b.shown(rel)
	if va.Type != vb.Type {
		d.say("File %s is a %s while file %s is a %s", A, fileTypeName(va), B, fileTypeName(vb))
		return
	}
	if va.Mode != vb.Mode && va.Type != vfs.VLNK {
		d.say("Modes differ: %s %04o, %s %04o", A, va.Mode, B, vb.Mode)
	}
	if d.owner && (va.Uid != vb.Uid || va.Gid != vb.Gid) {
		d.say("Owners differ: %s %d:%d, %s %d:%d", A, va.Uid, va.Gid, B, vb.Uid, vb.Gid)
	}
	if d.times && va.Type != vfs.VDIR && va.Type != vfs.VLNK && !sameTime(va.Mtime, vb.Mtime) {
		d.say("Modification times differ: %s %s, %s %s", A, jsonTime(va.Mtime), B, jsonTime(vb.Mtime))
	}
	switch va.Type {
	case vfs.VLNK:
		ta, ea := d.a.readlink(rel)
		tb, eb := d.b.readlink(rel)
		if ea != nil || eb != nil {
			d.trouble(A, firstErr(ea, eb))
		} else if ta != tb {
			d.say("Symbolic links %s -> %s and %s -> %s differ", A, ta, B, tb)
		}
	case vfs.VREG:
		if va.Size != vb.Size {
			d.say("Files %s and %s differ", A, B)
			return
		}
		same, err := d.sameContent(rel)
		if err != nil {
			d.trouble(A+" or "+B, err)
		} else if !same {
			d.say("Files %s and %s differ", A, B)
		}
	case vfs.VDIR:
		na, ea := d.a.names(rel)
		nb, eb := d.b.names(rel)
		if ea != nil || eb != nil {
			d.trouble(A+" or "+B, firstErr(ea, eb))
		}
		inB := map[string]bool{}
		for _, n := range nb {
			inB[n] = true
		}
		inA := map[string]bool{}
		for _, n := range na {
			inA[n] = true
		}
		sort.Strings(na)
		sort.Strings(nb)
		for _, n := range na {
			if !inB[n] {
				d.say("Only in %s: %s", A, n)
			}
		}
		for _, n := range nb {
			if !inA[n] {
				d.say("Only in %s: %s", B, n)
			}
		}
		for _, n := range na {
			if inB[n] {
				d.compare(path.Join(rel, n))
			}
		}
	}
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// sameTime: equal, or equal seconds when one side keeps no nanoseconds.
func sameTime(a, b vfs.Timespec) bool {
	return a == b || a.Sec == b.Sec && (a.Nsec == 0 || b.Nsec == 0)
}

func (d *differ) sameContent(rel string) (bool, error) {
	fa, err := d.a.open(rel)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := d.b.open(rel)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 256<<10), make([]byte, 256<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		doneA := ea == io.EOF || ea == io.ErrUnexpectedEOF
		doneB := eb == io.EOF || eb == io.ErrUnexpectedEOF
		if ea != nil && !doneA {
			return false, ea
		}
		if eb != nil && !doneB {
			return false, eb
		}
		if doneA || doneB {
			return doneA == doneB, nil
		}
	}
}

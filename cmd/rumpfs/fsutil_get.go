package main

// rumpfs get: copying files out of an image. Everything written on the
// host goes through an os.Root on HOSTDIR, so no name, symlink or ".."
// from a hostile image can make it create or change a file outside it;
// symlinks are copied as symlinks, never followed.

import (
	"fmt"
	"os"
	"path"
	"time"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register("get", "copy files out of an image to a host directory (no mount)", cmdGet)
}

func cmdGet(args []string) int {
	fl := newFlags("get", helpText{
		usage: "rumpfs get [options] IMAGE[@SEL]:PATH... HOSTDIR",
		about: "Copies files from inside an image into the host directory HOSTDIR,\n" +
			"without mounting the image (it is opened read-only). Each PATH lands\n" +
			"in HOSTDIR under its own name; PATH / copies the image's root's\n" +
			"contents (and gives HOSTDIR the root's mode and times). Modes (setuid,\n" +
			"setgid, sticky included), modification and access times, symlinks (as\n" +
			"symlinks: never followed), hard links within the copy, FIFOs and, as\n" +
			"root, owners and device nodes are kept; extended attributes with\n" +
			"--xattrs. Nothing is ever written outside HOSTDIR, whatever names and\n" +
			"links the image holds. An existing file is not overwritten unless -f;\n" +
			"existing directories are merged into. A file that cannot be read (a\n" +
			"damaged image: EIO) is reported and the copy goes on; exit status 1\n" +
			"then. A copy that takes more than a second shows its progress (files,\n" +
			"bytes, rate) on a terminal; nothing otherwise.",
		examples: "  rumpfs get disk.img@2:/etc/fstab .          # one file into the current directory\n" +
			"  rumpfs get -r root.ext4:/ /tmp/rootfs         # the whole file system\n" +
			"  rumpfs get -rf disk.ffs:/home/u/src backup/    # a tree, replacing what is there",
	})
	rec := flagBool(fl, "recursive", "r", "copy directories and everything in them")
	recR := flagBool(fl, "R", "R", "the same as -r")
	fl.MarkHidden("R")
	force := flagBool(fl, "force", "f", "replace existing files in HOSTDIR")
	xattrs := flagBool(fl, "xattrs", "", "copy extended attributes too (of files and directories; Linux)")
	imf := addImageFlags(fl)
	if code, ok := minArgs(fl, args, 2); !ok {
		return code
	}
	n := fl.NArg()
	hostDir := fl.Arg(n - 1)
	ias, code := imageArgs("get", fl.Args()[:n-1])
	if code != 0 {
		return code
	}
	img, code := sameImage("get", ias)
	if code != 0 {
		return code
	}
	if st, err := os.Stat(hostDir); err != nil || !st.IsDir() {
		if err == nil {
			err = unix.ENOTDIR
		}
		report("get", "target", hostDir, err)
		return exitFail
	}
	root, err := os.OpenRoot(hostDir)
	if err != nil {
		report("get", "target", hostDir, err)
		return exitFail
	}
	defer root.Close()
	s, code := openImage("get", img, imf, false, exitFail)
	if code != 0 {
		return code
	}
	s.meter = startMeter(0, 0)
	g := &getter{s: s, root: root, hostDir: hostDir, force: *force, xattrs: *xattrs, rec: *rec || *recR, links: map[uint64]string{}}
	for _, a := range ias {
		if stopped() {
			break
		}
		if a.path == "/" {
			g.copyDir(a.path, a.arg, ".")
		} else {
			g.copy(a.path, a.arg, path.Base(a.path))
		}
	}
	return s.close(g.status)
}

type getter struct {
	s       *session
	root    *os.Root
	hostDir string
	force   bool
	xattrs  bool
	rec     bool
	links   map[uint64]string // inode in the image -> host path copied to, for hard links
	status  int
}

func (g *getter) fail(what, arg string, err error) {
	report("get", what, arg, err)
	g.status = exitFail
}

// copy copies the file at kpath (shown to the user as shown) to rel in
// HOSTDIR.
func (g *getter) copy(kpath, shown, rel string) {
	if stopped() {
		return
	}
	var va vfs.Vattr
	if e := vfs.Lstat(g.s.l, kpath, &va); e != 0 {
		g.fail("cannot stat", shown, e)
		return
	}
	hostShown := path.Join(g.hostDir, rel)
	if va.Type == vfs.VDIR {
		if !g.rec {
			fmt.Fprintf(errOut, "rumpfs get: -r not specified; omitting directory '%s'\n", textesc.Escape(shown))
			g.status = exitFail
			return
		}
		if st, err := g.root.Lstat(rel); err == nil && st.IsDir() {
			// merge into it
		} else if err := g.root.Mkdir(rel, 0o700); err != nil {
			g.fail("cannot create directory", hostShown, err)
			return
		}
		g.copyDir(kpath, shown, rel)
		return
	}
	if _, err := g.root.Lstat(rel); err == nil {
		if !g.force {
			g.fail("not overwriting", hostShown, unix.EEXIST)
			return
		}
		if err := g.root.Remove(rel); err != nil {
			g.fail("cannot remove", hostShown, err)
			return
		}
	}
	if va.Type == vfs.VREG && va.Nlink > 1 {
		if first, ok := g.links[va.Fileid]; ok {
			if err := g.root.Link(first, rel); err != nil {
				g.fail("cannot create hard link", hostShown, err)
			}
			return
		}
		g.links[va.Fileid] = rel
	}
	switch va.Type {
	case vfs.VREG:
		f, err := g.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			g.fail("cannot create regular file", hostShown, err)
			return
		}
		err = g.s.copyOut(kpath, f)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = hostWriteError{cerr}
		}
		if err != nil {
			if hw, ok := err.(hostWriteError); ok {
				g.fail("error writing", hostShown, hw.err)
			} else {
				g.fail("error reading", shown, err)
			}
			return
		}
	case vfs.VLNK:
		buf := make([]byte, 4096)
		n, e := vfs.Readlink(g.s.l, kpath, buf)
		if e != 0 {
			g.fail("cannot read symbolic link", shown, e)
			return
		}
		if err := g.root.Symlink(string(buf[:n]), rel); err != nil {
			g.fail("cannot create symbolic link", hostShown, err)
			return
		}
	default:
		err := g.atParent(rel, func(fd int, base string) error {
			return mknodAt(fd, base, va.StMode(), va.Rdev)
		})
		if err != nil {
			g.fail("cannot create special file", hostShown, err)
			return
		}
	}
	g.copyXattrs(kpath, rel, shown, va)
	g.setAttrs(rel, hostShown, va)
	g.s.meter.add(1, 0)
}

// copyDir copies directory kpath's entries into the host directory rel
// and then gives rel its attributes (last, so a read-only directory can
// be filled first).
func (g *getter) copyDir(kpath, shown, rel string) {
	des, e := vfs.ReadDir(g.s.l, kpath)
	if e != 0 {
		g.fail("cannot open directory", shown, e)
	}
	for _, de := range des {
		if isDots(de.Name) {
			continue
		}
		g.copy(path.Join(kpath, de.Name), joinShown(shown, de.Name), path.Join(rel, de.Name))
	}
	var va vfs.Vattr
	if e := vfs.Lstat(g.s.l, kpath, &va); e == 0 {
		g.copyXattrs(kpath, rel, shown, va)
		g.setAttrs(rel, path.Join(g.hostDir, rel), va)
	}
}

// copyXattrs copies the extended attributes of the image's file kpath to
// the host's rel (not for symlinks or special files: opening them is
// not how their attributes are set).
func (g *getter) copyXattrs(kpath, rel, shown string, va vfs.Vattr) {
	if !g.xattrs || (va.Type != vfs.VREG && va.Type != vfs.VDIR) {
		return
	}
	xs, e := g.s.imageXattrs(kpath)
	if e != 0 {
		g.fail("cannot read extended attributes of", shown, e)
		return
	}
	if len(xs) == 0 {
		return
	}
	f, err := g.root.OpenFile(rel, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		g.fail("cannot set extended attributes of", path.Join(g.hostDir, rel), err)
		return
	}
	defer f.Close()
	for n, v := range xs {
		if err := setHostXattr(int(f.Fd()), n, v); err != nil {
			g.fail("cannot set extended attribute "+n+" of", path.Join(g.hostDir, rel), err)
		}
	}
}

// atParent calls fn with a descriptor of rel's directory, opened through
// the root (so inside HOSTDIR), and rel's last name.
func (g *getter) atParent(rel string, fn func(fd int, base string) error) error {
	d, err := g.root.Open(path.Dir(rel))
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(int(d.Fd()), path.Base(rel))
}

// setAttrs gives the copy at rel the owner (as root), mode and times of
// va, without following a symlink.
func (g *getter) setAttrs(rel, hostShown string, va vfs.Vattr) {
	err := g.atParent(rel, func(fd int, base string) error {
		if os.Geteuid() == 0 {
			if err := unix.Fchownat(fd, base, int(va.Uid), int(va.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
		}
		if va.Type != vfs.VLNK {
			if err := unix.Fchmodat(fd, base, va.Mode&0o7777, 0); err != nil {
				return err
			}
		}
		ts := []unix.Timespec{unix.NsecToTimespec(toNsec(va.Atime)), unix.NsecToTimespec(toNsec(va.Mtime))}
		return unix.UtimesNanoAt(fd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		g.fail("cannot preserve attributes of", hostShown, err)
	}
}

func toNsec(t vfs.Timespec) int64 { return time.Unix(t.Sec, t.Nsec).UnixNano() }

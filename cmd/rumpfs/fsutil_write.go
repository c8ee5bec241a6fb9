package main

// The writing fs-utils commands: put, mkdir, rm, rmdir, mv, ln, chmod,
// touch. They mount the image read-write (a driver that cannot write is
// an error, not a silent read-only mount) and end with the kernel's halt,
// which syncs and unmounts, so the image is left clean.

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

func init() {
	register("put", "copy host files into an image (no mount)", cmdPut)
	register("mkdir", "make directories inside an image (no mount)", cmdMkdir)
	register("rm", "remove files inside an image (no mount)", cmdRm)
	register("rmdir", "remove empty directories inside an image (no mount)", cmdRmdir)
	register("mv", "rename or move files inside an image (no mount)", cmdMv)
	register("ln", "make links inside an image (no mount)", cmdLn)
	register("chmod", "change modes of files inside an image (no mount)", cmdChmod)
	register("touch", "create files or set their times inside an image (no mount)", cmdTouch)
}

// writeSession parses the flags and image arguments of a writing command
// whose image arguments are fl.Args()[first:], and opens the image
// read-write. A nil session means: return code (after --help, a usage
// error or a failure).
func writeSession(name string, fl *flagSet, args []string, nmin, first int) (*session, []imageArg, int) {
	return imageSession(name, fl, args, nmin, first, true, exitFail)
}

// imageSession parses the flags (unless the command already did, with
// its own argument check) and the IMAGE:PATH arguments fl.Args()[first:],
// which must all name one image, and opens it, for writing when write.
func imageSession(name string, fl *flagSet, args []string, nmin, first int, write bool, failStatus int) (*session, []imageArg, int) {
	if !fl.Parsed() {
		if code, ok := minArgs(fl.FlagSet, args, nmin); !ok {
			return nil, nil, code
		}
	}
	return openArgs(name, fl, fl.Args()[first:], write, failStatus)
}

// openArgs opens the one image the IMAGE:PATH arguments paths name.
func openArgs(name string, fl *flagSet, paths []string, write bool, failStatus int) (*session, []imageArg, int) {
	ias, code := imageArgs(name, paths)
	if code != 0 {
		return nil, nil, code
	}
	img, code := sameImage(name, ias)
	if code != 0 {
		return nil, nil, code
	}
	s, code := openImage(name, img, fl.img, write, failStatus)
	return s, ias, code
}

func cmdMkdir(args []string) int {
	fl := newImageFlags("mkdir", helpText{
		usage:    "rumpfs mkdir [options] IMAGE[@SEL]:DIR...",
		about:    "Makes directories inside an image, without mounting it. Exit status 1\nif any could not be made.",
		examples: "  rumpfs mkdir -p disk.ffs:/etc/app/conf.d",
	})
	parents := flagBool(fl.FlagSet, "parents", "p", "make missing parents too; no error if the directory exists")
	mode := fl.StringP("mode", "m", "755", "octal `MODE` of the new directories")
	s, ias, code := writeSession("mkdir", fl, args, 1, 0)
	if s == nil {
		return code
	}
	m, err := strconv.ParseUint(*mode, 8, 32)
	if err != nil || m > 0o7777 {
		s.close(0)
		return usageError("mkdir", exitUsage, "invalid mode %q (octal, like 755)", *mode)
	}
	status := 0
	for _, a := range ias {
		if *parents {
			p := ""
			for _, c := range strings.Split(strings.Trim(a.path, "/"), "/") {
				p += "/" + c
				var va vfs.Vattr
				if vfs.Stat(s.l, p, &va) == 0 && va.Type == vfs.VDIR {
					continue
				}
				if e := vfs.Mkdir(s.l, p, uint32(m)); e != 0 {
					report("mkdir", "cannot create directory", a.image+":"+p, e)
					status = exitFail
					break
				}
				vfs.Chmod(s.l, p, uint32(m)) // the umask is not mkdir -m's business
			}
			continue
		}
		if e := vfs.Mkdir(s.l, a.path, uint32(m)); e != 0 {
			report("mkdir", "cannot create directory", a.arg, e)
			status = exitFail
			continue
		}
		vfs.Chmod(s.l, a.path, uint32(m))
	}
	return s.close(status)
}

func cmdRm(args []string) int {
	fl := newImageFlags("rm", helpText{
		usage:    "rumpfs rm [options] IMAGE[@SEL]:PATH...",
		about:    "Removes files inside an image, without mounting it: directories only\nwith -r. Exit status 1 if anything could not be removed.",
		examples: "  rumpfs rm disk.ffs:/etc/motd\n  rumpfs rm -rf disk.ffs:/var/cache/app",
	})
	rec := flagBool(fl.FlagSet, "recursive", "r", "remove directories and their contents")
	recR := flagBool(fl.FlagSet, "R", "R", "the same as -r")
	fl.MarkHidden("R")
	force := flagBool(fl.FlagSet, "force", "f", "ignore missing files")
	s, ias, code := writeSession("rm", fl, args, 1, 0)
	if s == nil {
		return code
	}
	status := 0
	var remove func(p, shown string) bool
	remove = func(p, shown string) bool {
		if stopped() {
			return false
		}
		var va vfs.Vattr
		if e := vfs.Lstat(s.l, p, &va); e != 0 {
			if e == unix.ENOENT && *force {
				return true
			}
			report("rm", "cannot remove", shown, e)
			return false
		}
		if va.Type != vfs.VDIR {
			if e := vfs.Unlink(s.l, p); e != 0 {
				report("rm", "cannot remove", shown, e)
				return false
			}
			return true
		}
		if !*rec && !*recR {
			report("rm", "cannot remove", shown, unix.EISDIR)
			return false
		}
		des, e := vfs.ReadDir(s.l, p)
		if e != 0 {
			report("rm", "cannot remove", shown, e)
			return false
		}
		ok := true
		for _, de := range des {
			if !isDots(de.Name) {
				ok = remove(path.Join(p, de.Name), joinShown(shown, de.Name)) && ok
			}
		}
		if !ok {
			return false
		}
		if e := vfs.Rmdir(s.l, p); e != 0 {
			report("rm", "cannot remove", shown, e)
			return false
		}
		return true
	}
	for _, a := range ias {
		if a.path == "/" {
			fmt.Fprintf(errOut, "rumpfs rm: refusing to remove '%s': it is the image's root\n", textesc.Escape(a.arg))
			status = exitFail
			continue
		}
		if !remove(a.path, a.arg) {
			status = exitFail
		}
	}
	return s.close(status)
}

func cmdRmdir(args []string) int {
	fl := newImageFlags("rmdir", helpText{
		usage:    "rumpfs rmdir [options] IMAGE[@SEL]:DIR...",
		about:    "Removes empty directories inside an image, without mounting it.",
		examples: "  rumpfs rmdir disk.ffs:/tmp/empty",
	})
	s, ias, code := writeSession("rmdir", fl, args, 1, 0)
	if s == nil {
		return code
	}
	status := 0
	for _, a := range ias {
		if e := vfs.Rmdir(s.l, a.path); e != 0 {
			report("rmdir", "failed to remove", a.arg, e)
			status = exitFail
		}
	}
	return s.close(status)
}

func cmdMv(args []string) int {
	fl := newImageFlags("mv", helpText{
		usage: "rumpfs mv [options] IMAGE[@SEL]:SRC... IMAGE[@SEL]:DEST",
		about: "Renames files inside one image, without mounting it. When DEST is a\n" +
			"directory the sources move into it under their own names.",
		examples: "  rumpfs mv disk.ffs:/etc/app.conf disk.ffs:/etc/app.conf.old\n" +
			"  rumpfs mv disk.ffs:/a disk.ffs:/b disk.ffs:/dir",
	})
	s, ias, code := writeSession("mv", fl, args, 2, 0)
	if s == nil {
		return code
	}
	dst := ias[len(ias)-1]
	var va vfs.Vattr
	intoDir := vfs.Stat(s.l, dst.path, &va) == 0 && va.Type == vfs.VDIR
	if len(ias) > 2 && !intoDir {
		fmt.Fprintf(errOut, "rumpfs mv: target '%s' is not a directory\n", textesc.Escape(dst.arg))
		return s.close(exitFail)
	}
	status := 0
	for _, a := range ias[:len(ias)-1] {
		to := dst.path
		if intoDir {
			to = path.Join(dst.path, path.Base(a.path))
		}
		if e := vfs.Rename(s.l, a.path, to); e != 0 {
			fmt.Fprintf(errOut, "rumpfs mv: cannot move '%s' to '%s': %s\n", textesc.Escape(a.arg), textesc.Escape(dst.image+":"+to), errnoText(e))
			status = exitFail
		}
	}
	return s.close(status)
}

func cmdLn(args []string) int {
	fl := newImageFlags("ln", helpText{
		usage: "rumpfs ln [options] IMAGE[@SEL]:TARGET IMAGE[@SEL]:LINK\n       rumpfs ln -s [options] TARGET IMAGE[@SEL]:LINK",
		about: "Makes a hard link, or with -s a symbolic link, inside an image, without\n" +
			"mounting it. A symlink's TARGET is stored as given (it is not a path on\n" +
			"the host, and needs no IMAGE: prefix).",
		examples: "  rumpfs ln -s ../lib/libx.so.1 disk.ffs:/usr/lib/libx.so\n" +
			"  rumpfs ln disk.ffs:/bin/sh disk.ffs:/bin/ksh",
	})
	sym := flagBool(fl.FlagSet, "symbolic", "s", "make a symbolic link")
	if code, ok := parseArgs(fl.FlagSet, args, 2); !ok {
		return code
	}
	first := 0
	if *sym {
		first = 1
	}
	s, ias, code := writeSession("ln", fl, args, 2, first)
	if s == nil {
		return code
	}
	link := ias[len(ias)-1]
	var e unix.Errno
	if *sym {
		e = vfs.Symlink(s.l, fl.Arg(0), link.path)
	} else {
		e = vfs.Link(s.l, ias[0].path, link.path)
	}
	if e != 0 {
		report("ln", "failed to create link", link.arg, e)
		return s.close(exitFail)
	}
	return s.close(0)
}

func cmdChmod(args []string) int {
	fl := newImageFlags("chmod", helpText{
		usage:    "rumpfs chmod [options] OCTAL-MODE IMAGE[@SEL]:PATH...",
		about:    "Sets the mode of files inside an image, without mounting it. The mode\nis octal (symbolic modes like u+x are not taken yet).",
		examples: "  rumpfs chmod 600 disk.ffs:/etc/app/secret",
	})
	s, ias, code := writeSession("chmod", fl, args, 2, 1)
	if s == nil {
		return code
	}
	m, err := strconv.ParseUint(fl.Arg(0), 8, 32)
	if err != nil || m > 0o7777 {
		s.close(0)
		return usageError("chmod", exitUsage, "invalid mode %q (octal, like 644)", fl.Arg(0))
	}
	status := 0
	for _, a := range ias {
		if e := vfs.Chmod(s.l, a.path, uint32(m)); e != 0 {
			report("chmod", "cannot access", a.arg, e)
			status = exitFail
		}
	}
	return s.close(status)
}

func cmdTouch(args []string) int {
	fl := newImageFlags("touch", helpText{
		usage: "rumpfs touch [options] IMAGE[@SEL]:PATH...",
		about: "Sets access and modification times of files inside an image to now (or\n" +
			"-d's time), making empty files that do not exist, without mounting it.",
		examples: "  rumpfs touch disk.ffs:/etc/app/.configured\n" +
			"  rumpfs touch -d 2024-01-01T00:00:00Z disk.ffs:/etc/issue",
	})
	date := fl.StringP("date", "d", "", "use `TIME` (RFC 3339, or 2006-01-02 15:04:05 in UTC, or @SECONDS) instead of now")
	noCreate := flagBool(fl.FlagSet, "no-create", "c", "do not create missing files")
	s, ias, code := writeSession("touch", fl, args, 1, 0)
	if s == nil {
		return code
	}
	// Both times now, spelled out: vfs.Utimes does not take nil yet.
	ts := &[2]vfs.Timespec{{Nsec: vfs.UTIME_NOW}, {Nsec: vfs.UTIME_NOW}}
	if *date != "" {
		t, err := parseTouchTime(*date)
		if err != nil {
			s.close(0)
			return usageError("touch", exitUsage, "invalid date %q", *date)
		}
		v := vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
		ts = &[2]vfs.Timespec{v, v}
	}
	status := 0
	for _, a := range ias {
		var va vfs.Vattr
		if vfs.Stat(s.l, a.path, &va) == unix.ENOENT {
			if *noCreate {
				continue
			}
			fd, e := vfs.Open(s.l, a.path, unix.O_WRONLY|unix.O_CREAT, 0o644)
			if e != 0 {
				report("touch", "cannot touch", a.arg, e)
				status = exitFail
				continue
			}
			vfs.Close(s.l, fd)
		}
		if e := vfs.Utimes(s.l, a.path, ts, true); e != 0 {
			report("touch", "setting times of", a.arg, e)
			status = exitFail
		}
	}
	return s.close(status)
}

func parseTouchTime(s string) (time.Time, error) {
	if sec, ok := strings.CutPrefix(s, "@"); ok {
		n, err := strconv.ParseInt(sec, 10, 64)
		return time.Unix(n, 0), err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown time")
}

func cmdPut(args []string) int {
	fl := newImageFlags("put", helpText{
		usage: "rumpfs put [options] HOSTPATH... IMAGE[@SEL]:DIR",
		about: "Copies host files into the directory DIR inside an image, without\n" +
			"mounting it; each lands under its own name. Modes (setuid, setgid and\n" +
			"sticky included), times, symlinks (as symlinks), hard links within\n" +
			"the copy and FIFOs are kept. New files belong to root (uid and gid 0,\n" +
			"what an image builder wants) unless --preserve-owner gives them the\n" +
			"host files' owners. An existing file is not overwritten unless -f. On a\n" +
			"full file system (ENOSPC) it stops with a message; the image is left\n" +
			"consistent. Only drivers that write can take it (FFS today). A copy\n" +
			"that takes more than a second shows its progress (files, bytes, rate,\n" +
			"ETA) on a terminal; nothing otherwise.",
		examples: "  rumpfs put app.conf disk.ffs:/etc\n" +
			"  rumpfs put -r ./rootfs/etc ./rootfs/usr disk.img@2:/",
	})
	rec := flagBool(fl.FlagSet, "recursive", "r", "copy directories and everything in them")
	recR := flagBool(fl.FlagSet, "R", "R", "the same as -r")
	fl.MarkHidden("R")
	force := flagBool(fl.FlagSet, "force", "f", "replace existing files in the image")
	owner := flagBool(fl.FlagSet, "preserve-owner", "", "give new files the host files' owner and group")
	xattrs := flagBool(fl.FlagSet, "xattrs", "", "copy extended attributes too (Linux hosts)")
	if code, ok := minArgs(fl.FlagSet, args, 2); !ok {
		return code
	}
	n := fl.NArg()
	s, ias, code := writeSession("put", fl, args, 2, n-1)
	if s == nil {
		return code
	}
	dst := ias[0]
	var va vfs.Vattr
	if e := vfs.Stat(s.l, dst.path, &va); e != 0 || va.Type != vfs.VDIR {
		if e == 0 {
			e = unix.ENOTDIR
		}
		report("put", "target", dst.arg, e)
		return s.close(exitFail)
	}
	if isTerminal(int(os.Stderr.Fd())) {
		// The host side is cheap to measure: a walk gives the ETA.
		var files, size int64
		for _, h := range fl.Args()[:n-1] {
			filepath.Walk(h, func(_ string, fi os.FileInfo, err error) error {
				if err == nil {
					files++
					if fi.Mode().IsRegular() {
						size += fi.Size()
					}
				}
				return nil
			})
		}
		s.meter = startMeter(files, size)
	}
	p := &putter{s: s, image: dst.image, force: *force, rec: *rec || *recR, owner: *owner, xattrs: *xattrs, links: map[[2]uint64]string{}}
	for _, h := range fl.Args()[:n-1] {
		if stopped() || p.full {
			break
		}
		p.put(h, path.Join(dst.path, filepath.Base(filepath.Clean(h))))
	}
	return s.close(p.status)
}

type putter struct {
	s          *session
	image      string
	force, rec bool
	owner      bool
	xattrs     bool
	links      map[[2]uint64]string // host device and inode -> image path
	status     int
	full       bool // ENOSPC: stop
}

func (p *putter) fail(what, arg string, err error) {
	if err == unix.ENOSPC {
		if !p.full {
			fmt.Fprintf(errOut, "rumpfs put: the image's file system is full (ENOSPC) writing '%s'; stopped (what was copied is kept, the image is consistent)\n", textesc.Escape(arg))
		}
		p.full = true
	} else {
		report("put", what, arg, err)
	}
	p.status = exitFail
}

// put copies host path h to kpath in the image.
func (p *putter) put(h, kpath string) {
	if stopped() || p.full {
		return
	}
	st, err := os.Lstat(h)
	if err != nil {
		p.fail("cannot stat", h, err)
		return
	}
	shown := p.image + ":" + kpath
	sys, _ := st.Sys().(*syscall.Stat_t)
	var existing vfs.Vattr
	exists := vfs.Lstat(p.s.l, kpath, &existing) == 0
	if st.IsDir() {
		if !p.rec {
			fmt.Fprintf(errOut, "rumpfs put: -r not specified; omitting directory '%s'\n", textesc.Escape(h))
			p.status = exitFail
			return
		}
		if !exists || existing.Type != vfs.VDIR {
			if e := vfs.Mkdir(p.s.l, kpath, 0o700); e != 0 {
				p.fail("cannot create directory", shown, e)
				return
			}
		}
		ents, err := os.ReadDir(h)
		if err != nil {
			p.fail("cannot open directory", h, err)
		}
		for _, e := range ents {
			p.put(filepath.Join(h, e.Name()), path.Join(kpath, e.Name()))
		}
		p.setAttrs(h, kpath, shown, st, sys)
		return
	}
	if exists {
		if !p.force {
			p.fail("not overwriting", shown, unix.EEXIST)
			return
		}
		if e := vfs.Unlink(p.s.l, kpath); e != 0 {
			p.fail("cannot remove", shown, e)
			return
		}
	}
	if sys != nil && sys.Nlink > 1 && st.Mode().IsRegular() {
		key := [2]uint64{uint64(sys.Dev), uint64(sys.Ino)}
		if first, ok := p.links[key]; ok {
			if e := vfs.Link(p.s.l, first, kpath); e != 0 {
				p.fail("cannot create hard link", shown, e)
			}
			return
		}
		p.links[key] = kpath
	}
	switch {
	case st.Mode().IsRegular():
		if err := p.copyIn(h, kpath); err != nil {
			if e, ok := err.(unix.Errno); ok {
				p.fail("error writing", shown, e)
			} else {
				p.fail("error reading", h, err)
			}
			return
		}
	case st.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(h)
		if err != nil {
			p.fail("cannot read symbolic link", h, err)
			return
		}
		if e := vfs.Symlink(p.s.l, target, kpath); e != 0 {
			p.fail("cannot create symbolic link", shown, e)
			return
		}
	default:
		if sys == nil {
			p.fail("cannot copy special file", h, unix.ENOTSUP)
			return
		}
		if e := vfs.Mknod(p.s.l, kpath, uint32(sys.Mode), uint64(sys.Rdev)); e != 0 {
			p.fail("cannot create special file", shown, e)
			return
		}
	}
	p.setAttrs(h, kpath, shown, st, sys)
	p.s.meter.add(1, 0)
}

// copyIn writes host file h to a new file kpath through the kernel's
// write(2); an error is a unix.Errno from the image or a host error.
func (p *putter) copyIn(h, kpath string) error {
	f, err := os.Open(h)
	if err != nil {
		return err
	}
	defer f.Close()
	fd, e := vfs.Open(p.s.l, kpath, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if e != 0 {
		return e
	}
	defer vfs.Close(p.s.l, fd)
	buf := p.s.ioBuf()
	for !stopped() {
		n, err := f.Read(buf)
		for off := 0; off < n; {
			m, e := vfs.Write(p.s.l, fd, buf[off:n])
			if e != 0 {
				return e
			}
			off += m
		}
		p.s.meter.add(0, int64(n))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setAttrs gives kpath the host file's mode, times and (with
// --preserve-owner) owner, never following a symlink.
func (p *putter) setAttrs(h, kpath, shown string, st os.FileInfo, sys *syscall.Stat_t) {
	if sys == nil {
		return
	}
	if p.xattrs && st.Mode()&os.ModeSymlink == 0 {
		if xs, err := hostXattrs(h); err != nil {
			p.fail("cannot read extended attributes of", h, err)
		} else if e := p.s.setImageXattrs(kpath, xs); e != 0 {
			p.fail("cannot set extended attributes of", shown, e)
		}
	}
	if p.owner {
		if e := vfs.Lchown(p.s.l, kpath, int(sys.Uid), int(sys.Gid)); e != 0 {
			p.fail("cannot set the owner of", shown, e)
		}
	}
	if st.Mode()&os.ModeSymlink == 0 {
		if e := vfs.Chmod(p.s.l, kpath, uint32(sys.Mode)&0o7777); e != 0 {
			p.fail("cannot set the mode of", shown, e)
		}
	}
	at, mt := statTimes(sys)
	ts := [2]vfs.Timespec{at, mt}
	if e := vfs.Utimes(p.s.l, kpath, &ts, false); e != 0 {
		p.fail("cannot set the times of", shown, e)
	}
}

// flagSet is a command's flags with the image options (-t, -o).
type flagSet struct {
	*pflag.FlagSet
	img imageFlags
}

func newImageFlags(name string, h helpText) *flagSet {
	fl := newFlags(name, h)
	return &flagSet{fl, addImageFlags(fl)}
}

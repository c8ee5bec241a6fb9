package main

// rumpfs cp: copies inside one image, through the kernel's read and
// write, keeping what cp -a keeps.

import (
	"fmt"
	"path"
	"strings"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register("cp", "copy files inside an image (no mount)", cmdCp)
}

func cmdCp(args []string) int {
	fl := newImageFlags("cp", helpText{
		usage: "rumpfs cp [options] IMAGE[@SEL]:SRC... IMAGE[@SEL]:DEST",
		about: "Copies files inside one image, without mounting it, keeping what\n" +
			"cp -a keeps: modes, owners, times, symlinks as symlinks, hard links\n" +
			"within the copy. When DEST is a directory the sources are copied into\n" +
			"it under their own names. Directories need -r. An existing file is\n" +
			"not overwritten unless -f. (Between two images: get, then put.)",
		examples: "  rumpfs cp disk.ffs:/etc/fstab disk.ffs:/etc/fstab.orig\n" +
			"  rumpfs cp -r disk.ffs:/etc/skel disk.ffs:/home/u",
	})
	rec := flagBool(fl.FlagSet, "recursive", "r", "copy directories and everything in them")
	recR := flagBool(fl.FlagSet, "R", "R", "the same as -r")
	fl.MarkHidden("R")
	force := flagBool(fl.FlagSet, "force", "f", "replace existing files")
	s, ias, code := writeSession("cp", fl, args, 2, 0)
	if s == nil {
		return code
	}
	dst := ias[len(ias)-1]
	var va vfs.Vattr
	intoDir := vfs.Stat(s.l, dst.path, &va) == 0 && va.Type == vfs.VDIR
	if len(ias) > 2 && !intoDir {
		fmt.Fprintf(errOut, "rumpfs cp: target '%s' is not a directory\n", textesc.Escape(dst.arg))
		return s.close(exitFail)
	}
	c := &copier{s: s, image: dst.image, rec: *rec || *recR, force: *force, links: map[uint64]string{}}
	for _, a := range ias[:len(ias)-1] {
		to := dst.path
		if intoDir {
			to = path.Join(dst.path, path.Base(a.path))
		}
		if to == a.path || strings.HasPrefix(to, strings.TrimSuffix(a.path, "/")+"/") {
			fmt.Fprintf(errOut, "rumpfs cp: cannot copy '%s' into itself, '%s'\n", textesc.Escape(a.arg), textesc.Escape(dst.image+":"+to))
			c.status = exitFail
			continue
		}
		c.copy(a.path, to)
	}
	return s.close(c.status)
}

type copier struct {
	s          *session
	image      string
	rec, force bool
	links      map[uint64]string // source inode -> its copy
	status     int
}

func (c *copier) fail(what, p string, e error) {
	report("cp", what, c.image+":"+p, e)
	c.status = exitFail
}

func (c *copier) copy(from, to string) {
	if stopped() {
		return
	}
	l := c.s.l
	var va, ex vfs.Vattr
	if e := vfs.Lstat(l, from, &va); e != 0 {
		c.fail("cannot stat", from, e)
		return
	}
	exists := vfs.Lstat(l, to, &ex) == 0
	if va.Type == vfs.VDIR {
		if !c.rec {
			fmt.Fprintf(errOut, "rumpfs cp: -r not specified; omitting directory '%s'\n", textesc.Escape(c.image+":"+from))
			c.status = exitFail
			return
		}
		if !exists || ex.Type != vfs.VDIR {
			if e := vfs.Mkdir(l, to, 0o700); e != 0 {
				c.fail("cannot create directory", to, e)
				return
			}
		}
		des, e := vfs.ReadDir(l, from)
		if e != 0 {
			c.fail("cannot open directory", from, e)
		}
		for _, de := range des {
			if !isDots(de.Name) {
				c.copy(path.Join(from, de.Name), path.Join(to, de.Name))
			}
		}
		c.setAttrs(to, &va)
		return
	}
	if exists {
		if !c.force {
			c.fail("not overwriting", to, unix.EEXIST)
			return
		}
		if e := vfs.Unlink(l, to); e != 0 {
			c.fail("cannot remove", to, e)
			return
		}
	}
	if va.Nlink > 1 {
		if first, ok := c.links[va.Fileid]; ok {
			if e := vfs.Link(l, first, to); e != 0 {
				c.fail("cannot create hard link", to, e)
			}
			return
		}
		c.links[va.Fileid] = to
	}
	var e unix.Errno
	switch va.Type {
	case vfs.VREG:
		e = c.copyData(from, to)
	case vfs.VLNK:
		buf := make([]byte, 4096)
		var n int
		if n, e = vfs.Readlink(l, from, buf); e == 0 {
			e = vfs.Symlink(l, string(buf[:n]), to)
		}
	default:
		e = vfs.Mknod(l, to, va.StMode(), va.Rdev)
	}
	if e != 0 {
		c.fail("cannot copy to", to, e)
		return
	}
	c.setAttrs(to, &va)
}

func (c *copier) copyData(from, to string) unix.Errno {
	l := c.s.l
	in, e := vfs.Open(l, from, unix.O_RDONLY, 0)
	if e != 0 {
		return e
	}
	defer vfs.Close(l, in)
	out, e := vfs.Open(l, to, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if e != 0 {
		return e
	}
	defer vfs.Close(l, out)
	buf := c.s.ioBuf()
	for !stopped() {
		n, e := vfs.Read(l, in, buf)
		if e != 0 || n == 0 {
			return e
		}
		for off := 0; off < n; {
			m, e := vfs.Write(l, out, buf[off:n])
			if e != 0 {
				return e
			}
			off += m
		}
	}
	return 0
}

// setAttrs gives to the owner, mode and times of va (cp -a).
func (c *copier) setAttrs(to string, va *vfs.Vattr) {
	l := c.s.l
	if e := vfs.Lchown(l, to, int(va.Uid), int(va.Gid)); e != 0 {
		c.fail("cannot preserve the owner of", to, e)
	}
	if va.Type != vfs.VLNK {
		if e := vfs.Chmod(l, to, va.Mode&0o7777); e != 0 {
			c.fail("cannot preserve the mode of", to, e)
		}
	}
	ts := [2]vfs.Timespec{va.Atime, va.Mtime}
	if e := vfs.Utimes(l, to, &ts, false); e != 0 {
		c.fail("cannot preserve the times of", to, e)
	}
}

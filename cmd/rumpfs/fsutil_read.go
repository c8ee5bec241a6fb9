package main

// The reading fs-utils commands: ls, cat, stat. Output mirrors GNU
// coreutils' in the C locale with the output not a terminal (one name a
// line, numeric owners in ls), so scripts written for them read ours.

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register("ls", "list directory contents inside an image (no mount)", cmdLs)
	register("cat", "print files from inside an image (no mount)", cmdCat)
	register("stat", "show a file's status inside an image, as GNU stat (no mount)", cmdStat)
}

// fsStdout receives the fs-utils commands' output (a variable for tests).
var fsStdout io.Writer = os.Stdout

// lsEnt is one file ls prints.
type lsEnt struct {
	name   string // as printed
	kpath  string // in the kernel
	va     vfs.Vattr
	target string // a symlink's, for -l
}

type lsOpts struct {
	long, all, recursive, inode, dirSelf, human, json bool
}

func cmdLs(args []string) int {
	fl := newFlags("ls", helpText{
		usage: "rumpfs ls [options] IMAGE[@SEL]:PATH...",
		about: "Lists files inside an image as GNU ls does, without mounting it: the\n" +
			"kernel runs in this process and reads the image (opened read-only).\n" +
			"One name a line; -l is GNU's long format with numeric owners and group\n" +
			"(ls -ln); names sort by bytes (the C locale). IMAGE takes the selectors\n" +
			"rumpfs mount takes (@N, @NAME, %DISKLABEL:x%, %OFFSET:off,size%).\n" +
			"Exit status as ls: 0, 1 when a directory below could not be read, 2\n" +
			"when an argument could not be accessed.",
		examples: "  rumpfs ls -l disk.img@2:/etc        # long listing of /etc in partition 2\n" +
			"  rumpfs ls -laR root.ext4:/           # everything, recursively",
	})
	var o lsOpts
	long := flagBool(fl, "long", "l", "long format: mode, links, owner, group, size, time, name")
	all := flagBool(fl, "all", "a", "include names starting with . (and . and ..)")
	rec := flagBool(fl, "recursive", "R", "list directories below as well")
	ino := flagBool(fl, "inode", "i", "print each file's inode number first")
	dir := flagBool(fl, "directory", "d", "list directories themselves, not their contents")
	hum := flagBool(fl, "human-readable", "h", "with -l, sizes like 1K 234M 2G")
	flagBool(fl, "one", "1", "one name a line (always so)")
	jsonOut := flagBool(fl, "json", "", "print a JSON array of the files listed (path, type, mode, owners,\nsize, times...) instead")
	imf := addImageFlags(fl)
	if code, ok := minArgs(fl, args, 1); !ok {
		return code
	}
	o = lsOpts{long: *long, all: *all, recursive: *rec, inode: *ino, dirSelf: *dir, human: *hum, json: *jsonOut}
	if o.json {
		o.long = true // for symlink targets
	}
	ias, code := imageArgs("ls", fl.Args())
	if code != 0 {
		return code
	}
	img, code := sameImage("ls", ias)
	if code != 0 {
		return code
	}
	s, code := openImage("ls", img, imf, false, 2)
	if code != 0 {
		return code
	}
	return s.close(s.ls(ias, o))
}

func (s *session) ls(ias []imageArg, o lsOpts) int {
	status := 0
	var files []lsEnt
	var dirs []lsEnt
	for _, a := range ias {
		e := lsEnt{name: a.arg, kpath: a.kpath()}
		if err := vfs.Lstat(s.l, e.kpath, &e.va); err != 0 {
			report("ls", "cannot access", a.arg, err)
			status = 2
			continue
		}
		if e.va.Type == vfs.VLNK && !o.long && !o.dirSelf {
			var st vfs.Vattr
			if vfs.Stat(s.l, e.kpath, &st) == 0 && st.Type == vfs.VDIR {
				e.va = st
			}
		}
		if e.va.Type == vfs.VDIR && !o.dirSelf {
			dirs = append(dirs, e)
		} else {
			s.readTarget(&e, o)
			files = append(files, e)
		}
	}
	sortEnts(files)
	sortEnts(dirs)
	w := newLsWriter(fsStdout, o)
	if o.json {
		w.w = io.Discard
		w.records = []fileJSON{}
		defer func() { printJSON(w.records) }()
	}
	if len(files) > 0 {
		w.list(files, false)
		for _, e := range files {
			w.records = append(w.records, toFileJSON(e.name, &e.va, e.target))
		}
	}
	headers := len(ias) > 1 || o.recursive
	first := len(files) == 0
	var walk func(d lsEnt)
	walk = func(d lsEnt) {
		if stopped() {
			return
		}
		if !first {
			fmt.Fprintln(w.w)
		}
		first = false
		if headers {
			fmt.Fprintf(w.w, "%s:\n", textesc.Escape(d.name))
		}
		ents, err := s.readDirEnts(d, o)
		if err != 0 {
			report("ls", "cannot open directory", d.name, err)
			if status == 0 {
				status = 1
			}
			return
		}
		w.list(ents, true)
		if o.json {
			for _, e := range ents {
				w.records = append(w.records, toFileJSON(joinShown(d.name, e.name), &e.va, e.target))
			}
		}
		if !o.recursive {
			return
		}
		for _, e := range ents {
			if e.va.Type == vfs.VDIR && !isDots(e.name) {
				walk(lsEnt{name: joinShown(d.name, e.name), kpath: e.kpath, va: e.va})
			}
		}
	}
	for _, d := range dirs {
		walk(d)
	}
	return status
}

func isDots(n string) bool { return n == "." || n == ".." }

// joinShown joins a shown path and a name: img:/d and x give img:/d/x.
func joinShown(dir, name string) string {
	if strings.HasSuffix(dir, ":") {
		return dir + "/" + name
	}
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

func sortEnts(es []lsEnt) { sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name }) }

// readDirEnts reads directory d's entries and their attributes.
func (s *session) readDirEnts(d lsEnt, o lsOpts) ([]lsEnt, unix.Errno) {
	des, err := vfs.ReadDir(s.l, d.kpath)
	if err != 0 {
		return nil, err
	}
	var out []lsEnt
	for _, de := range des {
		if !o.all && strings.HasPrefix(de.Name, ".") {
			continue
		}
		e := lsEnt{name: de.Name, kpath: path.Join(d.kpath, de.Name)}
		if err := vfs.Lstat(s.l, e.kpath, &e.va); err != 0 {
			report("ls", "cannot access", joinShown(d.name, de.Name), err)
			continue
		}
		s.readTarget(&e, o)
		out = append(out, e)
	}
	sortEnts(out)
	return out, 0
}

func (s *session) readTarget(e *lsEnt, o lsOpts) {
	if e.va.Type != vfs.VLNK || !o.long {
		return
	}
	buf := make([]byte, 4096)
	if n, err := vfs.Readlink(s.l, e.kpath, buf); err == 0 {
		e.target = string(buf[:n])
	}
}

type lsWriter struct {
	w       io.Writer
	o       lsOpts
	now     time.Time
	records []fileJSON // --json
}

func newLsWriter(w io.Writer, o lsOpts) *lsWriter { return &lsWriter{w: w, o: o, now: time.Now()} }

// list prints entries; a directory's listing has a total line in long
// format.
func (w *lsWriter) list(es []lsEnt, dir bool) {
	var inoW, linkW, uidW, gidW, sizeW int
	var blocks int64
	cols := make([][4]string, len(es))
	for i, e := range es {
		blocks += e.va.Bytes / 512
		cols[i] = [4]string{
			strconv.FormatUint(e.va.Fileid, 10),
			strconv.FormatUint(uint64(e.va.Nlink), 10),
			strconv.FormatUint(uint64(e.va.Uid), 10) + "\x00" + strconv.FormatUint(uint64(e.va.Gid), 10),
			w.size(e.va),
		}
		inoW = max(inoW, len(cols[i][0]))
		linkW = max(linkW, len(cols[i][1]))
		u, g, _ := strings.Cut(cols[i][2], "\x00")
		uidW, gidW = max(uidW, len(u)), max(gidW, len(g))
		sizeW = max(sizeW, len(cols[i][3]))
	}
	if w.o.long && dir {
		// GNU counts 1 KiB units, rounding up.
		t := strconv.FormatInt((blocks+1)/2, 10)
		if w.o.human {
			t = humanCeil(blocks * 512)
		}
		fmt.Fprintf(w.w, "total %s\n", t)
	}
	for i, e := range es {
		var b strings.Builder
		if w.o.inode {
			fmt.Fprintf(&b, "%*s ", inoW, cols[i][0])
		}
		if w.o.long {
			u, g, _ := strings.Cut(cols[i][2], "\x00")
			fmt.Fprintf(&b, "%s %*s %*s %*s %*s %s ", modeString(e.va), linkW, cols[i][1], uidW, u, gidW, g, sizeW, cols[i][3], w.date(e.va.Mtime))
		}
		b.WriteString(textesc.Escape(e.name))
		if w.o.long && e.va.Type == vfs.VLNK {
			b.WriteString(" -> " + textesc.Escape(e.target))
		}
		fmt.Fprintln(w.w, b.String())
	}
}

func (w *lsWriter) size(va vfs.Vattr) string {
	if va.Type == vfs.VBLK || va.Type == vfs.VCHR {
		return fmt.Sprintf("%d, %d", unix.Major(va.Rdev), unix.Minor(va.Rdev))
	}
	if w.o.human {
		return humanCeil(va.Size)
	}
	return strconv.FormatInt(va.Size, 10)
}

// date is ls -l's time: month, day and time within six months in the
// past, else month, day and year.
func (w *lsWriter) date(ts vfs.Timespec) string {
	t := time.Unix(ts.Sec, ts.Nsec)
	halfYear := time.Duration(31556952/2) * time.Second
	if t.After(w.now.Add(-halfYear)) && !t.After(w.now) {
		return t.Format("Jan _2 15:04")
	}
	return t.Format("Jan _2  2006")
}

// humanCeil is GNU's -h: powers of 1024, rounded up, one decimal below 10.
func humanCeil(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	v := float64(n)
	units := "KMGTPE"
	u := -1
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v < 10 {
		v = ceilTo(v, 10)
		if v < 10 {
			return fmt.Sprintf("%.1f%c", v, units[u])
		}
	}
	v = ceilTo(v, 1)
	if v >= 1024 && u < len(units)-1 {
		return fmt.Sprintf("%.1f%c", 1.0, units[u+1])
	}
	return fmt.Sprintf("%.0f%c", v, units[u])
}

func ceilTo(v, scale float64) float64 {
	x := v * scale
	c := float64(int64(x))
	if c < x {
		c++
	}
	return c / scale
}

// modeString is the ten-character mode of ls -l and stat.
func modeString(va vfs.Vattr) string {
	b := []byte("?---------")
	b[0] = map[vfs.VType]byte{vfs.VREG: '-', vfs.VDIR: 'd', vfs.VLNK: 'l', vfs.VBLK: 'b', vfs.VCHR: 'c', vfs.VFIFO: 'p', vfs.VSOCK: 's'}[va.Type]
	if b[0] == 0 {
		b[0] = '?'
	}
	m := va.Mode
	for i, c := range "rwxrwxrwx" {
		if m&(1<<(8-i)) != 0 {
			b[1+i] = byte(c)
		}
	}
	special := func(bit uint32, i int, set, unset byte) {
		if m&bit != 0 {
			if b[i] == 'x' {
				b[i] = set
			} else {
				b[i] = unset
			}
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}

func cmdCat(args []string) int {
	fl := newFlags("cat", helpText{
		usage: "rumpfs cat [options] IMAGE[@SEL]:PATH...",
		about: "Writes the files inside an image to standard output, in order, without\n" +
			"mounting it (the image is opened read-only). Exit status 1 if any file\n" +
			"could not be read; the others are still written.",
		examples: "  rumpfs cat disk.img@2:/etc/fstab\n" +
			"  rumpfs cat root.ext4:/etc/hostname root.ext4:/etc/hosts",
	})
	imf := addImageFlags(fl)
	if code, ok := minArgs(fl, args, 1); !ok {
		return code
	}
	ias, code := imageArgs("cat", fl.Args())
	if code != 0 {
		return code
	}
	img, code := sameImage("cat", ias)
	if code != 0 {
		return code
	}
	s, code := openImage("cat", img, imf, false, exitFail)
	if code != 0 {
		return code
	}
	status := 0
	for _, a := range ias {
		if stopped() {
			break
		}
		if err := s.copyOut(a.kpath(), fsStdout); err != nil {
			fmt.Fprintf(errOut, "rumpfs cat: %s: %s\n", textesc.Escape(a.arg), errnoText(err))
			status = exitFail
		}
	}
	return s.close(status)
}

// hostWriteError marks a failure writing to the host (not reading the
// image).
type hostWriteError struct{ err error }

func (h hostWriteError) Error() string { return h.err.Error() }

// copyOut writes the file at kpath to w through the kernel's read(2).
func (s *session) copyOut(kpath string, w io.Writer) error {
	fd, e := vfs.Open(s.l, kpath, unix.O_RDONLY, 0)
	if e != 0 {
		return e
	}
	defer vfs.Close(s.l, fd)
	buf := s.ioBuf()
	for !stopped() {
		n, e := vfs.Read(s.l, fd, buf)
		if e != 0 {
			return e
		}
		if n == 0 {
			return nil
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return hostWriteError{err}
		}
		s.meter.add(0, int64(n))
	}
	return nil
}

func cmdStat(args []string) int {
	fl := newFlags("stat", helpText{
		usage: "rumpfs stat [options] IMAGE[@SEL]:PATH...",
		about: "Shows files' status inside an image in GNU stat's layout, without\n" +
			"mounting it (the image is opened read-only). Owners are named from\n" +
			"this host's user database, as GNU stat on a mount would; the device\n" +
			"is the kernel's. --format takes GNU stat's directives (%n %N %s %b %B\n" +
			"%f %a %A %F %u %U %g %G %h %i %o %t %T %x %X %y %Y %z %Z %w %W %%).",
		examples: "  rumpfs stat disk.img@2:/etc/passwd\n" +
			"  rumpfs stat -c '%a %u %g %s %n' root.ext4:/bin/sh",
	})
	format := fl.StringP("format", "c", "", "print `FORMAT` (GNU stat's directives) instead of the default layout, with a newline")
	deref := flagBool(fl, "dereference", "L", "follow a final symlink")
	jsonOut := flagBool(fl, "json", "", "print a JSON array of the files' attributes instead")
	imf := addImageFlags(fl)
	if code, ok := minArgs(fl, args, 1); !ok {
		return code
	}
	ias, code := imageArgs("stat", fl.Args())
	if code != 0 {
		return code
	}
	img, code := sameImage("stat", ias)
	if code != 0 {
		return code
	}
	s, code := openImage("stat", img, imf, false, exitFail)
	if code != 0 {
		return code
	}
	status := 0
	records := []fileJSON{}
	for _, a := range ias {
		var va vfs.Vattr
		get := vfs.Lstat
		if *deref {
			get = vfs.Stat
		}
		if e := get(s.l, a.kpath(), &va); e != 0 {
			report("stat", "cannot stat", a.arg, e)
			status = exitFail
			continue
		}
		target := ""
		if va.Type == vfs.VLNK {
			buf := make([]byte, 4096)
			if n, e := vfs.Readlink(s.l, a.kpath(), buf); e == 0 {
				target = string(buf[:n])
			}
		}
		if *jsonOut {
			records = append(records, toFileJSON(a.arg, &va, target))
			continue
		}
		f := *format
		if f == "" {
			f = "  File: %N\n  Size: %-10s\tBlocks: %-10b IO Block: %-6o %F\nDevice: %Hd,%Ld\tInode: %-11i Links: %h"
			if va.Type == vfs.VBLK || va.Type == vfs.VCHR {
				f = "  File: %N\n  Size: %-10s\tBlocks: %-10b IO Block: %-6o %F\nDevice: %Hd,%Ld\tInode: %-11i Links: %-5h Device type: %Hr,%Lr"
			}
			f += "\nAccess: (%04a/%10.10A)  Uid: (%5u/%8U)   Gid: (%5g/%8G)\nAccess: %x\nModify: %y\nChange: %z\n Birth: %w"
		}
		fmt.Fprintln(fsStdout, statFormat(f, a.arg, target, va))
	}
	if *jsonOut {
		printJSON(records)
	}
	return s.close(status)
}

// statFormat expands GNU stat's directives for one file.
func statFormat(f, name, target string, va vfs.Vattr) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("-+ #0123456789.", f[j]) >= 0 {
			j++
		}
		flags := f[i+1 : j]
		if j < len(f) && (f[j] == 'H' || f[j] == 'L') && j+1 < len(f) {
			j++ // %Hd %Ld %Hr %Lr: major and minor
		}
		if j >= len(f) {
			b.WriteString(f[i:])
			break
		}
		verb := f[i+1+len(flags) : j+1]
		i = j
		num := func(v uint64) string { return fmt.Sprintf("%"+flags+"d", v) }
		str := func(v string) string { return fmt.Sprintf("%"+flags+"s", v) }
		switch verb {
		case "%":
			b.WriteByte('%')
		case "n":
			b.WriteString(str(textesc.Escape(name)))
		case "N":
			s := textesc.Escape(name)
			if va.Type == vfs.VLNK {
				s += " -> " + textesc.Escape(target)
			}
			b.WriteString(str(s))
		case "s":
			b.WriteString(num(uint64(va.Size)))
		case "b":
			b.WriteString(num(uint64(va.Bytes / 512)))
		case "B":
			b.WriteString(num(512))
		case "o":
			b.WriteString(num(uint64(va.Blocksize)))
		case "f":
			b.WriteString(fmt.Sprintf("%"+flags+"x", va.StMode()))
		case "a":
			b.WriteString(fmt.Sprintf("%"+flags+"o", va.Mode&0o7777))
		case "A":
			b.WriteString(str(modeString(va)))
		case "F":
			b.WriteString(str(fileTypeName(va)))
		case "u":
			b.WriteString(num(uint64(va.Uid)))
		case "g":
			b.WriteString(num(uint64(va.Gid)))
		case "U":
			b.WriteString(str(userName(va.Uid)))
		case "G":
			b.WriteString(str(groupName(va.Gid)))
		case "h":
			b.WriteString(num(uint64(va.Nlink)))
		case "i":
			b.WriteString(num(va.Fileid))
		case "d":
			b.WriteString(num(va.Fsid))
		case "Hd":
			b.WriteString(num(uint64(unix.Major(va.Fsid))))
		case "Ld":
			b.WriteString(num(uint64(unix.Minor(va.Fsid))))
		case "Hr", "t":
			b.WriteString(num(uint64(unix.Major(va.Rdev))))
		case "Lr", "T":
			b.WriteString(num(uint64(unix.Minor(va.Rdev))))
		case "x", "y", "z", "w":
			t := map[string]vfs.Timespec{"x": va.Atime, "y": va.Mtime, "z": va.Ctime, "w": va.Birthtime}[verb]
			if verb == "w" && t == (vfs.Timespec{}) {
				b.WriteString(str("-"))
			} else {
				b.WriteString(str(time.Unix(t.Sec, t.Nsec).Format("2006-01-02 15:04:05.000000000 -0700")))
			}
		case "X", "Y", "Z", "W":
			t := map[string]vfs.Timespec{"X": va.Atime, "Y": va.Mtime, "Z": va.Ctime, "W": va.Birthtime}[verb]
			b.WriteString(fmt.Sprintf("%"+flags+"d", t.Sec))
		default:
			b.WriteString("?")
		}
	}
	return b.String()
}

func fileTypeName(va vfs.Vattr) string {
	switch va.Type {
	case vfs.VREG:
		if va.Size == 0 {
			return "regular empty file"
		}
		return "regular file"
	case vfs.VDIR:
		return "directory"
	case vfs.VLNK:
		return "symbolic link"
	case vfs.VBLK:
		return "block special file"
	case vfs.VCHR:
		return "character special file"
	case vfs.VFIFO:
		return "fifo"
	case vfs.VSOCK:
		return "socket"
	}
	return "weird file"
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return "UNKNOWN"
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return g.Name
	}
	return "UNKNOWN"
}

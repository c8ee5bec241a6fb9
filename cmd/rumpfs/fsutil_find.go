package main

// rumpfs find: GNU find's common tests over a tree inside an image.

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/spf13/pflag"
)

func init() {
	register("find", "search for files inside an image, as GNU find (no mount)", cmdFind)
}

// findTest is one test of a find expression.
type findTest func(name string, va *vfs.Vattr) bool

// findExpr is an OR of ANDs of tests (find's precedence without
// parentheses).
type findExpr [][]findTest

func (x findExpr) match(name string, va *vfs.Vattr) bool {
	if len(x) == 0 {
		return true
	}
	for _, and := range x {
		ok := true
		for _, t := range and {
			if !t(name, va) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

const findAbout = "Walks trees inside an image and prints the paths that match, as GNU\n" +
	"find does, without mounting it (the image is opened read-only). Paths\n" +
	"are printed as IMAGE:PATH, ready for the other commands. Tests:\n" +
	"-name PATTERN (shell pattern on the last name), -type f|d|l|p|s|b|c,\n" +
	"-size [+-]N[c|k|M|G] (default 512-byte blocks, rounded up, as GNU),\n" +
	"-mtime [+-]N (days), -newer IMAGE:PATH or PATH in the same image,\n" +
	"-inum N; ! or -not before a test negates it, -a joins (the default),\n" +
	"-o gives an alternative (no parentheses yet). Options: -maxdepth N,\n" +
	"-mindepth N; actions: -print (the default), -print0.\n" +
	"--json (before the paths) prints the matches' attributes as JSON.\n" +
	"Exit status 1 if some path could not be read."

func cmdFind(args []string) int {
	// Flags for the image come first, then paths, then the expression,
	// as find takes them.
	fl := newImageFlags("find", helpText{
		usage: "rumpfs find [-t TYPE] [-o OPTIONS] IMAGE[@SEL]:PATH... [EXPRESSION]",
		about: findAbout,
		examples: "  rumpfs find root.ext4:/etc -name '*.conf' -type f\n" +
			"  rumpfs find disk.ffs:/ -size +1M -print0 | xargs -0 -n1 echo",
	})
	jsonOut := flagBool(fl.FlagSet, "json", "", "print a JSON array of the matches' attributes instead of paths")
	fl.SetInterspersed(false)
	switch err := fl.Parse(args); {
	case err == pflag.ErrHelp:
		return 0
	case err != nil:
		return usageError("find", exitUsage, "%v", err)
	}
	rest := fl.Args()
	var paths []string
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && rest[0] != "!" {
		paths = append(paths, rest[0])
		rest = rest[1:]
	}
	if len(paths) == 0 {
		return usageError("find", exitUsage, "missing IMAGE:PATH")
	}
	ias, code := imageArgs("find", paths)
	if code != 0 {
		return code
	}
	img, code := sameImage("find", ias)
	if code != 0 {
		return code
	}
	s, code := openImage("find", img, fl.img, false, exitFail)
	if code != 0 {
		return code
	}
	expr, opts, msg := s.parseFind(rest, img)
	if msg != "" {
		s.close(0)
		return usageError("find", exitUsage, "%s", msg)
	}
	status := 0
	records := []fileJSON{}
	end := "\n"
	if opts.print0 {
		end = "\x00"
	}
	var walk func(p, shown string, depth int)
	walk = func(p, shown string, depth int) {
		if stopped() {
			return
		}
		var va vfs.Vattr
		if e := vfs.Lstat(s.l, p, &va); e != 0 {
			report("find", "cannot access", shown, e)
			status = exitFail
			return
		}
		if depth >= opts.minDepth && expr.match(path.Base(p), &va) && *jsonOut {
			target := ""
			if va.Type == vfs.VLNK {
				buf := make([]byte, 4096)
				if n, e := vfs.Readlink(s.l, p, buf); e == 0 {
					target = string(buf[:n])
				}
			}
			records = append(records, toFileJSON(shown, &va, target))
		} else if depth >= opts.minDepth && expr.match(path.Base(p), &va) {
			out := shown
			if !opts.print0 {
				out = textesc.Escape(shown)
			}
			fmt.Fprint(fsStdout, out+end)
		}
		if va.Type != vfs.VDIR || (opts.maxDepth >= 0 && depth >= opts.maxDepth) {
			return
		}
		des, e := vfs.ReadDir(s.l, p)
		if e != 0 {
			report("find", "cannot read directory", shown, e)
			status = exitFail
		}
		for _, de := range des {
			if !isDots(de.Name) {
				walk(path.Join(p, de.Name), joinShown(shown, de.Name), depth+1)
			}
		}
	}
	for _, a := range ias {
		walk(a.path, a.arg, 0)
	}
	if *jsonOut {
		printJSON(records)
	}
	return s.close(status)
}

type findOpts struct {
	maxDepth, minDepth int
	print0             bool
}

// parseFind parses find's expression; msg says what is wrong with it.
func (s *session) parseFind(args []string, img string) (x findExpr, o findOpts, msg string) {
	o.maxDepth = -1
	var and []findTest
	now := time.Now()
	neg := false
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		arg := func() (string, bool) {
			if len(args) == 0 {
				msg = "missing argument to '" + a + "'"
				return "", false
			}
			v := args[0]
			args = args[1:]
			return v, true
		}
		var t findTest
		switch a {
		case "!", "-not":
			neg = !neg
			continue
		case "-a", "-and":
			continue
		case "-o", "-or":
			x = append(x, and)
			and = nil
			continue
		case "-print":
			continue
		case "-print0":
			o.print0 = true
			continue
		case "-maxdepth", "-mindepth":
			v, ok := arg()
			if !ok {
				return
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return x, o, fmt.Sprintf("%s: want a number, not %q", a, v)
			}
			if a == "-maxdepth" {
				o.maxDepth = n
			} else {
				o.minDepth = n
			}
			continue
		case "-name":
			v, ok := arg()
			if !ok {
				return
			}
			if _, err := path.Match(v, ""); err != nil {
				return x, o, fmt.Sprintf("-name %q: %v", v, err)
			}
			t = func(name string, _ *vfs.Vattr) bool { ok, _ := path.Match(v, name); return ok }
		case "-type":
			v, ok := arg()
			if !ok {
				return
			}
			want, known := map[string]vfs.VType{"f": vfs.VREG, "d": vfs.VDIR, "l": vfs.VLNK, "p": vfs.VFIFO, "s": vfs.VSOCK, "b": vfs.VBLK, "c": vfs.VCHR}[v]
			if !known {
				return x, o, fmt.Sprintf("-type %q: want one of f d l p s b c", v)
			}
			t = func(_ string, va *vfs.Vattr) bool { return va.Type == want }
		case "-size":
			v, ok := arg()
			if !ok {
				return
			}
			cmp, num := numArg(v)
			unit := int64(512)
			if num != "" {
				if u, ok := map[byte]int64{'c': 1, 'w': 2, 'b': 512, 'k': 1024, 'M': 1 << 20, 'G': 1 << 30}[num[len(num)-1]]; ok {
					unit, num = u, num[:len(num)-1]
				}
			}
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return x, o, fmt.Sprintf("-size %q: want [+-]N[ckMG]", v)
			}
			t = func(_ string, va *vfs.Vattr) bool { return cmp((va.Size+unit-1)/unit, n) }
		case "-mtime":
			v, ok := arg()
			if !ok {
				return
			}
			cmp, num := numArg(v)
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return x, o, fmt.Sprintf("-mtime %q: want [+-]N", v)
			}
			t = func(_ string, va *vfs.Vattr) bool {
				age := now.Sub(time.Unix(va.Mtime.Sec, va.Mtime.Nsec))
				return cmp(int64(age/(24*time.Hour)), n)
			}
		case "-inum":
			v, ok := arg()
			if !ok {
				return
			}
			cmp, num := numArg(v)
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return x, o, fmt.Sprintf("-inum %q: want a number", v)
			}
			t = func(_ string, va *vfs.Vattr) bool { return cmp(int64(va.Fileid), n) }
		case "-newer":
			v, ok := arg()
			if !ok {
				return
			}
			p := v
			if ia, ok := parseImageArg(v); ok {
				if ia.image != img {
					return x, o, fmt.Sprintf("-newer %s: not in the image searched", v)
				}
				p = ia.path
			}
			var ref vfs.Vattr
			if e := vfs.Stat(s.l, path.Clean("/"+p), &ref); e != 0 {
				return x, o, fmt.Sprintf("-newer %s: %s", v, errnoText(e))
			}
			t = func(_ string, va *vfs.Vattr) bool {
				return va.Mtime.Sec > ref.Mtime.Sec || va.Mtime.Sec == ref.Mtime.Sec && va.Mtime.Nsec > ref.Mtime.Nsec
			}
		default:
			return x, o, fmt.Sprintf("unknown predicate '%s'", a)
		}
		if neg {
			inner := t
			t = func(name string, va *vfs.Vattr) bool { return !inner(name, va) }
			neg = false
		}
		and = append(and, t)
	}
	if len(and) > 0 || len(x) > 0 {
		x = append(x, and)
	}
	return x, o, ""
}

// numArg splits find's +N (more than), -N (less than) and N (exactly).
func numArg(v string) (func(a, b int64) bool, string) {
	switch {
	case strings.HasPrefix(v, "+"):
		return func(a, b int64) bool { return a > b }, v[1:]
	case strings.HasPrefix(v, "-"):
		return func(a, b int64) bool { return a < b }, v[1:]
	}
	return func(a, b int64) bool { return a == b }, v
}

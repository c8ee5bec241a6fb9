package main

// getfattr and setfattr: extended attributes inside an image, in the
// attr package's commands' output and options.

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register("getfattr", "show extended attributes inside an image, as getfattr (no mount)", cmdGetfattr)
	register("setfattr", "set or remove extended attributes inside an image (no mount)", cmdSetfattr)
}

// onVnode runs fn on the vnode at p inside one kernel entry (the
// extended attribute calls are VOPs: there is no system call layer for
// them yet).
func (s *session) onVnode(p string, follow bool, fn func(vp *vfs.Vnode) unix.Errno) (e unix.Errno) {
	if e = vfs.Enter(s.l); e != 0 {
		return e
	}
	defer vfs.Leave(s.l, &e)
	flags := 0
	if follow {
		flags = vfs.Follow
	}
	res, e := vfs.Namei(s.l, nil, p, vfs.LOOKUP, flags)
	if e != 0 {
		return e
	}
	defer vfs.Vrele(s.l, res.Vp)
	return fn(res.Vp)
}

// readUio calls op with nil to learn the size, then with a buffer.
func readUio(op func(u *kernel.Uio) (int, unix.Errno)) ([]byte, unix.Errno) {
	n, e := op(nil)
	if e != 0 || n == 0 {
		return nil, e
	}
	buf := make([]byte, n)
	u := kernel.UioSetup(buf, 0, kernel.UioRead)
	n, e = op(u)
	kernel.UioFree(u)
	return buf[:n], e
}

func cmdGetfattr(args []string) int {
	fl := newImageFlags("getfattr", helpText{
		usage: "rumpfs getfattr [options] IMAGE[@SEL]:PATH...",
		about: "Prints the extended attributes of files inside an image as getfattr\n" +
			"does, without mounting it (the image is opened read-only): a\n" +
			"\"# file:\" line, then NAME=VALUE lines, text values quoted, others in\n" +
			"hex (0x) or base64 (0s). Without -d only the names are printed. Names\n" +
			"must match -m's prefix (default \"user.\"; \"-\" for all).",
		examples: "  rumpfs getfattr -d root.ext4:/usr/bin/ping\n" +
			"  rumpfs getfattr -n security.capability -e hex root.ext4:/usr/bin/ping",
	})
	dump := flagBool(fl.FlagSet, "dump", "d", "print the values too")
	name := fl.StringP("name", "n", "", "print only the attribute `NAME` (with its value)")
	match := fl.StringP("match", "m", "user.", "only names starting with `PREFIX` (\"-\" or \"\" for all)")
	enc := fl.StringP("encoding", "e", "", "value encoding: text, hex or base64 (default: text when printable)")
	noDeref := flagBool(fl.FlagSet, "no-dereference", "h", "do not follow a final symlink")
	s, ias, code := readSession("getfattr", fl, args, 1, 0, exitFail)
	if s == nil {
		return code
	}
	status := 0
	for _, a := range ias {
		var names []string
		values := map[string][]byte{}
		e := s.onVnode(a.path, !*noDeref, func(vp *vfs.Vnode) unix.Errno {
			if *name != "" {
				names = []string{*name}
			} else {
				list, e := readUio(func(u *kernel.Uio) (int, unix.Errno) { return vfs.VOPListextattr(s.l, vp, u) })
				if e != 0 {
					return e
				}
				for _, n := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
					if n != "" && (*match == "-" || *match == "" || strings.HasPrefix(n, *match)) {
						names = append(names, n)
					}
				}
			}
			sort.Strings(names) // as getfattr prints them
			if !*dump && *name == "" {
				return 0
			}
			for _, n := range names {
				v, e := readUio(func(u *kernel.Uio) (int, unix.Errno) { return vfs.VOPGetextattr(s.l, vp, n, u) })
				if e != 0 {
					return e
				}
				values[n] = v
			}
			return 0
		})
		if e != 0 {
			fmt.Fprintf(errOut, "rumpfs getfattr: %s: %s\n", textesc.Escape(a.arg), errnoText(e))
			status = exitFail
			continue
		}
		if len(names) == 0 {
			continue
		}
		fmt.Fprintf(fsStdout, "# file: %s\n", textesc.Escape(a.arg))
		for _, n := range names {
			if v, ok := values[n]; ok {
				fmt.Fprintf(fsStdout, "%s=%s\n", textesc.Escape(n), encodeXattr(v, *enc))
			} else {
				fmt.Fprintln(fsStdout, textesc.Escape(n))
			}
		}
		fmt.Fprintln(fsStdout)
	}
	return s.close(status)
}

// encodeXattr is getfattr's value encoding.
func encodeXattr(v []byte, enc string) string {
	if enc == "" {
		enc = "text"
		printable := utf8.Valid(v)
		for i, c := range v {
			if c < 0x20 && !(c == 0 && i == len(v)-1) || c == 0x7f {
				printable = false
			}
		}
		if !printable {
			enc = "base64"
		}
	}
	switch enc {
	case "hex":
		return fmt.Sprintf("0x%x", v)
	case "base64":
		return "0s" + base64.StdEncoding.EncodeToString(v)
	}
	s := strings.TrimSuffix(string(v), "\x00")
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// decodeXattr reads setfattr's value forms: "text", 0xHEX, 0sBASE64.
func decodeXattr(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		var b []byte
		h := s[2:]
		if len(h)%2 != 0 {
			return nil, fmt.Errorf("odd hex length")
		}
		for i := 0; i < len(h); i += 2 {
			var c byte
			if _, err := fmt.Sscanf(h[i:i+2], "%02x", &c); err != nil {
				return nil, err
			}
			b = append(b, c)
		}
		return b, nil
	case strings.HasPrefix(s, "0s") || strings.HasPrefix(s, "0S"):
		return base64.StdEncoding.DecodeString(s[2:])
	}
	return []byte(strings.Trim(s, `"`)), nil
}

func cmdSetfattr(args []string) int {
	fl := newImageFlags("setfattr", helpText{
		usage: "rumpfs setfattr [options] -n NAME [-v VALUE] | -x NAME IMAGE[@SEL]:PATH...",
		about: "Sets (-n, -v) or removes (-x) an extended attribute of files inside an\n" +
			"image, without mounting it. VALUE is text, \"quoted text\", 0xHEX or\n" +
			"0sBASE64, as setfattr takes it.",
		examples: "  rumpfs setfattr -n user.origin -v build-42 disk.ffs:/etc/app.conf\n" +
			"  rumpfs setfattr -x user.origin disk.ffs:/etc/app.conf",
	})
	name := fl.StringP("name", "n", "", "the attribute `NAME` to set")
	value := fl.StringP("value", "v", "", "its `VALUE` (empty if omitted)")
	remove := fl.StringP("remove", "x", "", "remove the attribute `NAME`")
	noDeref := flagBool(fl.FlagSet, "no-dereference", "h", "do not follow a final symlink")
	if code, ok := minArgs(fl.FlagSet, args, 1); !ok {
		return code
	}
	if (*name == "") == (*remove == "") {
		return usageError("setfattr", exitUsage, "give one of -n NAME or -x NAME")
	}
	v, err := decodeXattr(*value)
	if err != nil {
		return usageError("setfattr", exitUsage, "-v %q: %v", *value, err)
	}
	s, ias, code := writeSession("setfattr", fl, args, 1, 0)
	if s == nil {
		return code
	}
	status := 0
	for _, a := range ias {
		e := s.onVnode(a.path, !*noDeref, func(vp *vfs.Vnode) unix.Errno {
			if *remove != "" {
				return vfs.VOPDeleteextattr(s.l, vp, *remove)
			}
			return vfs.VOPSetextattr(s.l, vp, *name, v, 0)
		})
		if e != 0 {
			fmt.Fprintf(errOut, "rumpfs setfattr: %s: %s\n", textesc.Escape(a.arg), errnoText(e))
			status = exitFail
		}
	}
	return s.close(status)
}

// imageXattrs reads every extended attribute of the file at p in the
// image (a symlink itself); ENOTSUP from a driver without them is none.
func (s *session) imageXattrs(p string) (map[string][]byte, unix.Errno) {
	out := map[string][]byte{}
	e := s.onVnode(p, false, func(vp *vfs.Vnode) unix.Errno {
		list, e := readUio(func(u *kernel.Uio) (int, unix.Errno) { return vfs.VOPListextattr(s.l, vp, u) })
		if e == unix.ENOTSUP || e == unix.EOPNOTSUPP {
			return 0
		}
		if e != 0 {
			return e
		}
		for _, n := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
			if n == "" {
				continue
			}
			v, e := readUio(func(u *kernel.Uio) (int, unix.Errno) { return vfs.VOPGetextattr(s.l, vp, n, u) })
			if e != 0 {
				return e
			}
			out[n] = v
		}
		return 0
	})
	return out, e
}

// setImageXattrs sets attributes on the file at p in the image.
func (s *session) setImageXattrs(p string, xs map[string][]byte) unix.Errno {
	return s.onVnode(p, false, func(vp *vfs.Vnode) unix.Errno {
		for n, v := range xs {
			if e := vfs.VOPSetextattr(s.l, vp, n, v, 0); e != 0 {
				return e
			}
		}
		return 0
	})
}

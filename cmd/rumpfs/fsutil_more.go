package main

// More fs-utils commands: readlink, du, df (reading) and chown, truncate
// (writing), in coreutils' output and exit statuses.

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	humanize "github.com/dustin/go-humanize"
	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register("readlink", "print symlink targets inside an image (no mount)", cmdReadlink)
	register("du", "show disk usage inside an image, as GNU du (no mount)", cmdDu)
	register("df", "show an image's file system space, as GNU df (no mount)", cmdDf)
	register("chown", "change owners of files inside an image (no mount)", cmdChown)
	register("truncate", "set sizes of files inside an image (no mount)", cmdTruncate)
}

// readSession is imageSession for a reading command: the image opened
// read-only.
func readSession(name string, fl *flagSet, args []string, nmin, first, failStatus int) (*session, []imageArg, int) {
	return imageSession(name, fl, args, nmin, first, false, failStatus)
}

func cmdReadlink(args []string) int {
	fl := newImageFlags("readlink", helpText{
		usage: "rumpfs readlink [options] IMAGE[@SEL]:PATH...",
		about: "Prints the targets of symlinks inside an image, one a line, without\n" +
			"mounting it. As GNU readlink: a path that is not a symlink prints\n" +
			"nothing and makes the exit status 1 (-v says why).",
		examples: "  rumpfs readlink root.ext4:/etc/localtime",
	})
	verbose := flagBool(fl.FlagSet, "verbose", "v", "report errors")
	s, ias, code := readSession("readlink", fl, args, 1, 0, exitFail)
	if s == nil {
		return code
	}
	status := 0
	buf := make([]byte, 4096)
	for _, a := range ias {
		n, e := vfs.Readlink(s.l, a.path, buf)
		if e != 0 {
			if *verbose {
				fmt.Fprintf(errOut, "rumpfs readlink: %s: %s\n", textesc.Escape(a.arg), errnoText(e))
			}
			status = exitFail
			continue
		}
		fmt.Fprintln(fsStdout, textesc.Escape(string(buf[:n])))
	}
	return s.close(status)
}

func cmdDu(args []string) int {
	fl := newImageFlags("du", helpText{
		usage: "rumpfs du [options] IMAGE[@SEL]:PATH...",
		about: "Shows the disk space files use inside an image as GNU du does, without\n" +
			"mounting it: KiB (rounded up) of allocated blocks, each directory\n" +
			"after its contents, hard-linked files counted once.",
		examples: "  rumpfs du -sh root.ext4:/usr\n" +
			"  rumpfs du -a disk.ffs:/etc",
	})
	all := flagBool(fl.FlagSet, "all", "a", "show files as well as directories")
	sum := flagBool(fl.FlagSet, "summarize", "s", "show only a total for each argument")
	hum := flagBool(fl.FlagSet, "human-readable", "h", "sizes like 1K 234M 2G")
	jsonOut := flagBool(fl.FlagSet, "json", "", "print a JSON array of {path, bytes} (bytes allocated) instead")
	s, ias, code := readSession("du", fl, args, 1, 0, exitFail)
	if s == nil {
		return code
	}
	status := 0
	seen := map[uint64]bool{}
	type duJSON struct {
		Path  string `json:"path"`
		Bytes int64  `json:"bytes"`
	}
	records := []duJSON{}
	show := func(bytes int64, name string) {
		if *jsonOut {
			records = append(records, duJSON{name, bytes})
			return
		}
		v := strconv.FormatInt((bytes+1023)/1024, 10)
		if *hum {
			v = humanCeil(bytes)
			if bytes == 0 {
				v = "0"
			}
		}
		fmt.Fprintf(fsStdout, "%s\t%s\n", v, textesc.Escape(name))
	}
	var walk func(p, shown string, top bool) int64
	walk = func(p, shown string, top bool) int64 {
		if stopped() {
			return 0
		}
		var va vfs.Vattr
		if e := vfs.Lstat(s.l, p, &va); e != 0 {
			report("du", "cannot access", shown, e)
			status = exitFail
			return 0
		}
		if va.Nlink > 1 && va.Type != vfs.VDIR {
			if seen[va.Fileid] {
				return 0
			}
			seen[va.Fileid] = true
		}
		total := va.Bytes
		if va.Type == vfs.VDIR {
			des, e := vfs.ReadDir(s.l, p)
			if e != 0 {
				report("du", "cannot read directory", shown, e)
				status = exitFail
			}
			for _, de := range des {
				if !isDots(de.Name) {
					total += walk(path.Join(p, de.Name), joinShown(shown, de.Name), false)
				}
			}
		}
		if top || (!*sum && (va.Type == vfs.VDIR || *all)) {
			show(total, shown)
		}
		return total
	}
	for _, a := range ias {
		walk(a.path, a.arg, true)
	}
	if *jsonOut {
		printJSON(records)
	}
	return s.close(status)
}

func cmdDf(args []string) int {
	fl := newImageFlags("df", helpText{
		usage: "rumpfs df [options] IMAGE[@SEL][:PATH]",
		about: "Shows the size, use and free space of the file system in an image as\n" +
			"GNU df does, without mounting it: KiB blocks, or -h sizes, and -i\n" +
			"inodes instead of blocks.",
		examples: "  rumpfs df -h disk.img@2\n" +
			"  rumpfs df -i root.ext4",
	})
	hum := flagBool(fl.FlagSet, "human-readable", "h", "sizes like 1K 234M 2G")
	inodes := flagBool(fl.FlagSet, "inodes", "i", "inodes instead of blocks")
	jsonOut := flagBool(fl.FlagSet, "json", "", "print a JSON object (type, bytes and inodes: size, used, available) instead")
	if code, ok := parseArgs(fl.FlagSet, args, 1); !ok {
		return code
	}
	arg := fl.Arg(0)
	if _, ok := parseImageArg(arg); !ok {
		arg += ":/"
	}
	s, ias, code := openArgs("df", fl, []string{arg}, false, exitFail)
	if s == nil {
		return code
	}
	var sb vfs.Statvfs
	if e := vfs.StatvfsPath(s.l, ias[0].path, &sb); e != 0 {
		report("df", "cannot access", ias[0].arg, e)
		return s.close(exitFail)
	}
	// Use% as GNU: used / (used + available), rounded up.
	pct := func(used, avail uint64) string {
		if used+avail == 0 {
			return "-"
		}
		return fmt.Sprintf("%d%%", (used*100+used+avail-1)/(used+avail))
	}
	name := ias[0].image
	if *jsonOut {
		printJSON(struct {
			Image      string `json:"image"`
			Type       string `json:"type"`
			Size       uint64 `json:"size"`
			Used       uint64 `json:"used"`
			Available  uint64 `json:"available"`
			Inodes     uint64 `json:"inodes"`
			InodesUsed uint64 `json:"inodes_used"`
			InodesFree uint64 `json:"inodes_free"`
		}{name, sb.FSType, sb.Blocks * sb.Frsize, (sb.Blocks - sb.Bfree) * sb.Frsize, sb.Bavail * sb.Frsize, sb.Files, sb.Files - sb.Ffree, sb.Favail})
		return s.close(0)
	}
	if *inodes {
		used := sb.Files - sb.Ffree
		fmt.Fprintf(fsStdout, "Filesystem\tInodes\tIUsed\tIFree\tIUse%%\tMounted on\n%s\t%d\t%d\t%d\t%s\t/\n",
			textesc.Escape(name), sb.Files, used, sb.Favail, pct(used, sb.Favail))
		return s.close(0)
	}
	size, used, avail := sb.Blocks*sb.Frsize, (sb.Blocks-sb.Bfree)*sb.Frsize, sb.Bavail*sb.Frsize
	f := func(b uint64) string { return strconv.FormatUint((b+1023)/1024, 10) }
	head := "1K-blocks"
	if *hum {
		f = func(b uint64) string { return humanCeil(int64(b)) }
		head = "Size"
	}
	fmt.Fprintf(fsStdout, "Filesystem\t%s\tUsed\tAvailable\tUse%%\tMounted on\n%s\t%s\t%s\t%s\t%s\t/\n",
		head, textesc.Escape(name), f(size), f(used), f(avail), pct(used, avail))
	return s.close(0)
}

func cmdChown(args []string) int {
	fl := newImageFlags("chown", helpText{
		usage: "rumpfs chown [options] UID[:GID] IMAGE[@SEL]:PATH...",
		about: "Sets the owner (and group) of files inside an image, without mounting\n" +
			"it. Owners are numbers: the image's users are not this host's.\n" +
			"A symlink itself is changed, not its target.",
		examples: "  rumpfs chown 1000:1000 disk.ffs:/home/u\n" +
			"  rumpfs chown :0 disk.ffs:/etc/shadow",
	})
	s, ias, code := writeSession("chown", fl, args, 2, 1)
	if s == nil {
		return code
	}
	u, g, err := parseOwner(fl.Arg(0))
	if err != nil {
		s.close(0)
		return usageError("chown", exitUsage, "invalid owner %q: want UID, UID:GID or :GID, numbers", fl.Arg(0))
	}
	status := 0
	for _, a := range ias {
		if e := vfs.Lchown(s.l, a.path, u, g); e != 0 {
			report("chown", "changing ownership of", a.arg, e)
			status = exitFail
		}
	}
	return s.close(status)
}

// parseOwner parses UID[:GID] or :GID; -1 leaves one as it is.
func parseOwner(s string) (uid, gid int, err error) {
	us, gs, hasG := strings.Cut(s, ":")
	uid, gid = -1, -1
	num := func(v string) (int, error) {
		n, err := strconv.ParseUint(v, 10, 32)
		return int(n), err
	}
	if us != "" {
		if uid, err = num(us); err != nil {
			return
		}
	}
	if hasG && gs != "" {
		if gid, err = num(gs); err != nil {
			return
		}
	}
	if us == "" && (!hasG || gs == "") {
		err = fmt.Errorf("empty")
	}
	return
}

func cmdTruncate(args []string) int {
	fl := newImageFlags("truncate", helpText{
		usage: "rumpfs truncate [options] -s SIZE IMAGE[@SEL]:PATH...",
		about: "Sets the size of files inside an image, making missing ones, without\n" +
			"mounting it: cut off or extended with a hole.",
		examples: "  rumpfs truncate -s 0 disk.ffs:/var/log/messages\n" +
			"  rumpfs truncate -s 1MiB disk.ffs:/swapfile",
	})
	size := fl.StringP("size", "s", "", "the new `SIZE` (bytes, or units like 4KiB, 1MB)")
	noCreate := flagBool(fl.FlagSet, "no-create", "c", "do not create missing files")
	s, ias, code := writeSession("truncate", fl, args, 1, 0)
	if s == nil {
		return code
	}
	n, err := humanize.ParseBytes(*size)
	if *size == "" || err != nil || n > 1<<62 {
		s.close(0)
		return usageError("truncate", exitUsage, "-s: want a size like 0, 4096 or 1MiB, not %q", *size)
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
				report("truncate", "cannot open", a.arg, e)
				status = exitFail
				continue
			}
			vfs.Close(s.l, fd)
		}
		if e := vfs.Truncate(s.l, a.path, int64(n)); e != 0 {
			report("truncate", "failed to truncate", a.arg, e)
			status = exitFail
		}
	}
	return s.close(status)
}

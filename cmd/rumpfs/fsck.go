package main

import (
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"io"
	"os"

	"github.com/dustin/go-humanize"
	"github.com/rumpfs/rumpfs/images"
	"github.com/rumpfs/rumpfs/internal/textesc"
	"github.com/rumpfs/rumpfs/vfs/ffs"
)

func init() {
	register("fsck", "check a file system image (read-only)", cmdFsck)
}

// fsckStdout is where fsck reports (a variable for tests).
var fsckStdout io.Writer = os.Stdout

// fsck(8)'s exit statuses.
const (
	fsckClean       = 0
	fsckErrorsLeft  = 4  // problems found and not corrected (-n corrects none)
	fsckOperational = 8  // the check could not be done
	fsckUsage       = 16 // the command line was wrong
)

func cmdFsck(args []string) int {
	fl := newFlags("fsck", helpText{
		usage: "rumpfs fsck -n [-t ffs] IMAGE[@N|%DISKLABEL:x%|%OFFSET:off,size%]",
		about: "Checks a file system without changing a byte: prints each problem found,\n" +
			"or a one-line summary. Exit status as fsck(8): 0 no problems, 4 problems\n" +
			"found (and left: -n repairs nothing), 8 the check could not be done\n" +
			"(unreadable image, a type rumpfs cannot check), 16 a usage error.\n" +
			"Only FFS (UFS1 and UFS2) can be checked.",
		examples: "  rumpfs fsck -n disk.ffs      # check an FFS image\n" +
			"  rumpfs fsck -n disk.img@1    # check the file system of partition 1",
	})
	no := flagBool(fl, "no", "n", "answer no to every repair: check only (the only mode; the default)")
	fsType := fl.StringP("type", "t", "", "file system type (ffs, alias ufs); probed when empty")
	if code, ok := parseArgsStatus(fl, args, 1, fsckUsage); !ok {
		return code
	}
	if fl.Changed("no") && !*no {
		return usageError("fsck", fsckUsage, "repairs are not supported; run with -n")
	}
	// Every failure past the command line is an operational error.
	fail := func(format string, args ...any) int {
		fail(format, args...) // the package's fail: print the line
		return fsckOperational
	}
	spec := fl.Arg(0)
	t, err := images.Resolve(spec)
	if err != nil {
		return fail("fsck: %v", err)
	}
	typ := *fsType
	if typ == "" {
		typ = t.FSType
	}
	switch typ {
	case "ffs", "ufs":
	case "":
		return fail("fsck: %s: no file system recognised (try -t ffs)", spec)
	default:
		return fail("fsck: %s: checking %s file systems is not supported (only ffs)", spec, variantOf(t, typ))
	}
	img, err := images.Open(t.HostPath, false)
	if err != nil {
		return fail("fsck: %v", err)
	}
	defer img.Close()
	dev := &bio.ReaderDevice{R: io.NewSectionReader(img, t.Begin, t.Size), Len: t.Size, Sect: img.SectorSize()}
	r, err := ffs.Check(nil, dev)
	if err != nil {
		return fail("fsck: %s: %v", spec, err)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(fsckStdout, "%s: %s\n", spec, textesc.Line(p.String())) // problems quote names from the image
	}
	if r.Dropped > 0 {
		fmt.Fprintf(fsckStdout, "%s: %d more problems not listed\n", spec, r.Dropped)
	}
	kind := "UFS1"
	if r.UFS2 {
		kind = "UFS2"
	}
	if r.BigEndian {
		kind += " big-endian"
	}
	state := "clean"
	if !r.Clean {
		state = "not marked clean"
	}
	if r.WAPBL {
		state += ", WAPBL log"
	}
	if !r.OK() {
		fmt.Fprintf(fsckStdout, "%s: %s: %d problems found\n", spec, kind, len(r.Problems)+r.Dropped)
		return fsckErrorsLeft
	}
	fmt.Fprintf(fsckStdout, "%s: %s, %s: %d files (%d directories), %s used, %s free, no problems\n",
		spec, kind, state, r.Files, r.Dirs,
		humanize.IBytes(uint64(r.UsedFrags)*uint64(r.FSize)), humanize.IBytes(uint64(r.FreeFrags)*uint64(r.FSize)))
	return fsckClean
}

// variantOf names type typ as the user knows it: the probed variant (ext4,
// FAT32) when the probe found that type, else typ itself.
func variantOf(t *images.Target, typ string) string {
	if t.FS != nil && t.FS.Type == typ {
		return t.FS.Variant
	}
	return typ
}

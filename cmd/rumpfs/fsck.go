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
	"github.com/spf13/pflag"
)

func init() {
	register("fsck", "check a file system image (read-only)", cmdFsck)
}

// fsckStdout is where fsck reports (a variable for tests).
var fsckStdout io.Writer = os.Stdout

func cmdFsck(args []string) int {
	fl := pflag.NewFlagSet("fsck", pflag.ContinueOnError)
	fl.BoolP("no", "n", true, "answer no to every repair: check only (the only mode)")
	fsType := fl.StringP("type", "t", "", "file system type (ffs, alias ufs); probed when empty")
	fl.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: rumpfs fsck -n [-t ffs] IMAGE[@N|%%DISKLABEL:x%%|%%OFFSET:off,size%%]\n\n"+
			"Checks a file system without changing a byte: prints each problem found\n"+
			"and exits 1 if there is any, or prints a one-line summary and exits 0.\n\n")
		fl.PrintDefaults()
	}
	if code, ok := parseArgs(fl, args, 1); !ok {
		return code
	}
	if no, _ := fl.GetBool("no"); !no {
		return fail("fsck: repairs are not supported; run with -n")
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
		return fail("fsck: %s: checking %s file systems is not supported (only ffs)", spec, typ)
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
		return 1
	}
	fmt.Fprintf(fsckStdout, "%s: %s, %s: %d files (%d directories), %s used, %s free, no problems\n",
		spec, kind, state, r.Files, r.Dirs,
		humanize.IBytes(uint64(r.UsedFrags)*uint64(r.FSize)), humanize.IBytes(uint64(r.FreeFrags)*uint64(r.FSize)))
	return 0
}

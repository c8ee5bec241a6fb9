package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/rumpfs/rumpfs/images"
	"github.com/rumpfs/rumpfs/internal/textesc"
)

func init() {
	register("parts", "list a disk image's partitions", cmdParts)
}

// partsStdout is where parts and info print (tests replace it).
var partsStdout io.Writer = os.Stdout

// partJSON is one row of `parts --json`: sectors as sfdisk and mmls count
// them, and bytes.
type partJSON struct {
	Index    int        `json:"index"`
	Scheme   string     `json:"scheme"`
	Start    int64      `json:"start"`   // first sector
	End      int64      `json:"end"`     // last sector
	Sectors  int64      `json:"sectors"` // length in sectors
	Offset   int64      `json:"offset"`  // first byte
	Bytes    int64      `json:"bytes"`   // length in bytes
	Type     string     `json:"type"`
	TypeName string     `json:"typeName"`
	Name     string     `json:"name,omitempty"`
	UUID     string     `json:"uuid,omitempty"`
	Bootable bool       `json:"bootable,omitempty"`
	Extended bool       `json:"extended,omitempty"`
	Logical  bool       `json:"logical,omitempty"`
	Raw      bool       `json:"raw,omitempty"`
	Parent   int        `json:"parent,omitempty"`
	FS       *images.FS `json:"fs,omitempty"`
	Warnings []string   `json:"warnings,omitempty"`
}

type partsJSON struct {
	Image      string            `json:"image"`
	Container  *images.Container `json:"container,omitempty"` // the format the disk is stored in
	Size       int64             `json:"size"`
	SectorSize int               `json:"sectorSize"`
	Tables     []images.Table    `json:"tables"`
	Partitions []partJSON        `json:"partitions"`
	// Truncated counts the partitions past the first maxListed, left
	// out of partitions (a crafted table can hold tens of thousands).
	Truncated int        `json:"truncated,omitempty"`
	FS        *images.FS `json:"fs,omitempty"` // the whole image's file system, when it has no table
	Warnings  []string   `json:"warnings"`
}

// maxListed partitions at most are listed, in JSON and in tables: the
// ones Layout probes. Real tables have far fewer.
const maxListed = images.MaxProbed

// andMore is the line that ends a truncated listing.
func andMore(n int) string {
	return fmt.Sprintf("... and %s more (rumpfs parts --json counts them; IMAGE@N selects any)", humanize.Comma(int64(n)))
}

func cmdParts(args []string) int {
	fl := newFlags("parts", helpText{
		usage: "rumpfs parts [--json] IMAGE",
		about: "Lists the partitions of IMAGE (a file or block device) and the file system\n" +
			"found in each. The index or name selects one in other commands: IMAGE@N,\n" +
			"IMAGE@NAME.",
		examples: "  rumpfs parts disk.img          # MBR, GPT and disklabel partitions\n" +
			"  rumpfs parts --json disk.img   # the same as JSON, sectors and bytes",
	})
	asJSON := flagBool(fl, "json", "", "print JSON instead of a table")
	if code, ok := parseArgs(fl, args, 1); !ok {
		return code
	}
	path, _, _ := images.SplitSelector(fl.Arg(0))
	img, err := images.Open(path, false)
	if err != nil {
		return fail("parts: %v", err)
	}
	defer img.Close()
	l := img.Layout()
	out := partsJSON{Image: path, Container: l.Container, Size: l.Size, SectorSize: l.SectorSize, Tables: l.Tables, Warnings: l.Warnings}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	ss := int64(l.SectorSize)
	listed := l.Partitions[:min(len(l.Partitions), maxListed)]
	out.Truncated = len(l.Partitions) - len(listed)
	for _, p := range listed {
		out.Partitions = append(out.Partitions, partJSON{Index: p.Index, Scheme: p.Scheme,
			Start: p.Start / ss, End: (p.End() - 1) / ss, Sectors: p.Size / ss, Offset: p.Start, Bytes: p.Size,
			Type: p.Type, TypeName: p.TypeName, Name: p.Name, UUID: p.UUID, Bootable: p.Bootable,
			Extended: p.Extended, Logical: p.Logical, Raw: p.Raw, Parent: p.Parent, FS: p.FS, Warnings: p.Warnings})
	}
	if out.Partitions == nil {
		out.Partitions = []partJSON{}
		out.FS = images.Probe(img, img.Size())
	}
	if *asJSON {
		enc := json.NewEncoder(partsStdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail("parts: %v", err)
		}
		return 0
	}
	printParts(partsStdout, &out)
	return 0
}

func printParts(w io.Writer, out *partsJSON) {
	var schemes []string
	for _, t := range out.Tables {
		s := strings.ToUpper(t.Scheme)
		if t.Parent != 0 {
			s += fmt.Sprintf(" in partition %d", t.Parent)
		}
		if t.DiskID != "" {
			s += " (id " + t.DiskID + ")"
		}
		schemes = append(schemes, s)
	}
	if len(schemes) == 0 {
		schemes = []string{"no partition table"}
	}
	fmt.Fprintf(w, "%s: %s, %d-byte sectors, %s\n", out.Image, humanize.IBytes(uint64(out.Size)), out.SectorSize, strings.Join(schemes, ", "))
	if out.Container != nil {
		fmt.Fprintf(w, "container: %s\n", textesc.Line(out.Container.String()))
	}
	if len(out.Partitions) == 0 {
		fmt.Fprintf(w, "whole image: %s\n", fsSummary(out.FS))
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tStart\tEnd\tSectors\tSize\tType\tName\tFile system")
		for _, p := range out.Partitions {
			typ := p.TypeName
			switch p.Scheme {
			case images.SchemeMBR:
				typ += " (0x" + p.Type + ")"
			case images.SchemeDisklabel:
				typ += " (label)"
			}
			fsName := fsSummary(p.FS)
			switch {
			case p.Extended:
				fsName = "(container)"
			case p.Raw:
				fsName = "(raw: whole disk or slice)"
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", p.Index, p.Start, p.End, p.Sectors,
				humanize.IBytes(uint64(p.Bytes)), typ, textesc.Escape(p.Name), fsName)
		}
		tw.Flush()
		if out.Truncated > 0 {
			fmt.Fprintln(w, andMore(out.Truncated))
		}
	}
	for _, m := range out.Warnings {
		fmt.Fprintf(w, "warning: %s\n", textesc.Line(m))
	}
}

// fsSummary is one short phrase: `ext4 "label"`, `NTFS (no driver)`, `-`.
func fsSummary(f *images.FS) string {
	if f == nil {
		return "-"
	}
	s := f.Name()
	if f.Label != "" {
		s += " " + textesc.Quote(f.Label)
	}
	return s
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rumpfs/rumpfs/images"
	"github.com/rumpfs/rumpfs/internal/textesc"
)

func init() {
	register("info", "describe the file system in an image or partition", cmdInfo)
}

type infoJSON struct {
	Image     string            `json:"image"`
	Container *images.Container `json:"container,omitempty"` // the format the disk is stored in
	Begin     int64             `json:"begin"`
	Size      int64             `json:"size"`
	Partition *images.Partition `json:"partition,omitempty"`
	FS        *images.FS        `json:"fs"`
	Warnings  []string          `json:"warnings"`
	// Refused is why the driver would refuse the file system, if it
	// would (features it does not support).
	Refused string `json:"refused,omitempty"`
}

func cmdInfo(args []string) int {
	fl := newFlags("info", helpText{
		usage: "rumpfs info [--json] IMAGE[@N|@NAME|%DISKLABEL:x%|%OFFSET:off,size%]",
		about: "Describes the file system in an image or one of its partitions, from its\n" +
			"superblock alone: type, label, sizes, features, state, and what the\n" +
			"driver would refuse or the image lacks.",
		examples: "  rumpfs info disk.img            # the file system of a whole image\n" +
			"  rumpfs info disk.img@2          # of partition 2 (rumpfs parts lists them)\n" +
			"  rumpfs info --json sd.img@root  # of the GPT partition named root, as JSON",
	})
	asJSON := flagBool(fl, "json", "", "print JSON")
	if code, ok := parseArgs(fl, args, 1); !ok {
		return code
	}
	t, err := images.Resolve(fl.Arg(0))
	if err != nil {
		return fail("info: %v", err)
	}
	out := infoJSON{Image: t.HostPath, Container: t.Container, Begin: t.Begin, Size: t.Size, Partition: t.Partition, FS: t.FS, Warnings: t.Layout.Warnings}
	if out.Partition != nil {
		out.Partition.FS = nil // printed once, as fs
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	if check := refusals[t.FSType]; check != nil {
		img, err := images.Open(t.HostPath, false)
		if err != nil {
			return fail("info: %v", err)
		}
		out.Refused = check(io.NewSectionReader(img, t.Begin, t.Size))
		img.Close()
	}
	if *asJSON {
		enc := json.NewEncoder(partsStdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail("info: %v", err)
		}
		return 0
	}
	printInfo(partsStdout, &out, t.Layout)
	return 0
}

func printInfo(w io.Writer, out *infoJSON, l *images.Layout) {
	line := func(k, v string) { fmt.Fprintf(w, "%-13s %s\n", k+":", v) }
	where := fmt.Sprintf("%s, bytes %d-%d (%s)", out.Image, out.Begin, out.Begin+out.Size, humanize.IBytes(uint64(out.Size)))
	if p := out.Partition; p != nil {
		where += fmt.Sprintf(", partition %d: %s", p.Index, p.TypeName)
		if p.Name != "" {
			where += " " + textesc.Quote(p.Name)
		}
	}
	line("image", where)
	if out.Container != nil {
		line("container", textesc.Line(out.Container.String()))
	}
	f := out.FS
	if f == nil {
		line("type", "unknown (no file system recognised)")
		if out.Partition == nil && out.Begin == 0 && len(l.Partitions) > 0 {
			fmt.Fprintf(w, "the image is partitioned; select a partition (rumpfs parts lists them):\n")
			for _, p := range l.Partitions[:min(len(l.Partitions), maxListed)] {
				if !p.Extended {
					fmt.Fprintf(w, "  %s@%d  %s %s %s\n", out.Image, p.Index, p.TypeName, textesc.Escape(p.Name), fsSummary(p.FS))
				}
			}
			if n := len(l.Partitions) - maxListed; n > 0 {
				fmt.Fprintf(w, "  %s\n", andMore(n))
			}
		}
	} else {
		drv := "no driver"
		if f.Driver {
			drv = "driver " + f.Type
		}
		line("type", fmt.Sprintf("%s (%s)", f.Variant, drv))
		line("label", orNone(textesc.Escape(f.Label)))
		line("uuid", orNone(textesc.Escape(f.UUID)))
		if f.BlockSize > 0 {
			line("block size", humanize.IBytes(uint64(f.BlockSize)))
		}
		line("size", sizeOrUnknown(f.Size))
		line("used", sizeOrUnknown(f.Used))
		line("free", sizeOrUnknown(f.Free))
		if len(f.Features) > 0 {
			line("features", strings.Join(f.Features, ", "))
		}
		line("state", f.State)
		line("last mount", timeOr(f.LastMount, "unknown"))
		if f.LastWrite != nil {
			line("last written", timeOr(f.LastWrite, ""))
		}
		if f.MountedOn != "" {
			line("mounted on", textesc.Escape(f.MountedOn))
		}
		for _, n := range f.Notes {
			line("note", textesc.Line(n))
		}
		if f.Missing > 0 {
			line("truncated", fmt.Sprintf("%s; rumpfs mount serves it read-only, reads past the end fail (EIO)", truncation(f, out.Size)))
		}
		if out.Refused != "" {
			line("refused", fmt.Sprintf("the %s driver will not mount it: %s", f.Type, textesc.Line(out.Refused)))
		}
	}
	for _, m := range out.Warnings {
		fmt.Fprintf(w, "warning: %s\n", textesc.Line(m))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func sizeOrUnknown(n int64) string {
	if n < 0 {
		return "unknown (needs a scan)"
	}
	return fmt.Sprintf("%s (%d bytes)", humanize.IBytes(uint64(n)), n)
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

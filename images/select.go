package images

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/rumpfs/rumpfs/internal/textesc"
	"golang.org/x/sys/unix"
)

// Target is what a selector names: a window of a host file and what is in
// it. Integrators register HostPath [Begin, Begin+Size) as a block device
// (an etfs BLK window) and mount FSType on it.
type Target struct {
	HostPath  string
	Begin     int64
	Size      int64
	Partition *Partition // nil for the whole image or an %OFFSET% window
	FSType    string     // the NetBSD mount type Probe found, "" if none
	FS        *FS        // everything Probe found, nil if nothing
	Layout    *Layout    // the image's partition tables
	// Container is the container HostPath is stored in (qcow2, VHD,
	// VHDX, VMDK, split raw), nil for a raw image: Begin and Size are then offsets
	// in its virtual disk, not in the host file, and registering
	// HostPath as a device does not give that disk.
	Container *Container
}

// Selector syntax:
//
//	IMAGE                    the whole image (if IMAGE names an existing file, that wins)
//	IMAGE@N                  partition N, as `rumpfs parts` numbers it
//	IMAGE@NAME               the partition with that GPT name or disklabel letter
//	IMAGE%DISKLABEL:a%       disklabel partition a (rump / ukfs form)
//	IMAGE%OFFSET:off,size%   size bytes at byte off; ",size" omitted means to the end
var rumpSelector = regexp.MustCompile(`^(.+)%(DISKLABEL|OFFSET):([^%]*)%$`)

// SplitSelector separates the host path from the selector part of spec
// without touching any partition table. kind is "", "@", "DISKLABEL" or
// "OFFSET". A spec naming an existing file is a plain path even if it
// contains '@' or '%'.
func SplitSelector(spec string) (path, kind, sel string) {
	if _, err := os.Stat(spec); err == nil {
		return spec, "", ""
	}
	if m := rumpSelector.FindStringSubmatch(spec); m != nil {
		return m[1], m[2], m[3]
	}
	if i := strings.LastIndexByte(spec, '@'); i > 0 {
		return spec[:i], "@", spec[i+1:]
	}
	return spec, "", ""
}

// Resolve opens the image spec names (read-only), reads its partition
// tables and probes the selected window. Errors: ENOENT for a missing
// image or a selector that matches nothing (the message lists what
// exists), EINVAL for a malformed selector or a window outside the image.
func Resolve(spec string) (*Target, error) {
	path, kind, sel := SplitSelector(spec)
	img, err := Open(path, false)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	return resolveIn(img, kind, sel)
}

// ResolveImage is Resolve on an image already open; spec is the selector
// alone ("@2", "%DISKLABEL:a%", "" for the whole image).
func ResolveImage(img *Image, sel string) (*Target, error) {
	switch {
	case sel == "":
		return resolveIn(img, "", "")
	case sel[0] == '@':
		return resolveIn(img, "@", sel[1:])
	}
	if m := rumpSelector.FindStringSubmatch("x" + sel); m != nil {
		return resolveIn(img, m[2], m[3])
	}
	return nil, errnof(unix.EINVAL, "%s: selector %q: want @N, @NAME, %%DISKLABEL:x%% or %%OFFSET:off[,size]%%", img.path, sel)
}

func resolveIn(img *Image, kind, sel string) (*Target, error) {
	l := img.Layout()
	t := &Target{HostPath: img.path, Layout: l, Container: img.container}
	switch kind {
	case "":
		t.Size = img.size
		t.FS = Probe(img, img.size)
	case "OFFSET":
		off, size, err := parseOffset(sel, img.size)
		if err != nil {
			return nil, fmt.Errorf("%s%%OFFSET:%s%%: %w", img.path, sel, err)
		}
		t.Begin, t.Size = off, size
		t.FS = Probe(io.NewSectionReader(img, off, size), size)
	case "@", "DISKLABEL":
		p, err := pick(l, kind, sel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img.path, err)
		}
		if p.End() > img.size {
			return nil, errnof(unix.EINVAL, "%s: partition %d (%s) ends at byte %d, past the end of the image (%d bytes); use %%OFFSET:%d%% for what is there", img.path, p.Index, describe(p), p.End(), img.size, p.Start)
		}
		if p.Extended {
			return nil, errnof(unix.EINVAL, "%s: partition %d is an extended partition, a container of logical partitions", img.path, p.Index)
		}
		if p.FS == nil {
			img.probePartition(p) // past MaxProbed, or nothing there
		}
		t.Partition, t.Begin, t.Size, t.FS = p, p.Start, p.Size, p.FS
	}
	if t.FS != nil {
		t.FSType = t.FS.Type
	}
	return t, nil
}

func parseOffset(sel string, imgSize int64) (off, size int64, err error) {
	a, b, hasSize := strings.Cut(sel, ",")
	off, err = strconv.ParseInt(strings.TrimSpace(a), 0, 64)
	if err != nil || off < 0 {
		return 0, 0, errnof(unix.EINVAL, "offset %q is not a byte count", a)
	}
	if off > imgSize {
		return 0, 0, errnof(unix.EINVAL, "offset %d lies past the end of the image (%d bytes)", off, imgSize)
	}
	size = imgSize - off
	if hasSize && strings.TrimSpace(b) != "" {
		size, err = strconv.ParseInt(strings.TrimSpace(b), 0, 64)
		if err != nil || size <= 0 {
			return 0, 0, errnof(unix.EINVAL, "size %q is not a byte count", b)
		}
		if size > imgSize-off {
			return 0, 0, errnof(unix.EINVAL, "window %d+%d ends past the end of the image (%d bytes)", off, size, imgSize)
		}
	}
	return off, size, nil
}

// pick finds the partition sel names.
func pick(l *Layout, kind, sel string) (*Partition, error) {
	var found []*Partition
	if kind == "DISKLABEL" {
		for _, p := range l.Partitions {
			if p.Scheme == SchemeDisklabel && p.Name == sel {
				found = append(found, p)
			}
		}
	} else if n, err := strconv.Atoi(sel); err == nil {
		for _, p := range l.Partitions {
			if p.Index == n {
				found = append(found, p)
			}
		}
	} else {
		for _, p := range l.Partitions {
			if p.Name == sel {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			for _, p := range l.Partitions {
				if strings.EqualFold(p.Name, sel) {
					found = append(found, p)
				}
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, errnof(unix.ENOENT, "no partition %s; the image has %s", textesc.Quote(sel), listPartitions(l.Partitions))
	default:
		var idx []string
		for _, p := range found[:min(len(found), listInMessage)] {
			idx = append(idx, "@"+strconv.Itoa(p.Index))
		}
		return nil, errnof(unix.EINVAL, "%s names %d partitions (%s%s); select one by number", textesc.Quote(sel), len(found), strings.Join(idx, ", "), more(len(found)))
	}
}

// listInMessage partitions at most are named in an error message.
const listInMessage = 16

func more(n int) string {
	if n <= listInMessage {
		return ""
	}
	return fmt.Sprintf(" and %d more", n-listInMessage)
}

func describe(p *Partition) string {
	s := p.TypeName
	if p.Name != "" {
		s = textesc.Quote(p.Name) + ", " + s
	}
	return s
}

func listPartitions(ps []*Partition) string {
	if len(ps) == 0 {
		return "no partition table"
	}
	var s []string
	for _, p := range ps[:min(len(ps), listInMessage)] {
		s = append(s, fmt.Sprintf("@%d (%s)", p.Index, describe(p)))
	}
	return strings.Join(s, ", ") + more(len(ps))
}

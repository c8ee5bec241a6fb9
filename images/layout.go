package images

import (
	"fmt"
	"io"
	"sort"
)

// Partition table schemes.
const (
	SchemeMBR       = "mbr"
	SchemeGPT       = "gpt"
	SchemeDisklabel = "disklabel"
)

// Partition is one entry of a partition table. Start and Size are in bytes
// from the start of the image.
type Partition struct {
	Index    int      `json:"index"`          // the number IMAGE@N selects
	Scheme   string   `json:"scheme"`         // mbr, gpt or disklabel
	Name     string   `json:"name,omitempty"` // GPT name or disklabel letter
	Start    int64    `json:"start"`
	Size     int64    `json:"size"`
	Type     string   `json:"type"`     // MBR type byte "83", GPT type GUID, disklabel fstype number
	TypeName string   `json:"typeName"` // its common name
	UUID     string   `json:"uuid,omitempty"`
	Attrs    uint64   `json:"attributes,omitempty"` // GPT attribute bits
	Bootable bool     `json:"bootable,omitempty"`
	Extended bool     `json:"extended,omitempty"` // an MBR extended container
	Logical  bool     `json:"logical,omitempty"`  // an MBR logical partition
	Raw      bool     `json:"raw,omitempty"`      // a disklabel entry covering its whole slice or disk
	Parent   int      `json:"parent,omitempty"`   // index of the MBR slice holding this disklabel entry
	FS       *FS      `json:"fs,omitempty"`       // what Probe found, filled by Image.Layout
	Warnings []string `json:"warnings,omitempty"`
}

// End is the byte offset just past the partition.
func (p *Partition) End() int64 { return p.Start + p.Size }

// Table is one partition table found on the image.
type Table struct {
	Scheme string `json:"scheme"`
	Offset int64  `json:"offset"`           // byte offset of the table (the GPT header, the label)
	Parent int    `json:"parent,omitempty"` // the partition holding it, 0 for the image
	DiskID string `json:"diskId,omitempty"` // GPT disk GUID or MBR disk signature
}

// Layout is everything the partition tables of an image say.
type Layout struct {
	Size       int64        `json:"size"`
	SectorSize int          `json:"sectorSize"`
	Tables     []Table      `json:"tables"`
	Partitions []*Partition `json:"partitions"`
	Warnings   []string     `json:"warnings,omitempty"`
	Container  *Container   `json:"container,omitempty"` // nil for a raw image

	dropped int // warnings past MaxWarnings, counted only
}

// Bounds on what a layout costs, whatever a table claims. Real tables
// have a few dozen partitions (GPT's default array holds 128); a crafted
// one can hold tens of thousands, all overlapping. Parsing stays linear
// (overlaps are found by sorting), and what costs a read per partition or
// a line per partition stops at these counts.
const (
	// MaxProbed partitions, in table order, are probed for a file
	// system and checked for nested tables by Layout; a selector probes
	// the partition it names wherever it is.
	MaxProbed = 256
	// MaxWarnings are kept in Layout.Warnings; the rest are counted in a
	// last line.
	MaxWarnings = 100
)

func (l *Layout) warnf(format string, args ...any) {
	if len(l.Warnings) >= MaxWarnings {
		l.dropped++
		return
	}
	l.Warnings = append(l.Warnings, fmt.Sprintf(format, args...))
}

// partWarnf records a problem with one partition, both on it and in the
// layout's list.
func (l *Layout) partWarnf(p *Partition, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.Warnings = append(p.Warnings, msg)
	l.warnf("partition %d: %s", p.Index, msg)
}

// Layout reads the image's partition tables and probes the first
// MaxProbed partitions for a file system.
func (img *Image) Layout() *Layout {
	l := ReadLayout(img, img.size, img.sectorSize)
	l.Container = img.container
	for _, p := range l.Partitions[:min(len(l.Partitions), MaxProbed)] {
		img.probePartition(p)
	}
	return l
}

// probePartition fills p.FS with what is in the part of p inside the image.
func (img *Image) probePartition(p *Partition) {
	if p.Extended || p.Size <= 0 || p.Start >= img.size {
		return
	}
	n := min(p.Size, img.size-p.Start)
	p.FS = Probe(io.NewSectionReader(img, p.Start, n), n)
}

// ReadLayout reads the partition tables of an image of size bytes from r.
// It never fails: what cannot be read or does not add up becomes a warning.
func ReadLayout(r io.ReaderAt, size int64, sectorSize int) *Layout {
	if sectorSize <= 0 {
		sectorSize = DefaultSectorSize
	}
	l := &Layout{Size: size, SectorSize: sectorSize, Tables: []Table{}, Partitions: []*Partition{}}

	m, mbrErr := readMBR(r, size, sectorSize)
	protective := m != nil && m.protective()
	g, gptErr := readGPT(r, size, sectorSize)
	if g == nil && protective && sectorSize == 512 {
		// A GPT written for 4096-byte sectors, seen through a file.
		if g4, _ := readGPT(r, size, 4096); g4 != nil {
			g, gptErr = g4, nil
			l.warnf("GPT uses 4096-byte sectors")
		}
	}
	switch {
	case g != nil && (protective || m == nil):
		if m == nil {
			l.warnf("GPT without a protective MBR")
		} else if len(m.entries) > 1 {
			l.warnf("hybrid MBR: the MBR lists %d partitions beside the GPT; the GPT is used", len(m.entries)-1)
		}
		g.addTo(l)
	case g != nil && m != nil:
		l.warnf("GPT header found but the MBR has no protective (0xee) entry: the MBR is used, the GPT ignored")
		m.addTo(l, r, size, sectorSize)
	case m != nil:
		if protective {
			l.warnf("protective MBR but no valid GPT: %v", gptErr)
		}
		m.addTo(l, r, size, sectorSize)
	default:
		if gptErr != nil && gptErr != errNoGPT {
			l.warnf("%v", gptErr)
		}
		if mbrErr != nil && mbrErr != errNoMBR {
			l.warnf("%v", mbrErr)
		}
	}

	// A disklabel at the start of the image (a "dedicated" BSD disk).
	if lab, off, err := findDisklabel(r, 0, size); lab != nil {
		if len(l.Partitions) > 0 {
			l.warnf("a disklabel at byte %d and a %s table both describe the image; both are listed", off, l.Tables[0].Scheme)
		}
		next := 1
		if len(l.Partitions) > 0 {
			next = l.Partitions[len(l.Partitions)-1].Index + 1
		}
		lab.addTo(l, nil, off, next, sectorSize)
	} else if err != nil {
		l.warnf("%v", err)
	}

	l.check(r, sectorSize)
	if l.dropped > 0 {
		l.Warnings = append(l.Warnings, fmt.Sprintf("... and %d more warnings", l.dropped))
	}
	return l
}

// check reports partitions past the end, overlapping siblings, entries
// outside their container, and partitions that themselves start with a
// partition table.
func (l *Layout) check(r io.ReaderAt, sectorSize int) {
	byIndex := map[int]*Partition{}
	for _, p := range l.Partitions {
		byIndex[p.Index] = p
	}
	groups := map[string][]*Partition{}
	var ext []*Partition
	for _, p := range l.Partitions {
		if p.End() > l.Size {
			l.partWarnf(p, "ends at byte %d, past the end of the image (%d bytes)", p.End(), l.Size)
		}
		if p.Extended {
			ext = append(ext, p)
		}
		if p.Raw {
			continue
		}
		key := p.Scheme
		switch {
		case p.Logical:
			key = "logical"
		case p.Scheme == SchemeDisklabel:
			key = fmt.Sprintf("label%d", p.Parent)
		}
		groups[key] = append(groups[key], p)
		if parent := byIndex[p.Parent]; p.Parent != 0 && parent != nil {
			if p.Start < parent.Start || p.End() > parent.End() {
				l.partWarnf(p, "lies outside its MBR slice %d", parent.Index)
			}
		}
	}
	for _, p := range l.Partitions {
		if !p.Logical {
			continue
		}
		inside := false
		for _, e := range ext {
			if p.Start >= e.Start && p.End() <= e.End() {
				inside = true
			}
		}
		if !inside {
			l.partWarnf(p, "logical partition lies outside the extended partition")
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps := append([]*Partition(nil), groups[k]...)
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Start < ps[j].Start })
		var widest *Partition
		for _, p := range ps {
			if widest != nil && p.Start < widest.End() {
				l.partWarnf(p, "overlaps partition %d", widest.Index)
			}
			if widest == nil || p.End() > widest.End() {
				widest = p
			}
		}
	}
	// Tables nested where none is expected: a few reads per partition,
	// so only for the partitions Layout probes, and once per start.
	type nested struct{ mbr, gpt, label bool }
	seen := map[int64]nested{}
	for _, p := range l.Partitions[:min(len(l.Partitions), MaxProbed)] {
		if p.Extended || p.Raw || p.Size < int64(2*sectorSize) || p.Start >= l.Size {
			continue
		}
		n, ok := seen[p.Start]
		if !ok {
			sub := io.NewSectionReader(r, p.Start, min(p.Size, l.Size-p.Start))
			m, _ := readMBR(sub, p.Size, sectorSize)
			n.mbr = m != nil && len(m.entries) > 0
			// The header alone: its CRC is sign enough, and a
			// crafted one cannot make each partition cost a 4 MiB
			// array read.
			h, _ := readGPTHeader(sub, min(p.Size, l.Size-p.Start), sectorSize, 1)
			n.gpt = h != nil
			lab, _, _ := findDisklabel(sub, 0, p.Size)
			n.label = lab != nil
			seen[p.Start] = n
		}
		if n.mbr && p.Start != 0 {
			l.partWarnf(p, "holds an MBR of its own (nested table, not expanded)")
		} else if n.gpt {
			l.partWarnf(p, "holds a GPT of its own (nested table, not expanded)")
		}
		if n.label && p.Scheme != SchemeDisklabel && p.Parent == 0 && !isBSDSlice(p) {
			l.partWarnf(p, "holds a BSD disklabel although its type is not a BSD one (not expanded)")
		}
	}
}

func isBSDSlice(p *Partition) bool {
	return p.Scheme == SchemeMBR && (p.Type == "a5" || p.Type == "a6" || p.Type == "a9")
}

package images

import (
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// The BSD disklabel (struct disklabel): d_magic at 0 and d_magic2 at 132
// are 0x82564557 (in the byte order of the machine that wrote it),
// d_secsize at 40, d_checksum (16-bit XOR of the label through its last
// partition entry comes out 0) at 136, d_npartitions at 138, and the
// 16-byte partition entries from 148: p_size, p_offset (sectors, from the
// start of the disk), p_fsize, p_fstype, p_frag, p_cpg. OpenBSD's version 1
// label (d_version at 114) keeps the high 16 bits of offset and size where
// p_fsize was.
//
// It lives in sector 1 of the disk or slice on i386, amd64 and most ports
// (LABELSECTOR 1, LABELOFFSET 0); some ports put it in sector 0 at byte 64
// (alpha) or 128 (sparc, sun3).

const (
	diskMagic        = 0x82564557
	labelHeaderSize  = 148
	labelEntrySize   = 16
	labelMaxParts    = 22 // what fits in a 512-byte sector; NetBSD uses 8 or 16
	labelReadSize    = labelHeaderSize + labelMaxParts*labelEntrySize
	labelFSUnused    = 0
	labelFSBSDFFS    = 7
	openBSDLabelV1At = 114
)

// labelOffsets are where findDisklabel looks, relative to the disk or slice.
var labelOffsets = []int64{512, 0, 64, 128}

type labelPart struct {
	letter    byte
	size, off uint64 // sectors of secsize
	fstype    byte
}

type disklabel struct {
	order      binary.ByteOrder
	secsize    uint32
	parts      []labelPart
	secperunit uint32
}

// parseDisklabel decodes a label at the start of b. nil, nil when there
// is no label magic; an error when the magic is there but the label is bad.
func parseDisklabel(b []byte) (*disklabel, error) {
	if len(b) < labelHeaderSize {
		return nil, nil
	}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(b) == diskMagic && binary.LittleEndian.Uint32(b[132:]) == diskMagic:
		order = binary.LittleEndian
	case binary.BigEndian.Uint32(b) == diskMagic && binary.BigEndian.Uint32(b[132:]) == diskMagic:
		order = binary.BigEndian
	default:
		return nil, nil
	}
	n := int(order.Uint16(b[138:]))
	end := labelHeaderSize + n*labelEntrySize
	if n > labelMaxParts || end > len(b) {
		return nil, errnof(unix.EIO, "disklabel with %d partitions, more than the %d a label sector holds", n, labelMaxParts)
	}
	var sum uint16
	for i := 0; i+1 < end; i += 2 {
		sum ^= order.Uint16(b[i:])
	}
	if sum != 0 {
		return nil, errnof(unix.EIO, "disklabel: bad checksum")
	}
	lab := &disklabel{order: order, secsize: order.Uint32(b[40:]), secperunit: order.Uint32(b[60:])}
	openBSD := order.Uint16(b[openBSDLabelV1At:]) == 1
	for i := 0; i < n; i++ {
		e := b[labelHeaderSize+i*labelEntrySize:]
		p := labelPart{letter: byte('a' + i), size: uint64(order.Uint32(e[0:])), off: uint64(order.Uint32(e[4:])), fstype: e[12]}
		if openBSD {
			p.off |= uint64(order.Uint16(e[8:])) << 32
			p.size |= uint64(order.Uint16(e[10:])) << 32
		}
		if p.size == 0 {
			continue
		}
		lab.parts = append(lab.parts, p)
	}
	return lab, nil
}

// findDisklabel looks for a label at the standard offsets of the window
// [start, start+size) of r. It returns the label and its absolute offset,
// or nil and the error of a label that had the magic but was bad.
func findDisklabel(r io.ReaderAt, start, size int64) (*disklabel, int64, error) {
	var firstErr error
	for _, o := range labelOffsets {
		if o+labelHeaderSize > size {
			continue
		}
		n := min(int64(labelReadSize), size-o)
		b, err := readFull(r, start+o, int(n))
		if err != nil {
			continue
		}
		lab, err := parseDisklabel(b)
		if lab != nil {
			return lab, start + o, nil
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("at byte %d: %w", start+o, err)
		}
	}
	return nil, 0, firstErr
}

// addTo lists the label's partitions in l, numbering them from next, and
// returns the next free index. slice is the MBR slice holding the label, or
// nil for a label at the start of the image.
func (lab *disklabel) addTo(l *Layout, slice *Partition, off int64, next int, sectorSize int) int {
	ss := int64(lab.secsize)
	if ss < 512 || ss > 65536 || ss&(ss-1) != 0 {
		l.warnf("disklabel at byte %d: sector size %d; %d assumed", off, lab.secsize, sectorSize)
		ss = int64(sectorSize)
	}
	t := Table{Scheme: SchemeDisklabel, Offset: off}
	var base, limit int64 = 0, l.Size
	if slice != nil {
		t.Parent = slice.Index
		base, limit = slice.Start, slice.End()
	}
	l.Tables = append(l.Tables, t)
	// Offsets are from the start of the disk (NetBSD, OpenBSD, old
	// FreeBSD); FreeBSD's bsdlabel inside a slice counts them from the
	// slice, which shows as entries in use that would start before it.
	relative := false
	if slice != nil {
		for _, p := range lab.parts {
			if p.fstype != labelFSUnused && int64(p.off)*ss < base {
				relative = true
			}
		}
	}
	for _, lp := range lab.parts {
		if lp.off > uint64(1<<62)/uint64(ss) || lp.size > uint64(1<<62)/uint64(ss) {
			l.warnf("disklabel at byte %d: partition %c: offset %d, size %d sectors: out of range; ignored", off, lp.letter, lp.off, lp.size)
			continue
		}
		p := &Partition{Index: next, Scheme: SchemeDisklabel, Name: string(lp.letter),
			Start: int64(lp.off) * ss, Size: int64(lp.size) * ss,
			Type: fmt.Sprint(lp.fstype), TypeName: labelFSName(lp.fstype)}
		if slice == nil {
			p.Index = int(lp.letter-'a') + 1
		} else {
			p.Parent = slice.Index
			next++
		}
		if relative {
			p.Start += base
		}
		// The raw partitions (c, and d on i386) cover the whole disk
		// or slice and overlap everything by design.
		if lp.fstype == labelFSUnused && ((p.Start == base && p.End() == limit) || (p.Start == 0 && p.Size >= l.Size)) {
			p.Raw = true
		}
		l.Partitions = append(l.Partitions, p)
	}
	return next
}

var labelFSNames = []string{
	"unused", "swap", "Version 6", "Version 7", "System V", "4.1BSD", "Eighth Edition", "4.2BSD",
	"MSDOS", "4.4LFS", "unknown", "HPFS", "ISO9660", "boot", "ADOS", "HFS", "FILECORE",
	"Linux Ext2", "NTFS", "RAID", "ccd", "jfs", "Apple UFS", "vinum", "UDF", "SysVBFS", "EFS",
	"ZFS", "?", "cgd",
}

func labelFSName(t byte) string {
	if int(t) < len(labelFSNames) && labelFSNames[t] != "?" {
		return labelFSNames[t]
	}
	return fmt.Sprintf("fstype %d", t)
}

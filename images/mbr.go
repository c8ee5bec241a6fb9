package images

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// The MBR: sector 0 ends in 55 aa and holds four 16-byte entries at 0x1be
// (status, CHS start, type, CHS end, LBA start, LBA count). An extended
// partition (type 05, 0f or 85) holds a chain of EBRs: each EBR's first
// entry is a logical partition relative to the EBR, its second the next EBR
// relative to the start of the extended partition.

const (
	mbrTableOffset = 0x1be
	mbrMaxLogical  = 256 // more logical partitions than any tool makes
)

var errNoMBR = errors.New("no MBR")

type mbrEntry struct {
	slot        int // 0-3
	status      byte
	typ         byte
	start, size uint32 // sectors
}

type mbr struct {
	diskSig uint32
	entries []mbrEntry // non-empty entries only
	alsoFAT bool       // sector 0 is also a valid FAT boot sector
}

func (m *mbr) protective() bool {
	for _, e := range m.entries {
		if e.typ == 0xee {
			return true
		}
	}
	return false
}

func isExtendedType(t byte) bool { return t == 0x05 || t == 0x0f || t == 0x85 }

// readFull reads n bytes at off; a short read is an error.
func readFull(r io.ReaderAt, off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	got, err := r.ReadAt(b, off)
	if got == n {
		return b, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

// parseMBRSector decodes one MBR or EBR sector. It refuses sectors without
// the signature or with a status byte other than 00 or 80, and boot
// sectors of a partitionless FAT, NTFS or exFAT volume (which also end in
// 55 aa).
func parseMBRSector(b []byte) (*mbr, error) {
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xaa {
		return nil, errNoMBR
	}
	m := &mbr{diskSig: binary.LittleEndian.Uint32(b[0x1b8:])}
	for i := 0; i < 4; i++ {
		e := b[mbrTableOffset+16*i : mbrTableOffset+16*(i+1)]
		if e[0] != 0 && e[0] != 0x80 {
			return nil, errNoMBR
		}
		me := mbrEntry{slot: i, status: e[0], typ: e[4],
			start: binary.LittleEndian.Uint32(e[8:]), size: binary.LittleEndian.Uint32(e[12:])}
		if me.typ == 0 || me.size == 0 {
			continue
		}
		m.entries = append(m.entries, me)
	}
	return m, nil
}

// readMBR reads the MBR at sector 0.
func readMBR(r io.ReaderAt, size int64, sectorSize int) (*mbr, error) {
	if size < 512 {
		return nil, errNoMBR
	}
	b, err := readFull(r, 0, 512)
	if err != nil {
		return nil, fmt.Errorf("reading MBR: %w", err)
	}
	m, err := parseMBRSector(b)
	if err != nil {
		return nil, err
	}
	// A partitionless FAT, NTFS or exFAT volume also ends its first
	// sector in 55 aa. NTFS and exFAT say so; a FAT boot sector is taken
	// for a volume when its partition entries are empty, and reported
	// when they are not.
	if string(b[3:11]) == "NTFS    " || string(b[3:11]) == "EXFAT   " {
		return nil, errNoMBR
	}
	if _, ok := parseBPB(b); ok {
		if len(m.entries) == 0 {
			return nil, errNoMBR
		}
		m.alsoFAT = true
	}
	return m, nil
}

func mbrTypeHex(t byte) string { return fmt.Sprintf("%02x", t) }

// addTo lists the MBR's partitions (and its logical partitions and BSD
// disklabels) in l.
func (m *mbr) addTo(l *Layout, r io.ReaderAt, size int64, sectorSize int) {
	ss := int64(sectorSize)
	l.Tables = append(l.Tables, Table{Scheme: SchemeMBR, Offset: 0, DiskID: fmt.Sprintf("0x%08x", m.diskSig)})
	if m.alsoFAT {
		l.warnf("sector 0 is both an MBR with partitions and a FAT boot sector; the MBR is used (%%OFFSET:0%% selects the FAT volume)")
	}
	var exts []*Partition
	for _, e := range m.entries {
		p := &Partition{Index: e.slot + 1, Scheme: SchemeMBR, Start: int64(e.start) * ss, Size: int64(e.size) * ss,
			Type: mbrTypeHex(e.typ), TypeName: mbrTypeName(e.typ), Bootable: e.status == 0x80,
			Extended: isExtendedType(e.typ)}
		if m.diskSig != 0 {
			p.UUID = fmt.Sprintf("%08x-%02d", m.diskSig, e.slot+1)
		}
		if e.start == 0 {
			l.partWarnf(p, "starts at sector 0, over the MBR itself")
		}
		l.Partitions = append(l.Partitions, p)
		if p.Extended {
			exts = append(exts, p)
		}
	}
	if len(exts) > 1 {
		l.warnf("the MBR has %d extended partitions; only the first is followed", len(exts))
	}
	if len(exts) > 0 {
		readLogical(l, r, size, sectorSize, exts[0])
	}
	next := 5
	var slices []*Partition
	for _, p := range l.Partitions {
		next = max(next, p.Index+1)
		if isBSDSlice(p) {
			slices = append(slices, p)
		}
	}
	for _, s := range slices {
		if s.Start >= size {
			continue
		}
		lab, off, err := findDisklabel(r, s.Start, min(s.Size, size-s.Start))
		if err != nil {
			l.partWarnf(s, "%v", err)
		}
		if lab == nil {
			if err == nil {
				l.partWarnf(s, "%s slice without a disklabel", s.TypeName)
			}
			continue
		}
		next = lab.addTo(l, s, off, next, sectorSize)
	}
}

// readLogical follows the EBR chain of extended partition ext.
func readLogical(l *Layout, r io.ReaderAt, size int64, sectorSize int, ext *Partition) {
	ss := int64(sectorSize)
	seen := map[int64]bool{}
	ebr := ext.Start
	index := 5
	for n := 0; ; n++ {
		if n == mbrMaxLogical {
			l.warnf("extended partition %d: more than %d logical partitions; the rest are ignored", ext.Index, mbrMaxLogical)
			return
		}
		if seen[ebr] {
			l.warnf("extended partition %d: the EBR chain loops back to sector %d; stopped there", ext.Index, ebr/ss)
			return
		}
		seen[ebr] = true
		if ebr+512 > size {
			l.warnf("extended partition %d: EBR at sector %d lies past the end of the image", ext.Index, ebr/ss)
			return
		}
		b, err := readFull(r, ebr, 512)
		if err != nil {
			l.warnf("extended partition %d: reading EBR at sector %d: %v", ext.Index, ebr/ss, err)
			return
		}
		m, err := parseMBRSector(b)
		if err != nil {
			l.warnf("extended partition %d: no valid EBR at sector %d (%v): %v", ext.Index, ebr/ss, err, unix.EIO)
			return
		}
		var link *mbrEntry
		for i := range m.entries {
			e := &m.entries[i]
			switch {
			case isExtendedType(e.typ):
				if link == nil {
					link = e
				}
			default:
				p := &Partition{Index: index, Scheme: SchemeMBR, Start: ebr + int64(e.start)*ss, Size: int64(e.size) * ss,
					Type: mbrTypeHex(e.typ), TypeName: mbrTypeName(e.typ), Bootable: e.status == 0x80, Logical: true}
				index++
				l.Partitions = append(l.Partitions, p)
			}
		}
		if link == nil {
			return
		}
		ebr = ext.Start + int64(link.start)*ss
	}
}

var mbrTypeNames = map[byte]string{
	0x01: "FAT12", 0x04: "FAT16 <32M", 0x05: "Extended", 0x06: "FAT16", 0x07: "HPFS/NTFS/exFAT",
	0x0b: "W95 FAT32", 0x0c: "W95 FAT32 (LBA)", 0x0e: "W95 FAT16 (LBA)", 0x0f: "W95 Extended (LBA)",
	0x11: "Hidden FAT12", 0x14: "Hidden FAT16 <32M", 0x16: "Hidden FAT16", 0x17: "Hidden HPFS/NTFS",
	0x1b: "Hidden W95 FAT32", 0x1c: "Hidden W95 FAT32 (LBA)", 0x1e: "Hidden W95 FAT16 (LBA)",
	0x27: "Hidden NTFS WinRE", 0x42: "SFS", 0x82: "Linux swap", 0x83: "Linux", 0x85: "Linux extended",
	0x8e: "Linux LVM", 0xa5: "FreeBSD", 0xa6: "OpenBSD", 0xa8: "Darwin UFS", 0xa9: "NetBSD",
	0xab: "Darwin boot", 0xaf: "HFS / HFS+", 0xbe: "Solaris boot", 0xbf: "Solaris",
	0xda: "Non-FS data", 0xef: "EFI (FAT-12/16/32)", 0xee: "GPT protective", 0xfd: "Linux raid autodetect",
}

func mbrTypeName(t byte) string {
	if n, ok := mbrTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type 0x%02x", t)
}

package images

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"

	"golang.org/x/sys/unix"
)

// GPT: a header at LBA 1 ("EFI PART", CRC32 over its first HeaderSize bytes
// with the CRC field zeroed) points at an array of entries whose CRC32 it
// keeps; a backup header at the last LBA points at a backup array. Entries:
// type GUID, unique GUID, first and last LBA (inclusive), attributes, a
// 36-character UTF-16LE name.

const (
	// Every tool writes 128 entries of 128 bytes (16 KiB); the UEFI
	// specification sets no upper bound. Larger headers are refused
	// rather than read.
	gptMaxEntries    = 32768
	gptMaxArrayBytes = 4 << 20
	gptMinEntrySize  = 128
)

var errNoGPT = errors.New("no GPT")

type gptHeader struct {
	myLBA, altLBA           uint64
	firstUsable, lastUsable uint64
	diskGUID                string
	entriesLBA              uint64
	numEntries, entrySize   uint32
	arrayCRC                uint32
}

type gptEntry struct {
	slot        int
	typeGUID    string
	uniqueGUID  string
	first, last uint64
	attrs       uint64
	name        string
}

type gpt struct {
	hdr        gptHeader
	headerOff  int64
	sectorSize int
	entries    []gptEntry
	warnings   []string
}

// guidString formats a GUID stored mixed-endian (first three fields
// little-endian), upper case as sgdisk and sfdisk print it.
func guidString(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X",
		binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}

// readGPTHeader reads and checks the header at lba.
func readGPTHeader(r io.ReaderAt, size int64, ss int, lba uint64) (*gptHeader, error) {
	off := int64(lba) * int64(ss)
	if lba > uint64(size)/uint64(ss) || off+int64(ss) > size {
		return nil, errnof(unix.EIO, "GPT header at LBA %d lies past the end of the image", lba)
	}
	b, err := readFull(r, off, ss)
	if err != nil {
		return nil, fmt.Errorf("reading GPT header at LBA %d: %w", lba, err)
	}
	if string(b[:8]) != "EFI PART" {
		return nil, errNoGPT
	}
	hsize := binary.LittleEndian.Uint32(b[12:])
	if hsize < 92 || hsize > uint32(ss) {
		return nil, errnof(unix.EIO, "GPT header at LBA %d: header size %d", lba, hsize)
	}
	want := binary.LittleEndian.Uint32(b[16:])
	h := append([]byte(nil), b[:hsize]...)
	clear(h[16:20])
	if got := crc32.ChecksumIEEE(h); got != want {
		return nil, errnof(unix.EIO, "GPT header at LBA %d: bad CRC (stored %08x, computed %08x)", lba, want, got)
	}
	hdr := &gptHeader{
		myLBA: binary.LittleEndian.Uint64(b[24:]), altLBA: binary.LittleEndian.Uint64(b[32:]),
		firstUsable: binary.LittleEndian.Uint64(b[40:]), lastUsable: binary.LittleEndian.Uint64(b[48:]),
		diskGUID:   guidString(b[56:72]),
		entriesLBA: binary.LittleEndian.Uint64(b[72:]), numEntries: binary.LittleEndian.Uint32(b[80:]),
		entrySize: binary.LittleEndian.Uint32(b[84:]), arrayCRC: binary.LittleEndian.Uint32(b[88:]),
	}
	if hdr.myLBA != lba {
		return nil, errnof(unix.EIO, "GPT header at LBA %d says it is at LBA %d", lba, hdr.myLBA)
	}
	if hdr.entrySize < gptMinEntrySize || hdr.entrySize%8 != 0 {
		return nil, errnof(unix.EIO, "GPT header at LBA %d: entry size %d", lba, hdr.entrySize)
	}
	if hdr.numEntries > gptMaxEntries || uint64(hdr.numEntries)*uint64(hdr.entrySize) > gptMaxArrayBytes {
		return nil, errnof(unix.EIO, "GPT header at LBA %d: %d entries of %d bytes, more than rumpfs reads (at most %d entries, %d bytes; tools write 128)",
			lba, hdr.numEntries, hdr.entrySize, gptMaxEntries, gptMaxArrayBytes)
	}
	return hdr, nil
}

// readGPTArray reads and checks the entry array hdr points at.
func readGPTArray(r io.ReaderAt, size int64, ss int, hdr *gptHeader) ([]byte, error) {
	n := int(hdr.numEntries) * int(hdr.entrySize)
	off := int64(hdr.entriesLBA) * int64(ss)
	if hdr.entriesLBA > uint64(size)/uint64(ss) || off+int64(n) > size {
		return nil, errnof(unix.EIO, "GPT entry array at LBA %d lies past the end of the image", hdr.entriesLBA)
	}
	b, err := readFull(r, off, n)
	if err != nil {
		return nil, fmt.Errorf("reading GPT entry array at LBA %d: %w", hdr.entriesLBA, err)
	}
	if got := crc32.ChecksumIEEE(b); got != hdr.arrayCRC {
		return nil, errnof(unix.EIO, "GPT entry array at LBA %d: bad CRC (stored %08x, computed %08x)", hdr.entriesLBA, hdr.arrayCRC, got)
	}
	return b, nil
}

// readGPT reads the primary GPT, falling back on the backup; problems with
// either become warnings on the result. errNoGPT when neither header exists.
func readGPT(r io.ReaderAt, size int64, ss int) (*gpt, error) {
	if size < int64(3*ss) {
		return nil, errNoGPT
	}
	g := &gpt{sectorSize: ss}
	lastLBA := uint64(size/int64(ss)) - 1

	primary, perr := readGPTHeader(r, size, ss, 1)
	var parray []byte
	if primary != nil {
		parray, perr = readGPTArray(r, size, ss, primary)
	}
	backupLBA := lastLBA
	if primary != nil && primary.altLBA != 0 {
		backupLBA = primary.altLBA
	}
	backup, berr := readGPTHeader(r, size, ss, backupLBA)
	if backup == nil && berr == errNoGPT && backupLBA != lastLBA {
		backup, berr = readGPTHeader(r, size, ss, lastLBA)
	}
	var barray []byte
	if backup != nil {
		barray, berr = readGPTArray(r, size, ss, backup)
	}
	if perr == errNoGPT && berr == errNoGPT {
		return nil, errNoGPT
	}
	hdr, array := primary, parray
	switch {
	case perr == nil && berr == nil:
		if primary.arrayCRC != backup.arrayCRC || primary.numEntries != backup.numEntries {
			g.warnings = append(g.warnings, "primary and backup GPT entry arrays differ; the primary is used")
		}
	case perr == nil:
		if berr == errNoGPT {
			berr = fmt.Errorf("no backup GPT header at LBA %d", backupLBA)
		}
		g.warnings = append(g.warnings, fmt.Sprintf("backup GPT: %v", berr))
	case berr == nil:
		if perr == errNoGPT {
			perr = errors.New("no primary GPT header at LBA 1")
		}
		g.warnings = append(g.warnings, fmt.Sprintf("primary GPT: %v; the backup GPT is used", perr))
		hdr, array = backup, barray
	default:
		if perr == errNoGPT {
			return nil, berr
		}
		return nil, perr
	}
	g.hdr = *hdr
	g.headerOff = int64(hdr.myLBA) * int64(ss)
	var zero [16]byte
	for i := 0; i < int(hdr.numEntries); i++ {
		e := array[i*int(hdr.entrySize):]
		if string(e[:16]) == string(zero[:]) {
			continue
		}
		g.entries = append(g.entries, gptEntry{slot: i,
			typeGUID: guidString(e[0:16]), uniqueGUID: guidString(e[16:32]),
			first: binary.LittleEndian.Uint64(e[32:]), last: binary.LittleEndian.Uint64(e[40:]),
			attrs: binary.LittleEndian.Uint64(e[48:]), name: utf16Name(e[56:128])})
	}
	return g, nil
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

func (g *gpt) addTo(l *Layout) {
	ss := int64(g.sectorSize)
	l.Tables = append(l.Tables, Table{Scheme: SchemeGPT, Offset: g.headerOff, DiskID: g.hdr.diskGUID})
	for _, w := range g.warnings {
		l.warnf("%s", w)
	}
	maxLBA := uint64(1<<63-1) / uint64(ss)
	for _, e := range g.entries {
		p := &Partition{Index: e.slot + 1, Scheme: SchemeGPT, Name: e.name, Type: e.typeGUID,
			TypeName: gptTypeName(e.typeGUID), UUID: e.uniqueGUID, Attrs: e.attrs}
		if e.last < e.first || e.last >= maxLBA {
			l.warnf("GPT entry %d: first LBA %d, last LBA %d: not a valid range; ignored", e.slot+1, e.first, e.last)
			continue
		}
		p.Start = int64(e.first) * ss
		p.Size = int64(e.last-e.first+1) * ss
		l.Partitions = append(l.Partitions, p)
		if e.first < g.hdr.firstUsable || e.last > g.hdr.lastUsable {
			l.partWarnf(p, "lies outside the GPT's usable LBAs %d-%d", g.hdr.firstUsable, g.hdr.lastUsable)
		}
	}
}

var gptTypeNames = map[string]string{
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "EFI System",
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot",
	"024DEE41-33E7-11D3-9D69-0008C781F39F": "MBR partition scheme",
	"E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "Microsoft reserved",
	"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": "Microsoft basic data",
	"DE94BBA4-06D1-4D40-A16A-BFD50179D6AC": "Windows recovery environment",
	"5808C8AA-7E8F-42E0-85D2-E1E90434CFB3": "Microsoft LDM metadata",
	"AF9B60A0-1431-4F62-BC68-3311714A69AD": "Microsoft LDM data",
	"0FC63DAF-8483-4772-8E79-3D69D8477DE4": "Linux filesystem",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
	"A19D880F-05FC-4D3B-A006-743F0F84911E": "Linux RAID",
	"933AC7E1-2EB4-4F13-B844-0E14E2AEF915": "Linux /home",
	"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709": "Linux x86-64 root (/)",
	"44479540-F297-41B2-9AF7-D131D5F0458A": "Linux x86 root (/)",
	"B921B045-1DF0-41C3-AF44-4C6F280D3FAE": "Linux ARM64 root (/)",
	"BC13C2FF-59E6-4262-A352-B275FD6F7172": "Linux extended boot",
	"CA7D7CCB-63ED-4C53-861C-1742536059CC": "Linux LUKS",
	"3B8F8425-20E0-4F3B-907F-1A25A76F98E8": "Linux /srv",
	"8DA63339-0007-60C0-C436-083AC8230908": "Linux reserved",
	"83BD6B9D-7F41-11DC-BE0B-001560B84F0F": "FreeBSD boot",
	"516E7CB4-6ECF-11D6-8FF8-00022D09712B": "FreeBSD disklabel",
	"516E7CB5-6ECF-11D6-8FF8-00022D09712B": "FreeBSD swap",
	"516E7CB6-6ECF-11D6-8FF8-00022D09712B": "FreeBSD UFS",
	"516E7CB8-6ECF-11D6-8FF8-00022D09712B": "FreeBSD Vinum",
	"516E7CBA-6ECF-11D6-8FF8-00022D09712B": "FreeBSD ZFS",
	"74BA7DD9-A689-11E1-BD04-00E081286ACF": "FreeBSD nandfs",
	"49F48D32-B10E-11DC-B99B-0019D1879648": "NetBSD swap",
	"49F48D5A-B10E-11DC-B99B-0019D1879648": "NetBSD FFS",
	"49F48D82-B10E-11DC-B99B-0019D1879648": "NetBSD LFS",
	"49F48DAA-B10E-11DC-B99B-0019D1879648": "NetBSD RAID",
	"2DB519C4-B10F-11DC-B99B-0019D1879648": "NetBSD concatenated",
	"2DB519EC-B10F-11DC-B99B-0019D1879648": "NetBSD encrypted",
	"824CC7A0-36A8-11E3-890A-952519AD3F61": "OpenBSD data",
	"48465300-0000-11AA-AA11-00306543ECAC": "Apple HFS/HFS+",
	"7C3457EF-0000-11AA-AA11-00306543ECAC": "Apple APFS",
	"55465300-0000-11AA-AA11-00306543ECAC": "Apple UFS",
	"426F6F74-0000-11AA-AA11-00306543ECAC": "Apple boot",
	"6A82CB45-1DD2-11B2-99A6-080020736631": "Solaris boot",
	"6A85CF4D-1DD2-11B2-99A6-080020736631": "Solaris root",
	"6A898CC3-1DD2-11B2-99A6-080020736631": "Solaris /usr & Apple ZFS",
	"BFBFAFE7-A34F-448A-9A5B-6213EB736C22": "ChromeOS kernel",
	"3CB8E202-3B7E-47DD-8A3C-7FF2A13CFCEC": "ChromeOS root",
}

func gptTypeName(guid string) string {
	if n, ok := gptTypeNames[strings.ToUpper(guid)]; ok {
		return n
	}
	return "unknown (" + guid + ")"
}

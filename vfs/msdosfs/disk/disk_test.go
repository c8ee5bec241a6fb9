package disk

import (
	"encoding/binary"
	"testing"
	"time"
	"unicode/utf16"
)

// bootSector is a FAT16 boot sector as mkfs.fat writes one for 32 MiB
// with 2-sector clusters.
func bootSector() []byte {
	b := make([]byte, 512)
	le := binary.LittleEndian
	b[0], b[1], b[2] = 0xEB, 0x3C, 0x90
	le.PutUint16(b[11:], 512)
	b[13] = 2
	le.PutUint16(b[14:], 4)
	b[16] = 2
	le.PutUint16(b[17:], 512)
	le.PutUint16(b[19:], 0)
	b[21] = 0xF8
	le.PutUint16(b[22:], 128)
	le.PutUint32(b[32:], 65536)
	le.PutUint16(b[510:], 0xAA55)
	return b
}

func TestParseBPB(t *testing.T) {
	p, err := ParseBPB(bootSector(), 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != FAT16 || p.ClusterBytes != 1024 || p.DataSec != 4+256+32 {
		t.Errorf("got %+v", p)
	}
	for _, c := range []struct {
		name string
		off  int
		v    byte
	}{
		{"zero sector size", 11, 0}, {"odd cluster", 13, 3}, {"no FATs", 16, 0}, {"no signature", 510, 0},
	} {
		b := bootSector()
		b[c.off], b[c.off+1] = c.v, 0
		if c.off == 13 || c.off == 16 {
			b[c.off+1] = bootSector()[c.off+1]
		}
		if _, err := ParseBPB(b, 0); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

func TestFATEntry(t *testing.T) {
	p := &BPB{Type: FAT12, Clusters: 100}
	// Clusters 2 and 3 share three bytes: 2 -> 3, 3 -> end of chain.
	fat := []byte{0xF8, 0xFF, 0xFF, 0x03, 0xF0, 0xFF}
	if k, n := p.FATEntry(2, fat[3:]); k != EntryNext || n != 3 {
		t.Errorf("cluster 2: %d %d", k, n)
	}
	if k, _ := p.FATEntry(3, fat[4:]); k != EntryEnd {
		t.Errorf("cluster 3: %d", k)
	}
	p = &BPB{Type: FAT32, Clusters: 100}
	if k, n := p.FATEntry(5, []byte{200, 0, 0, 0xF0}); k != EntryRsvd || n != 200 {
		t.Errorf("out of range: %d %d (high nibble must be ignored, 200 refused)", k, n)
	}
}

// longEntries makes the long entries, in directory order, for name
// belonging to short.
func longEntries(name string, short [11]byte) [][]byte {
	u := utf16.Encode([]rune(name))
	if len(u)%13 != 0 {
		u = append(u, 0)
	}
	for len(u)%13 != 0 {
		u = append(u, 0xFFFF)
	}
	n := len(u) / 13
	var out [][]byte
	for seq := n; seq >= 1; seq-- {
		b := make([]byte, 32)
		b[0] = byte(seq)
		if seq == n {
			b[0] |= 0x40
		}
		b[11], b[13] = AttrLongName, Checksum(short)
		part := u[(seq-1)*13 : seq*13]
		for i, o := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
			binary.LittleEndian.PutUint16(b[o:], part[i])
		}
		out = append(out, b)
	}
	return out
}

func TestLongName(t *testing.T) {
	short := [11]byte{'L', 'O', 'N', 'G', 'N', 'A', '~', '1', 'T', 'X', 'T'}
	sd := make([]byte, 32)
	copy(sd, short[:])
	sd[11] = AttrArchive
	for _, name := range []string{"a long name.txt", "émoji 😀 and more than thirteen", "exactly13char"} {
		var ln LongNamer
		for _, b := range longEntries(name, short) {
			if !IsLong(b) {
				t.Fatal("not long")
			}
			ln.Long(b)
		}
		d := ParseDirent(sd)
		if got := ln.Name(&d); got != name {
			t.Errorf("got %q, want %q", got, name)
		}
	}
	// An orphan: the checksum names another short entry.
	var ln LongNamer
	for _, b := range longEntries("orphan", [11]byte{'X'}) {
		ln.Long(b)
	}
	d := ParseDirent(sd)
	if got := ln.Name(&d); got != "" {
		t.Errorf("orphan gave %q", got)
	}
	// Out of order: the second entry missing.
	ln = LongNamer{}
	es := longEntries("a name of more than thirteen units", short)
	ln.Long(es[0])
	ln.Long(es[2])
	if got := ln.Name(&d); got != "" {
		t.Errorf("broken run gave %q", got)
	}
}

func TestShortName(t *testing.T) {
	d := Dirent{Short: [11]byte{'R', 'E', 'A', 'D', 'M', 'E', ' ', ' ', 'T', 'X', 'T'}}
	for _, c := range []struct {
		flags uint8
		want  string
	}{{0, "README.TXT"}, {CaseLowerBase, "readme.TXT"}, {CaseLowerExt, "README.txt"}, {CaseLowerBase | CaseLowerExt, "readme.txt"}} {
		d.NTCase = c.flags
		if got := d.ShortName(); got != c.want {
			t.Errorf("flags %#x: %q, want %q", c.flags, got, c.want)
		}
	}
	d = Dirent{Short: [11]byte{0x82, 'T', 'E', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}}
	if got := d.ShortName(); got != "éTE" {
		t.Errorf("code page 437: %q", got)
	}
}

func TestTime(t *testing.T) {
	// 2024-02-29 13:45:58.37
	date := uint16((2024-1980)<<9 | 2<<5 | 29)
	tm := uint16(13<<11 | 45<<5 | 58/2)
	got := Time(date, tm, 37, time.UTC)
	want := time.Date(2024, 2, 29, 13, 45, 58, 370_000_000, time.UTC)
	if !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !Time(0, 0, 0, time.UTC).IsZero() {
		t.Error("date 0 is not zero")
	}
}

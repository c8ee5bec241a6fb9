package disk

import (
	"testing"
	"time"
)

// The parsers take any bytes without panicking.

func FuzzParseBPB(f *testing.F) {
	f.Add(bootSector(), int64(32<<20))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		p, err := ParseBPB(b, size)
		if err != nil {
			return
		}
		if !p.ValidCluster(2) || p.ClusterOffset(2) <= 0 {
			t.Fatalf("accepted a BPB without data clusters: %+v", p)
		}
		var e [4]byte
		last := p.Clusters + 1
		p.FATEntry(last, e[:])
		if p.FATOffset(last)+int64(p.FATEntrySize()) > int64(p.ReservedSecs+(p.ActiveFAT+1)*p.FATSecs)*int64(p.BytesPerSec) {
			t.Fatalf("cluster %d's entry lies past its FAT: %+v", last, p)
		}
	})
}

func FuzzDir(f *testing.F) {
	short := [11]byte{'A', 'B', 'C', 'D', 'E', 'F', '~', '1', 'T', 'X', 'T'}
	var seed []byte
	for _, b := range longEntries("a fuzzed long 😀 name.txt", short) {
		seed = append(seed, b...)
	}
	sd := make([]byte, 32)
	copy(sd, short[:])
	f.Add(append(seed, sd...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ln LongNamer
		for i := 0; i+DirentSize <= len(b); i += DirentSize {
			s := b[i : i+DirentSize]
			if IsLong(s) {
				ln.Long(s)
				continue
			}
			d := ParseDirent(s)
			_ = d.ShortName()
			if n := ln.Name(&d); len([]rune(n)) > 255 {
				t.Fatalf("name of %d characters", len([]rune(n)))
			}
			_ = Time(d.MDate, d.MTime, d.CTimeCs, time.UTC)
		}
	})
}

package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func layoutBytes(img []byte) *Layout {
	return ReadLayout(bytes.NewReader(img), int64(len(img)), 512)
}

func image(sectors int, at map[int][]byte) []byte {
	img := make([]byte, sectors*512)
	for s, b := range at {
		copy(img[s*512:], b)
	}
	return img
}

func TestMBRPastTheEnd(t *testing.T) {
	img := image(16384, map[int][]byte{0: mbrSector(mbrPart{Type: 0x83, Start: 2048, Size: 100000})})
	l := layoutBytes(img)
	if len(l.Partitions) != 1 || !hasWarning(l, "partition 1", "past the end") {
		t.Fatalf("layout %+v; want partition 1 and a past-the-end warning", l)
	}
	path := filepath.Join(t.TempDir(), "past.img")
	os.WriteFile(path, img, 0o644)
	if _, err := Resolve(path + "@1"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Resolve of a partition past the end: %v, want EINVAL", err)
	}
}

func TestMBROverlap(t *testing.T) {
	l := layoutBytes(image(16384, map[int][]byte{0: mbrSector(
		mbrPart{Type: 0x83, Start: 2048, Size: 4096}, mbrPart{Type: 0x83, Start: 4096, Size: 4096},
		mbrPart{Type: 0x83, Start: 8192, Size: 2048})}))
	if !hasWarning(l, "partition 2", "overlaps partition 1") || hasWarning(l, "partition 3") {
		t.Fatalf("warnings %q; want exactly partition 2 overlapping partition 1", l.Warnings)
	}
}

func TestMBRExtendedLoops(t *testing.T) {
	// An EBR that links to itself, and a two-EBR cycle.
	self := image(16384, map[int][]byte{
		0:    mbrSector(mbrPart{Type: 0x05, Start: 8192, Size: 8192}),
		8192: mbrSector(mbrPart{Type: 0x83, Start: 64, Size: 1024}, mbrPart{Type: 0x05, Start: 0, Size: 2048}),
	})
	l := layoutBytes(self)
	if !hasWarning(l, "loops") || len(l.Partitions) != 2 {
		t.Errorf("self loop: %d partitions, warnings %q", len(l.Partitions), l.Warnings)
	}
	cycle := image(16384, map[int][]byte{
		0:     mbrSector(mbrPart{Type: 0x0f, Start: 8192, Size: 8192}),
		8192:  mbrSector(mbrPart{Type: 0x83, Start: 64, Size: 1024}, mbrPart{Type: 0x05, Start: 2048, Size: 2048}),
		10240: mbrSector(mbrPart{Type: 0x83, Start: 64, Size: 1024}, mbrPart{Type: 0x05, Start: 0, Size: 2048}),
	})
	l = layoutBytes(cycle)
	if !hasWarning(l, "loops") || len(l.Partitions) != 3 || byIndex(l, 6) == nil {
		t.Errorf("cycle: %d partitions, warnings %q", len(l.Partitions), l.Warnings)
	}
	// A chain whose next EBR lies past the end, and a logical partition
	// outside the extended one.
	out := image(16384, map[int][]byte{
		0:    mbrSector(mbrPart{Type: 0x05, Start: 8192, Size: 4096}),
		8192: mbrSector(mbrPart{Type: 0x83, Start: 6000, Size: 1024}, mbrPart{Type: 0x05, Start: 900000, Size: 2048}),
	})
	l = layoutBytes(out)
	if !hasWarning(l, "past the end") || !hasWarning(l, "partition 5", "outside the extended") {
		t.Errorf("escaping chain: warnings %q", l.Warnings)
	}
}

func TestGPTBadCRCs(t *testing.T) {
	good := gptImage(8192, gptPart{Type: linuxFSType, First: 2048, Last: 4095, Name: "one"}, gptPart{Type: espType, First: 4096, Last: 6143, Name: "two"})
	if l := layoutBytes(good); len(l.Warnings) != 0 || len(l.Partitions) != 2 || l.Tables[0].Scheme != SchemeGPT {
		t.Fatalf("good GPT: %+v", l)
	}
	last := 8191
	for _, tc := range []struct {
		name     string
		corrupt  func(img []byte)
		parts    int
		warnings []string
	}{
		{"primary header CRC", func(img []byte) { img[512+40]++ }, 2, []string{"primary GPT", "bad CRC", "backup GPT is used"}},
		{"primary array CRC", func(img []byte) { img[1024+56]++ }, 2, []string{"primary GPT", "entry array", "bad CRC"}},
		{"backup header CRC", func(img []byte) { img[last*512+40]++ }, 2, []string{"backup GPT", "bad CRC"}},
		{"backup missing", func(img []byte) { clear(img[last*512 : last*512+8]) }, 2, []string{"backup GPT", "no backup"}},
		{"both headers", func(img []byte) { img[512+40]++; img[last*512+40]++ }, 1, []string{"protective MBR but no valid GPT", "bad CRC"}}, // the 0xee entry is listed
		{"huge entry count", func(img []byte) {
			binary.LittleEndian.PutUint32(img[512+80:], 0xffffffff)
			fixHeaderCRC(img[512:1024])
		}, 2, []string{"primary GPT", "entries"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := bytes.Clone(good)
			tc.corrupt(img)
			l := layoutBytes(img)
			if len(l.Partitions) != tc.parts || !hasWarning(l, tc.warnings...) {
				t.Errorf("%d partitions, warnings %q; want %d and a warning with %q", len(l.Partitions), l.Warnings, tc.parts, tc.warnings)
			}
		})
	}
	bad := gptImage(8192, gptPart{Type: linuxFSType, First: 4095, Last: 2048, Name: "backwards"}, gptPart{Type: linuxFSType, First: 2048, Last: 5000, Name: "a"}, gptPart{Type: linuxFSType, First: 5000, Last: 6000, Name: "b"})
	l := layoutBytes(bad)
	if !hasWarning(l, "entry 1", "not a valid range") || !hasWarning(l, "partition 3", "overlaps partition 2") {
		t.Errorf("warnings %q", l.Warnings)
	}
}

func fixHeaderCRC(h []byte) {
	clear(h[16:20])
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
}

func TestDisklabelBadChecksum(t *testing.T) {
	lab := makeDisklabel(binary.LittleEndian, 512, 8192, []testLabelPart{{letter: 'a', off: 16, size: 1000, fstype: 7}}, false, true)
	l := layoutBytes(image(8192, map[int][]byte{1: lab}))
	if len(l.Partitions) != 0 || !hasWarning(l, "disklabel", "bad checksum") {
		t.Errorf("bad checksum: %d partitions, warnings %q", len(l.Partitions), l.Warnings)
	}
	// In a NetBSD slice.
	l = layoutBytes(image(8192, map[int][]byte{0: mbrSector(mbrPart{Type: 0xa9, Start: 2048, Size: 4096}), 2049: lab}))
	if !hasWarning(l, "partition 1", "bad checksum") {
		t.Errorf("bad checksum in a slice: warnings %q", l.Warnings)
	}
	// A label entry outside its slice.
	lab = makeDisklabel(binary.LittleEndian, 512, 8192, []testLabelPart{{letter: 'a', off: 2048 + 16, size: 6000, fstype: 7}}, false, false)
	l = layoutBytes(image(8192, map[int][]byte{0: mbrSector(mbrPart{Type: 0xa9, Start: 2048, Size: 4096}), 2049: lab}))
	if !hasWarning(l, "outside its MBR slice 1") {
		t.Errorf("label entry outside its slice: warnings %q", l.Warnings)
	}
}

func TestNestedAndHybrid(t *testing.T) {
	l := layoutBytes(image(16384, map[int][]byte{
		0:    mbrSector(mbrPart{Type: 0x83, Start: 2048, Size: 4096}),
		2048: mbrSector(mbrPart{Type: 0x83, Start: 64, Size: 1024}),
	}))
	if !hasWarning(l, "partition 1", "nested") {
		t.Errorf("nested MBR: warnings %q", l.Warnings)
	}
	img := gptImage(8192, gptPart{Type: linuxFSType, First: 2048, Last: 4095, Name: "one"})
	copy(img, mbrSector(mbrPart{Type: 0xee, Start: 1, Size: 2047}, mbrPart{Type: 0x83, Start: 2048, Size: 2048}))
	if l := layoutBytes(img); !hasWarning(l, "hybrid MBR") || len(l.Partitions) != 1 {
		t.Errorf("hybrid: %+v", l)
	}
	img = gptImage(8192, gptPart{Type: linuxFSType, First: 2048, Last: 4095, Name: "one"})
	copy(img, mbrSector(mbrPart{Type: 0x83, Start: 2048, Size: 2048}))
	if l := layoutBytes(img); !hasWarning(l, "no protective") || l.Tables[0].Scheme != SchemeMBR {
		t.Errorf("GPT behind a plain MBR: %+v", l)
	}
}

// A FAT boot sector with empty partition entries is a volume; with
// entries it is ambiguous, and said to be.
func TestMBROrFATBootSector(t *testing.T) {
	need(t, "mkfs.fat")
	fat, err := os.ReadFile(makeFS(t, "fat16", "VOL", 4*MiB))
	if err != nil {
		t.Fatal(err)
	}
	if l := layoutBytes(fat); len(l.Tables) != 0 || len(l.Partitions) != 0 {
		t.Errorf("a FAT volume read as a partition table: %+v", l)
	}
	copy(fat[0x1be:], mbrSector(mbrPart{Type: 0x83, Start: 4096, Size: 2048})[0x1be:0x1ce])
	if l := layoutBytes(fat); len(l.Partitions) != 1 || !hasWarning(l, "FAT boot sector") {
		t.Errorf("ambiguous sector 0: %+v", l)
	}
}

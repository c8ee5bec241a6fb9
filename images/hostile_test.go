package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Crafted tables far larger than any real one (issue #11): parsing them
// must cost about what their size says, and what reads or prints per
// partition must stop at a bound. Sizes are checked by count, never by
// time.

// countingReader counts the bytes read through it.
type countingReader struct {
	r     io.ReaderAt
	bytes atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.bytes.Add(int64(n))
	return n, err
}

// wholeDiskGPT is a 64 MiB image whose GPT has n entries (a multiple of
// 4), every one valid and covering the whole disk, LBA 0 to the last, so
// that each holds the disk's own tables; named p0, p1, ...
func wholeDiskGPT(n int) []byte {
	const sectors = 64 << 20 / 512
	parts := make([]gptPart, n)
	for i := range parts {
		parts[i] = gptPart{Type: linuxFSType, First: 0, Last: sectors - 1, Name: fmt.Sprint("p", i)}
	}
	return gptImageN(sectors, n, parts...)
}

func TestHugeGPT(t *testing.T) {
	img := wholeDiskGPT(32768)
	cr := &countingReader{r: bytes.NewReader(img)}
	l := ReadLayout(cr, int64(len(img)), 512)
	if len(l.Partitions) != 32768 || l.Partitions[32767].Name != "p32767" {
		t.Fatalf("%d partitions, want 32768", len(l.Partitions))
	}
	// Every entry overlaps the first and lies outside the usable LBAs:
	// 65,535 warnings and more, kept to the bound.
	if len(l.Warnings) != MaxWarnings+1 || !strings.HasSuffix(l.Warnings[MaxWarnings], "more warnings") {
		t.Errorf("%d warnings, last %q", len(l.Warnings), l.Warnings[len(l.Warnings)-1])
	}
	if w := l.Partitions[32767].Warnings; len(w) != 2 || !strings.Contains(w[1], "overlaps partition 1") {
		t.Errorf("last partition's warnings %q", w)
	}
	// Two 4 MiB arrays, two headers, the MBR and a few superblock-sized
	// reads: not a read per partition (each of which holds the disk's
	// own GPT, whose arrays the nested-table check once read for every
	// partition: quadratic).
	if got := cr.bytes.Load(); got > 9<<20 {
		t.Errorf("read %d bytes to lay out the table", got)
	}

	// Through a file, as the commands do: the last partition can be
	// selected, by number and by name.
	path := filepath.Join(t.TempDir(), "gpt32k.img")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{"@32768", "@p32767"} {
		tg, err := Resolve(path + sel)
		if err != nil || tg.Partition == nil || tg.Partition.Index != 32768 {
			t.Errorf("Resolve(%s): %+v, %v", sel, tg, err)
		}
	}
	// A name many partitions share, and one none has: the message names
	// a few and counts the rest.
	os.WriteFile(path, wholeDiskGPTNamed(4096, "same"), 0o644)
	_, err := Resolve(path + "@same")
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "and 4080 more") || len(err.Error()) > 400 {
		t.Errorf("ambiguous name: %v", err)
	}
	_, err = Resolve(path + "@nothing")
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "and 4080 more") || len(err.Error()) > 1000 {
		t.Errorf("missing name: %v", err)
	}
}

func wholeDiskGPTNamed(n int, name string) []byte {
	img := wholeDiskGPT(n)
	// Rename every entry and recompute both arrays' and headers' CRCs.
	const sectors = 64 << 20 / 512
	arrayBytes := n * 128
	for _, arrayAt := range []int{2 * 512, (sectors - 1 - arrayBytes/512) * 512} {
		for i := 0; i < n; i++ {
			e := img[arrayAt+i*128:]
			clear(e[56:128])
			for j, c := range name {
				binary.LittleEndian.PutUint16(e[56+2*j:], uint16(c))
			}
		}
	}
	return regptCRCs(img, sectors, arrayBytes)
}

// regptCRCs recomputes the array and header CRCs of both GPT copies.
func regptCRCs(img []byte, sectors, arrayBytes int) []byte {
	for _, hdrAt := range []int{512, (sectors - 1) * 512} {
		h := img[hdrAt : hdrAt+512]
		arrayAt := int(binary.LittleEndian.Uint64(h[72:])) * 512
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(img[arrayAt:arrayAt+arrayBytes]))
		fixHeaderCRC(h)
	}
	return img
}

// TestGPTTooManyEntries: a header claiming more entries than the cap is
// refused with a message giving the count and the cap.
func TestGPTTooManyEntries(t *testing.T) {
	img := gptImageN(64<<20/512, 65536, gptPart{Type: linuxFSType, First: 40000, Last: 50000})
	l := layoutBytes(img)
	if len(l.Tables) != 1 || l.Tables[0].Scheme != SchemeMBR || !hasWarning(l, "65536 entries", "32768") {
		t.Errorf("%d partitions, warnings %q", len(l.Partitions), l.Warnings)
	}
}

// TestLongEBRChain: a chain of 10,000 EBRs is followed to the bound, and
// one whose last EBR links back into the chain stops at the loop.
func TestLongEBRChain(t *testing.T) {
	const n = 10000
	for _, loop := range []bool{false, true} {
		at := map[int][]byte{0: mbrSector(mbrPart{Type: 0x05, Start: 2048, Size: n + 1000})}
		for i := 0; i < n; i++ {
			next := uint32(i + 1)
			if loop && i == 200 {
				next = 100
			}
			at[2048+i] = mbrSector(mbrPart{Type: 0x83, Start: 1, Size: 1}, mbrPart{Type: 0x05, Start: next, Size: 1})
		}
		cr := &countingReader{r: bytes.NewReader(image(2048+n+1000, at))}
		l := ReadLayout(cr, int64((2048+n+1000)*512), 512)
		want, warn := 1+mbrMaxLogical, "more than 256 logical partitions"
		if loop {
			want, warn = 1+201, "loops back to sector 2148"
		}
		if len(l.Partitions) != want || !hasWarning(l, warn) {
			t.Errorf("loop %v: %d partitions, warnings %q", loop, len(l.Partitions), l.Warnings)
		}
		if got := cr.bytes.Load(); got > 1<<20 {
			t.Errorf("loop %v: read %d bytes", loop, got)
		}
	}
}

// TestHugeDisklabel: a label claiming 65,535 partitions (with a valid
// checksum over all of them) is refused with the count and the cap.
func TestHugeDisklabel(t *testing.T) {
	const n = 65535
	lab := makeDisklabel(binary.LittleEndian, 512, 8192, []testLabelPart{{letter: 'a', off: 16, size: 1000, fstype: 7}}, false, false)
	b := make([]byte, 148+16*n)
	copy(b, lab)
	binary.LittleEndian.PutUint16(b[138:], n)
	for i := 1; i < n; i++ {
		e := b[148+16*i:]
		binary.LittleEndian.PutUint32(e[0:], 1000)
		binary.LittleEndian.PutUint32(e[4:], 16)
		e[12] = 7
	}
	binary.LittleEndian.PutUint16(b[136:], 0)
	var sum uint16
	for i := 0; i < len(b); i += 2 {
		sum ^= binary.LittleEndian.Uint16(b[i:])
	}
	binary.LittleEndian.PutUint16(b[136:], sum)
	l := layoutBytes(image(8192, map[int][]byte{1: b}))
	if len(l.Partitions) != 0 || !hasWarning(l, "65535 partitions", "22") {
		t.Errorf("%d partitions, warnings %q", len(l.Partitions), l.Warnings)
	}
}

package images

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"
)

// Fuzz targets: every parser must return (a layout with warnings, or nil)
// on any input, without panicking, hanging or reading out of range. The
// seeds run as ordinary tests.

const fuzzMax = 256 << 10

func checkLayout(t *testing.T, data []byte) *Layout {
	if len(data) > fuzzMax {
		t.Skip()
	}
	l := ReadLayout(bytes.NewReader(data), int64(len(data)), 512)
	for _, p := range l.Partitions {
		if p.Size < 0 || p.Start < 0 {
			t.Fatalf("partition %d: negative extent %d+%d", p.Index, p.Start, p.Size)
		}
	}
	return l
}

func FuzzMBR(f *testing.F) {
	// Small images keep the fuzzer fast.
	f.Add(image(8, map[int][]byte{0: mbrSector(mbrPart{Type: 0x83, Start: 2, Size: 3}, mbrPart{Status: 0x80, Type: 0x0c, Start: 5, Size: 2})}))
	f.Add(image(12, map[int][]byte{
		0: mbrSector(mbrPart{Type: 0x05, Start: 4, Size: 8}),
		4: mbrSector(mbrPart{Type: 0x83, Start: 1, Size: 1}, mbrPart{Type: 0x05, Start: 4, Size: 4}),
		8: mbrSector(mbrPart{Type: 0x83, Start: 1, Size: 1}, mbrPart{Type: 0x05, Start: 0, Size: 4}),
	}))
	f.Add(image(12, map[int][]byte{0: mbrSector(mbrPart{Type: 0xa9, Start: 2, Size: 10}),
		3: makeDisklabel(binary.LittleEndian, 512, 12, []testLabelPart{{letter: 'a', off: 4, size: 8, fstype: 7}}, false, false)}))
	f.Fuzz(func(t *testing.T, data []byte) { checkLayout(t, data) })
}

// FuzzGPT repairs both header CRCs and the array CRCs before parsing, so
// that the fuzzer reaches the entry and range checks rather than stopping
// at a checksum.
func FuzzGPT(f *testing.F) {
	f.Add(gptImageN(12, 4, gptPart{Type: linuxFSType, First: 3, Last: 5, Name: "one"}, gptPart{Type: espType, First: 6, Last: 9, Name: "two"}), true)
	f.Add(gptImageN(12, 4, gptPart{Type: linuxFSType, First: 9, Last: 4, Name: "backwards"}), false)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix && len(data) >= 3*512 {
			data = bytes.Clone(data)
			last := len(data)/512 - 1
			for _, lba := range []int{1, last} {
				h := data[lba*512 : lba*512+512]
				n := binary.LittleEndian.Uint32(h[80:])
				sz := binary.LittleEndian.Uint32(h[84:])
				at := binary.LittleEndian.Uint64(h[72:])
				if total := uint64(n) * uint64(sz); total < fuzzMax && at < uint64(len(data)/512) && at*512+total <= uint64(len(data)) {
					binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(data[at*512:at*512+total]))
				}
				if hs := binary.LittleEndian.Uint32(h[12:]); hs >= 92 && hs <= 512 {
					clear(h[16:20])
					binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:hs]))
				}
			}
		}
		checkLayout(t, data)
	})
}

func FuzzDisklabel(f *testing.F) {
	f.Add(makeDisklabel(binary.LittleEndian, 512, 64, []testLabelPart{{letter: 'a', off: 10, size: 20, fstype: 7}, {letter: 'c', off: 0, size: 64}}, false, false))
	f.Add(makeDisklabel(binary.BigEndian, 2048, 64, []testLabelPart{{letter: 'b', off: 1, size: 2, fstype: 1}}, false, false))
	f.Add(makeDisklabel(binary.LittleEndian, 512, 64, []testLabelPart{{letter: 'a', off: 10, size: 20, fstype: 7, offh: 0xffff, sizeh: 0xffff}}, true, false))
	f.Fuzz(func(t *testing.T, label []byte) {
		parseDisklabel(label)
		// Alone at sector 1, and inside an MBR slice; fix the
		// checksum so the partition entries get exercised.
		if len(label) >= labelHeaderSize {
			label = bytes.Clone(label)
			n := min(int(binary.LittleEndian.Uint16(label[138:])), labelMaxParts)
			if end := labelHeaderSize + n*labelEntrySize; end <= len(label) {
				label[136], label[137] = 0, 0
				var sum uint16
				for i := 0; i+1 < end; i += 2 {
					sum ^= binary.LittleEndian.Uint16(label[i:])
				}
				binary.LittleEndian.PutUint16(label[136:], sum)
			}
		}
		checkLayout(t, image(8, map[int][]byte{1: label}))
		checkLayout(t, image(8, map[int][]byte{0: mbrSector(mbrPart{Type: 0xa5, Start: 2, Size: 6}), 3: label}))
	})
}

// placed is a window of size bytes, zero except for data at off; it lets
// small fuzz inputs reach superblocks far into a window.
type placed struct {
	data      []byte
	off, size int64
}

func (p placed) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-off))
	clear(b[:n])
	if off < p.off+int64(len(p.data)) && off+int64(n) > p.off {
		src := max(off, p.off)
		copy(b[src-off:n], p.data[src-p.off:])
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// FuzzProbe places the input at one of the offsets probers read.
func FuzzProbe(f *testing.F) {
	sb := make([]byte, 1024)
	binary.LittleEndian.PutUint16(sb[56:], 0xef53)
	binary.LittleEndian.PutUint32(sb[32:], 8192)
	binary.LittleEndian.PutUint32(sb[40:], 128)
	f.Add(sb, uint8(1))
	fs := make([]byte, 1376)
	binary.BigEndian.PutUint32(fs[1372:], ffsUFS2Magic)
	binary.BigEndian.PutUint32(fs[48:], 8192)
	binary.BigEndian.PutUint32(fs[52:], 1024)
	binary.BigEndian.PutUint32(fs[56:], 8)
	binary.BigEndian.PutUint32(fs[44:], 1)
	f.Add(fs, uint8(2))
	fat := make([]byte, 1024)
	copy(fat, "\xeb\x3c\x90mkfs.fat")
	binary.LittleEndian.PutUint16(fat[11:], 512)
	fat[13], fat[16], fat[21] = 1, 2, 0xf8
	binary.LittleEndian.PutUint16(fat[14:], 1)
	binary.LittleEndian.PutUint16(fat[19:], 2000)
	binary.LittleEndian.PutUint16(fat[22:], 6)
	f.Add(fat, uint8(0))
	iso := make([]byte, 3*2048)
	copy(iso, "\x01CD001\x01")
	binary.LittleEndian.PutUint16(iso[128:], 2048)
	binary.LittleEndian.PutUint32(iso[156+2:], 18)
	copy(iso[2048:], "\xffCD001\x01")
	iso[2*2048] = 34
	f.Add(iso, uint8(4))
	offsets := []int64{0, 1024, 8192, 16 * 2048, 65536, 262144}
	f.Fuzz(func(t *testing.T, data []byte, where uint8) {
		if len(data) > 64<<10 {
			t.Skip()
		}
		w := placed{data: data, off: offsets[int(where)%len(offsets)], size: 1 << 20}
		if fs := Probe(w, w.size); fs != nil && fs.State == "" {
			t.Fatalf("%s: empty state", fs.Type)
		}
	})
}

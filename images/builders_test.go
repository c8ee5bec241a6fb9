package images

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// Table builders for bad-input tests and fuzz seeds. They write what the
// format says, independently of the parsers (the good-input tests check
// the parsers against sfdisk, sgdisk and mmls instead).

type mbrPart struct {
	status, typ byte
	start, size uint32
}

// mbrSector is a 512-byte MBR or EBR.
func mbrSector(parts ...mbrPart) []byte {
	b := make([]byte, 512)
	binary.LittleEndian.PutUint32(b[0x1b8:], 0x12345678)
	for i, p := range parts {
		e := b[0x1be+16*i:]
		e[0], e[4] = p.status, p.typ
		binary.LittleEndian.PutUint32(e[8:], p.start)
		binary.LittleEndian.PutUint32(e[12:], p.size)
	}
	b[510], b[511] = 0x55, 0xaa
	return b
}

type gptPart struct {
	typ         [16]byte
	first, last uint64
	name        string
}

var (
	linuxFSType = [16]byte{0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4}
	espType     = [16]byte{0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b}
)

// gptImage is a whole image of sectors 512-byte sectors holding a
// protective MBR, primary and backup GPT with 128 entries.
func gptImage(sectors uint64, parts ...gptPart) []byte {
	return gptImageN(sectors, 128, parts...)
}

// gptImageN is gptImage with n entries (a multiple of 4).
func gptImageN(sectors uint64, n int, parts ...gptPart) []byte {
	const ss, esz = 512, 128
	img := make([]byte, sectors*ss)
	copy(img, mbrSector(mbrPart{typ: 0xee, start: 1, size: uint32(min(sectors-1, 0xffffffff))}))
	array := make([]byte, n*esz)
	for i, p := range parts {
		e := array[i*esz:]
		copy(e[0:16], p.typ[:])
		e[16] = byte(i + 1) // unique GUID
		binary.LittleEndian.PutUint64(e[32:], p.first)
		binary.LittleEndian.PutUint64(e[40:], p.last)
		for j, c := range utf16.Encode([]rune(p.name)) {
			binary.LittleEndian.PutUint16(e[56+2*j:], c)
		}
	}
	arraySectors := uint64(n * esz / ss)
	last := sectors - 1
	header := func(my, alt, entries uint64) []byte {
		h := make([]byte, ss)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], my)
		binary.LittleEndian.PutUint64(h[32:], alt)
		binary.LittleEndian.PutUint64(h[40:], 2+arraySectors)
		binary.LittleEndian.PutUint64(h[48:], last-1-arraySectors)
		h[56] = 0xd1 // disk GUID
		binary.LittleEndian.PutUint64(h[72:], entries)
		binary.LittleEndian.PutUint32(h[80:], uint32(n))
		binary.LittleEndian.PutUint32(h[84:], esz)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(array))
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		return h
	}
	copy(img[ss:], header(1, last, 2))
	copy(img[2*ss:], array)
	copy(img[(last-arraySectors)*ss:], array)
	copy(img[last*ss:], header(last, 1, last-arraySectors))
	return img
}

// Package testimg builds the bytes of test images for the tests of every
// package: partition tables (MBR and GPT, written from the formats'
// descriptions, independently of the parsers in package images), FFS
// superblocks in the other byte order, UFS extended attribute records,
// committed sample images, and host files no command may take as an
// image. It is for tests only and imports nothing from the module, so
// any package's tests can use it.
package testimg

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unicode/utf16"
)

// MBRPart is one primary entry of an MBR or EBR.
type MBRPart struct {
	Status, Type byte
	Start, Size  uint32
}

// MBR is a 512-byte MBR or EBR holding parts, with a disk signature.
func MBR(parts ...MBRPart) []byte {
	b := make([]byte, 512)
	binary.LittleEndian.PutUint32(b[0x1b8:], 0x12345678)
	for i, p := range parts {
		e := b[0x1be+16*i:]
		e[0], e[4] = p.Status, p.Type
		binary.LittleEndian.PutUint32(e[8:], p.Start)
		binary.LittleEndian.PutUint32(e[12:], p.Size)
	}
	b[510], b[511] = 0x55, 0xaa
	return b
}

// GPTPart is one GPT entry: its type GUID, first and last LBA
// (inclusive) and name (at most 36 UTF-16 units are kept).
type GPTPart struct {
	Type        [16]byte
	First, Last uint64
	Name        string
}

// Partition type GUIDs, as stored.
var (
	LinuxFSType = [16]byte{0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4}
	ESPType     = [16]byte{0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b}
)

// GPT is a whole image of sectors 512-byte sectors: a protective MBR,
// the primary GPT (header in LBA 1, an array of n entries, n a multiple
// of 4, from LBA 2) and the backup (array, then header in the last LBA),
// CRCs correct. Entry i's unique GUID starts with i+1.
func GPT(sectors uint64, n int, parts ...GPTPart) []byte {
	const ss, esz = 512, 128
	img := make([]byte, sectors*ss)
	copy(img, MBR(MBRPart{Type: 0xee, Start: 1, Size: uint32(min(sectors-1, 0xffffffff))}))
	array := make([]byte, n*esz)
	for i, p := range parts {
		e := array[i*esz:]
		copy(e[0:16], p.Type[:])
		binary.LittleEndian.PutUint32(e[16:], uint32(i+1))
		binary.LittleEndian.PutUint64(e[32:], p.First)
		binary.LittleEndian.PutUint64(e[40:], p.Last)
		for j, c := range utf16.Encode([]rune(p.Name)) {
			if j < 36 {
				binary.LittleEndian.PutUint16(e[56+2*j:], c)
			}
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

// GPTUsable is the first and last usable LBA of GPT's image.
func GPTUsable(sectors uint64, n int) (first, last uint64) {
	arraySectors := uint64(n * 128 / 512)
	return 2 + arraySectors, sectors - 2 - arraySectors
}

// SwapFFSSuperblock turns a little-endian FFS superblock into a
// big-endian one: every 32-bit word swapped, then the 64-bit fields and
// the byte fields (flags and names) fixed. Only the fields a superblock
// parser reads are right.
func SwapFFSSuperblock(le []byte) []byte {
	be := bytes.Clone(le)
	for off := 0; off+4 <= 1376; off += 4 {
		binary.BigEndian.PutUint32(be[off:], binary.LittleEndian.Uint32(le[off:]))
	}
	for _, off := range []int{1000, 1008, 1016, 1024, 1032, 1072, 1080, 1088, 1096, 1104, 1328} {
		binary.BigEndian.PutUint64(be[off:], binary.LittleEndian.Uint64(le[off:]))
	}
	copy(be[208:712], le[208:712]) // flags bytes and names
	return be
}

// UFSExtattr is one UFS2 struct extattr written byte by byte: header,
// name, zeros to 8, value, zeros to 8.
func UFSExtattr(bo binary.ByteOrder, ns uint8, name string, value []byte) []byte {
	base := (7 + len(name) + 7) / 8 * 8
	pad := (len(value)+7)/8*8 - len(value)
	r := make([]byte, base+len(value)+pad)
	bo.PutUint32(r, uint32(len(r)))
	r[4], r[5], r[6] = ns, byte(pad), byte(len(name))
	copy(r[7:], name)
	copy(r[base:], value)
	return r
}

// Gunzip returns the contents of a gzip-compressed file (a committed
// sample image).
func Gunzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(z); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// OddFiles makes a FIFO without a writer, a listening unix socket and a
// directory, and names /dev/zero: host files no command may open as an
// image (a FIFO opened without O_NONBLOCK would block). Each maps to the
// words its refusal must hold.
func OddFiles(t testing.TB) map[string]string {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sub := filepath.Join(dir, "dir")
	os.Mkdir(sub, 0o755)
	return map[string]string{fifo: "FIFO", sock: "socket", "/dev/zero": "character device", sub: "directory"}
}

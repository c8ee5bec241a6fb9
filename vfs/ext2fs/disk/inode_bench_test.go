package disk

import (
	"encoding/binary"
	"testing"
)

// benchInode is a 256-byte inode with every field set, as a lookup reads
// one.
func benchInode() []byte {
	b := testInode()
	for off := 0x02; off < 0xa0; off += 2 {
		if off != 0x80 {
			binary.LittleEndian.PutUint16(b[off:], uint16(off*7+1))
		}
	}
	return b
}

// BenchmarkParseInode: decoding an inode is on the path of every lookup.
func BenchmarkParseInode(b *testing.B) {
	raw := benchInode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInode(raw, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeInode: encoding is on the path of every inode write-back.
func BenchmarkEncodeInode(b *testing.B) {
	raw := benchInode()
	in, err := ParseInode(raw, true)
	if err != nil {
		b.Fatal(err)
	}
	f := InodeFormat{HugeFile: true}
	b.ReportAllocs()
	for b.Loop() {
		if err := in.Encode(raw, f, 12); err != nil {
			b.Fatal(err)
		}
	}
}

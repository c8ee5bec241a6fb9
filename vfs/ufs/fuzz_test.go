package ufs

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func orderOf(big bool) binary.ByteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// sampleChunk is a directory chunk with ".", "..", a file and free space.
func sampleChunk(bo binary.ByteOrder) []byte {
	b := make([]byte, DirBlkSize)
	PutDirent(b[0:], Direct{Ino: 2, Reclen: 12, Type: DTDir, Name: "."}, bo, false)
	PutDirent(b[12:], Direct{Ino: 2, Reclen: 12, Type: DTDir, Name: ".."}, bo, false)
	PutDirent(b[24:], Direct{Ino: 5, Reclen: 20, Type: DTReg, Name: "hello.txt"}, bo, false)
	PutDirent(b[44:], Direct{Ino: 7, Reclen: DirBlkSize - 44, Type: DTLnk, Name: "l"}, bo, false)
	return b
}

func TestParseDirChunkRejects(t *testing.T) {
	bo := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		damage func(b []byte)
	}{
		{"zero reclen", func(b []byte) { bo.PutUint16(b[4:], 0) }},
		{"reclen past chunk", func(b []byte) { bo.PutUint16(b[44+4:], DirBlkSize) }},
		{"unaligned reclen", func(b []byte) { bo.PutUint16(b[24+4:], 21) }},
		{"namlen past reclen", func(b []byte) { b[24+7] = 40 }},
		{"NUL in name", func(b []byte) { b[24+8+2] = 0 }},
		{"slash in name", func(b []byte) { b[24+8+2] = '/' }},
		{"no terminator", func(b []byte) { b[24+7] = 8 }},
		{"inode out of range", func(b []byte) { bo.PutUint32(b[24:], 1000) }},
	} {
		b := sampleChunk(bo)
		if _, err := ParseDirChunk(b, 0, bo, false, 100); err != nil {
			t.Fatalf("good chunk: %v", err)
		}
		tc.damage(b)
		if _, err := ParseDirChunk(b, 0, bo, false, 100); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func FuzzParseDirChunk(f *testing.F) {
	f.Add(sampleChunk(binary.LittleEndian), false, false)
	f.Add(sampleChunk(binary.BigEndian), true, false)
	f.Add(make([]byte, DirBlkSize), false, true)
	f.Fuzz(func(t *testing.T, b []byte, big, oldFmt bool) {
		if len(b) < DirBlkSize {
			b = append(b, make([]byte, DirBlkSize-len(b))...)
		}
		b = b[:DirBlkSize]
		ents, err := ParseDirChunk(b, 1024, orderOf(big), oldFmt, 1<<20)
		if err != nil {
			return
		}
		total := 0
		for _, d := range ents {
			total += int(d.Reclen)
			if d.Ino != 0 && (d.Name == "" || bytes.ContainsAny([]byte(d.Name), "/\x00")) {
				t.Fatalf("bad name %q accepted", d.Name)
			}
		}
		if total != DirBlkSize {
			t.Fatalf("records cover %d bytes, want %d", total, DirBlkSize)
		}
	})
}

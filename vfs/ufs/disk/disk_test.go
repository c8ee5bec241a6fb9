package disk

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

// sampleDinode is a UFS2 inode with every field set, encoded.
func sampleDinode(bo binary.ByteOrder, ufs2 bool) []byte {
	d := Dinode{UFS2: ufs2, Mode: IFREG | 0o4755, Nlink: 3, UID: 1001, GID: 2002,
		Size: 123456789, Blocks: 242, Atime: 1700000001, AtimeNsec: 11, Mtime: 1700000002,
		MtimeNsec: 999999999, Ctime: 1700000003, CtimeNsec: 33, Gen: -5, Flags: 0x20004}
	if ufs2 {
		d.Birthtime, d.BirthNsec, d.ExtSize, d.ExtB, d.BlkSize = 1600000000, 44, 100, [2]int64{77, 0}, 8192
	}
	for i := range d.DB {
		d.DB[i] = int64(1000 + 8*i)
	}
	d.IB = [3]int64{2000, 3000, 4000}
	b := make([]byte, DinodeSize(ufs2))
	d.Marshal(b, bo)
	return b
}

func TestDinodeRoundTrip(t *testing.T) {
	for _, ufs2 := range []bool{false, true} {
		for _, big := range []bool{false, true} {
			bo := orderOf(big)
			b := sampleDinode(bo, ufs2)
			d, err := ParseDinode(b, bo, ufs2)
			if err != nil {
				t.Fatal(err)
			}
			if d.MtimeNsec != 999999999 || d.Mtime != 1700000002 || d.Gen != -5 || d.Nlink != 3 || d.Size != 123456789 ||
				d.IB[2] != 4000 || d.DB[11] != 1088 || d.Flags != 0x20004 || d.UID != 1001 || d.GID != 2002 {
				t.Errorf("ufs2=%v big=%v: fields lost: %+v", ufs2, big, d)
			}
			if ufs2 && (d.Birthtime != 1600000000 || d.BirthNsec != 44 || d.ExtSize != 100 || d.ExtB[0] != 77) {
				t.Errorf("ufs2 big=%v: birth/extattr fields lost", big)
			}
			// The other byte order must not read the same.
			if o, _ := ParseDinode(b, orderOf(!big), ufs2); o.Mode == d.Mode && o.Size == d.Size {
				t.Errorf("ufs2=%v: byte order not applied", ufs2)
			}
		}
	}
}

// unmodelled reports whether byte i of a dinode is a field Dinode leaves
// on disk: UFS1 di_oldids and di_modrev; UFS2 di_kernflags, di_modrev
// and spares.
func unmodelled(ufs2 bool, i int) bool {
	if ufs2 {
		return i >= 84 && i < 88 || i >= 232
	}
	return i >= 4 && i < 8 || i >= 120
}

func ptrOff(ufs2 bool) int { return PointerAreaOff(ufs2) }

func FuzzParseDinode(f *testing.F) {
	for _, ufs2 := range []bool{false, true} {
		for _, big := range []bool{false, true} {
			f.Add(sampleDinode(orderOf(big), ufs2), ufs2, big)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, ufs2, big bool) {
		bo := orderOf(big)
		d, err := ParseDinode(b, bo, ufs2)
		if err != nil {
			if len(b) >= DinodeSize(ufs2) {
				t.Fatalf("error on a long enough buffer: %v", err)
			}
			return
		}
		// Marshal over the same bytes must give them back unchanged (fast
		// symlinks included), and over zeros must write every byte but
		// the unmodelled ones.
		n := DinodeSize(ufs2)
		out := bytes.Clone(b[:n])
		d.Marshal(out, bo)
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("round trip over the same bytes differs")
		}
		out = make([]byte, n)
		d.Marshal(out, bo)
		for i := range out {
			if out[i] != b[i] && !unmodelled(ufs2, i) {
				t.Fatalf("round trip over zeros differs at byte %d", i)
			}
		}
		if area := d.PointerArea(bo); !bytes.Equal(area, b[ptrOff(ufs2):ptrOff(ufs2)+len(area)]) {
			t.Fatalf("pointer area differs")
		}
		_ = d.Rdev()
	})
}

// A change written back keeps the unmodelled bytes the disk had, and a
// fast symlink's target goes through DB and IB unchanged in both orders.
func TestDinodeMarshalOverDisk(t *testing.T) {
	for _, ufs2 := range []bool{false, true} {
		for _, big := range []bool{false, true} {
			bo := orderOf(big)
			b := sampleDinode(bo, ufs2)
			for i := range b {
				if unmodelled(ufs2, i) {
					b[i] = byte(0xa0 + i)
				}
			}
			d, err := ParseDinode(b, bo, ufs2)
			if err != nil {
				t.Fatal(err)
			}
			target := []byte("../some/where/else")
			d.Mode, d.Size, d.Blocks = IFLNK|0o777, uint64(len(target)), 0
			d.SetPointerArea(target, bo)
			d.Marshal(b, bo)
			for i := range b {
				if unmodelled(ufs2, i) && b[i] != byte(0xa0+i) {
					t.Fatalf("ufs2=%v big=%v: unmodelled byte %d overwritten", ufs2, big, i)
				}
			}
			off := ptrOff(ufs2)
			if !bytes.HasPrefix(b[off:], target) || b[off+len(target)] != 0 {
				t.Fatalf("ufs2=%v big=%v: target not in the pointer area: %q", ufs2, big, b[off:off+len(target)+1])
			}
			back, _ := ParseDinode(b, bo, ufs2)
			if got := back.PointerArea(bo)[:len(target)]; !bytes.Equal(got, target) {
				t.Fatalf("ufs2=%v big=%v: read back %q", ufs2, big, got)
			}
		}
	}
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

package ondisk

import (
	"encoding/binary"
	"testing"
)

func TestFieldRoundTrip(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		b := make([]byte, 16)
		for _, tc := range []struct {
			f Field
			v int64
		}{{Field{0, 1}, 200}, {Field{1, 2}, -2}, {Field{4, 4}, -5}, {Field{8, 8}, 1 << 40}} {
			tc.f.Put(bo, b, tc.v)
			if got := tc.f.Get(bo, b); got != tc.v {
				t.Errorf("%v %+v: put %d, got %d", bo, tc.f, tc.v, got)
			}
		}
		if bo == binary.BigEndian && b[7] != 0xfb {
			t.Errorf("big-endian int32 -5 low byte %#x", b[7])
		}
	}
	if f := (Field{52, 4}).At(3); f.Off != 64 || f.End() != 68 {
		t.Errorf("At/End: %+v", f)
	}
}

func TestSplit(t *testing.T) {
	b := make([]byte, 16)
	s := Split{Lo: Field{Off: 0, Size: 2}, Hi: Field{Off: 8, Size: 2}}
	s.Put(binary.LittleEndian, b, 0x12345678)
	if b[0] != 0x78 || b[1] != 0x56 || b[8] != 0x34 || b[9] != 0x12 {
		t.Errorf("Put: % x", b)
	}
	if v := s.Uint(binary.LittleEndian, b); v != 0x12345678 {
		t.Errorf("Uint: %#x", v)
	}
	if v := s.LoOnly().Uint(binary.LittleEndian, b); v != 0x5678 {
		t.Errorf("LoOnly Uint: %#x", v)
	}
	s.LoOnly().Put(binary.LittleEndian, b, 0xabcdef01)
	if v := s.Uint(binary.LittleEndian, b); v != 0x1234ef01 {
		t.Errorf("LoOnly Put changed the high half: %#x", v)
	}
}

func TestUintLE(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, size := range []int{0, 1, 2, 4, 8} {
		f := Field{Off: 1, Size: size}
		if got, want := f.UintLE(b), f.Uint(binary.LittleEndian, b); got != want {
			t.Errorf("size %d: UintLE %#x, Uint %#x", size, got, want)
		}
	}
	s := Split{Lo: Field{Off: 0, Size: 2}, Hi: Field{Off: 4, Size: 4}}
	if got, want := s.UintLE(b), s.Uint(binary.LittleEndian, b); got != want {
		t.Errorf("Split: UintLE %#x, Uint %#x", got, want)
	}
}

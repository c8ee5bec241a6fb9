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

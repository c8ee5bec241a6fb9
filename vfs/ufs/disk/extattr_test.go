package disk

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testimg"
)

func TestExtattrHandBuilt(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		area := append(testimg.UFSExtattr(bo, ExtattrNamespaceUser, "comment", []byte("hello")),
			testimg.UFSExtattr(bo, ExtattrNamespaceEmpty, "gone", []byte("x"))...)
		area = append(area, testimg.UFSExtattr(bo, ExtattrNamespaceSystem, "posix1e.acl_access", bytes.Repeat([]byte{0xa5}, 16))...)
		area = append(area, testimg.UFSExtattr(bo, ExtattrNamespaceUser, "empty", nil)...)
		// "comment": 7+7=14 -> 16, value 5 -> 8: 24 bytes.
		if got := bo.Uint32(area); got != 24 {
			t.Fatalf("%v: first record length %d, want 24", bo, got)
		}
		as, err := ParseExtattrs(area, bo)
		if err != nil {
			t.Fatalf("%v: %v", bo, err)
		}
		want := []Extattr{
			{ExtattrNamespaceUser, "comment", []byte("hello")},
			{ExtattrNamespaceSystem, "posix1e.acl_access", bytes.Repeat([]byte{0xa5}, 16)},
			{ExtattrNamespaceUser, "empty", []byte{}},
		}
		if !reflect.DeepEqual(as, want) {
			t.Fatalf("%v: parsed %+v, want %+v", bo, as, want)
		}
		// Marshal writes the same bytes the hand encoder does.
		live := append(testimg.UFSExtattr(bo, ExtattrNamespaceUser, "comment", []byte("hello")),
			testimg.UFSExtattr(bo, ExtattrNamespaceSystem, "posix1e.acl_access", bytes.Repeat([]byte{0xa5}, 16))...)
		live = append(live, testimg.UFSExtattr(bo, ExtattrNamespaceUser, "empty", nil)...)
		if got := MarshalExtattrs(want, bo); !bytes.Equal(got, live) {
			t.Fatalf("%v: marshal\n%x\nwant\n%x", bo, got, live)
		}
	}
}

func TestExtattrCorrupt(t *testing.T) {
	bo := binary.LittleEndian
	good := testimg.UFSExtattr(bo, ExtattrNamespaceUser, "a", []byte("value"))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	cases := map[string][]byte{
		"zero length":     mut(func(b []byte) []byte { bo.PutUint32(b, 0); return b }),
		"past the end":    mut(func(b []byte) []byte { bo.PutUint32(b, 64); return b }),
		"unaligned":       mut(func(b []byte) []byte { bo.PutUint32(b, 12); return b }),
		"name past":       mut(func(b []byte) []byte { b[6] = 200; return b }),
		"pad past":        mut(func(b []byte) []byte { b[5] = 20; return b }),
		"short tail":      append(append([]byte{}, good...), 1, 2, 3),
		"tail no content": append(append([]byte{}, good...), 8, 0, 0, 0, 1, 0, 9, 0),
	}
	for name, b := range cases {
		if _, err := ParseExtattrs(b, bo); err == nil {
			t.Errorf("%s: parsed without error", name)
		} else if !strings.Contains(err.Error(), "extattr record at") {
			t.Errorf("%s: error %q does not name the record", name, err)
		}
	}
}

func FuzzParseExtattrs(f *testing.F) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		f.Add(MarshalExtattrs([]Extattr{{1, "a", []byte("b")}, {2, "longer.name", bytes.Repeat([]byte("v"), 100)}}, bo), bo == binary.BigEndian)
	}
	f.Add([]byte{0, 0, 0, 0, 1, 0, 0, 0}, false)
	f.Add([]byte{8, 0, 0, 0, 1, 0, 1, 'x'}, false)
	f.Fuzz(func(t *testing.T, b []byte, big bool) {
		bo := binary.ByteOrder(binary.LittleEndian)
		if big {
			bo = binary.BigEndian
		}
		as, err := ParseExtattrs(b, bo)
		if err != nil {
			return
		}
		// What parses re-encodes to records that parse the same.
		again, err := ParseExtattrs(MarshalExtattrs(as, bo), bo)
		if err != nil {
			t.Fatalf("re-encoded area does not parse: %v", err)
		}
		if len(again) != len(as) {
			t.Fatalf("%d records re-parsed as %d", len(as), len(again))
		}
		for i := range as {
			if as[i].Name != again[i].Name || as[i].Namespace != again[i].Namespace || !bytes.Equal(as[i].Value, again[i].Value) {
				t.Fatalf("record %d changed: %+v -> %+v", i, as[i], again[i])
			}
		}
	})
}

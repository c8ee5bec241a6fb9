package ufs

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
)

func TestACLRecord(t *testing.T) {
	a := kernel.ACL{
		{Tag: kernel.ACLUserObj, Perm: 7, ID: kernel.ACLUndefinedID},
		{Tag: kernel.ACLUser, Perm: 5, ID: 1000},
		{Tag: kernel.ACLGroupObj, Perm: 5, ID: kernel.ACLUndefinedID},
		{Tag: kernel.ACLMask, Perm: 5, ID: kernel.ACLUndefinedID},
		{Tag: kernel.ACLOther, Perm: 0, ID: kernel.ACLUndefinedID},
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		b := MarshalACL(a, bo)
		if len(b) != 388 {
			t.Fatalf("struct oldacl is %d bytes, want 388", len(b))
		}
		got, err := ParseACL(b, bo)
		if err != nil || !slices.Equal(got, a) {
			t.Fatalf("%v: round trip %v %v", bo, got, err)
		}
		// FreeBSD's 16-bit mode_t: the perm sits in the first half
		// of the 32-bit slot, and the rest may be anything.
		fb := MarshalACL(a, bo)
		for i := range a {
			p := fb[4+12*i+8:]
			bo.PutUint16(p, uint16(a[i].Perm))
			bo.PutUint16(p[2:], 0)
			if bo == binary.LittleEndian {
				p[2], p[3] = 0xde, 0xad
			}
		}
		if got, err := ParseACL(fb, bo); err != nil || !slices.Equal(got, a) {
			t.Fatalf("%v: FreeBSD layout %v %v", bo, got, err)
		}
	}
	bad := MarshalACL(a[:4], binary.LittleEndian) // no other entry
	if _, err := ParseACL(bad, binary.LittleEndian); err == nil {
		t.Error("an ACL without other parsed")
	}
	if _, err := ParseACL(make([]byte, 10), binary.LittleEndian); err == nil {
		t.Error("a short record parsed")
	}
}

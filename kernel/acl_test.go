package kernel

import (
	"bytes"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

const u = ACLUndefinedID

func e(tag, perm uint16, id uint32) ACLEntry { return ACLEntry{tag, perm, id} }

// named is "user::rw-, user:1000:r--, group::r--, group:50:rw-, mask::rw-, other::---".
var named = ACL{
	e(ACLUserObj, 6, u), e(ACLUser, 4, 1000), e(ACLGroupObj, 4, u),
	e(ACLGroup, 6, 50), e(ACLMask, 6, u), e(ACLOther, 0, u),
}

func TestACLXattrRoundTrip(t *testing.T) {
	b := named.Xattr()
	if len(b) != 4+8*len(named) || b[0] != 2 {
		t.Fatalf("encoded %x", b)
	}
	got, errno := ParseACLXattr(b)
	if errno != 0 || !slices.Equal(got, named) {
		t.Fatalf("parse = %v, %v; want %v", got, errno, named)
	}
	// ids of unnamed entries are ignored on input.
	b2 := bytes.Clone(b)
	b2[8] = 7
	if got, errno := ParseACLXattr(b2); errno != 0 || got[0].ID != u {
		t.Fatalf("user_obj id not normalised: %v %v", got, errno)
	}
}

func TestACLParseEmptyIsNone(t *testing.T) {
	a, errno := ParseACLXattr([]byte{2, 0, 0, 0})
	if a != nil || errno != 0 {
		t.Fatalf("header only = %v, %v; want nil, 0", a, errno)
	}
}

func TestACLParseRejects(t *testing.T) {
	enc := func(a ACL) []byte { return a.Xattr() }
	base := ACLFromMode(0o644)
	cases := []struct {
		name string
		b    []byte
		want unix.Errno
	}{
		{"empty", nil, unix.EINVAL},
		{"short header", []byte{2, 0}, unix.EINVAL},
		{"partial entry", append(enc(base), 1, 2, 3), unix.EINVAL},
		{"version 1", append([]byte{1, 0, 0, 0}, enc(base)[4:]...), unix.EOPNOTSUPP},
		{"bad tag", enc(ACL{e(ACLUserObj, 6, u), e(0x40, 4, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"bad perm", enc(ACL{e(ACLUserObj, 8, u), e(ACLGroupObj, 4, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"no owner", enc(ACL{e(ACLGroupObj, 4, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"no group", enc(ACL{e(ACLUserObj, 6, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"no other", enc(ACL{e(ACLUserObj, 6, u), e(ACLGroupObj, 4, u)}), unix.EINVAL},
		{"two owners", enc(ACL{e(ACLUserObj, 6, u), e(ACLUserObj, 6, u), e(ACLGroupObj, 4, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"two others", enc(ACL{e(ACLUserObj, 6, u), e(ACLGroupObj, 4, u), e(ACLOther, 4, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"unsorted tags", enc(ACL{e(ACLGroupObj, 4, u), e(ACLUserObj, 6, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"named without mask", enc(ACL{e(ACLUserObj, 6, u), e(ACLUser, 4, 5), e(ACLGroupObj, 4, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"unsorted users", enc(ACL{e(ACLUserObj, 6, u), e(ACLUser, 4, 9), e(ACLUser, 4, 5), e(ACLGroupObj, 4, u), e(ACLMask, 7, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"duplicate group", enc(ACL{e(ACLUserObj, 6, u), e(ACLGroupObj, 4, u), e(ACLGroup, 4, 5), e(ACLGroup, 2, 5), e(ACLMask, 7, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"two masks", enc(ACL{e(ACLUserObj, 6, u), e(ACLGroupObj, 4, u), e(ACLMask, 7, u), e(ACLMask, 7, u), e(ACLOther, 4, u)}), unix.EINVAL},
		{"user after group", enc(ACL{e(ACLUserObj, 6, u), e(ACLGroupObj, 4, u), e(ACLUser, 4, 5), e(ACLMask, 7, u), e(ACLOther, 4, u)}), unix.EINVAL},
	}
	for _, c := range cases {
		if a, errno := ParseACLXattr(c.b); errno != c.want {
			t.Errorf("%s: parse = %v, %v; want %v", c.name, a, errno, c.want)
		}
	}
	// Valid ones: a mask without named entries, and a mask with them.
	for _, a := range []ACL{
		{e(ACLUserObj, 6, u), e(ACLGroupObj, 4, u), e(ACLMask, 4, u), e(ACLOther, 4, u)},
		named,
	} {
		if _, errno := ParseACLXattr(enc(a)); errno != 0 {
			t.Errorf("%v refused: %v", a, errno)
		}
	}
}

func TestACLEquivMode(t *testing.T) {
	m, equiv := ACLFromMode(0o754).EquivMode(0o4000)
	if m != 0o4754 || !equiv {
		t.Errorf("minimal ACL: mode %o equiv %v; want 4754 true", m, equiv)
	}
	// The mask, not the owning group, gives the group bits; a mask or
	// a named entry makes the ACL more than a mode.
	m, equiv = named.EquivMode(0o100000)
	if m != 0o100660 || equiv {
		t.Errorf("named ACL: mode %o equiv %v; want 100660 false", m, equiv)
	}
	maskOnly := ACL{e(ACLUserObj, 7, u), e(ACLGroupObj, 7, u), e(ACLMask, 5, u), e(ACLOther, 0, u)}
	if m, equiv = maskOnly.EquivMode(0); m != 0o750 || equiv {
		t.Errorf("mask only: mode %o equiv %v; want 750 false", m, equiv)
	}
}

func TestACLChmod(t *testing.T) {
	got := named.Chmod(0o751)
	want := ACL{
		e(ACLUserObj, 7, u), e(ACLUser, 4, 1000), e(ACLGroupObj, 4, u),
		e(ACLGroup, 6, 50), e(ACLMask, 5, u), e(ACLOther, 1, u),
	}
	if !slices.Equal(got, want) {
		t.Errorf("chmod 751 with a mask = %v; want %v", got, want)
	}
	if named[0].Perm != 6 {
		t.Error("Chmod changed its receiver")
	}
	noMask := ACLFromMode(0o644).Chmod(0o750)
	if !slices.Equal(noMask, ACLFromMode(0o750)) {
		t.Errorf("chmod without a mask = %v; want the owning group changed", noMask)
	}
}

func TestACLCreate(t *testing.T) {
	// A default ACL with a named user: the new file's ACL is the default
	// limited by the create mode (owner, mask, other), and its mode
	// mirrors that; the owning group and named entries keep their bits.
	def := ACL{
		e(ACLUserObj, 7, u), e(ACLUser, 7, 1000), e(ACLGroupObj, 5, u),
		e(ACLMask, 7, u), e(ACLOther, 5, u),
	}
	m, acc := ACLCreate(def, 0o100666)
	wantACL := ACL{
		e(ACLUserObj, 6, u), e(ACLUser, 7, 1000), e(ACLGroupObj, 5, u),
		e(ACLMask, 6, u), e(ACLOther, 4, u),
	}
	if m != 0o100664 || !slices.Equal(acc, wantACL) {
		t.Errorf("create 666 = %o %v; want 100664 %v", m, acc, wantACL)
	}
	// A default ACL equivalent to a mode gives the mode alone, and no
	// umask: 0777 & the default's 0755 bits.
	m, acc = ACLCreate(ACLFromMode(0o755), 0o40777)
	if m != 0o40755 || acc != nil {
		t.Errorf("create from a minimal default = %o %v; want 40755 nil", m, acc)
	}
	// Without a mask the owning group entry is limited.
	m, acc = ACLCreate(ACLFromMode(0o777), 0o640)
	if m != 0o640 || acc != nil {
		t.Errorf("create 640 = %o %v; want 640 nil", m, acc)
	}
}

func TestVAccessACL(t *testing.T) {
	owner := CredCreate(10, 10, nil)
	user1000 := CredCreate(1000, 1000, nil)
	member := CredCreate(2000, 2000, []uint32{50})
	groupOwner := CredCreate(3000, 20, nil)
	other := CredCreate(4000, 4000, nil)
	both := CredCreate(5000, 20, []uint32{50}) // owning group r--, group 50 rw-

	type check struct {
		c    *Cred
		acc  uint32
		want unix.Errno
	}
	cases := []struct {
		name string
		mode uint32
		acl  ACL
		ck   []check
	}{
		{"named entries", 0o660, named, []check{
			{owner, VREAD | VWRITE, 0},
			{owner, VEXEC, unix.EACCES},
			{user1000, VREAD, 0},
			{user1000, VWRITE, unix.EACCES},
			{member, VREAD | VWRITE, 0},
			{groupOwner, VREAD, 0},
			{groupOwner, VWRITE, unix.EACCES},
			// any matching group entry that grants all wins
			{both, VREAD | VWRITE, 0},
			{other, VREAD, unix.EACCES},
		}},
		{"mask limits", 0o640, ACL{ // mask r--: group 50's rw- becomes r--
			e(ACLUserObj, 6, u), e(ACLUser, 7, 1000), e(ACLGroupObj, 4, u),
			e(ACLGroup, 6, 50), e(ACLMask, 4, u), e(ACLOther, 0, u),
		}, []check{
			{user1000, VREAD, 0},
			{user1000, VWRITE, unix.EACCES},
			{user1000, VEXEC, unix.EACCES},
			{member, VREAD, 0},
			{member, VWRITE, unix.EACCES},
			{owner, VWRITE, 0}, // the mask does not limit the owner
		}},
		{"0600 + user:1000:r--", 0o640, ACL{
			e(ACLUserObj, 6, u), e(ACLUser, 4, 1000), e(ACLGroupObj, 0, u),
			e(ACLMask, 4, u), e(ACLOther, 0, u),
		}, []check{
			{user1000, VREAD, 0},
			{groupOwner, VREAD, unix.EACCES},
			{other, VREAD, unix.EACCES},
		}},
		{"0644 + user:1000:---", 0o644, ACL{
			e(ACLUserObj, 6, u), e(ACLUser, 0, 1000), e(ACLGroupObj, 4, u),
			e(ACLMask, 4, u), e(ACLOther, 4, u),
		}, []check{
			{user1000, VREAD, unix.EACCES},
			{other, VREAD, 0},
			{groupOwner, VREAD, 0},
		}},
		{"member of a group whose entry refuses", 0o674, ACL{
			e(ACLUserObj, 6, u), e(ACLGroupObj, 0, u), e(ACLMask, 7, u), e(ACLOther, 4, u),
		}, []check{
			{groupOwner, VREAD, unix.EACCES}, // other would allow: groups do not fall through
			{other, VREAD, 0},
		}},
		// Linux skips the ACL when the mode has no group bits (mask ---):
		// the named user then gets the other bits.
		{"mask --- skips the ACL", 0o604, ACL{
			e(ACLUserObj, 6, u), e(ACLUser, 6, 1000), e(ACLGroupObj, 4, u),
			e(ACLMask, 0, u), e(ACLOther, 4, u),
		}, []check{
			{user1000, VREAD, 0},
			{user1000, VWRITE, unix.EACCES},
			{groupOwner, VREAD, unix.EACCES},
		}},
		{"no ACL", 0o640, nil, []check{
			{groupOwner, VREAD, 0},
			{user1000, VREAD, unix.EACCES},
		}},
		{"root", 0o600, named, []check{
			{RootCred, VREAD | VWRITE, 0},
			{RootCred, VEXEC, unix.EACCES},
		}},
	}
	for _, c := range cases {
		for _, k := range c.ck {
			if got := VAccessACL(k.c, false, c.mode, 10, 20, c.acl, k.acc); got != k.want {
				t.Errorf("%s: uid %d groups %v acc %o = %v; want %v", c.name, k.c.Uid(), k.c.Groups(), k.acc, got, k.want)
			}
		}
	}
}

func FuzzParseACLXattr(f *testing.F) {
	f.Add(named.Xattr())
	f.Add(ACLFromMode(0o644).Xattr())
	f.Add([]byte{2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, errno := ParseACLXattr(b)
		if errno != 0 || a == nil {
			return
		}
		if a.Valid() != 0 {
			t.Fatalf("parsed an invalid ACL %v", a)
		}
		again, errno := ParseACLXattr(a.Xattr())
		if errno != 0 || !slices.Equal(a, again) {
			t.Fatalf("round trip %v -> %v, %v", a, again, errno)
		}
		m, _ := a.EquivMode(0)
		if !slices.Equal(a.Chmod(m), a) {
			t.Fatalf("chmod to its own mode changed %v", a)
		}
		if _, acc := ACLCreate(a, 0o777); acc != nil && acc.Valid() != 0 {
			t.Fatalf("inherited an invalid ACL %v", acc)
		}
	})
}

package ufs

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/rumpfs/rumpfs/kernel"
)

// POSIX.1e ACLs as FreeBSD and NetBSD keep them on UFS: an extended
// attribute in the system namespace, posix1e.acl_access or
// posix1e.acl_default, whose value is the whole fixed-size struct oldacl
// in the file system's byte order:
//
//	int32  acl_cnt
//	32 x { int32 ae_tag; uint32 ae_id; mode_t ae_perm }   12 bytes each
//
// Tags, perm bits and ACL_UNDEFINED_ID are Linux's numbers. mode_t is 16
// bits on FreeBSD and 32 on NetBSD, padded to 12 bytes either way: the
// perm is written as 32 bits (zero high half, so both read it) and read
// from whichever half holds it.
const (
	ACLAccessExtattr  = "posix1e.acl_access"
	ACLDefaultExtattr = "posix1e.acl_default"
	// ACLMaxEntries is OLDACL_MAX_ENTRIES.
	ACLMaxEntries = 32
	aclEntrySize  = 12
	// ACLExtattrSize is sizeof(struct oldacl).
	ACLExtattrSize = 4 + ACLMaxEntries*aclEntrySize
)

// MarshalACL encodes a (at most ACLMaxEntries entries) as struct oldacl.
func MarshalACL(a kernel.ACL, bo binary.ByteOrder) []byte {
	b := make([]byte, ACLExtattrSize)
	bo.PutUint32(b, uint32(len(a)))
	for i, e := range a {
		p := b[4+i*aclEntrySize:]
		bo.PutUint32(p, uint32(e.Tag))
		bo.PutUint32(p[4:], e.ID)
		bo.PutUint32(p[8:], uint32(e.Perm))
	}
	return b
}

// ParseACL decodes struct oldacl into a valid ACL in canonical order (the
// BSDs do not sort entries); an error names what is wrong.
func ParseACL(b []byte, bo binary.ByteOrder) (kernel.ACL, error) {
	if len(b) != ACLExtattrSize {
		return nil, fmt.Errorf("posix1e acl: %d bytes, want %d", len(b), ACLExtattrSize)
	}
	n := bo.Uint32(b)
	if n > ACLMaxEntries {
		return nil, fmt.Errorf("posix1e acl: %d entries", n)
	}
	a := make(kernel.ACL, n)
	for i := range a {
		p := b[4+i*aclEntrySize:]
		tag, id, perm := bo.Uint32(p), bo.Uint32(p[4:]), bo.Uint32(p[8:])
		if bo == binary.LittleEndian {
			perm &= 0xffff // FreeBSD's 16-bit mode_t leaves the rest as padding
		} else if perm > 0xffff {
			perm >>= 16
		}
		if tag > 0xffff || perm > 7 {
			return nil, fmt.Errorf("posix1e acl: entry %d: tag %#x perm %#x", i, tag, perm)
		}
		a[i] = kernel.ACLEntry{Tag: uint16(tag), Perm: uint16(perm), ID: id}
		if tag != kernel.ACLUser && tag != kernel.ACLGroup {
			a[i].ID = kernel.ACLUndefinedID
		}
	}
	slices.SortStableFunc(a, func(x, y kernel.ACLEntry) int {
		if x.Tag != y.Tag {
			return int(x.Tag) - int(y.Tag)
		}
		switch {
		case x.ID < y.ID:
			return -1
		case x.ID > y.ID:
			return 1
		}
		return 0
	})
	if e := a.Valid(); e != 0 {
		return nil, fmt.Errorf("posix1e acl: not a valid ACL: %v", a)
	}
	return a, nil
}

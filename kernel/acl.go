package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// POSIX ACLs as the Linux kernel implements them (fs/posix_acl.c): the
// model, the xattr wire format of system.posix_acl_access and
// system.posix_acl_default, and the rules that tie an ACL to a file's mode.
// Drivers store ACLs in their own formats; everything here is pure.

// ACL entry tags (ACL_USER_OBJ, ...), in the order a valid ACL lists them.
const (
	ACLUserObj  = 0x01
	ACLUser     = 0x02
	ACLGroupObj = 0x04
	ACLGroup    = 0x08
	ACLMask     = 0x10
	ACLOther    = 0x20
)

// ACLUndefinedID is the id of entries that name no one (ACL_UNDEFINED_ID).
const ACLUndefinedID = ^uint32(0)

// ACLXattrVersion is the version of the xattr form (POSIX_ACL_XATTR_VERSION).
const ACLXattrVersion = 2

// ACLAccessXattr and ACLDefaultXattr are the attribute names that carry ACLs.
const (
	ACLAccessXattr  = "system.posix_acl_access"
	ACLDefaultXattr = "system.posix_acl_default"
)

// ACLEntry is one entry: a tag, the id of a named user or group (else
// ACLUndefinedID) and rwx bits.
type ACLEntry struct {
	Tag  uint16
	Perm uint16
	ID   uint32
}

// ACL is a valid ACL, its entries in canonical order: owner, named users
// by id, owning group, named groups by id, mask, other. Never modified
// in place once built: vnodes share them.
type ACL []ACLEntry

// ParseACLXattr decodes the xattr form: a little-endian u32 version, then
// entries of u16 tag, u16 perm, u32 id. A value with no entries means no
// ACL (nil, 0). Malformed values are EINVAL, another version EOPNOTSUPP
// (posix_acl_from_xattr's answers).
func ParseACLXattr(b []byte) (ACL, unix.Errno) {
	if len(b) < 4 || (len(b)-4)%8 != 0 {
		return nil, unix.EINVAL
	}
	if binary.LittleEndian.Uint32(b) != ACLXattrVersion {
		return nil, unix.EOPNOTSUPP
	}
	n := (len(b) - 4) / 8
	if n == 0 {
		return nil, 0
	}
	a := make(ACL, n)
	for i := range a {
		p := b[4+8*i:]
		a[i] = ACLEntry{
			Tag:  binary.LittleEndian.Uint16(p),
			Perm: binary.LittleEndian.Uint16(p[2:]),
			ID:   binary.LittleEndian.Uint32(p[4:]),
		}
		switch a[i].Tag {
		case ACLUser, ACLGroup:
		case ACLUserObj, ACLGroupObj, ACLMask, ACLOther:
			a[i].ID = ACLUndefinedID // ignored on input, as Linux does
		default:
			return nil, unix.EINVAL
		}
	}
	if e := a.Valid(); e != 0 {
		return nil, e
	}
	return a, 0
}

// Xattr encodes a in the xattr form.
func (a ACL) Xattr() []byte {
	b := make([]byte, 4+8*len(a))
	binary.LittleEndian.PutUint32(b, ACLXattrVersion)
	for i, e := range a {
		p := b[4+8*i:]
		binary.LittleEndian.PutUint16(p, e.Tag)
		binary.LittleEndian.PutUint16(p[2:], e.Perm)
		binary.LittleEndian.PutUint32(p[4:], e.ID)
	}
	return b
}

// Valid checks posix_acl_valid's rules: tags in canonical order, exactly
// one owner, owning group and other entry, named entries sorted by id
// without duplicates, a mask when there are named entries and at most
// one, perms within rwx. EINVAL otherwise.
func (a ACL) Valid() unix.Errno {
	// state is the lowest tag the next entry may have.
	state := uint16(ACLUserObj)
	named, mask := false, false
	var lastID uint32
	for i, e := range a {
		if e.Perm&^7 != 0 {
			return unix.EINVAL
		}
		switch e.Tag {
		case ACLUserObj:
			if state != ACLUserObj {
				return unix.EINVAL
			}
			state = ACLUser
		case ACLUser, ACLGroup:
			// after the owner (users) or the owning group (groups)
			if state != e.Tag {
				return unix.EINVAL
			}
			if a[i-1].Tag == e.Tag && e.ID <= lastID {
				return unix.EINVAL
			}
			lastID = e.ID
			named = true
		case ACLGroupObj:
			if state != ACLUser {
				return unix.EINVAL
			}
			state = ACLGroup
		case ACLMask:
			if state != ACLGroup {
				return unix.EINVAL
			}
			state, mask = ACLOther, true
		case ACLOther:
			if state != ACLOther && (state != ACLGroup || named) {
				return unix.EINVAL
			}
			state = 0
		default:
			return unix.EINVAL
		}
	}
	if state != 0 || (named && !mask) {
		return unix.EINVAL
	}
	return 0
}

// ACLFromMode is the minimal ACL of a mode's permission bits.
func ACLFromMode(mode uint32) ACL {
	return ACL{
		{ACLUserObj, uint16(mode>>6) & 7, ACLUndefinedID},
		{ACLGroupObj, uint16(mode>>3) & 7, ACLUndefinedID},
		{ACLOther, uint16(mode) & 7, ACLUndefinedID},
	}
}

// EquivMode returns mode with its permission bits taken from a (the owner
// entry, the mask or else the owning group, other), and whether the mode
// alone says as much as a: no named entries and no mask
// (posix_acl_equiv_mode).
func (a ACL) EquivMode(mode uint32) (uint32, bool) {
	perm, equiv := uint32(0), true
	for _, e := range a {
		p := uint32(e.Perm & 7)
		switch e.Tag {
		case ACLUserObj:
			perm |= p << 6
		case ACLGroupObj:
			perm |= p << 3
		case ACLMask: // comes after the owning group: it wins
			perm = perm&^0o070 | p<<3
			equiv = false
		case ACLOther:
			perm |= p
		case ACLUser, ACLGroup:
			equiv = false
		}
	}
	return mode&^0o777 | perm, equiv
}

// Chmod returns a copy of a with the owner, mask (or owning group when
// there is no mask) and other entries set from mode (posix_acl_chmod).
func (a ACL) Chmod(mode uint32) ACL {
	b := append(ACL(nil), a...)
	hasMask := a.find(ACLMask) >= 0
	for i := range b {
		switch b[i].Tag {
		case ACLUserObj:
			b[i].Perm = uint16(mode>>6) & 7
		case ACLGroupObj:
			if !hasMask {
				b[i].Perm = uint16(mode>>3) & 7
			}
		case ACLMask:
			b[i].Perm = uint16(mode>>3) & 7
		case ACLOther:
			b[i].Perm = uint16(mode) & 7
		}
	}
	return b
}

func (a ACL) find(tag uint16) int {
	for i := range a {
		if a[i].Tag == tag {
			return i
		}
	}
	return -1
}

// ACLCreate applies a directory's default ACL def to a new file created
// with mode (the caller's mode, umask not applied: a default ACL replaces
// the umask). It returns the new file's mode and access ACL, nil when the
// mode says it all (posix_acl_create). The owner, mask (or owning group)
// and other entries are limited by mode's bits; a new directory also
// takes def as its own default ACL, which the caller stores.
func ACLCreate(def ACL, mode uint32) (uint32, ACL) {
	acc := append(ACL(nil), def...)
	hasMask := def.find(ACLMask) >= 0
	for i := range acc {
		switch acc[i].Tag {
		case ACLUserObj:
			acc[i].Perm &= uint16(mode>>6) & 7
		case ACLGroupObj:
			if !hasMask {
				acc[i].Perm &= uint16(mode>>3) & 7
			}
		case ACLMask:
			acc[i].Perm &= uint16(mode>>3) & 7
		case ACLOther:
			acc[i].Perm &= uint16(mode) & 7
		}
	}
	m, equiv := acc.EquivMode(mode)
	if equiv {
		return m, nil
	}
	return m, acc
}

// VAccessACL is VAccess with the file's access ACL (nil for none), in the
// order Linux's generic_permission takes: the owner gets the mode's owner
// bits; with an ACL and group bits in the mode, a named user gets its
// entry limited by the mask, a member of the owning group or of a named
// group gets access if any of those entries grants all of it (then
// limited by the mask), and is refused otherwise; everybody else gets the
// other bits. Without an ACL, or with no group bits (a mask of ---), the
// mode's group or other bits decide, as in plain Unix.
func VAccessACL(c *Cred, isDir bool, mode, uid, gid uint32, acl ACL, acc uint32) unix.Errno {
	acc &= VREAD | VWRITE | VEXEC
	if c.IsRoot() {
		if acc&VEXEC != 0 && !isDir && mode&0o111 == 0 {
			return unix.EACCES
		}
		return 0
	}
	if c.euid == uid {
		return permBits(mode>>6, acc)
	}
	if acl != nil && mode&0o070 != 0 {
		if e, decided := aclPermission(c, acl, gid, acc); decided {
			return e
		}
		return permBits(mode, acc) // the other entry, which mode mirrors
	}
	if c.IsMember(gid) {
		return permBits(mode>>3, acc)
	}
	return permBits(mode, acc)
}

func permBits(bits, acc uint32) unix.Errno {
	if acc&^(bits&7) != 0 {
		return unix.EACCES
	}
	return 0
}

// aclPermission is posix_acl_permission for a caller who is not the
// owner of a file of group gid; decided is false when the ACL names
// nobody the caller is (the other entry applies).
func aclPermission(c *Cred, acl ACL, gid, acc uint32) (e unix.Errno, decided bool) {
	mask := uint32(7)
	if i := acl.find(ACLMask); i >= 0 {
		mask = uint32(acl[i].Perm)
	}
	want := uint16(acc)
	found := false
	for _, en := range acl {
		switch en.Tag {
		case ACLUser:
			if en.ID == c.euid {
				return permBits(uint32(en.Perm)&mask, acc), true
			}
		case ACLGroupObj, ACLGroup:
			if en.Tag == ACLGroupObj && !c.IsMember(gid) || en.Tag == ACLGroup && !c.IsMember(en.ID) {
				continue
			}
			found = true
			if en.Perm&want == want {
				return permBits(uint32(en.Perm)&mask, acc), true
			}
		}
	}
	if found {
		return unix.EACCES, true
	}
	return 0, false
}

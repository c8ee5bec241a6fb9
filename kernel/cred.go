package kernel

import (
	"slices"

	"golang.org/x/sys/unix"
)

// Cred is an immutable set of credentials (kauth_cred_t).
type Cred struct {
	ruid, euid, svuid uint32
	rgid, egid, svgid uint32
	groups            []uint32
}

// RootCred is the kernel's own credential, uid 0.
var RootCred = CredCreate(0, 0, nil)

// CredCreate makes a cred with real, effective and saved ids set to uid and
// gid (rump_cred_create). groups is copied.
func CredCreate(uid, gid uint32, groups []uint32) *Cred {
	return &Cred{
		ruid: uid, euid: uid, svuid: uid,
		rgid: gid, egid: gid, svgid: gid,
		groups: slices.Clone(groups),
	}
}

// Uid returns the effective uid.
func (c *Cred) Uid() uint32 { return c.euid }

// Gid returns the effective gid.
func (c *Cred) Gid() uint32 { return c.egid }

// RUid returns the real uid; SvUid the saved one.
func (c *Cred) RUid() uint32  { return c.ruid }
func (c *Cred) SvUid() uint32 { return c.svuid }
func (c *Cred) RGid() uint32  { return c.rgid }
func (c *Cred) SvGid() uint32 { return c.svgid }

// Groups returns the supplementary groups; the caller must not modify them.
func (c *Cred) Groups() []uint32 { return c.groups }

// IsMember reports whether gid is the effective gid or a supplementary group.
func (c *Cred) IsMember(gid uint32) bool {
	return c.egid == gid || slices.Contains(c.groups, gid)
}

// IsRoot reports whether the cred has uid 0 (the suser secmodel).
func (c *Cred) IsRoot() bool { return c.euid == 0 }

// Authorize decides a privileged action by the suser secmodel alone: uid
// 0 may do everything, nobody else anything. It is for callers with no
// kernel at hand; inside a kernel use Kernel.Authorize, which asks every
// listener of the action's scope.
func Authorize(c *Cred, a Action) unix.Errno {
	if c.IsRoot() {
		return 0
	}
	return unix.EPERM
}

// Access bits for VAccess, as access(2) numbers them.
const (
	VEXEC  = 0o1
	VWRITE = 0o2
	VREAD  = 0o4
)

// VAccess decides the Unix permission check (genfs vaccess): the owner's
// bits for the owner, the group's for a member, the others' otherwise. Root
// passes everything except execute of a non-directory with no execute bit.
// VAccessACL adds the file's access ACL.
func VAccess(c *Cred, isDir bool, mode, uid, gid uint32, acc uint32) unix.Errno {
	return VAccessACL(c, isDir, mode, uid, gid, nil, acc)
}

// StickyCheck decides whether c may remove or rename an entry owned by
// fileUID from a directory: in a sticky directory only the file's owner,
// the directory's owner and root may (EPERM otherwise).
func StickyCheck(c *Cred, dirMode, dirUID, fileUID uint32) unix.Errno {
	if dirMode&0o1000 == 0 || c.IsRoot() || c.euid == dirUID || c.euid == fileUID {
		return 0
	}
	return unix.EPERM
}

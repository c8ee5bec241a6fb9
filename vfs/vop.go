package vfs

import (
	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// NameiOp is what a lookup is for (cn_nameiop).
type NameiOp uint8

// Lookup intents.
const (
	LOOKUP NameiOp = iota
	CREATE
	DELETE
	RENAME
)

// ComponentName is one path component being looked up (struct
// componentname).
type ComponentName struct {
	Op   NameiOp
	Name string
	// Rest is the path after this component ("" for the last one). The
	// rumpfs root passes it to etfs, whose keys match whole paths.
	Rest string
	// Consumed is set by a lookup that used up Rest's first Consumed
	// bytes as well (cn_consume).
	Consumed int
	// IsLast marks the last component (ISLASTCN).
	IsLast bool
	// PathOp is the intent of the whole lookup: what Op becomes on the
	// last component. A lookup that consumes Rest is, in effect, on the
	// last component.
	PathOp NameiOp
}

// IsDotDot reports whether the component is "..".
func (cn *ComponentName) IsDotDot() bool { return cn.Name == ".." }

// Open and I/O flags passed to VOPs (FREAD, FWRITE, IO_*).
const (
	FREAD     = 0x1
	FWRITE    = 0x2
	FAPPEND   = 0x8
	FTRUNC    = 0x400
	IO_APPEND = 0x2  // append write
	IO_SYNC   = 0x4  // write through
	IO_DSYNC  = 0x10 // data sync
)

// Fsync flags.
const (
	FSYNC_WAIT     = 0x1
	FSYNC_DATAONLY = 0x2
)

// VnodeOps is the vnode operation set, declared once here with the lock and
// reference rules (NetBSD's vnode_if.src is the model). The VOP* functions
// below take the locks listed and call the driver with them held; drivers
// never take vnode locks themselves.
//
// Lock rules ("ns" is the mount's namespace lock, S shared, E exclusive):
//
//	op           locks held while the driver runs      references
//	Lookup       ns S, dvp S                           returns *vpp referenced, unlocked
//	Create       ns E, dvp E                           returns referenced, unlocked
//	Mknod        ns E, dvp E                           returns referenced, unlocked
//	Mkdir        ns E, dvp E                           returns referenced, unlocked
//	Symlink      ns E, dvp E                           returns referenced, unlocked
//	Remove       ns E, dvp E, vp E                     none consumed
//	Rmdir        ns E, dvp E, vp E                     none consumed
//	Link         ns E, dvp E, vp E                     none consumed
//	Rename       ns E, fdvp fvp tdvp tvp E             none consumed
//	Exchange     ns E, fdvp fvp tdvp tvp E             none consumed
//	Readdir      ns S, vp S
//	Open Close Access Getattr Readlink Read Pathconf Getextattr Listextattr
//	             vp S
//	Setattr Write Fsync Setextattr Deleteextattr Seek Advlock
//	             vp E
//	Inactive     vp E (the last reference is being dropped)
//	Reclaim      none (the vnode is unreferenced and out of the cache)
//	Bmap Strategy none (driver locks)
//
// Lock order: ns before vnode locks; among vnodes of one operation, in the
// order the VOP* function takes them. Data operations hold one vnode lock
// and never wait for another, so the order cannot cycle.
//
// Errors are unix.Errno; 0 is success.
type VnodeOps interface {
	// Lookup finds cn.Name in directory dvp. ".." is the parent, "." dvp
	// itself. ENOENT when absent (for CREATE/RENAME on the last component
	// the caller then creates), ENOTDIR when dvp is not a directory.
	Lookup(l *kernel.LWP, dvp *Vnode, cn *ComponentName) (*Vnode, unix.Errno)
	// Create makes a regular file; EEXIST when the name exists.
	Create(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno)
	// Mknod makes a device node, FIFO or socket of va.Type with va.Rdev.
	Mknod(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno)
	// Open prepares vp for I/O with fflags FREAD|FWRITE|...
	Open(l *kernel.LWP, vp *Vnode, fflags int) unix.Errno
	// Close undoes Open.
	Close(l *kernel.LWP, vp *Vnode, fflags int) unix.Errno
	// Access checks kernel.VREAD|VWRITE|VEXEC for the LWP's cred: EACCES,
	// or EROFS for writes on a read-only mount.
	Access(l *kernel.LWP, vp *Vnode, acc uint32) unix.Errno
	// Getattr fills va.
	Getattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno
	// Setattr changes the fields in va.Valid, checking permissions
	// (EPERM, EACCES, EROFS, EISDIR for a size on a directory).
	Setattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno
	// Read moves file data at uio.Offset into uio; reading at or past
	// the end moves nothing.
	Read(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno
	// Write moves uio's data into the file at uio.Offset (at the end with
	// IO_APPEND), growing it. EFBIG past the maximum, ENOSPC when full.
	Write(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno
	// Fsync makes vp's data (and metadata unless FSYNC_DATAONLY) in
	// [lo, hi) durable; hi 0 means to the end.
	Fsync(l *kernel.LWP, vp *Vnode, flags int, lo, hi int64) unix.Errno
	// Seek finds data or holes (SEEK_DATA / SEEK_HOLE) at or after off.
	Seek(l *kernel.LWP, vp *Vnode, off int64, whence int) (int64, unix.Errno)
	// Remove unlinks the non-directory vp named cn from dvp.
	Remove(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno
	// Link adds the name cn in dvp for vp. EXDEV across mounts, EMLINK.
	Link(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno
	// Rename moves fvp (named fcn in fdvp) to tcn in tdvp, replacing tvp
	// (nil when the target does not exist). The VFS has checked the POSIX
	// rules (types match, directory target empty-ness is the driver's:
	// ENOTEMPTY; no directory into its own subtree).
	Rename(l *kernel.LWP, fdvp, fvp *Vnode, fcn *ComponentName, tdvp, tvp *Vnode, tcn *ComponentName) unix.Errno
	// Exchange swaps the names fcn (of fvp, in fdvp) and tcn (of tvp, in
	// tdvp) at once (renameat2's RENAME_EXCHANGE): both exist, either may
	// be a directory, and a directory moved to another parent gets its
	// ".." and the parents' link counts fixed. The VFS has checked
	// permissions and that neither is an ancestor of the other's new
	// parent. EINVAL where the file system cannot exchange, as Linux.
	Exchange(l *kernel.LWP, fdvp, fvp *Vnode, fcn *ComponentName, tdvp, tvp *Vnode, tcn *ComponentName) unix.Errno
	// Mkdir makes a directory.
	Mkdir(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno)
	// Rmdir removes the empty directory vp: ENOTEMPTY otherwise.
	Rmdir(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno
	// Symlink makes a symbolic link to target.
	Symlink(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr, target string) (*Vnode, unix.Errno)
	// Readdir emits entries starting at cookie uio.Offset with EmitDirent
	// until it returns false, and reports whether the end of the
	// directory was reached. Entries go only through EmitDirent: the uio
	// may be a sink's (VnReaddir), with no buffer and no Resid.
	Readdir(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) (eof bool, e unix.Errno)
	// Readlink moves the link target into uio.
	Readlink(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) unix.Errno
	// Inactive runs when the last reference goes. It returns true when
	// the vnode should be reclaimed at once (a file with no links left).
	// The vnode is still in the cache while Inactive runs: a driver may
	// free a dead file's blocks here, but must release its inode number
	// only in Reclaim, or a concurrent create could reuse the number and
	// find this vnode.
	Inactive(l *kernel.LWP, vp *Vnode) (recycle bool)
	// Reclaim frees the driver's node before the vnode is recycled. It
	// can run without a preceding Inactive on a vnode still referenced
	// (a forced unmount at halt, Vgone): a driver frees an unlinked but
	// open file here then.
	Reclaim(l *kernel.LWP, vp *Vnode) unix.Errno
	// Bmap maps logical block lbn of vp to a device block (in bio.DevBSize
	// units, -1 for a hole) and the number of contiguous blocks after it.
	Bmap(l *kernel.LWP, vp *Vnode, lbn int64) (daddr int64, run int, e unix.Errno)
	// Strategy performs block I/O for vp (unused by most drivers here).
	Strategy(l *kernel.LWP, vp *Vnode, p []byte, off int64, write bool) unix.Errno
	// Pathconf answers pathconf(2) names (PC_*).
	Pathconf(l *kernel.LWP, vp *Vnode, name int) (int64, unix.Errno)
	// Advlock performs POSIX advisory locking.
	Advlock(l *kernel.LWP, vp *Vnode, owner uint64, op int, fl *unix.Flock_t) unix.Errno
	// Getextattr reads the extended attribute name (Linux spelling, with
	// its namespace prefix: "user.x", "security.x", "system.posix_acl_access")
	// into uio and returns its size; a nil uio asks only the size.
	// ENODATA when absent, ENOTSUP when the file system has none.
	Getextattr(l *kernel.LWP, vp *Vnode, name string, uio *kernel.Uio) (int, unix.Errno)
	// Setextattr sets name to value. flags: unix.XATTR_CREATE/XATTR_REPLACE.
	Setextattr(l *kernel.LWP, vp *Vnode, name string, value []byte, flags int) unix.Errno
	// Listextattr moves the NUL-terminated names into uio and returns the
	// list's size; a nil uio asks only the size.
	Listextattr(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) (int, unix.Errno)
	// Deleteextattr removes name: ENODATA when absent.
	Deleteextattr(l *kernel.LWP, vp *Vnode, name string) unix.Errno
	// Getacl reads vp's POSIX ACL of type t: nil when it has none,
	// ENOTSUP when the file system cannot store ACLs. The VOP layer
	// serves system.posix_acl_* through it; the extended attribute
	// operations never see those names (vop_acl.go).
	Getacl(l *kernel.LWP, vp *Vnode, t ACLType) (kernel.ACL, unix.Errno)
	// Setacl stores acl (valid, canonical) as vp's ACL of type t; nil
	// removes it, and removing an absent ACL succeeds. The VOP layer has
	// checked permission and updated the mode; ENOTSUP when the file
	// system cannot store ACLs, ENOSPC when this one does not fit.
	Setacl(l *kernel.LWP, vp *Vnode, t ACLType, acl kernel.ACL) unix.Errno
}

// GenericOps gives the default answer for every VOP; drivers embed it and
// override what they implement (genfs). Namespace changes answer EROFS on a
// read-only mount and EOPNOTSUPP otherwise; I/O answers EOPNOTSUPP.
type GenericOps struct{}

var _ VnodeOps = GenericOps{}

func roOr(vp *Vnode, e unix.Errno) unix.Errno {
	if vp != nil && vp.Mount != nil && vp.Mount.ReadOnly() {
		return unix.EROFS
	}
	return e
}

func (GenericOps) Lookup(l *kernel.LWP, dvp *Vnode, cn *ComponentName) (*Vnode, unix.Errno) {
	return nil, unix.ENOTDIR
}
func (GenericOps) Create(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno) {
	return nil, roOr(dvp, unix.EOPNOTSUPP)
}
func (GenericOps) Mknod(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno) {
	return nil, roOr(dvp, unix.EOPNOTSUPP)
}
func (GenericOps) Open(l *kernel.LWP, vp *Vnode, fflags int) unix.Errno {
	if fflags&FWRITE != 0 && vp.Mount != nil && vp.Mount.ReadOnly() && vp.Type == VREG {
		return unix.EROFS
	}
	return 0
}
func (GenericOps) Close(l *kernel.LWP, vp *Vnode, fflags int) unix.Errno { return 0 }

// Access implements the Unix check over Getattr.
func (g GenericOps) Access(l *kernel.LWP, vp *Vnode, acc uint32) unix.Errno {
	var va Vattr
	if e := vp.Ops().Getattr(l, vp, &va); e != 0 {
		return e
	}
	return AccessCheck(l, vp, &va, acc)
}
func (GenericOps) Getattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno { return unix.EOPNOTSUPP }
func (GenericOps) Setattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno {
	return roOr(vp, unix.EOPNOTSUPP)
}
func (GenericOps) Read(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	if vp.Type == VDIR {
		return unix.EISDIR
	}
	return unix.EOPNOTSUPP
}
func (GenericOps) Write(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	return roOr(vp, unix.EOPNOTSUPP)
}
func (GenericOps) Fsync(l *kernel.LWP, vp *Vnode, flags int, lo, hi int64) unix.Errno { return 0 }

// Seek treats the whole file as data: SEEK_DATA returns off, SEEK_HOLE the
// size; ENXIO at or past the end.
func (GenericOps) Seek(l *kernel.LWP, vp *Vnode, off int64, whence int) (int64, unix.Errno) {
	var va Vattr
	if e := vp.Ops().Getattr(l, vp, &va); e != 0 {
		return 0, e
	}
	if off < 0 || off >= va.Size {
		return 0, unix.ENXIO
	}
	if whence == unix.SEEK_HOLE {
		return va.Size, 0
	}
	return off, 0
}
func (GenericOps) Remove(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno {
	return roOr(dvp, unix.EOPNOTSUPP)
}
func (GenericOps) Link(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno {
	return roOr(dvp, unix.EOPNOTSUPP)
}
func (GenericOps) Rename(l *kernel.LWP, fdvp, fvp *Vnode, fcn *ComponentName, tdvp, tvp *Vnode, tcn *ComponentName) unix.Errno {
	return roOr(fdvp, unix.EOPNOTSUPP)
}
func (GenericOps) Exchange(l *kernel.LWP, fdvp, fvp *Vnode, fcn *ComponentName, tdvp, tvp *Vnode, tcn *ComponentName) unix.Errno {
	return roOr(fdvp, unix.EINVAL)
}
func (GenericOps) Mkdir(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr) (*Vnode, unix.Errno) {
	return nil, roOr(dvp, unix.EOPNOTSUPP)
}
func (GenericOps) Rmdir(l *kernel.LWP, dvp, vp *Vnode, cn *ComponentName) unix.Errno {
	return roOr(dvp, unix.EOPNOTSUPP)
}
func (GenericOps) Symlink(l *kernel.LWP, dvp *Vnode, cn *ComponentName, va *Vattr, target string) (*Vnode, unix.Errno) {
	return nil, roOr(dvp, unix.EOPNOTSUPP)
}
func (GenericOps) Readdir(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	return true, unix.ENOTDIR
}
func (GenericOps) Readlink(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) unix.Errno {
	return unix.EINVAL
}
func (GenericOps) Inactive(l *kernel.LWP, vp *Vnode) bool      { return false }
func (GenericOps) Reclaim(l *kernel.LWP, vp *Vnode) unix.Errno { return 0 }
func (GenericOps) Bmap(l *kernel.LWP, vp *Vnode, lbn int64) (int64, int, unix.Errno) {
	return 0, 0, unix.EOPNOTSUPP
}
func (GenericOps) Strategy(l *kernel.LWP, vp *Vnode, p []byte, off int64, write bool) unix.Errno {
	return unix.EOPNOTSUPP
}

// Pathconf names, NetBSD's numbering.
const (
	PC_LINK_MAX         = 1
	PC_NAME_MAX         = 4
	PC_PATH_MAX         = 5
	PC_PIPE_BUF         = 6
	PC_CHOWN_RESTRICTED = 7
	PC_NO_TRUNC         = 8
	PC_FILESIZEBITS     = 11
)

// Pathconf answers with the limits every driver here shares.
func (GenericOps) Pathconf(l *kernel.LWP, vp *Vnode, name int) (int64, unix.Errno) {
	switch name {
	case PC_NAME_MAX:
		return NameMax, 0
	case PC_PATH_MAX:
		return PathMax, 0
	case PC_LINK_MAX:
		return 32767, 0
	case PC_PIPE_BUF:
		return 512, 0
	case PC_CHOWN_RESTRICTED, PC_NO_TRUNC:
		return 1, 0
	case PC_FILESIZEBITS:
		return 64, 0
	}
	return 0, unix.EINVAL
}
func (GenericOps) Advlock(l *kernel.LWP, vp *Vnode, owner uint64, op int, fl *unix.Flock_t) unix.Errno {
	return unix.EOPNOTSUPP
}
func (GenericOps) Getextattr(l *kernel.LWP, vp *Vnode, name string, uio *kernel.Uio) (int, unix.Errno) {
	return 0, unix.ENOTSUP
}
func (GenericOps) Setextattr(l *kernel.LWP, vp *Vnode, name string, value []byte, flags int) unix.Errno {
	return roOr(vp, unix.ENOTSUP)
}
func (GenericOps) Listextattr(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) (int, unix.Errno) {
	return 0, 0
}
func (GenericOps) Deleteextattr(l *kernel.LWP, vp *Vnode, name string) unix.Errno {
	return roOr(vp, unix.ENOTSUP)
}

// Getacl answers from the xattr form the driver's Getextattr gives
// (GenericGetacl).
func (GenericOps) Getacl(l *kernel.LWP, vp *Vnode, t ACLType) (kernel.ACL, unix.Errno) {
	return GenericGetacl(l, vp, t)
}
func (GenericOps) Setacl(l *kernel.LWP, vp *Vnode, t ACLType, acl kernel.ACL) unix.Errno {
	return roOr(vp, unix.ENOTSUP)
}

// AccessCheck is the Unix permission check for the LWP's cred against va
// and vp's access ACL, with EROFS for writes to files on a read-only
// mount. The caller holds vp's lock. The ACL matters only to callers who
// are neither root nor the owner, and only when the mode has group bits
// (kernel.VAccessACL); it comes from the vnode's cache.
func AccessCheck(l *kernel.LWP, vp *Vnode, va *Vattr, acc uint32) unix.Errno {
	if acc&kernel.VWRITE != 0 && vp.Mount != nil && vp.Mount.ReadOnly() {
		switch vp.Type {
		case VREG, VDIR, VLNK:
			return unix.EROFS
		}
	}
	c := l.Cred()
	var acl kernel.ACL
	if !c.IsRoot() && c.Uid() != va.Uid && va.Mode&0o070 != 0 && vp.Type != VLNK {
		var e unix.Errno
		if acl, e = accessACL(l, vp); e != 0 {
			return e
		}
	}
	return kernel.VAccessACL(c, vp.Type == VDIR, va.Mode, va.Uid, va.Gid, acl, acc)
}

// deadOps answers for revoked vnodes (deadfs).
type deadOps struct{ GenericOps }

func (deadOps) Lookup(l *kernel.LWP, dvp *Vnode, cn *ComponentName) (*Vnode, unix.Errno) {
	return nil, unix.EIO
}
func (deadOps) Open(l *kernel.LWP, vp *Vnode, fflags int) unix.Errno   { return unix.ENXIO }
func (deadOps) Access(l *kernel.LWP, vp *Vnode, acc uint32) unix.Errno { return unix.EIO }
func (deadOps) Getattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno { return unix.EIO }
func (deadOps) Setattr(l *kernel.LWP, vp *Vnode, va *Vattr) unix.Errno { return unix.EIO }
func (deadOps) Read(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	return unix.EIO
}
func (deadOps) Write(l *kernel.LWP, vp *Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	return unix.EIO
}
func (deadOps) Fsync(l *kernel.LWP, vp *Vnode, flags int, lo, hi int64) unix.Errno { return unix.EIO }
func (deadOps) Readdir(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) (bool, unix.Errno) {
	return true, unix.EIO
}
func (deadOps) Readlink(l *kernel.LWP, vp *Vnode, uio *kernel.Uio) unix.Errno { return unix.EIO }
func (deadOps) Inactive(l *kernel.LWP, vp *Vnode) bool                        { return true }

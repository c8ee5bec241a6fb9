package vfs

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// VType is a vnode's type (enum vtype).
type VType uint8

// Vnode types.
const (
	VNON VType = iota
	VREG
	VDIR
	VBLK
	VCHR
	VLNK
	VSOCK
	VFIFO
	VBAD
)

var vtypeNames = [...]string{"VNON", "VREG", "VDIR", "VBLK", "VCHR", "VLNK", "VSOCK", "VFIFO", "VBAD"}

func (t VType) String() string {
	if int(t) < len(vtypeNames) {
		return vtypeNames[t]
	}
	return "VBAD"
}

// IFMT bits of a vnode type, as stat's st_mode carries them.
func (t VType) IFMT() uint32 {
	switch t {
	case VREG:
		return unix.S_IFREG
	case VDIR:
		return unix.S_IFDIR
	case VBLK:
		return unix.S_IFBLK
	case VCHR:
		return unix.S_IFCHR
	case VLNK:
		return unix.S_IFLNK
	case VSOCK:
		return unix.S_IFSOCK
	case VFIFO:
		return unix.S_IFIFO
	}
	return 0
}

// VTypeFromMode returns the vnode type of a st_mode's S_IFMT bits.
func VTypeFromMode(mode uint32) VType {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return VREG
	case unix.S_IFDIR:
		return VDIR
	case unix.S_IFBLK:
		return VBLK
	case unix.S_IFCHR:
		return VCHR
	case unix.S_IFLNK:
		return VLNK
	case unix.S_IFSOCK:
		return VSOCK
	case unix.S_IFIFO:
		return VFIFO
	}
	return VNON
}

// DT returns the dirent d_type of a vnode type.
func (t VType) DT() uint8 {
	switch t {
	case VREG:
		return unix.DT_REG
	case VDIR:
		return unix.DT_DIR
	case VBLK:
		return unix.DT_BLK
	case VCHR:
		return unix.DT_CHR
	case VLNK:
		return unix.DT_LNK
	case VSOCK:
		return unix.DT_SOCK
	case VFIFO:
		return unix.DT_FIFO
	}
	return unix.DT_UNKNOWN
}

// Timespec is a time with nanoseconds, as the file systems keep it.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// Now returns the current time.
func Now() Timespec {
	t := time.Now()
	return Timespec{t.Unix(), int64(t.Nanosecond())}
}

// Time converts to a time.Time.
func (t Timespec) Time() time.Time { return time.Unix(t.Sec, t.Nsec) }

// AttrMask says which Vattr fields a setattr changes.
type AttrMask uint32

// Setattr fields.
const (
	AttrMode AttrMask = 1 << iota
	AttrUid
	AttrGid
	AttrSize
	AttrAtime
	AttrMtime
	AttrCtime
	AttrBirthtime
	AttrFlags
	// AttrTimesNow marks atime/mtime set to "now" by utimes(NULL) or
	// UTIME_NOW: allowed to anyone who may write the file, not only
	// the owner (VA_UTIMES_NULL).
	AttrTimesNow
	// AttrOpenWrite marks a size change through a descriptor open for
	// writing (ftruncate): the open file's access decides, not the
	// file's current mode.
	AttrOpenWrite
)

// Vattr is a vnode's attributes (struct vattr). Valid says which fields a
// setattr changes; getattr fills all.
type Vattr struct {
	Valid     AttrMask
	Type      VType
	Mode      uint32 // permission bits with setuid, setgid and sticky (07777)
	Nlink     uint32
	Uid, Gid  uint32
	Fsid      uint64
	Fileid    uint64 // inode number
	Size      int64
	Blocksize uint32
	Bytes     int64 // bytes of storage used
	Atime     Timespec
	Mtime     Timespec
	Ctime     Timespec
	Birthtime Timespec
	Gen       uint64
	Flags     uint32 // chflags(2) flags
	Rdev      uint64
	// Umask is, on a create, the creator's umask: the VOP layer clears
	// these bits from Mode unless the directory has a default ACL, which
	// takes the umask's place (posix_acl_create). Drivers ignore it.
	Umask uint32
}

// StMode returns the st_mode of the attributes: type bits and permissions.
func (va *Vattr) StMode() uint32 { return va.Type.IFMT() | va.Mode&07777 }

// Vnode states in the vnode cache.
const (
	vsLoading uint32 = iota
	vsReady
	vsReclaiming
	vsDead
)

// Vnode is the kernel's handle on a file (struct vnode). Lookup and create
// return it referenced and unlocked; every reference is dropped with Vrele.
//
// Type, Mount, Ino and Rdev are set when the vnode is loaded and never
// change: Mount.Rekey files a vnode under another number in the vnode
// cache, and Ino stays the number it was loaded as. Data is the driver's
// node.
type Vnode struct {
	Type  VType
	Mount *Mount
	Ino   uint64
	Rdev  uint64
	Data  any
	// Root marks the root vnode of its mount (VV_ROOT).
	Root bool
	// ClientCookie is the name a kernel client outside the VFS gives
	// the vnode (p2k's FUSE node id; a sysproxy server's or an fs-utils
	// command's handle), as NetBSD's puffs names a node by a cookie, so
	// that the client finds its own record of the vnode without a table
	// keyed by vnode. The kernel never reads it. One client at a time
	// holds it (compare-and-swap from 0); others keep their own table.
	ClientCookie atomic.Uint64

	ops atomic.Pointer[VnodeOps]
	// acl caches the access ACL for the permission check (noACL for
	// none, nil when not loaded); see accessACL.
	acl      atomic.Pointer[kernel.ACL]
	usecount atomic.Int32
	lock     kernel.RWLock

	// mountedHere is the mount covering this directory (v_mountedhere).
	mountedHere atomic.Pointer[Mount]

	// key is the vnode's number in the vnode cache: Ino, until Rekey.
	// Written holding the shard locks of the old and the new key.
	key atomic.Uint64

	// Guarded by the vnode cache shard lock.
	state  uint32
	cached bool
	free   *Vnode // free list links (usecount 0, cached)
	freeP  *Vnode
	onFree bool
}

// Ops returns the vnode's operations.
func (vp *Vnode) Ops() VnodeOps { return *vp.ops.Load() }

// SetOps sets the vnode's operations; drivers call it while loading.
func (vp *Vnode) SetOps(ops VnodeOps) {
	if w := opsWrapper.Load(); w != nil {
		if _, dead := ops.(deadOps); !dead {
			ops = (*w)(ops)
		}
	}
	vp.ops.Store(opsBox(ops))
}

// opsBoxes holds one shared box per operation-set type without fields
// (every driver's), so loading a vnode does not allocate one. It is
// copied on write: the few types are added once, and a lookup is a plain
// map read.
var (
	opsBoxes   atomic.Pointer[map[reflect.Type]*VnodeOps]
	opsBoxesMu sync.Mutex
)

func opsBox(ops VnodeOps) *VnodeOps {
	t := reflect.TypeOf(ops)
	if t != nil && t.Size() == 0 {
		if m := opsBoxes.Load(); m != nil {
			if p := (*m)[t]; p != nil {
				return p
			}
		}
	}
	return newOpsBox(ops, t)
}

// newOpsBox boxes ops, and keeps the box when its type has no fields. It
// is apart from opsBox so that only a miss moves ops to the heap.
func newOpsBox(ops VnodeOps, t reflect.Type) *VnodeOps {
	p := &ops
	if t == nil || t.Size() != 0 {
		return p
	}
	opsBoxesMu.Lock()
	defer opsBoxesMu.Unlock()
	old := opsBoxes.Load()
	if old != nil && (*old)[t] != nil {
		return (*old)[t]
	}
	m := map[reflect.Type]*VnodeOps{t: p}
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	opsBoxes.Store(&m)
	return p
}

// UseCount returns the number of references.
func (vp *Vnode) UseCount() int32 { return vp.usecount.Load() }

// MountedHere returns the mount covering vp, or nil.
func (vp *Vnode) MountedHere() *Mount { return vp.mountedHere.Load() }

// IsDead reports whether the vnode has been revoked (Vgone).
func (vp *Vnode) IsDead() bool { _, ok := vp.Ops().(deadOps); return ok }

// Lock takes the vnode lock as l, exclusively when excl is set.
func (vp *Vnode) Lock(l *kernel.LWP, excl bool) { vp.lock.Enter(l, excl) }

// Unlock releases the vnode lock taken with the same excl.
func (vp *Vnode) Unlock(excl bool) { vp.lock.Exit(excl) }

// NewVnode makes a vnode outside the vnode cache with one reference: etfs
// nodes and other per-lookup vnodes. Its last Vrele inactivates and
// reclaims it.
func NewVnode(mp *Mount, t VType, ino uint64, ops VnodeOps, data any) *Vnode {
	vp := &Vnode{Type: t, Mount: mp, Ino: ino, Data: data, state: vsReady}
	vp.key.Store(ino)
	vp.SetOps(ops)
	vp.usecount.Store(1)
	if mp != nil {
		mp.vfs.nvnodes.Add(1)
	}
	return vp
}

// Vref adds a reference to a vnode the caller already holds one on.
func Vref(vp *Vnode) {
	if vp.usecount.Add(1) <= 1 {
		panic("vfs: Vref on an unreferenced vnode")
	}
}

// Vrele drops a reference. The last one runs VOP_INACTIVE with the vnode
// locked; a vnode the driver asks to recycle, or one outside the cache, is
// then reclaimed (VOP_RECLAIM), others wait on the free list.
func Vrele(l *kernel.LWP, vp *Vnode) {
	for {
		u := vp.usecount.Load()
		if u <= 0 {
			panic("vfs: Vrele of an unreferenced vnode")
		}
		if u == 1 {
			break
		}
		if vp.usecount.CompareAndSwap(u, u-1) {
			return
		}
	}
	vp.Lock(l, true)
	recycle := vp.Ops().Inactive(l, vp)
	vp.Unlock(true)
	var v *VFS
	if vp.Mount != nil {
		v = vp.Mount.vfs
	}
	if v == nil {
		if vp.usecount.Add(-1) == 0 {
			vp.Ops().Reclaim(l, vp)
		}
		return
	}
	v.vcache.release(l, vp, recycle)
}

// Vgone revokes vp: its driver reclaims it now and every later operation
// on it fails (EBADF for I/O, EIO otherwise), as vgone/vdevgone do. It is
// used when the object behind a vnode disappears while in use (an etfs key
// removed, a forced unmount).
func Vgone(l *kernel.LWP, vp *Vnode) {
	vp.Lock(l, true)
	old := vp.Ops()
	if _, dead := old.(deadOps); dead {
		vp.Unlock(true)
		return
	}
	vp.SetOps(deadOps{})
	vp.Unlock(true)
	if vp.Mount != nil && vp.Mount.vfs != nil {
		vp.Mount.vfs.vcache.remove(vp)
	}
	old.Reclaim(l, vp)
}

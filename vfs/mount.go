package vfs

import (
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// Mount flags (MNT_*), NetBSD's values.
const (
	MNT_RDONLY  = 0x1
	MNT_NOEXEC  = 0x4
	MNT_NOATIME = 0x4000000
	MNT_FORCE   = 0x80000
	MNT_UPDATE  = 0x10000
)

// FileSystem is a mounted file system's VFS operations (struct vfsops
// after mount).
type FileSystem interface {
	// Root returns the root vnode, referenced.
	Root(l *kernel.LWP) (*Vnode, unix.Errno)
	// Statvfs fills sb (the VFS fills the names and flags).
	Statvfs(l *kernel.LWP, sb *Statvfs) unix.Errno
	// Sync writes back everything dirty; wait makes it durable.
	Sync(l *kernel.LWP, wait bool) unix.Errno
	// Unmount releases the file system after every vnode was flushed;
	// the driver writes its clean state and flushes its device.
	Unmount(l *kernel.LWP, flags int) unix.Errno
	// LoadVnode fills a new cached vnode for inode ino: Type, Rdev,
	// Data and ops (vp.SetOps). ENOENT (or EIO when corrupt) if there is
	// no such inode.
	LoadVnode(l *kernel.LWP, vp *Vnode, ino uint64) unix.Errno
	// VPToFH and FHToVP convert between vnodes and file handles
	// (EOPNOTSUPP where not supported).
	VPToFH(l *kernel.LWP, vp *Vnode) ([]byte, unix.Errno)
	FHToVP(l *kernel.LWP, fh []byte) (*Vnode, unix.Errno)
}

// MountArgs are what a mount request gives the driver.
type MountArgs struct {
	// Source is the mount source as given (a device path in the kernel
	// namespace, "none", ...).
	Source string
	// Dev is the block device Source names, when it names one.
	Dev bio.Device
	// Flags are MNT_* flags.
	Flags int
	// Options are driver options (-o name=value), already split.
	Options map[string]string
}

// FSType is a file system type in the registry (struct vfsops before
// mount). NeedsDevice says whether Source must name a block device.
//
// Each type is a kernel module of class VFS named Name (RegisterFSType
// registers it) requiring the modules in Requires: a mount holds it, so
// it cannot be unloaded while something is mounted from it.
type FSType struct {
	// Requires names the modules the type's module requires.
	Requires []string

	Name        string
	Aliases     []string
	NeedsDevice bool
	// ReadOnly says the driver mounts only read-only (no write support
	// yet): commands mount it read-only unless asked for writes.
	ReadOnly bool
	Mount    func(l *kernel.LWP, mp *Mount, args *MountArgs) (FileSystem, unix.Errno)
}

var (
	fsTypesMu sync.Mutex
	fsTypes   = map[string]*FSType{}
)

// RegisterFSType adds a file system type and its module; drivers call it
// from init.
func RegisterFSType(t *FSType) {
	fsTypesMu.Lock()
	fsTypes[t.Name] = t
	for _, a := range t.Aliases {
		fsTypes[a] = t
	}
	fsTypesMu.Unlock()
	kernel.RegisterModule(&kernel.ModuleInfo{Name: t.Name, Class: kernel.ModClassVFS, Requires: t.Requires})
}

// LookupFSType finds a type by its name or an alias.
func LookupFSType(name string) *FSType {
	fsTypesMu.Lock()
	defer fsTypesMu.Unlock()
	return fsTypes[strings.ToLower(name)]
}

// FSTypeNames lists the registered type names (without aliases).
func FSTypeNames() []string {
	fsTypesMu.Lock()
	defer fsTypesMu.Unlock()
	var out []string
	for n, t := range fsTypes {
		if n == t.Name {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Mount is a mounted file system (struct mount).
type Mount struct {
	vfs    *VFS
	id     uint64
	Type   *FSType
	FS     FileSystem
	From   string // mntfromname
	On     string // mntonname
	flags  atomic.Int32
	ns     kernel.RWLock // the namespace lock, see VnodeOps
	root   *Vnode        // referenced while mounted
	covers *Vnode        // directory vnode this mount covers, referenced; nil for /

	unmounting atomic.Bool
	owner      uint32      // uid that mounted it (usermount)
	bsdGroups  atomic.Bool // new files take the directory's group, see newOwner
	cache      mountCache  // this mount's vnodes, see vcache.go
	// Data is the driver's per-mount state.
	Data any
}

// ReadOnly reports whether the mount is read-only.
func (mp *Mount) ReadOnly() bool { return mp.flags.Load()&MNT_RDONLY != 0 }

// SetReadOnly makes the mount read-only (after a driver found corruption,
// or a recovered panic).
func (mp *Mount) SetReadOnly() {
	for {
		f := mp.flags.Load()
		if mp.flags.CompareAndSwap(f, f|MNT_RDONLY) {
			return
		}
	}
}

// BSDGroups reports whether new files take their directory's group (BSD's
// rule, ext4's grpid) rather than the creator's (Linux's, nogrpid).
func (mp *Mount) BSDGroups() bool { return mp.bsdGroups.Load() }

// SetBSDGroups chooses the rule BSDGroups reports.
func (mp *Mount) SetBSDGroups(on bool) { mp.bsdGroups.Store(on) }

// groupRuleOption is the group rule mount options ask for: grpid and
// bsdgroups for BSD's, nogrpid and sysvgroups for Linux's (ext4's names),
// the host's own rule when none is given.
func groupRuleOption(opts map[string]string) bool {
	bsd := runtime.GOOS != "linux"
	for _, n := range []string{"grpid", "bsdgroups", "nogrpid", "sysvgroups"} {
		if _, ok := opts[n]; ok {
			bsd = n == "grpid" || n == "bsdgroups"
		}
	}
	return bsd
}

// Flags returns the MNT_* flags.
func (mp *Mount) Flags() int { return int(mp.flags.Load()) }

// ID is the mount's file system id (f_fsid).
func (mp *Mount) ID() uint64 { return mp.id }

// Kernel returns the kernel the mount lives in.
func (mp *Mount) Kernel() *kernel.Kernel { return mp.vfs.k }

// VFS returns the VFS the mount belongs to.
func (mp *Mount) VFS() *VFS { return mp.vfs }

// Covers returns the directory vnode this mount covers (nil for the
// root), without a new reference: ".." at the mount's root continues there.
func (mp *Mount) Covers() *Vnode { return mp.covers }

// RootVnode returns the mount's root vnode without a new reference; valid
// while the mount is.
func (mp *Mount) RootVnode() *Vnode { return mp.root }

// Statvfs is struct statvfs.
type Statvfs struct {
	Bsize, Frsize         uint64
	Iosize                uint64
	Blocks, Bfree, Bavail uint64
	Files, Ffree, Favail  uint64
	Fsid                  uint64
	Namemax               uint64
	Flags                 int
	FSType, From, On      string
}

// Mount mounts a file system of type typ on the directory vnode covered
// (nil for the root), as l. The driver's Mount runs with a new Mount
// value; on success the root vnode is fetched and covered is marked.
func (v *VFS) Mount(l *kernel.LWP, typ *FSType, covered *Vnode, on string, args *MountArgs) (*Mount, unix.Errno) {
	if e := v.authorizeMount(l, typ, covered, args.Flags); e != 0 {
		return nil, e
	}
	// The mount holds its type's module until it is unmounted.
	if v.k.ModuleHold(typ.Name, kernel.ModClassVFS) != 0 {
		return nil, unix.ENODEV
	}
	mp, e := v.mount(l, typ, covered, on, args)
	if e != 0 {
		v.k.ModuleRele(typ.Name)
	}
	return mp, e
}

func (v *VFS) mount(l *kernel.LWP, typ *FSType, covered *Vnode, on string, args *MountArgs) (*Mount, unix.Errno) {
	mp := &Mount{vfs: v, id: v.nextMountID.Add(1), Type: typ, From: args.Source, On: on, owner: l.Cred().Uid()}
	mp.cache.init()
	mp.flags.Store(int32(args.Flags &^ (MNT_FORCE | MNT_UPDATE)))
	mp.bsdGroups.Store(groupRuleOption(args.Options))
	if covered != nil {
		if covered.Type != VDIR {
			return nil, unix.ENOTDIR
		}
		if covered.MountedHere() != nil {
			return nil, unix.EBUSY
		}
	}
	fs, e := typ.Mount(l, mp, args)
	if e != 0 {
		return nil, e
	}
	mp.FS = fs
	root, e := fs.Root(l)
	if e != 0 {
		fs.Unmount(l, MNT_FORCE)
		return nil, e
	}
	root.Root = true
	mp.root = root
	if covered != nil {
		if !covered.mountedHere.CompareAndSwap(nil, mp) {
			Vrele(l, root)
			fs.Unmount(l, MNT_FORCE)
			return nil, unix.EBUSY
		}
		Vref(covered)
		mp.covers = covered
	}
	v.mountMu.Lock()
	v.mounts = append(v.mounts, mp)
	v.mountMu.Unlock()
	v.addMountSysctl(mp)
	v.k.Printf("mounted %s on %s type %s%s", mp.From, mp.On, typ.Name, map[bool]string{true: " (read-only)", false: ""}[mp.ReadOnly()])
	return mp, 0
}

// Unmount unmounts mp: sync unless forced or read-only, flush its vnodes
// (EBUSY if some are in use, unless MNT_FORCE, which revokes them), then the
// driver's Unmount.
func (v *VFS) Unmount(l *kernel.LWP, mp *Mount, flags int) unix.Errno {
	if e := v.k.Authorize(l.Cred(), kernel.ActionUnmount, &MountAuth{Type: mp.Type, Mount: mp, Flags: flags}); e != 0 {
		return e
	}
	if mp == v.rootMount && flags&MNT_FORCE == 0 {
		return unix.EBUSY
	}
	// A mount with another mounted on one of its vnodes is busy.
	v.mountMu.Lock()
	for _, o := range v.mounts {
		if o.covers != nil && o.covers.Mount == mp {
			v.mountMu.Unlock()
			return unix.EBUSY
		}
	}
	v.mountMu.Unlock()
	force := flags&MNT_FORCE != 0
	if !force && !mp.ReadOnly() {
		if e := mp.FS.Sync(l, true); e != 0 {
			return e
		}
	}
	mp.unmounting.Store(true)
	if e := v.vcache.vflush(l, mp, mp.root, force); e != 0 {
		mp.unmounting.Store(false)
		return e
	}
	Vrele(l, mp.root)
	e := mp.FS.Unmount(l, flags)
	if e != 0 && !force {
		v.k.Warnf("unmount %s: %v", mp.On, e)
	}
	if mp.covers != nil {
		mp.covers.mountedHere.Store(nil)
		Vrele(l, mp.covers)
	}
	v.mountMu.Lock()
	for i, o := range v.mounts {
		if o == mp {
			v.mounts = append(v.mounts[:i], v.mounts[i+1:]...)
			break
		}
	}
	v.mountMu.Unlock()
	v.k.SysctlDestroy(mountSysctlName(mp))
	v.k.ModuleRele(mp.Type.Name)
	v.k.Printf("unmounted %s", mp.On)
	return 0
}

// Mounts returns the mount table in mount order.
func (v *VFS) Mounts() []*Mount {
	v.mountMu.Lock()
	defer v.mountMu.Unlock()
	return append([]*Mount(nil), v.mounts...)
}

// StatvfsMount fills sb for mp.
func StatvfsMount(l *kernel.LWP, mp *Mount, sb *Statvfs) unix.Errno {
	*sb = Statvfs{}
	if e := mp.FS.Statvfs(l, sb); e != 0 {
		return e
	}
	sb.Fsid = mp.id
	sb.Flags = mp.Flags()
	sb.FSType, sb.From, sb.On = mp.Type.Name, mp.From, mp.On
	if sb.Namemax == 0 {
		sb.Namemax = NameMax
	}
	if sb.Frsize == 0 {
		sb.Frsize = sb.Bsize
	}
	if sb.Iosize == 0 {
		sb.Iosize = sb.Bsize
	}
	return 0
}

// SyncAll syncs every read-write mount (sync(2)).
func (v *VFS) SyncAll(l *kernel.LWP, wait bool) unix.Errno {
	var first unix.Errno
	for _, mp := range v.Mounts() {
		if mp.ReadOnly() {
			continue
		}
		if e := mp.FS.Sync(l, wait); e != 0 && first == 0 {
			first = e
		}
	}
	return first
}

package vfs

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// Path limits.
const (
	NameMax = 255 // bytes in one component (ENAMETOOLONG past it)
	// PathMax is bytes in a path or a symlink target, with its NUL:
	// Linux's PATH_MAX, not NetBSD's 1024, because the host we serve
	// passes paths and targets up to 4095 bytes.
	PathMax     = 4096
	MaxSymlinks = 32 // symlinks followed in one lookup before ELOOP
)

// VFS is one kernel's VFS state: mount table, vnode cache, devices.
type VFS struct {
	k *kernel.Kernel

	nvnodes     atomic.Int64
	vcache      vcache
	nextMountID atomic.Uint64

	mountMu   sync.Mutex
	mounts    []*Mount
	rootMount *Mount
	rootVnode *Vnode

	// Bufcache is the kernel's buffer cache; drivers attach their
	// devices to it.
	Bufcache *bio.Cache

	devMu   sync.Mutex
	devs    map[uint64]bio.Device
	nextDev uint64

	etfs atomic.Pointer[etfsBox]

	usermount atomic.Int32 // vfs.generic.usermount

	fifoMu sync.Mutex
	fifos  map[*Vnode]*pipe // buffers of open FIFOs
}

type etfsBox struct{ r EtfsResolver }

// EtfsResolver is consulted by lookups in the root file system (etfs keys
// match whole paths from the root): the root driver asks
// VFS.EtfsResolver in its Lookup.
type EtfsResolver interface {
	// MayMatch reports whether a lookup of name could match a key; it is
	// asked first, and must be cheap.
	MayMatch(name string) bool
	// Resolve is asked about the name cn.Name in the root file system's directory
	// whose path from the root is dirPath ("" for the root), with
	// cn.Rest the remaining path. It returns handled=false when no key
	// matches; otherwise a referenced vnode (or an errno) and sets
	// cn.Consumed to the bytes of cn.Rest the key used up.
	Resolve(l *kernel.LWP, dirPath string, cn *ComponentName) (vp *Vnode, handled bool, e unix.Errno)
}

// rootFSType is the file system mounted at "/" at boot, as NetBSD's
// rootfstype: the in-memory rumpfs registers itself (RegisterRootFSType),
// linked in by a blank import where a kernel is booted.
var rootFSType atomic.Pointer[FSType]

// RegisterRootFSType registers t (RegisterFSType) and makes it the type
// the VFS mounts at "/" when a kernel boots. Drivers call it from init;
// two different root types in one program are a build mistake and panic.
func RegisterRootFSType(t *FSType) {
	RegisterFSType(t)
	if !rootFSType.CompareAndSwap(nil, t) && rootFSType.Load() != t {
		panic("vfs: two root file system types: " + rootFSType.Load().Name + " and " + t.Name)
	}
}

func init() {
	kernel.RegisterComponent(kernel.Component{Name: "vfs", Class: kernel.ClassVFS, Init: bootVFS})
}

// Of returns the VFS of a booted kernel.
func Of(k *kernel.Kernel) *VFS {
	v, _ := k.Subsystem("vfs").(*VFS)
	return v
}

// Kernel returns the kernel the VFS belongs to.
func (v *VFS) Kernel() *kernel.Kernel { return v.k }

func bootVFS(k *kernel.Kernel) error {
	cfg := k.Config()
	v := &VFS{k: k, devs: map[uint64]bio.Device{}}
	v.vcache.init(v, cfg.MaxVnodes)
	v.Bufcache = bio.NewCache(k, cfg.BufCacheBytes)
	k.SetSubsystem("vfs", v)
	v.registerSysctl()
	k.ListenScope(kernel.ScopeSystem, "usermount", v.usermountPolicy)
	l := k.LWP0()
	l.Schedule()
	defer l.Unschedule()

	rt := rootFSType.Load()
	if rt == nil {
		return errors.New("vfs: no root file system type is linked in " +
			"(import _ \"github.com/rumpfs/rumpfs/vfs/rumpfs\")")
	}
	mp, e := v.Mount(l, rt, nil, "/", &MountArgs{Source: rt.Name})
	if e != 0 {
		return fmt.Errorf("mount %s root: %w", rt.Name, e)
	}
	v.rootMount = mp
	v.rootVnode = mp.root
	k.SetProcStateFactory(func(p *kernel.Proc) kernel.ProcState { return v.newProcFiles() })

	for _, d := range []struct {
		name string
		mode uint32
	}{{"dev", 0o755}, {"tmp", 0o1777}} {
		va := Vattr{Type: VDIR, Mode: d.mode}
		vp, e := VOPMkdir(l, v.rootVnode, &ComponentName{Op: CREATE, Name: d.name, IsLast: true}, &va)
		if e != 0 {
			return fmt.Errorf("mkdir /%s: %w", d.name, e)
		}
		Vrele(l, vp)
	}
	if !cfg.NoThreads {
		v.Bufcache.StartSyncer(cfg.SyncInterval)
	}
	k.RegisterFini(v.fini)
	return nil
}

// fini is the VFS halt hook (rump_vfs_fini): sync every read-write mount,
// wait for buffers, unmount everything in reverse mount order.
func (v *VFS) fini(l *kernel.LWP) error {
	var first error
	if e := v.SyncAll(l, true); e != 0 {
		v.k.Warnf("halt: sync: %v", e)
		first = e
	}
	v.Bufcache.Stop()
	mounts := v.Mounts()
	for i := len(mounts) - 1; i >= 0; i-- {
		mp := mounts[i]
		if mp == v.rootMount {
			continue
		}
		if e := v.Unmount(l, mp, MNT_FORCE); e != 0 {
			v.k.Warnf("halt: unmount %s: %v", mp.On, e)
			if first == nil {
				first = e
			}
		}
	}
	return first
}

// Root returns the root vnode of the kernel's namespace (not referenced).
func (v *VFS) Root() *Vnode { return v.rootVnode }

// RootMount returns the root mount (nil while the root is being mounted).
func (v *VFS) RootMount() *Mount { return v.rootMount }

// SetEtfsResolver installs etfs's whole-path lookup hook.
func (v *VFS) SetEtfsResolver(r EtfsResolver) { v.etfs.Store(&etfsBox{r}) }

// EtfsResolver returns the installed etfs hook, or nil: the root file
// system driver asks it about names looked up in the root mount.
func (v *VFS) EtfsResolver() EtfsResolver {
	if b := v.etfs.Load(); b != nil {
		return b.r
	}
	return nil
}

// AttachDevice enters a block device in the device table and returns its
// device number (rdev) for VBLK vnodes.
func (v *VFS) AttachDevice(dev bio.Device) uint64 {
	v.devMu.Lock()
	defer v.devMu.Unlock()
	v.nextDev++
	rdev := uint64(197)<<8 | v.nextDev // rumpblk's major, any minor
	v.devs[rdev] = dev
	return rdev
}

// DetachDevice removes a device from the table.
func (v *VFS) DetachDevice(rdev uint64) {
	v.devMu.Lock()
	defer v.devMu.Unlock()
	delete(v.devs, rdev)
}

// Device returns the block device with number rdev, or nil.
func (v *VFS) Device(rdev uint64) bio.Device {
	v.devMu.Lock()
	defer v.devMu.Unlock()
	return v.devs[rdev]
}

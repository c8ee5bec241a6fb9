package vfs_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// countFS loads any inode number as a regular file and counts loads and
// reclaims; a reclaim can be held up on gate.
type countFS struct {
	loads, reclaims atomic.Int64
	gate            chan struct{} // nil: reclaims do not wait
	reclaiming      chan uint64
	mp              *vfs.Mount
	// exists, when set, is asked on every load; no means ENOENT.
	exists func(ino uint64) bool
}

type countOps struct {
	vfs.GenericOps
	fs *countFS
}

func (o countOps) Reclaim(l *kernel.LWP, vp *vfs.Vnode) unix.Errno {
	if o.fs.gate != nil {
		o.fs.reclaiming <- vp.Ino
		<-o.fs.gate
	}
	o.fs.reclaims.Add(1)
	return 0
}

// countRoot is the root's inode number, apart from the ones tests use.
const countRoot = 1 << 62

func (fs *countFS) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno) {
	return fs.mp.Vget(l, countRoot)
}
func (fs *countFS) Statvfs(l *kernel.LWP, sb *vfs.Statvfs) unix.Errno {
	return 0
}
func (fs *countFS) Sync(l *kernel.LWP, wait bool) unix.Errno    { return 0 }
func (fs *countFS) Unmount(l *kernel.LWP, flags int) unix.Errno { return 0 }
func (fs *countFS) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	if ino == 0 || fs.exists != nil && ino != countRoot && !fs.exists(ino) {
		return unix.ENOENT
	}
	vp.Type = vfs.VREG
	if ino == countRoot {
		vp.Type = vfs.VDIR
	} else {
		fs.loads.Add(1)
	}
	vp.SetOps(countOps{fs: fs})
	return 0
}
func (fs *countFS) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}
func (fs *countFS) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}

var countFSOnce sync.Once

// vcacheMount mounts a countFS on /mnt of a new kernel whose vnode cache
// holds room unreferenced vnodes beside the referenced ones of the root
// file system and the mount (a probe kernel counts those).
func vcacheMount(t *testing.T, room int) (*vfs.Mount, *countFS, *kernel.Kernel) {
	_, _, probe := vcacheMountMax(t, 1<<20)
	total, free := vfs.Of(probe).NumVnodes()
	return vcacheMountMax(t, total-free+room)
}

func vcacheMountMax(t *testing.T, maxVnodes int) (*vfs.Mount, *countFS, *kernel.Kernel) {
	countFSOnce.Do(func() {
		vfs.RegisterFSType(&vfs.FSType{Name: "vcachetest", Mount: func(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
			fs := &countFS{mp: mp}
			mp.Data = fs
			return fs, 0
		}})
	})
	k, l := boot(t, kernel.Config{MaxVnodes: maxVnodes})
	must(t, vfs.Mkdir(l, "/mnt", 0o755), "mkdir")
	must(t, vfs.MountPath(l, "vcachetest", "none", "/mnt", 0, nil), "mount")
	ms := vfs.Of(k).Mounts()
	mp := ms[len(ms)-1]
	return mp, mp.Data.(*countFS), k
}

func newLWP(t *testing.T, k *kernel.Kernel) *kernel.LWP {
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestVcacheKeys: one vnode per inode number, for neighbours, numbers
// across leaves and far apart; a failed load caches nothing.
func TestVcacheKeys(t *testing.T) {
	mp, fs, k := vcacheMount(t, 1<<20)
	l := newLWP(t, k)
	inos := []uint64{1, 2, 63, 64, 65, 127, 128, 1000, 1 << 32, 1<<32 + 1, 1<<63 + 5, ^uint64(0)}
	got := map[uint64]*vfs.Vnode{}
	for _, ino := range inos {
		vp, e := mp.Vget(l, ino)
		if e != 0 || vp.Ino != ino {
			t.Fatalf("Vget %d: %v %v", ino, vp, e)
		}
		got[ino] = vp
	}
	for _, ino := range inos {
		vp, e := mp.Vget(l, ino)
		if e != 0 || vp != got[ino] {
			t.Fatalf("second Vget %d: another vnode (%p, want %p) %v", ino, vp, got[ino], e)
		}
		vfs.Vrele(l, vp)
		vfs.Vrele(l, vp)
	}
	if n := fs.loads.Load(); n != int64(len(inos)) {
		t.Fatalf("%d loads for %d inodes", n, len(inos))
	}
	if _, e := mp.Vget(l, 0); e != unix.ENOENT {
		t.Fatalf("Vget of a missing inode: %v", e)
	}
	if vp, e := mp.Vget(l, 0); e != unix.ENOENT || vp != nil {
		t.Fatalf("failed load cached: %v %v", vp, e)
	}
}

// TestVcacheRecycle: past MaxVnodes, unreferenced vnodes are reclaimed,
// oldest first, and a reclaimed inode loads anew.
func TestVcacheRecycle(t *testing.T) {
	const max = 100
	mp, fs, k := vcacheMount(t, max)
	l := newLWP(t, k)
	for ino := uint64(1); ino <= 1000; ino++ {
		vp, e := mp.Vget(l, ino)
		if e != 0 {
			t.Fatal(e)
		}
		vfs.Vrele(l, vp)
	}
	total, free := mp.VFS().NumVnodes()
	if free != max {
		t.Fatalf("%d vnodes (%d free) after 1000 loads, want %d free", total, free, max)
	}
	if r := fs.reclaims.Load(); r != 1000-max {
		t.Fatalf("%d reclaims, want %d", r, 1000-max)
	}
	vp, _ := mp.Vget(l, 1000) // the newest stayed
	if fs.loads.Load() != 1000 {
		t.Fatal("the newest vnode was reclaimed")
	}
	vfs.Vrele(l, vp)
	vp, _ = mp.Vget(l, 1) // the oldest went
	if fs.loads.Load() != 1001 {
		t.Fatal("the oldest vnode was not reclaimed")
	}
	vfs.Vrele(l, vp)
}

// TestVgetWaitsForReclaim: a Vget of an inode whose old vnode is being
// reclaimed waits until VOP_RECLAIM returned, then loads a new vnode.
func TestVgetWaitsForReclaim(t *testing.T) {
	mp, fs, k := vcacheMount(t, 1)
	l := newLWP(t, k)
	for ino := uint64(100); ino < 200; ino++ { // only ours left on the free list
		vp, _ := mp.Vget(l, ino)
		vfs.Vrele(l, vp)
	}
	old, _ := mp.Vget(l, 7)
	vfs.Vrele(l, old)
	gate := make(chan struct{})
	fs.reclaiming = make(chan uint64, 16)
	fs.gate = gate
	// Loading inode 8 pushes 7 out; its reclaim waits on the gate.
	la, lb := newLWP(t, k), newLWP(t, k)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		vp, _ := mp.Vget(la, 8)
		vfs.Vrele(la, vp)
	}()
	if ino := <-fs.reclaiming; ino != 7 {
		t.Fatalf("reclaiming %d, want 7", ino)
	}
	loaded := make(chan *vfs.Vnode)
	go func() {
		vp, _ := mp.Vget(lb, 7)
		loaded <- vp
	}()
	select {
	case <-loaded:
		t.Fatal("Vget loaded inode 7 while its old vnode was being reclaimed")
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	vp := <-loaded
	if vp == old || vp.Ino != 7 || fs.loads.Load() != 103 {
		t.Fatalf("Vget after the reclaim: %p (old %p), %d loads", vp, old, fs.loads.Load())
	}
	vfs.Vrele(lb, vp)
	wg.Wait()
}

// TestVcacheRekey: a rekeyed vnode is found under its new key and not its
// old one; a taken key is EEXIST; a failed move changes nothing; the
// vnode then frees, recycles and revokes under its new key.
func TestVcacheRekey(t *testing.T) {
	mp, fs, k := vcacheMount(t, 1<<20)
	l := newLWP(t, k)
	vp, _ := mp.Vget(l, 10)
	ran := false
	if e := mp.Rekey(l, vp, 1<<40, func() unix.Errno { ran = true; return 0 }); e != 0 || !ran {
		t.Fatalf("Rekey: %v, move ran %v", e, ran)
	}
	if got, e := mp.Vget(l, 1<<40); e != 0 || got != vp || vp.Ino != 10 {
		t.Fatalf("Vget of the new key: %p %v, want %p with Ino 10", got, e, vp)
	}
	vfs.Vrele(l, vp)
	other, e := mp.Vget(l, 10)
	if e != 0 || other == vp || fs.loads.Load() != 2 {
		t.Fatalf("Vget of the old key: %p %v (rekeyed %p), %d loads", other, e, vp, fs.loads.Load())
	}
	ran = false
	if e := mp.Rekey(l, vp, 10, func() unix.Errno { ran = true; return 0 }); e != unix.EEXIST || ran {
		t.Fatalf("Rekey onto a taken key: %v, move ran %v", e, ran)
	}
	if e := mp.Rekey(l, vp, 30, func() unix.Errno { return unix.EIO }); e != unix.EIO {
		t.Fatalf("Rekey with a failing move: %v", e)
	}
	if got, _ := mp.Vget(l, 1<<40); got != vp {
		t.Fatal("a failed Rekey moved the vnode")
	}
	vfs.Vrele(l, vp)
	if got, _ := mp.Vget(l, 30); got == vp || fs.loads.Load() != 3 {
		t.Fatal("a failed Rekey left the vnode at the new key")
	} else {
		vfs.Vrele(l, got)
	}
	if e := mp.Rekey(l, vp, 1<<40, nil); e != 0 {
		t.Fatalf("Rekey to the key it has: %v", e)
	}

	// Unreferenced, it waits on the free list under the new key.
	vfs.Vrele(l, vp)
	if got, _ := mp.Vget(l, 1<<40); got != vp || fs.loads.Load() != 3 {
		t.Fatal("the rekeyed vnode was not kept on the free list")
	}
	// Revoked, it leaves the cache from its new key.
	vfs.Vgone(l, vp)
	if e := mp.Rekey(l, vp, 50, nil); e != unix.EINVAL {
		t.Fatalf("Rekey of a revoked vnode: %v", e)
	}
	vfs.Vrele(l, vp)
	if got, _ := mp.Vget(l, 1<<40); got == vp {
		t.Fatal("a revoked vnode is still cached")
	} else {
		vfs.Vrele(l, got)
	}
	vfs.Vrele(l, other)
}

// TestVcacheRekeyConcurrent: LWPs Vget the old and the new key while a
// vnode moves back and forth between them, as FAT renames do. Every Vget
// finds the moving vnode or misses cleanly (the driver has no file
// there), and the new key is never loaded as a second vnode.
func TestVcacheRekeyConcurrent(t *testing.T) {
	const a, b = 100, 1<<32 + 7 // different shards and leaves
	const rounds = 100
	mp, fs, k := vcacheMount(t, 1<<20)
	var cur atomic.Uint64 // where the file is on the "disk"
	cur.Store(a)
	var strayLoads atomic.Int64
	fs.exists = func(ino uint64) bool {
		if ino == cur.Load() {
			strayLoads.Add(1) // the moving vnode is cached: never loaded again
			return true
		}
		return false
	}
	l := newLWP(t, k)
	vp, e := mp.Vget(l, a)
	if e != 0 {
		t.Fatal(e)
	}
	strayLoads.Store(0)

	var done atomic.Bool
	var gets atomic.Int64 // Vgets that finished
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ll := newLWP(t, k)
			key := uint64(a)
			if i%2 == 1 {
				key = b
			}
			for !done.Load() {
				got, e := mp.Vget(ll, key)
				switch {
				case e == unix.ENOENT:
				case e != 0:
					t.Errorf("Vget %d: %v", key, e)
					return
				case got != vp:
					t.Errorf("Vget %d found another vnode", key)
					vfs.Vrele(ll, got)
					return
				default:
					vfs.Vrele(ll, got)
				}
				gets.Add(1)
				runtime.Gosched() // two CPUs: let the renamer run
			}
		}()
	}
	for r := range rounds {
		from, to := uint64(a), uint64(b)
		if r%2 == 1 {
			from, to = to, from
		}
		e := mp.Rekey(l, vp, to, func() unix.Errno {
			// The driver moves the file on disk first, as FAT writes
			// the new directory entry; Vgets run before the move ends.
			cur.Store(to)
			for n := gets.Load(); gets.Load() < n+2 && !t.Failed(); {
				runtime.Gosched()
			}
			return 0
		})
		if e != 0 {
			t.Fatalf("round %d: Rekey %d -> %d: %v", r, from, to, e)
		}
	}
	done.Store(true)
	wg.Wait()
	if n := strayLoads.Load(); n != 0 {
		t.Fatalf("the file was loaded %d times while its vnode was cached", n)
	}
	vfs.Vrele(l, vp)
}

package vfs_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"golang.org/x/sys/unix"
)

func boot(t testing.TB, cfg kernel.Config) (*kernel.Kernel, *kernel.LWP) {
	t.Helper()
	return drivertest.BootConfig(t, cfg)
}

func must(t testing.TB, e unix.Errno, what string) {
	t.Helper()
	if e != 0 {
		t.Fatalf("%s: %v", what, e)
	}
}

func TestRootLayout(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	var va vfs.Vattr
	must(t, vfs.Stat(l, "/tmp", &va), "stat /tmp")
	if va.Type != vfs.VDIR || va.Mode != 0o1777 {
		t.Fatalf("/tmp: %v %o", va.Type, va.Mode)
	}
	must(t, vfs.Stat(l, "/dev", &va), "stat /dev")
	must(t, vfs.Stat(l, "/..", &va), "stat /..")
	var root vfs.Vattr
	vfs.Stat(l, "/", &root)
	if va.Fileid != root.Fileid {
		t.Fatal("/.. is not /")
	}
}

func TestChrootConfines(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	must(t, vfs.Mkdir(l, "/jail", 0o755), "mkdir")
	must(t, vfs.Mkdir(l, "/jail/in", 0o755), "mkdir")
	fd, _ := vfs.Open(l, "/outside", unix.O_CREAT|unix.O_WRONLY, 0o644)
	vfs.Close(l, fd)
	c, _ := k.Rfork(l, kernel.RFCFDG)
	must(t, vfs.Chroot(c, "/jail"), "chroot")
	var va, in vfs.Vattr
	for _, p := range []string{"/outside", "../outside", "/../../outside", "in/../../../outside"} {
		if e := vfs.Stat(c, p, &va); e != unix.ENOENT {
			t.Errorf("%s from the jail: %v, want ENOENT", p, e)
		}
	}
	must(t, vfs.Stat(c, "/../in", &in), "stat /../in in the jail")
	// The parent's view is unchanged.
	must(t, vfs.Stat(l, "/outside", &va), "stat outside")
	user, _ := k.Rfork(l, kernel.RFCFDG)
	user.Proc().SetCred(kernel.CredCreate(1, 1, nil))
	if e := vfs.Chroot(user, "/jail"); e != unix.EPERM {
		t.Fatalf("user chroot: %v", e)
	}
}

func TestMountCrossing(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	must(t, vfs.Mkdir(l, "/m", 0o755), "mkdir")
	fd, _ := vfs.Open(l, "/m/hidden", unix.O_CREAT|unix.O_WRONLY, 0o644)
	vfs.Close(l, fd)
	must(t, vfs.MountPath(l, "rumpfs", "none", "/m", 0, nil), "mount")
	var va vfs.Vattr
	if e := vfs.Stat(l, "/m/hidden", &va); e != unix.ENOENT {
		t.Fatalf("covered file visible: %v", e)
	}
	must(t, vfs.Mkdir(l, "/m/sub", 0o755), "mkdir in the mount")
	must(t, vfs.Chdir(l, "/m/sub"), "chdir")
	var tmp, up vfs.Vattr
	must(t, vfs.Stat(l, "../../tmp", &up), "stat up across the mount point")
	vfs.Stat(l, "/tmp", &tmp)
	if up.Fileid != tmp.Fileid || up.Fsid != tmp.Fsid {
		t.Fatal("'..' out of a mount went astray")
	}
	if e := vfs.UnmountPath(l, "/m", 0); e != unix.EBUSY {
		t.Fatalf("unmount with a cwd inside: %v, want EBUSY", e)
	}
	must(t, vfs.Chdir(l, "/"), "chdir /")
	if e := vfs.Rename(l, "/m/sub", "/tmp/sub"); e != unix.EXDEV {
		t.Fatalf("rename across mounts: %v", e)
	}
	if e := vfs.Rmdir(l, "/m"); e != unix.EBUSY {
		t.Fatalf("rmdir of a mount point: %v", e)
	}
	must(t, vfs.UnmountPath(l, "/m", 0), "unmount")
	must(t, vfs.Stat(l, "/m/hidden", &va), "covered file after unmount")
	if e := vfs.UnmountPath(l, "/tmp", 0); e != unix.EINVAL {
		t.Fatalf("unmount of a non-mount-point: %v", e)
	}
}

func TestVnodeLifecycle(t *testing.T) {
	k, l := boot(t, kernel.Config{MaxVnodes: 64})
	v := vfs.Of(k)
	for i := 0; i < 500; i++ {
		fd, e := vfs.Open(l, "/tmp/f"+string(rune('a'+i%26))+string(rune('a'+i/26)), unix.O_CREAT|unix.O_WRONLY, 0o644)
		must(t, e, "create")
		vfs.Close(l, fd)
	}
	total, _ := v.NumVnodes()
	if total > 64+8 {
		t.Fatalf("%d vnodes live with MaxVnodes 64", total)
	}
	// One vnode per file: concurrent lookups of one path agree.
	var wg sync.WaitGroup
	vps := make([]*vfs.Vnode, 8)
	for i := range vps {
		li, _ := k.NewLWP(l.Proc().Pid())
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			vp, e := vfs.OpenVnode(li, "/tmp/faa", unix.O_RDONLY, 0)
			if e != 0 {
				t.Error(e)
				return
			}
			vps[i] = vp
		}(i)
	}
	wg.Wait()
	for _, vp := range vps[1:] {
		if vp != vps[0] {
			t.Fatal("two vnodes for one file")
		}
	}
	if n := vps[0].UseCount(); n != 8 {
		t.Fatalf("usecount %d, want 8", n)
	}
	l.Schedule()
	for _, vp := range vps {
		vfs.VOPClose(l, vp, vfs.FREAD)
		vfs.Vrele(l, vp)
	}
	l.Unschedule()
	if n := vps[0].UseCount(); n != 0 {
		t.Fatalf("usecount after release %d", n)
	}
}

// memDev is a bio.Device in memory.
type memDev struct {
	mu    sync.Mutex
	data  []byte
	syncs int
}

func (d *memDev) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return copy(p, d.data[off:]), 0
}
func (d *memDev) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return copy(d.data[off:], p), 0
}
func (d *memDev) Sync(l *kernel.LWP) unix.Errno { d.mu.Lock(); d.syncs++; d.mu.Unlock(); return 0 }
func (d *memDev) Size() int64                   { return int64(len(d.data)) }
func (d *memDev) SectorSize() int               { return 512 }
func (d *memDev) ReadOnly() bool                { return false }

// blkfsFS is a one-file test file system over the buffer cache: writes to
// its file are delayed writes (bdwrite) of block 0, so only a sync
// carries them to the device.
func init() {
	vfs.RegisterFSType(&vfs.FSType{Name: "testblk", NeedsDevice: true, Mount: func(l *kernel.LWP, mp *vfs.Mount, args *vfs.MountArgs) (vfs.FileSystem, unix.Errno) {
		fs := &blkfsFS{dev: mp.VFS().Bufcache.Attach(args.Dev, "testblk"), mp: mp}
		return fs, 0
	}})
}

type blkfsFS struct {
	dev *bio.Dev
	mp  *vfs.Mount
}

func (fs *blkfsFS) Root(l *kernel.LWP) (*vfs.Vnode, unix.Errno) { return fs.mp.Vget(l, 1) }
func (fs *blkfsFS) Statvfs(l *kernel.LWP, sb *vfs.Statvfs) unix.Errno {
	sb.Bsize = 512
	return 0
}
func (fs *blkfsFS) Sync(l *kernel.LWP, wait bool) unix.Errno { return fs.dev.Sync(l, wait) }
func (fs *blkfsFS) Unmount(l *kernel.LWP, flags int) unix.Errno {
	e := fs.dev.Sync(l, true)
	fs.dev.Invalidate(l)
	return e
}
func (fs *blkfsFS) LoadVnode(l *kernel.LWP, vp *vfs.Vnode, ino uint64) unix.Errno {
	vp.Type = vfs.VREG
	if ino == 1 {
		vp.Type = vfs.VDIR
	}
	vp.Data = fs
	vp.SetOps(blkfsOps{})
	return 0
}
func (fs *blkfsFS) VPToFH(l *kernel.LWP, vp *vfs.Vnode) ([]byte, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}
func (fs *blkfsFS) FHToVP(l *kernel.LWP, fh []byte) (*vfs.Vnode, unix.Errno) {
	return nil, unix.EOPNOTSUPP
}

type blkfsOps struct{ vfs.GenericOps }

func (blkfsOps) Lookup(l *kernel.LWP, dvp *vfs.Vnode, cn *vfs.ComponentName) (*vfs.Vnode, unix.Errno) {
	switch cn.Name {
	case "file":
		return dvp.Mount.Vget(l, 2)
	case "panics":
		return dvp.Mount.Vget(l, 3)
	}
	return nil, unix.ENOENT
}
func (blkfsOps) Getattr(l *kernel.LWP, vp *vfs.Vnode, va *vfs.Vattr) unix.Errno {
	*va = vfs.Vattr{Type: vp.Type, Mode: 0o777, Nlink: 1, Fileid: vp.Ino, Size: 512}
	return 0
}
func (blkfsOps) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	if vp.Ino == 3 {
		panic("driver bug")
	}
	return 0
}

func (blkfsOps) Write(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
	fs := vp.Data.(*blkfsFS)
	bp, e := fs.dev.Bread(l, 0, 512)
	if e != 0 {
		return e
	}
	off := uio.Offset
	_, e = kernel.Uiomove(bp.Data[off:], uio)
	bp.Bdwrite()
	return e
}

// TestHaltSyncs: dirty buffers reach the backing store on a plain halt,
// and not with RB_NOSYNC.
func TestHaltSyncs(t *testing.T) {
	for _, tc := range []struct {
		howto int
		want  bool
	}{{kernel.RB_HALT, true}, {kernel.RB_HALT | kernel.RB_NOSYNC, false}} {
		k, l := boot(t, kernel.Config{})
		dev := &memDev{data: make([]byte, 4096)}
		v := vfs.Of(k)
		rdev := v.AttachDevice(dev)
		must(t, vfs.Mknod(l, "/dev/disk", unix.S_IFBLK|0o600, rdev), "mknod")
		must(t, vfs.Mkdir(l, "/mnt", 0o755), "mkdir")
		must(t, vfs.MountPath(l, "testblk", "/dev/disk", "/mnt", 0, nil), "mount")
		fd, e := vfs.Open(l, "/mnt/file", unix.O_WRONLY, 0)
		must(t, e, "open")
		if _, e := vfs.Write(l, fd, []byte("persist me")); e != 0 {
			t.Fatal(e)
		}
		vfs.Close(l, fd)
		if bytes.Contains(dev.data, []byte("persist me")) {
			t.Fatal("delayed write reached the device before any sync")
		}
		if err := k.Reboot(l, tc.howto); err != nil {
			t.Fatal(err)
		}
		got := bytes.Contains(dev.data, []byte("persist me"))
		if got != tc.want {
			t.Errorf("howto %#x: data on the device %v, want %v", tc.howto, got, tc.want)
		}
		if tc.want && dev.syncs == 0 {
			t.Error("halt did not sync the device")
		}
		if len(v.Mounts()) != 1 && tc.want {
			t.Errorf("mounts left after halt: %d", len(v.Mounts()))
		}
	}
}

// TestInactiveReclaim: an unlinked file keeps its node while open; the
// last close runs VOP_INACTIVE, which asks for recycling, and VOP_RECLAIM
// frees the node.
func TestInactiveReclaim(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	files := func() uint64 {
		var sb vfs.Statvfs
		must(t, vfs.StatvfsPath(l, "/", &sb), "statvfs")
		return sb.Files
	}
	n0 := files()
	fd, e := vfs.Open(l, "/tmp/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	must(t, e, "create")
	if files() != n0+1 {
		t.Fatal("create did not add a node")
	}
	must(t, vfs.Unlink(l, "/tmp/f"), "unlink")
	if files() != n0+1 {
		t.Fatal("node freed while the file is open")
	}
	must(t, vfs.Close(l, fd), "close")
	if files() != n0 {
		t.Fatal("node not reclaimed after the last close")
	}
}

// TestPanicRecovered: a driver panic inside a VOP is EIO at the syscall,
// with a dmesg line; the vnode lock is not left held, and the mount turns
// read-only.
func TestPanicRecovered(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	dev := &memDev{data: make([]byte, 4096)}
	v := vfs.Of(k)
	must(t, vfs.Mknod(l, "/dev/disk", unix.S_IFBLK|0o600, v.AttachDevice(dev)), "mknod")
	must(t, vfs.Mkdir(l, "/mnt", 0o755), "mkdir")
	must(t, vfs.MountPath(l, "testblk", "/dev/disk", "/mnt", 0, nil), "mount")
	fd, e := vfs.Open(l, "/mnt/panics", unix.O_RDONLY, 0)
	must(t, e, "open")
	for i := 0; i < 2; i++ { // the second read would hang on a leaked lock
		if _, e := vfs.Read(l, fd, make([]byte, 10)); e != unix.EIO {
			t.Fatalf("read through a panicking driver: %v, want EIO", e)
		}
	}
	if !strings.Contains(k.Dmesg(), "driver bug") {
		t.Fatal("no dmesg line for the panic")
	}
	if _, e := vfs.Open(l, "/mnt/file", unix.O_WRONLY, 0); e != unix.EROFS {
		t.Fatalf("write open after a panic: %v, want EROFS", e)
	}
}

// TestFchdirNeedsSearch: fchdir, like chdir, needs search permission on
// the directory (it can be opened with read permission alone).
func TestFchdirNeedsSearch(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	must(t, vfs.Mkdir(l, "/tmp/noexec", 0o744), "mkdir")
	user, _ := k.Rfork(l, kernel.RFCFDG)
	user.Proc().SetCred(kernel.CredCreate(1000, 1000, nil))
	fd, e := vfs.Open(user, "/tmp/noexec", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, e, "open a readable directory")
	if e := vfs.Fchdir(user, fd); e != unix.EACCES {
		t.Fatalf("fchdir into a directory without search permission: %v, want EACCES", e)
	}
	if e := vfs.Chdir(user, "/tmp/noexec"); e != unix.EACCES {
		t.Fatalf("chdir: %v, want EACCES", e)
	}
	rfd, e := vfs.Open(l, "/tmp/noexec", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, e, "root open")
	must(t, vfs.Fchdir(l, rfd), "root fchdir")
}

// TestUtimesNilAndRange: nil times mean "both now" (utimensat(2) with a
// NULL times), not a panic; an out-of-range nanosecond field is EINVAL
// through both the path and the descriptor call.
func TestUtimesNilAndRange(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	fd, e := vfs.Open(l, "/tmp/f", unix.O_CREAT|unix.O_WRONLY, 0o644)
	must(t, e, "create")
	defer vfs.Close(l, fd)
	old := [2]vfs.Timespec{{Sec: 1}, {Sec: 2}}
	must(t, vfs.Utimes(l, "/tmp/f", &old, true), "utimes to 1970")
	must(t, vfs.Utimes(l, "/tmp/f", nil, true), "utimes nil")
	var va vfs.Vattr
	must(t, vfs.Stat(l, "/tmp/f", &va), "stat")
	if va.Mtime.Sec < 1e9 || va.Atime.Sec < 1e9 {
		t.Errorf("after utimes(nil): atime %v mtime %v, want now", va.Atime, va.Mtime)
	}
	must(t, vfs.Futimes(l, fd, nil), "futimes nil")
	bad := [2]vfs.Timespec{{Nsec: 1e9}, {Nsec: vfs.UTIME_OMIT}}
	if e := vfs.Utimes(l, "/tmp/f", &bad, true); e != unix.EINVAL {
		t.Errorf("utimes with nsec 1e9: %v, want EINVAL", e)
	}
	if e := vfs.Futimes(l, fd, &bad); e != unix.EINVAL {
		t.Errorf("futimes with nsec 1e9: %v, want EINVAL", e)
	}
}

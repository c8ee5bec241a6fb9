package etfs

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"golang.org/x/sys/unix"
)

// Type is how a host file is presented (enum rump_etfs_type).
type Type int

// Key types.
const (
	// REG presents a host file, or a window of it, as a regular file.
	REG Type = iota
	// BLK presents a host file or window as a block device (rumpblk).
	BLK
	// CHR presents a host file or window as a character device.
	CHR
	// DIR presents a host directory's immediate children; its
	// subdirectories show up empty.
	DIR
	// DIR_SUBDIRS presents a host directory recursively.
	DIR_SUBDIRS
)

var typeNames = [...]string{"reg", "blk", "chr", "dir", "dirs"}

func (t Type) String() string {
	if t >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// ParseType parses a type name as String prints it ("reg", "blk", "chr",
// "dir", "dirs"; "dir_subdirs" too).
func ParseType(s string) (Type, error) {
	s = strings.ToLower(s)
	if s == "dir_subdirs" {
		return DIR_SUBDIRS, nil
	}
	for i, n := range typeNames {
		if n == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("etfs: unknown type %q (want reg, blk, chr, dir or dirs): %w", s, unix.EINVAL)
}

func (t Type) isDir() bool { return t == DIR || t == DIR_SUBDIRS }

// EndOff as a size means "to the end of the host file"
// (RUMP_ETFS_SIZE_ENDOFF).
const EndOff int64 = -1

// Options are the optional parts of a registration.
type Options struct {
	// Begin is the window's offset in the host file.
	Begin int64
	// Size is the window's size, EndOff for the rest of the file. The
	// zero Options mean a window of size 0: use EndOff for whole files.
	Size int64
	// ReadOnly opens the host file O_RDONLY (a guarantee for forensic
	// use: nothing here can write to it), takes a shared host lock, and
	// refuses writes with EROFS.
	ReadOnly bool
	// Missing bytes follow the window on a read-only device without
	// being read from the host: a truncated image whose file system
	// spans more than the file holds. Reads touching them fail with EIO.
	Missing int64
}

// Etfs is one kernel's table of registered host files.
type Etfs struct {
	k *kernel.Kernel
	v *vfs.VFS

	// mu serialises Register, Remove and halt.
	mu     kernel.Mutex
	devs   map[devID]*hostDev // under mu
	serial uint64             // under mu
	halted bool               // under mu
	table  atomic.Pointer[table]
}

// table is an immutable snapshot of the keys, replaced on every change so
// that lookups read it without a lock.
type table struct {
	keys map[string]*key
	// prefixes holds every proper component prefix of every key
	// ("/dev" for "/dev/img"), to stop matching early.
	prefixes map[string]bool
	// names holds every component of every key, so that lookups of
	// other names skip etfs without building a path.
	names map[string]bool
}

// key is one registration.
type key struct {
	e           *Etfs
	name        string
	typ         Type
	host        string
	begin, size int64
	readOnly    bool
	serial      uint64
	dev         *hostDev   // REG, BLK, CHR
	vp          *vfs.Vnode // etfs holds one reference until removal

	mu      sync.Mutex
	removed bool
	// vnodes are the live vnodes to revoke on removal: vp and, for
	// directory keys, every node looked up inside.
	vnodes map[*vfs.Vnode]struct{}
}

var ofMu sync.Mutex

// Of returns k's etfs, making it on first use: it installs the lookup hook
// in the VFS and a shutdown hook that syncs and closes every backing file
// when the kernel halts. Nil when k has no VFS.
func Of(k *kernel.Kernel) *Etfs {
	ofMu.Lock()
	defer ofMu.Unlock()
	if e, ok := k.Subsystem("etfs").(*Etfs); ok {
		return e
	}
	v := vfs.Of(k)
	if v == nil {
		return nil
	}
	e := &Etfs{k: k, v: v, devs: map[devID]*hostDev{}}
	e.table.Store(&table{})
	k.SetSubsystem("etfs", e)
	v.SetEtfsResolver(e)
	k.RegisterShutdown(e.shutdown)
	k.SysctlCreate("vfs.etfs.keys", kernel.SysctlStruct("etfs registrations", func() any { return e.Keys() }))
	return e
}

// Register presents the whole of hostpath at key (rump_etfs_register).
// The host file is opened read-write (falling back to read-only when the
// host refuses, as rumpblk does); see RegisterOpts.
func (e *Etfs) Register(key, hostpath string, typ Type) error {
	return e.RegisterOpts(key, hostpath, typ, Options{Size: EndOff})
}

// RegisterReadOnly presents the whole of hostpath at key, opened O_RDONLY.
func (e *Etfs) RegisterReadOnly(key, hostpath string, typ Type) error {
	return e.RegisterOpts(key, hostpath, typ, Options{Size: EndOff, ReadOnly: true})
}

// RegisterWithSize presents the window [begin, begin+size) of hostpath at
// key; size EndOff means to the end (rump_etfs_register_withsize).
func (e *Etfs) RegisterWithSize(key, hostpath string, typ Type, begin, size int64) error {
	return e.RegisterOpts(key, hostpath, typ, Options{Begin: begin, Size: size})
}

// RegisterOpts registers hostpath at key. Errors (test them with
// errors.Is, or kernel.ToErrno):
//   - EINVAL: key not starting with "/", naming the root, or holding "."
//     or ".." components; an unknown type; a window outside the host file
//     (begin or begin+size past its size, negative values); a directory
//     type with a window other than begin 0 and size EndOff; a host file
//     that is neither a regular file nor a block device;
//   - ENAMETOOLONG: a key component or the key too long;
//   - EEXIST: the key is registered already;
//   - ENOTDIR: a directory type on a host non-directory; EISDIR: a file
//     type on a host directory;
//   - EBUSY (a *LockError): another writer holds the window's host lock;
//   - host errors from opening hostpath, as *os.PathError;
//   - ENXIO: the kernel halted.
//
// Keys are whole paths from the rumpfs root; repeated slashes collapse and
// a trailing slash is dropped. Missing parent directories of the key are
// made in the rumpfs root (mode 0755) so that component-wise lookups, as
// FUSE does them, reach the key too; the key itself is never listed.
func (e *Etfs) RegisterOpts(keyname, hostpath string, typ Type, o Options) error {
	name, err := normalizeKey(keyname)
	if err != nil {
		return err
	}
	if typ < REG || typ > DIR_SUBDIRS {
		return unix.EINVAL
	}
	if typ.isDir() && (o.Begin != 0 || o.Size != EndOff) {
		return unix.EINVAL
	}
	if o.Missing < 0 || o.Missing > 0 && (!o.ReadOnly || typ != BLK) {
		return unix.EINVAL
	}
	l, done := e.lwp()
	defer done()
	e.mu.Enter(l)
	if err := e.registerLocked(l, name, hostpath, typ, o); err != nil {
		e.mu.Exit()
		return err
	}
	e.mu.Exit()
	e.mkdirParents(l, name)
	return nil
}

func (e *Etfs) registerLocked(l *kernel.LWP, name, hostpath string, typ Type, o Options) error {
	if e.halted || e.k.Halted() {
		return kernel.ErrHalted
	}
	t := e.table.Load()
	if t.keys[name] != nil {
		return unix.EEXIST
	}
	e.serial++
	k := &key{e: e, name: name, typ: typ, host: hostpath, readOnly: o.ReadOnly,
		serial: e.serial, vnodes: map[*vfs.Vnode]struct{}{}}
	var vp *vfs.Vnode
	if typ.isDir() {
		n, hostIno, err := e.openDir(l, hostpath, typ, o.ReadOnly)
		if err != nil {
			return err
		}
		n.key = k
		vp = vfs.NewVnode(e.v.RootMount(), vfs.VDIR, e.ino(k.serial, hostIno), dirOps{}, n)
	} else {
		d, hostIno, err := e.openDevice(l, name, hostpath, o)
		if err != nil {
			return err
		}
		k.dev, k.begin, k.size, k.readOnly = d, d.Begin(), d.Size(), d.ReadOnly()
		vt := vfs.VREG
		switch typ {
		case BLK:
			vt = vfs.VBLK
		case CHR:
			vt = vfs.VCHR
		}
		vp = vfs.NewVnode(e.v.RootMount(), vt, e.ino(k.serial, hostIno), fileOps{}, k)
		if typ == BLK || typ == CHR {
			if d.rdev == 0 {
				d.rdev = e.v.AttachDevice(d.Device)
			}
			vp.Rdev = d.rdev
		}
	}
	k.vp = vp
	k.vnodes[vp] = struct{}{}
	e.publish(func(keys map[string]*key) { keys[name] = k })
	return nil
}

// ino makes a vnode number that cannot collide with rumpfs's (high bit
// set), distinct per key and stable for one host file within a key.
func (e *Etfs) ino(serial, hostIno uint64) uint64 {
	return 1<<63 | (serial&(1<<23-1))<<40 | hostIno&(1<<40-1)
}

// hostDev is an open block device (rumpblk) as etfs shares it: one per
// host file, window and access mode, used by every key naming them.
type hostDev struct {
	*rumpblk.Device
	id   devID
	refs int    // keys using the device; under Etfs.mu
	rdev uint64 // device number once attached (BLK/CHR keys)
}

type devID struct {
	dev, ino             uint64
	begin, size, missing int64
	readOnly             bool
}

// openDevice opens and checks the host file of a REG/BLK/CHR key, sharing
// an open device of the same file, window and mode.
func (e *Etfs) openDevice(l *kernel.LWP, name, hostpath string, o Options) (*hostDev, uint64, error) {
	var st unix.Stat_t
	if err := e.hostCall(l, func() error { return unix.Stat(hostpath, &st) }); err != nil {
		return nil, 0, &os.PathError{Op: "stat", Path: hostpath, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFBLK:
	case unix.S_IFDIR:
		return nil, 0, unix.EISDIR
	default:
		return nil, 0, unix.EINVAL
	}
	readOnly, fallback := o.ReadOnly, false
	flags := unix.O_RDWR
	if readOnly {
		flags = unix.O_RDONLY
	}
	var fd int
	err := e.hostCall(l, func() (err error) {
		// O_NONBLOCK: a FIFO swapped in after the Stat above must
		// not hold open(2) until a writer comes; it is refused below
		// and O_NONBLOCK cleared for what is kept.
		fd, err = unix.Open(hostpath, flags|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
		if !readOnly && (err == unix.EACCES || err == unix.EROFS || err == unix.EPERM || err == unix.ETXTBSY) {
			readOnly, fallback = true, true
			flags = unix.O_RDONLY
			fd, err = unix.Open(hostpath, flags|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
		}
		if err != nil {
			return err
		}
		// The identity and size of what was opened, not of the path.
		if err = unix.Fstat(fd, &st); err == nil {
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFBLK:
				st.Size, err = unix.Seek(fd, 0, 2)
			case unix.S_IFREG:
			default:
				err = unix.EINVAL
			}
		}
		if err == nil {
			_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
		}
		if err != nil {
			unix.Close(fd)
		}
		return err
	})
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: hostpath, Err: err}
	}
	fail := func(err error) (*hostDev, uint64, error) {
		unix.Close(fd)
		return nil, 0, err
	}
	fsize := st.Size
	begin, size := o.Begin, o.Size
	if begin < 0 || begin > fsize {
		return fail(unix.EINVAL)
	}
	if size == EndOff {
		size = fsize - begin
	}
	if size < 0 || size > fsize-begin {
		return fail(unix.EINVAL)
	}
	id := devID{dev: uint64(st.Dev), ino: uint64(st.Ino), begin: begin, size: size, missing: o.Missing, readOnly: readOnly}
	if d := e.devs[id]; d != nil {
		unix.Close(fd)
		d.refs++
		return d, id.ino, nil
	}
	// Lock the window; a whole-file registration locks to the end and
	// beyond. An empty explicit window has nothing to protect.
	if size > 0 || o.Size == EndOff {
		length := size
		if o.Size == EndOff {
			length = 0
		}
		conflict, pid, err := lockWindow(fd, begin, length, readOnly)
		switch {
		case conflict:
			if pid <= 0 {
				pid = findLockHolder(id.dev, id.ino, begin, length)
			}
			return fail(&LockError{Path: hostpath, Begin: begin, Len: length, Pid: pid, Write: !readOnly})
		case err != nil:
			e.k.Warnf("etfs: %s: host file locking unavailable, not locked: %v", hostpath, err)
		}
	}
	d := &hostDev{id: id, refs: 1, Device: rumpblk.New(e.k, fd, rumpblk.Config{
		Path: hostpath, Group: "etfs " + name, Begin: begin, Size: size,
		ReadOnly: readOnly, Fallback: fallback, Missing: o.Missing,
	})}
	e.devs[id] = d
	return d, id.ino, nil
}

// LockError says that another writer (or, for a read-only registration,
// reader-excluding writer) holds a host lock on the window.
type LockError struct {
	Path  string
	Begin int64
	Len   int64 // 0: to the end of the file
	// Pid is the holder's process id where the host says it (for a
	// Linux OFD lock, found through /proc/PID/fdinfo); -1 when unknown.
	Pid   int32
	Write bool // whether a write lock was wanted
}

func (e *LockError) Error() string {
	holder := "another open file description (the host does not say which process)"
	switch {
	case e.Pid == int32(os.Getpid()):
		holder = fmt.Sprintf("this process (pid %d), through another registration", e.Pid)
	case e.Pid > 0:
		holder = fmt.Sprintf("process %d", e.Pid)
	}
	window := fmt.Sprintf("bytes %d to the end", e.Begin)
	if e.Len > 0 {
		window = fmt.Sprintf("bytes [%d, %d)", e.Begin, e.Begin+e.Len)
	}
	want := "read"
	if e.Write {
		want = "write"
	}
	return fmt.Sprintf("etfs: %s: cannot lock %s for %s: held by %s", e.Path, window, want, holder)
}

// Unwrap gives the errno: EBUSY.
func (e *LockError) Unwrap() error { return unix.EBUSY }

// normalizeKey checks a key and returns its canonical form: one leading
// slash, no repeated or trailing slashes.
func normalizeKey(s string) (string, error) {
	if !strings.HasPrefix(s, "/") || strings.IndexByte(s, 0) >= 0 {
		return "", unix.EINVAL
	}
	if len(s) >= vfs.PathMax {
		return "", unix.ENAMETOOLONG
	}
	var b strings.Builder
	for _, c := range strings.Split(s, "/") {
		switch {
		case c == "":
			continue
		case c == "." || c == "..":
			return "", unix.EINVAL
		case len(c) > vfs.NameMax:
			return "", unix.ENAMETOOLONG
		}
		b.WriteByte('/')
		b.WriteString(c)
	}
	if b.Len() == 0 {
		return "", unix.EINVAL // "/" is the root itself
	}
	return b.String(), nil
}

// publish replaces the table with a copy changed by f.
func (e *Etfs) publish(f func(keys map[string]*key)) {
	old := e.table.Load()
	keys := make(map[string]*key, len(old.keys)+1)
	for n, k := range old.keys {
		keys[n] = k
	}
	f(keys)
	t := &table{keys: keys, prefixes: map[string]bool{}, names: map[string]bool{}}
	for n := range keys {
		start := 1
		for i := 1; i <= len(n); i++ {
			if i == len(n) || n[i] == '/' {
				t.names[n[start:i]] = true
				start = i + 1
				if i < len(n) {
					t.prefixes[n[:i]] = true
				}
			}
		}
	}
	e.table.Store(t)
}

// mkdirParents makes the missing parent directories of key in the rumpfs
// root, best effort: whole-path lookups reach the key without them.
func (e *Etfs) mkdirParents(l *kernel.LWP, name string) {
	if l == nil {
		return
	}
	for i := 1; i < len(name); i++ {
		if name[i] == '/' {
			vfs.Mkdir(l, name[:i], 0o755)
		}
	}
}

// MayMatch implements vfs.EtfsResolver: only names that are components of
// some key can start a match.
func (e *Etfs) MayMatch(name string) bool {
	return e.table.Load().names[name]
}

// Resolve implements vfs.EtfsResolver: it matches the path being looked
// up, dirPath + "/" + cn.Name + "/" + cn.Rest, against the keys, the
// longest key whose components start the path winning. A key ending past
// cn.Name consumes the components of cn.Rest it spans.
func (e *Etfs) Resolve(l *kernel.LWP, dirPath string, cn *vfs.ComponentName) (*vfs.Vnode, bool, unix.Errno) {
	t := e.table.Load()
	if len(t.keys) == 0 || cn.Name == "." || cn.Name == ".." {
		return nil, false, 0
	}
	cand := dirPath + "/" + cn.Name
	var best *key
	bestUsed, used := 0, 0
	rest := cn.Rest
	for {
		if k := t.keys[cand]; k != nil {
			best, bestUsed = k, used
		}
		if !t.prefixes[cand] {
			break
		}
		i := used
		for i < len(rest) && rest[i] == '/' {
			i++
		}
		if i == len(rest) {
			break
		}
		j := strings.IndexByte(rest[i:], '/')
		if j < 0 {
			j = len(rest)
		} else {
			j += i
		}
		c := rest[i:j]
		if c == "." || c == ".." {
			break
		}
		cand += "/" + c
		used = j
	}
	if best == nil {
		return nil, false, 0
	}
	// A non-directory key followed by anything, even a slash, is
	// ENOTDIR here: Namei does not recompute the trailing-slash state
	// after a consuming lookup.
	if !best.typ.isDir() && bestUsed < len(rest) {
		return nil, true, unix.ENOTDIR
	}
	// A key is not a name rumpfs can unlink or rename over.
	if cn.IsLast && bestUsed == 0 && (cn.Op == vfs.DELETE || cn.Op == vfs.RENAME) {
		return nil, true, unix.EOPNOTSUPP
	}
	best.mu.Lock()
	defer best.mu.Unlock()
	if best.removed {
		return nil, false, 0
	}
	vfs.Vref(best.vp)
	cn.Consumed = bestUsed
	return best.vp, true, 0
}

// Remove unregisters key (rump_etfs_remove): ENOENT when it is not
// registered. Every vnode of the key is revoked, so open files on it
// become dead (I/O fails with EIO, never a crash); then the backing file
// is synced and closed once no other key shares it, releasing its host
// lock. Unmount file systems on a BLK key first: their device fails
// every later I/O with EIO.
func (e *Etfs) Remove(keyname string) error {
	name, err := normalizeKey(keyname)
	if err != nil {
		return unix.ENOENT
	}
	l, done := e.lwp()
	defer done()
	e.mu.Enter(l)
	defer e.mu.Exit()
	k := e.table.Load().keys[name]
	if k == nil {
		return unix.ENOENT
	}
	e.publish(func(keys map[string]*key) { delete(keys, name) })
	e.revoke(l, k, false)
	return nil
}

// revoke makes every vnode of k dead and releases its backing. Called
// with e.mu held, after k left the table.
func (e *Etfs) revoke(l *kernel.LWP, k *key, nosync bool) {
	k.mu.Lock()
	k.removed = true
	vps := make([]*vfs.Vnode, 0, len(k.vnodes))
	for vp := range k.vnodes {
		vps = append(vps, vp)
	}
	k.mu.Unlock()
	for _, vp := range vps {
		vfs.Vgone(l, vp)
	}
	vfs.Vrele(l, k.vp)
	if d := k.dev; d != nil {
		d.refs--
		if d.refs == 0 {
			delete(e.devs, d.id)
			if d.rdev != 0 {
				e.v.DetachDevice(d.rdev)
			}
			d.Close(l, nosync)
		}
	}
}

// shutdown is the kernel's halt hook: every key goes as with Remove, and
// every backing file is fsynced (unless RB_NOSYNC) and closed.
func (e *Etfs) shutdown(howto int) {
	l, done := e.lwp()
	defer done()
	e.mu.Enter(l)
	defer e.mu.Exit()
	e.halted = true
	keys := e.table.Load().keys
	e.publish(func(m map[string]*key) { clear(m) })
	for _, k := range keys {
		e.revoke(l, k, howto&kernel.RB_NOSYNC != 0)
	}
}

// KeyInfo describes a registration.
type KeyInfo struct {
	Key         string
	Host        string
	Type        Type
	Begin, Size int64 // the window; Size -1 for directory keys
	ReadOnly    bool
	Rdev        uint64 // BLK and CHR keys
}

// Keys lists the registrations, in no particular order.
func (e *Etfs) Keys() []KeyInfo {
	var out []KeyInfo
	for _, k := range e.table.Load().keys {
		ki := KeyInfo{Key: k.name, Host: k.host, Type: k.typ, Begin: k.begin, Size: k.size, ReadOnly: k.readOnly}
		if k.typ.isDir() {
			ki.Size = EndOff
		}
		if k.typ == BLK || k.typ == CHR {
			ki.Rdev = k.vp.Rdev
		}
		out = append(out, ki)
	}
	return out
}

// Device returns the device behind a REG, BLK or CHR key, or nil. It is
// the bio.Device a file system mounted from the key uses, and carries the
// fault-injection API.
func (e *Etfs) Device(keyname string) *rumpblk.Device {
	name, err := normalizeKey(keyname)
	if err != nil {
		return nil
	}
	if k := e.table.Load().keys[name]; k != nil && k.dev != nil {
		return k.dev.Device
	}
	return nil
}

// lwp makes a scheduled LWP of a fresh process for work etfs does on its
// own (registration, removal, halt), and returns how to release it.
func (e *Etfs) lwp() (*kernel.LWP, func()) {
	l, err := e.k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		return nil, func() {}
	}
	l.Schedule()
	return l, func() { e.k.ReleaseLWP(l) }
}

// hostCall runs a blocking host call with l's CPU given back.
func (e *Etfs) hostCall(l *kernel.LWP, f func() error) error {
	b := l.BlockBegin()
	defer l.BlockEnd(b)
	return f()
}

func pathError(op, path string, err error) error {
	return &os.PathError{Op: op, Path: path, Err: err}
}

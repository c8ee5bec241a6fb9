package vfs

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// File is an open file (struct file): a vnode, the open flags and the
// offset; or a pipe, with no vnode for pipe(2) and the FIFO's vnode for a
// FIFO. Descriptor tables share Files after dup and fork.
type File struct {
	Vnode *Vnode
	Flags int // O_* flags as opened (host numbering), without O_CLOEXEC

	refs   atomic.Int32
	offMu  kernel.Mutex
	offset int64
	status atomic.Int32 // the F_SETFL flags (O_APPEND, O_NONBLOCK)
	pipe   *pipe        // pipe(2) end or opened FIFO
}

// statusMask is what F_SETFL may change.
const statusMask = unix.O_APPEND | unix.O_NONBLOCK

func newFile(vp *Vnode, flags int) *File {
	f := &File{Vnode: vp, Flags: flags &^ unix.O_CLOEXEC}
	f.status.Store(int32(flags & statusMask))
	f.refs.Store(1)
	return f
}

// statusFlags returns the O_* flags now: as opened, with F_SETFL's.
func (f *File) statusFlags() int { return f.Flags&^statusMask | int(f.status.Load()) }

// fflags returns the VOP open flags (FREAD, FWRITE) of the file.
func (f *File) fflags() int { return OflagsToF(f.Flags) }

func (f *File) hold() { f.refs.Add(1) }

// drop releases one reference; the last closes the pipe end and the
// vnode.
func (f *File) drop(l *kernel.LWP) unix.Errno {
	if f.refs.Add(-1) != 0 {
		return 0
	}
	if f.pipe != nil {
		f.pipe.closeEnd(f.fflags())
	}
	if f.Vnode == nil {
		return 0
	}
	e := VOPClose(l, f.Vnode, f.fflags())
	Vrele(l, f.Vnode)
	return e
}

// fileTable is a descriptor table (struct filedesc), shared between
// processes forked without RFFDG/RFCFDG. cloexec keeps each descriptor's
// FD_CLOEXEC beside files.
type fileTable struct {
	mu      sync.Mutex
	files   []*File
	cloexec []bool
	users   atomic.Int32
}

// MaxFiles bounds a descriptor table: the highest RLIMIT_NOFILE.
const MaxFiles = kernel.MaxFiles

func (t *fileTable) get(fd int) (*File, unix.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.files) || t.files[fd] == nil {
		return nil, unix.EBADF
	}
	f := t.files[fd]
	f.hold()
	return f, 0
}

// alloc installs f at the lowest free descriptor from min up, below
// limit (EMFILE when there is none).
func (t *fileTable) alloc(f *File, min, limit int, cloexec bool) (int, unix.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fd := min
	for fd < len(t.files) && t.files[fd] != nil {
		fd++
	}
	if fd >= limit {
		return -1, unix.EMFILE
	}
	t.installLocked(fd, f, cloexec)
	return fd, 0
}

// installLocked puts f at fd, growing the table.
func (t *fileTable) installLocked(fd int, f *File, cloexec bool) {
	for len(t.files) <= fd {
		t.files = append(t.files, nil)
		t.cloexec = append(t.cloexec, false)
	}
	t.files[fd] = f
	t.cloexec[fd] = cloexec
}

func (t *fileTable) remove(fd int) (*File, unix.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.files) || t.files[fd] == nil {
		return nil, unix.EBADF
	}
	f := t.files[fd]
	t.files[fd] = nil
	t.cloexec[fd] = false
	return f, 0
}

// ProcFiles is the VFS's per-process state: descriptors, cwd and root. It
// implements kernel.ProcState.
type ProcFiles struct {
	v   *VFS
	fdt *fileTable

	mu    sync.Mutex
	cwd   *Vnode // referenced
	root  *Vnode // referenced; chroot confines lookups below it
	umask uint32
}

func (v *VFS) newProcFiles() *ProcFiles {
	t := &fileTable{}
	t.users.Store(1)
	Vref(v.rootVnode)
	Vref(v.rootVnode)
	return &ProcFiles{v: v, fdt: t, cwd: v.rootVnode, root: v.rootVnode, umask: 0o022}
}

// Fork implements kernel.ProcState.
func (pf *ProcFiles) Fork(l *kernel.LWP, flags int) (kernel.ProcState, error) {
	c := &ProcFiles{v: pf.v}
	switch {
	case flags&kernel.RFCFDG != 0:
		c.fdt = &fileTable{}
		c.fdt.users.Store(1)
	case flags&kernel.RFFDG != 0:
		c.fdt = &fileTable{}
		c.fdt.users.Store(1)
		pf.fdt.mu.Lock()
		c.fdt.files = make([]*File, len(pf.fdt.files))
		c.fdt.cloexec = slices.Clone(pf.fdt.cloexec)
		for i, f := range pf.fdt.files {
			if f != nil {
				f.hold()
				c.fdt.files[i] = f
			}
		}
		pf.fdt.mu.Unlock()
	default:
		c.fdt = pf.fdt
		pf.fdt.users.Add(1)
	}
	pf.mu.Lock()
	c.cwd, c.root, c.umask = pf.cwd, pf.root, pf.umask
	Vref(c.cwd)
	Vref(c.root)
	pf.mu.Unlock()
	return c, nil
}

// Exit implements kernel.ProcState: close every descriptor (when the table
// is not shared any more) and drop cwd and root.
func (pf *ProcFiles) Exit(l *kernel.LWP) {
	if pf.fdt.users.Add(-1) == 0 {
		pf.fdt.mu.Lock()
		files := pf.fdt.files
		pf.fdt.files, pf.fdt.cloexec = nil, nil
		pf.fdt.mu.Unlock()
		for _, f := range files {
			if f != nil {
				f.drop(l)
			}
		}
	}
	pf.mu.Lock()
	cwd, root := pf.cwd, pf.root
	pf.cwd, pf.root = nil, nil
	pf.mu.Unlock()
	if cwd != nil {
		Vrele(l, cwd)
	}
	if root != nil {
		Vrele(l, root)
	}
}

// NumFiles returns the number of open descriptors.
func (pf *ProcFiles) NumFiles() int {
	pf.fdt.mu.Lock()
	defer pf.fdt.mu.Unlock()
	n := 0
	for _, f := range pf.fdt.files {
		if f != nil {
			n++
		}
	}
	return n
}

// procFiles returns the VFS state of l's process.
func procFiles(l *kernel.LWP) *ProcFiles {
	pf, _ := l.Proc().State.(*ProcFiles)
	return pf
}

// setDirs makes cwd (and root, when not nil) the process's working and
// root directories, taking over one reference on each, and releases the
// old ones.
func (pf *ProcFiles) setDirs(l *kernel.LWP, cwd, root *Vnode) {
	pf.mu.Lock()
	oldCwd, oldRoot := pf.cwd, pf.root
	pf.cwd = cwd
	if root != nil {
		pf.root = root
	} else {
		oldRoot = nil
	}
	pf.mu.Unlock()
	Vrele(l, oldCwd)
	if oldRoot != nil {
		Vrele(l, oldRoot)
	}
}

// cwdRoot returns l's process cwd and root, referenced.
func (pf *ProcFiles) cwdRoot() (cwd, root *Vnode) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	Vref(pf.cwd)
	Vref(pf.root)
	return pf.cwd, pf.root
}

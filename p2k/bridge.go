package p2k

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// Options tune a Bridge. The zero value shows every file as owned by uid 0
// and gid 0; start from DefaultOptions to show owners as stored.
type Options struct {
	// ReadOnly serves a read-only mount: EROFS for every change, and
	// files of read-only mounts named by number (see nodeTable).
	ReadOnly bool
	// EntryTimeout, AttrTimeout and NegativeTimeout: 0 means the default
	// (1 h); negative means none. The host keeps what it learnt that
	// long, and its page cache across opens (FOPEN_KEEP_CACHE): it sees
	// every change made through the mount, and the kernel's other
	// clients tell it of theirs (Invalidate, InvalidateEntry).
	EntryTimeout, AttrTimeout, NegativeTimeout time.Duration
	// UID and GID, when not -1, are shown as owner and group of every
	// file (the uid= and gid= mount options).
	UID, GID int64
	// Umask, when not -1, clears permission bits of shown modes (umask=).
	Umask int32
	// Trace, when set, receives one line per request: time, kernel-side
	// pid and lid (read from the LWP and its proc), uid, the vnode
	// operation, the node's inode and the name, the errno, the duration.
	Trace io.Writer
	// DefaultPermissions says the host kernel checks permissions
	// (default_permissions): p2k then skips its own search and open
	// checks, which the host has made already. The VFS's checks on
	// changes still apply.
	DefaultPermissions bool
}

// DefaultOptions returns options that show files as stored.
func DefaultOptions() Options { return Options{UID: -1, GID: -1, Umask: -1} }

// Stats are a bridge's counters.
type Stats struct {
	Nodes           int    // FUSE nodes in the table, root included
	Lookups         int64  // lookup counts the host holds, root excluded
	Handles         int    // open file and directory handles
	LWPs            int    // pooled request LWPs
	PendingReleases int    // forgotten vnodes not yet released
	Requests        uint64 // requests served
}

func (s Stats) String() string {
	return fmt.Sprintf("p2k: %d nodes, %d lookups outstanding, %d handles, %d lwps, %d releases pending, %d requests",
		s.Nodes, s.Lookups, s.Handles, s.LWPs, s.PendingReleases, s.Requests)
}

// Bridge serves a vnode tree as a fuse.RawFileSystem.
type Bridge struct {
	fuse.RawFileSystem // ENOSYS for what is not served (locks, ioctl, fallocate, ...)

	k    *kernel.Kernel
	opts Options
	base *kernel.LWP // p2k's own process; request procs are its children

	nodes   nodeTable
	handles handles
	upool   ctxPool     // LWPs serving host processes
	kpool   ctxPool     // LWPs of proc0, for the host kernel's own requests
	creds   credCache   // the host kernel's requests
	callers callerCache // user processes' requests
	rel     *releaser
	relLWP  *kernel.LWP

	entryTTL, attrTTL, negTTL time.Duration
	openFlags, dirOpenFlags   uint32

	srv      atomic.Pointer[fuse.Server] // for notifications, once mounted
	requests atomic.Uint64
	traceMu  sync.Mutex
	closed   sync.Once
}

var _ fuse.RawFileSystem = (*Bridge)(nil)

// New makes a bridge serving root, whose reference it takes over, on
// kernel k.
func New(k *kernel.Kernel, root *vfs.Vnode, opts Options) (*Bridge, error) {
	if root == nil || root.Type != vfs.VDIR {
		return nil, fmt.Errorf("p2k: root must be a directory vnode")
	}
	base, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		return nil, fmt.Errorf("p2k: rfork: %w", err)
	}
	base.Proc().Comm = "p2k"
	relLWP, err := k.NewLWP(0)
	if err != nil {
		k.ReleaseLWP(base)
		return nil, fmt.Errorf("p2k: lwp for releases: %w", err)
	}
	b := &Bridge{
		RawFileSystem: fuse.NewDefaultRawFileSystem(),
		k:             k,
		opts:          opts,
		base:          base,
		relLWP:        relLWP,
	}
	// The host's caches stay right while every change either comes
	// through this mount, which the host applies to them itself, or is
	// announced (Invalidate): keep them, on read-write mounts too.
	def := time.Hour
	b.openFlags = fuse.FOPEN_KEEP_CACHE
	b.dirOpenFlags = fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_CACHE_DIR
	b.entryTTL = ttl(opts.EntryTimeout, def)
	b.attrTTL = ttl(opts.AttrTimeout, def)
	b.negTTL = ttl(opts.NegativeTimeout, def)
	b.nodes.init(root)
	b.nodes.weak = opts.ReadOnly
	b.handles.m = map[uint64]*handle{}
	b.rel = newReleaser(k, relLWP)
	return b, nil
}

func ttl(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// String implements fuse.RawFileSystem.
func (b *Bridge) String() string { return "p2k" }

// SetDebug implements fuse.RawFileSystem; go-fuse's own debug output
// covers the protocol.
func (b *Bridge) SetDebug(bool) {}

// Init implements fuse.RawFileSystem: the server is kept for Invalidate.
func (b *Bridge) Init(srv *fuse.Server) { b.srv.Store(srv) }

// Invalidate tells the host that vp's attributes and data changed other
// than through this bridge (a kernel client beside it: an fs-utils
// command, a sysproxy client), so that it drops what it cached of them
// (FUSE_NOTIFY_INVAL_INODE). A vnode the host does not know needs
// nothing. Call it after the change, never while serving a request of
// this bridge (the host may wait for that request to end).
func (b *Bridge) Invalidate(vp *vfs.Vnode) {
	if srv := b.srv.Load(); srv != nil {
		if id, ok := b.nodes.idOf(vp); ok {
			srv.InodeNotify(id, 0, -1)
		}
	}
}

// InvalidateEntry tells the host that name in directory dvp changed
// other than through this bridge (created, removed, renamed), so that it
// drops its entry or negative entry for it and the directory's cached
// attributes and listing (FUSE_NOTIFY_INVAL_ENTRY). As for Invalidate.
func (b *Bridge) InvalidateEntry(dvp *vfs.Vnode, name string) {
	if srv := b.srv.Load(); srv != nil {
		if id, ok := b.nodes.idOf(dvp); ok {
			srv.EntryNotify(id, name)
			srv.InodeNotify(id, 0, -1)
		}
	}
}

// OnUnmount implements fuse.RawFileSystem. The owner calls Close.
func (b *Bridge) OnUnmount() {}

// Stats returns the bridge's counters.
func (b *Bridge) Stats() Stats {
	b.handles.mu.Lock()
	nh := len(b.handles.m)
	b.handles.mu.Unlock()
	return Stats{
		Nodes:           int(b.nodes.count.Load()) + 1,
		Lookups:         b.nodes.lookups.Load(),
		Handles:         nh,
		LWPs:            b.upool.size() + b.kpool.size(),
		PendingReleases: b.rel.pending(),
		Requests:        b.requests.Load(),
	}
}

// Close releases everything the bridge holds: open handles (VOP_CLOSE),
// every node's vnode reference and the root's (VOP_INACTIVE runs), and the
// pooled LWPs and their processes. Call it after the file system was
// unmounted and the server stopped, before the kernel reboots; a second
// call does nothing.
func (b *Bridge) Close() {
	b.closed.Do(func() {
		b.rel.close()
		l := b.relLWP
		for _, h := range b.handles.drain() {
			b.closeHandle(l, h)
		}
		for _, vp := range b.nodes.drain() {
			kernelVrele(l, vp)
		}
		kernelVrele(l, b.nodes.root.vp)
		for _, c := range b.upool.takeAll() {
			b.k.ReleaseLWP(c.l)
		}
		for _, c := range b.kpool.takeAll() {
			b.k.ReleaseLWP(c.l)
		}
		b.k.ReleaseLWP(b.relLWP)
		b.k.ReleaseLWP(b.base)
		b.callers.close()
	})
}

// begin takes a context for a request from h's caller: the caller's pid
// and thread id on the LWP, the caller's cred, cancel as the LWP's
// interrupt channel. On failure to make an LWP it returns nil.
func (b *Bridge) begin(h *fuse.InHeader, cancel <-chan struct{}) *ctx {
	kern := h.Pid == 0
	var c *ctx
	if kern {
		c = b.kpool.get()
	} else {
		c = b.upool.get()
	}
	if c == nil {
		var err error
		if c, err = b.newCtx(kern); err != nil {
			b.k.Warnf("p2k: no LWP for a request: %v", err)
			return nil
		}
	}
	var pid uint32
	var cred *kernel.Cred
	if kern {
		cred = c.cred
		if cred == nil || h.Uid != c.uid || h.Gid != c.gid {
			cred = b.creds.get(h.Uid, h.Gid)
		}
	} else {
		pid, cred = b.callers.get(h.Pid, h.Uid, h.Gid)
		if h.Pid != c.tid || pid != c.pid {
			c.tid, c.pid = h.Pid, pid
			kernel.AllBetsAreOffSetID(c.l, int32(pid), int32(h.Pid))
		}
	}
	if cred != c.cred {
		c.uid, c.gid, c.cred = h.Uid, h.Gid, cred
		c.l.SetCred(cred)
	}
	c.l.Cancel = cancel
	c.ino = 0
	if b.opts.Trace != nil {
		c.start = time.Now()
	}
	return c
}

// done ends a request begun with begin: it writes the trace line, returns
// the context and turns the errno into a FUSE status. Pseudo errors never
// leave the kernel.
func (b *Bridge) done(c *ctx, op string, name string, e unix.Errno) fuse.Status {
	b.requests.Add(1)
	if c == nil {
		return fuse.EIO
	}
	e = kernel.HostErrno(e)
	if b.opts.Trace != nil {
		b.trace(c, op, name, e)
	}
	c.l.Cancel = nil
	if c.kern {
		b.kpool.put(c)
	} else {
		b.upool.put(c)
	}
	return fuse.Status(e)
}

// trace writes one line: time pid= lid= uid= op= ino= [name=] err= dur=.
func (b *Bridge) trace(c *ctx, op, name string, e unix.Errno) {
	now := time.Now()
	p := c.line[:0]
	p = now.AppendFormat(p, "15:04:05.000000")
	p = append(p, " pid="...)
	p = strconv.AppendInt(p, int64(c.l.Proc().Pid()), 10)
	p = append(p, " lid="...)
	p = strconv.AppendInt(p, int64(c.l.Lid()), 10)
	p = append(p, " uid="...)
	p = strconv.AppendUint(p, uint64(c.l.Cred().Uid()), 10)
	p = append(p, " op="...)
	p = append(p, op...)
	p = append(p, " ino="...)
	p = strconv.AppendUint(p, c.ino, 10)
	if name != "" {
		p = append(p, " name="...)
		p = strconv.AppendQuote(p, name)
	}
	p = append(p, " err="...)
	if e == 0 {
		p = append(p, '0')
	} else if s := unix.ErrnoName(e); s != "" {
		p = append(p, s...)
	} else {
		p = strconv.AppendInt(p, int64(e), 10)
	}
	p = append(p, " dur="...)
	p = strconv.AppendFloat(p, float64(now.Sub(c.start))/1e3, 'f', 1, 64)
	p = append(p, "us\n"...)
	c.line = p
	b.traceMu.Lock()
	b.opts.Trace.Write(p)
	b.traceMu.Unlock()
}

// pin returns node id's vnode referenced (see nodeTable.get) and notes its
// inode for the trace.
func (b *Bridge) pin(c *ctx, id uint64) (*vfs.Vnode, unix.Errno) {
	vp, e := b.nodes.get(c.l, id)
	if e == 0 && c.ino == 0 {
		c.ino = vp.Ino
	}
	return vp, e
}

// waitReleases waits until forgotten nodes' vnodes were released (tests).
func (b *Bridge) waitReleases() { b.rel.wait() }

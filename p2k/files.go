package p2k

import (
	"sync"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// openVnode opens vp for open(2) flags through the vn layer and makes a
// handle, which takes over the caller's reference on vp. On failure the
// caller keeps it. how is vfs.VnOpen's, plus the bridge's own permission
// and read-only settings.
func (b *Bridge) openVnode(c *ctx, vp *vfs.Vnode, flags uint32, how int) (uint64, unix.Errno) {
	if b.opts.ReadOnly {
		how |= vfs.VnOpenReadOnly
	}
	if b.opts.DefaultPermissions {
		how |= vfs.VnOpenClientChecked
	}
	ff, e := vfs.VnOpen(c.l, vp, int(flags), how)
	if e != 0 {
		return 0, e
	}
	return b.handles.add(&handle{vp: vp, fflags: ff}), 0
}

// Open implements fuse.RawFileSystem (VOP_OPEN). The host keeps its page
// cache across opens (see Options).
func (b *Bridge) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "open", "", b.open(c, in, out, false))
}

// OpenDir implements fuse.RawFileSystem (VOP_OPEN of a directory).
func (b *Bridge) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "open", "", b.open(c, in, out, true))
}

func (b *Bridge) open(c *ctx, in *fuse.OpenIn, out *fuse.OpenOut, dir bool) (e unix.Errno) {
	if e = enter(c); e != 0 {
		return e
	}
	defer vfs.Leave(c.l, &e)
	vp, e := b.pin(c, in.NodeId)
	if e != 0 {
		return e
	}
	flags := in.Flags
	if dir {
		flags |= unix.O_DIRECTORY
	}
	how := 0
	if in.Mode&openKillSUIDGID != 0 {
		how = vfs.VnOpenKillPriv
	}
	fh, e := b.openVnode(c, vp, flags, how)
	if e != 0 {
		vfs.Vrele(c.l, vp)
		return e
	}
	out.Fh = fh
	out.OpenFlags = b.openFlags
	if dir {
		out.OpenFlags = b.dirOpenFlags
	}
	return 0
}

// Release implements fuse.RawFileSystem (VOP_CLOSE).
func (b *Bridge) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	c := b.begin(&in.InHeader, cancel)
	b.done(c, "close", "", b.release(c, in.Fh))
}

// ReleaseDir implements fuse.RawFileSystem (VOP_CLOSE of a directory).
func (b *Bridge) ReleaseDir(in *fuse.ReleaseIn) {
	c := b.begin(&in.InHeader, nil)
	b.done(c, "close", "", b.release(c, in.Fh))
}

func (b *Bridge) release(c *ctx, fh uint64) (e unix.Errno) {
	h := b.handles.remove(fh)
	if h == nil {
		return unix.EBADF
	}
	if e = enter(c); e != 0 {
		return e
	}
	defer vfs.Leave(c.l, &e)
	c.ino = h.vp.Ino
	defer vfs.Vrele(c.l, h.vp)
	return vfs.VOPClose(c.l, h.vp, h.fflags)
}

// Flush implements fuse.RawFileSystem. Data goes to the kernel on every
// write, so close(2) has nothing to push.
func (b *Bridge) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	b.requests.Add(1)
	return fuse.OK
}

// readResult hands go-fuse the bytes a read left in its buffer; pooled so
// that a read allocates nothing.
type readResult struct{ data []byte }

var readResults = sync.Pool{New: func() any { return new(readResult) }}

func (r *readResult) Bytes([]byte) ([]byte, fuse.Status) { return r.data, fuse.OK }
func (r *readResult) Size() int                          { return len(r.data) }
func (r *readResult) Done() {
	r.data = nil
	readResults.Put(r)
}

// loanResult hands go-fuse the bytes a driver lent. As a vectored result
// (Slices) it is written straight from the loan, and go-fuse calls Done
// only after the reply went out: then the loan goes back to its lender.
type loanResult struct {
	one    [1][]byte
	lender kernel.Lender
}

var loanResults = sync.Pool{New: func() any { return new(loanResult) }}

func (r *loanResult) Bytes([]byte) ([]byte, fuse.Status) { return r.one[0], fuse.OK }
func (r *loanResult) Slices() ([][]byte, fuse.Status)    { return r.one[:], fuse.OK }
func (r *loanResult) Size() int                          { return len(r.one[0]) }
func (r *loanResult) Done() {
	r.lender.Unlend(r.one[0])
	r.one[0], r.lender = nil, nil
	loanResults.Put(r)
}

// Read implements fuse.RawFileSystem (VOP_READ straight into go-fuse's
// reply buffer, or the driver's own bytes when it lends them: see
// kernel.UioSetupLend).
func (b *Bridge) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	c := b.begin(&in.InHeader, cancel)
	data, lender, e := b.read(c, in, buf)
	if st := b.done(c, "read", "", e); st != fuse.OK {
		if lender != nil {
			lender.Unlend(data)
		}
		return nil, st
	}
	if lender != nil {
		r := loanResults.Get().(*loanResult)
		r.one[0], r.lender = data, lender
		return r, fuse.OK
	}
	r := readResults.Get().(*readResult)
	r.data = data
	return r, fuse.OK
}

func (b *Bridge) read(c *ctx, in *fuse.ReadIn, buf []byte) (data []byte, lender kernel.Lender, e unix.Errno) {
	if e = enter(c); e != 0 {
		return nil, nil, e
	}
	defer vfs.Leave(c.l, &e)
	if in.Offset > 1<<63-1 {
		return nil, nil, unix.EINVAL
	}
	vp, e := b.pin(c, in.NodeId)
	if e != 0 {
		return nil, nil, e
	}
	defer vfs.Vrele(c.l, vp)
	buf = buf[:min(int(in.Size), len(buf))]
	u := kernel.UioSetupLend(buf, int64(in.Offset))
	e = vfs.VOPRead(c.l, vp, u, 0)
	data, lender = kernel.UioLent(u)
	if n := len(buf) - kernel.UioFree(u); data == nil {
		data = buf[:n]
	}
	if len(data) > 0 {
		e = 0 // a short read reports its count
	}
	return data, lender, e
}

// Write implements fuse.RawFileSystem (VOP_WRITE).
func (b *Bridge) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	c := b.begin(&in.InHeader, cancel)
	n, e := b.write(c, in, data, nil)
	return uint32(n), b.done(c, "write", "", e)
}

// Writev implements fuse.RawFileSystem (VOP_WRITE from go-fuse's request
// buffers, however many).
func (b *Bridge) Writev(cancel <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	c := b.begin(&in.InHeader, cancel)
	var n int
	var e unix.Errno
	if len(data) == 1 {
		n, e = b.write(c, in, data[0], nil)
	} else {
		n, e = b.write(c, in, nil, data)
	}
	return uint32(n), b.done(c, "write", "", e)
}

// write writes one buffer, or several when many is set.
func (b *Bridge) write(c *ctx, in *fuse.WriteIn, one []byte, many [][]byte) (n int, e unix.Errno) {
	if e = enter(c); e != 0 {
		return 0, e
	}
	defer vfs.Leave(c.l, &e)
	if in.Offset > 1<<63-1 {
		return 0, unix.EFBIG
	}
	vp, e := b.pin(c, in.NodeId)
	if e != 0 {
		return 0, e
	}
	defer vfs.Vrele(c.l, vp)
	if b.opts.ReadOnly {
		return 0, unix.EROFS
	}
	u := kernel.UioSetup(one, int64(in.Offset), kernel.UioWrite)
	total := len(one)
	if many != nil {
		c.iov = append(c.iov[:0], many...)
		total = 0
		for _, p := range many {
			total += len(p)
		}
		u.Iov, u.Resid = c.iov, total
	}
	ioflag := 0
	if in.Flags&(unix.O_SYNC|unix.O_DSYNC) != 0 {
		ioflag |= vfs.IO_SYNC
	}
	e = vfs.VOPWrite(c.l, vp, u, ioflag)
	n = total - kernel.UioFree(u)
	clear(c.iov)
	if n > 0 {
		e = 0
		// A writer without CAP_FSETID (FUSE_HANDLE_KILLPRIV_V2); the
		// VFS already did it for non-root callers.
		if in.WriteFlags&writeKillSUIDGID != 0 && c.l.Cred().IsRoot() {
			e = vfs.VOPKillPriv(c.l, vp)
		}
	}
	return n, e
}

// Fsync implements fuse.RawFileSystem (VOP_FSYNC).
func (b *Bridge) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "fsync", "", b.fsync(c, in))
}

// FsyncDir implements fuse.RawFileSystem (VOP_FSYNC of a directory).
func (b *Bridge) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "fsync", "", b.fsync(c, in))
}

func (b *Bridge) fsync(c *ctx, in *fuse.FsyncIn) unix.Errno {
	return b.onNode(c, in.NodeId, func(vp *vfs.Vnode) (e unix.Errno) {
		flags := vfs.FSYNC_WAIT
		if in.FsyncFlags&1 != 0 { // FUSE_FSYNC_FDATASYNC
			flags |= vfs.FSYNC_DATAONLY
		}
		return vfs.VOPFsync(c.l, vp, flags, 0, 0)
	})
}

// Lseek implements fuse.RawFileSystem: SEEK_DATA and SEEK_HOLE through
// VOP_SEEK (the host handles the other whences itself).
func (b *Bridge) Lseek(cancel <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) fuse.Status {
	c := b.begin(&in.InHeader, cancel)
	return b.done(c, "seek", "", b.lseek(c, in, out))
}

func (b *Bridge) lseek(c *ctx, in *fuse.LseekIn, out *fuse.LseekOut) unix.Errno {
	switch {
	case c == nil:
		return unix.EIO
	case in.Whence != unix.SEEK_DATA && in.Whence != unix.SEEK_HOLE:
		return unix.EINVAL
	case in.Offset > 1<<63-1:
		return unix.ENXIO
	}
	return b.onNode(c, in.NodeId, func(vp *vfs.Vnode) unix.Errno {
		off, e := vfs.VOPSeek(c.l, vp, int64(in.Offset), int(in.Whence))
		if e != 0 {
			return e
		}
		out.Offset = uint64(off)
		return 0
	})
}

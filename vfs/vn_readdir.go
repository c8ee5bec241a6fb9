package vfs

import (
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// The directory iterator: a driver's VOP_READDIR hands each entry through
// EmitDirent straight to the client's sink, with no byte records in
// between unless the client wants bytes (Getdents).

// A DirentSink takes directory entries. Dirent gets the entry's name
// (valid only during the call), inode number, DT_* type and next, the
// cookie of the entry after it (d_off). It returns false to stop before
// this entry, which the next read from that cookie returns again.
//
// Dirent runs inside VOP_READDIR, with the directory and the namespace
// locked: it must not call into the VFS. Work per entry that needs VOPs
// (READDIRPLUS attributes) is done after VnReaddir returns.
type DirentSink interface {
	Dirent(name string, ino uint64, dtype uint8, next uint64) bool
}

// DirentFunc is a DirentSink made of a function (the closure escapes:
// clients on hot paths implement DirentSink on a long-lived value).
type DirentFunc func(name string, ino uint64, dtype uint8, next uint64) bool

// Dirent implements DirentSink.
func (f DirentFunc) Dirent(name string, ino uint64, dtype uint8, next uint64) bool {
	return f(name, ino, dtype, next)
}

// VnReaddir reads directory vp from cookie off into sink until the sink
// or the directory ends. It returns the cookie to read on from (that of
// the first entry the sink refused, or the end), and eof when the
// directory ended.
func VnReaddir(l *kernel.LWP, vp *Vnode, off int64, sink DirentSink) (next int64, eof bool, e unix.Errno) {
	if vp.Type != VDIR {
		return off, false, unix.ENOTDIR
	}
	u := kernel.UioSetup(nil, off, kernel.UioRead)
	u.Sink = sink
	eof, e = VOPReaddir(l, vp, u)
	next = u.Offset
	kernel.UioFree(u)
	return next, eof, e
}

// emitToSink is EmitDirent for a uio whose Sink is set.
func emitToSink(uio *kernel.Uio, ino, next uint64, dtype uint8, name string) (bool, unix.Errno) {
	s, ok := uio.Sink.(DirentSink)
	if !ok {
		return false, unix.EINVAL
	}
	if !s.Dirent(name, ino, dtype, next) {
		return false, 0
	}
	uio.Offset = int64(next)
	return true, 0
}

// direntWriter is the sink Getdents serialises into: records in the
// format EmitDirent documents, into buf.
type direntWriter struct {
	buf []byte
	n   int
}

var direntWriters = sync.Pool{New: func() any { return new(direntWriter) }}

func (w *direntWriter) Dirent(name string, ino uint64, dtype uint8, next uint64) bool {
	m := putDirent(w.buf[w.n:], ino, next, dtype, name)
	w.n += m
	return m > 0
}

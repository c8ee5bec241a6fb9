package vfs

import (
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Pipe sizes: the buffer (NetBSD's BIG_PIPE_SIZE) and PIPE_BUF, the
// largest write that is never interleaved with another.
const (
	PipeSize = 64 << 10
	PipeBuf  = 512
)

// pipe is a pipe's buffer and ends (sys_pipe.c), shared by the two Files
// of pipe(2) and by every open of a FIFO (fifofs): the VFS keeps one per
// open FIFO vnode, so the FIFOs of every driver behave alike.
type pipe struct {
	mu               sync.Mutex
	buf              []byte // ring, allocated on the first write
	r, n             int    // read position and bytes buffered
	readers, writers int    // open ends
	rgen, wgen       uint64 // ends ever opened, for FIFO opens to wait on
	// changed is closed and replaced at every change, waking waiters.
	changed chan struct{}

	// For fstat of pipe(2): its maker and birth.
	uid, gid uint32
	born     Timespec

	fifo *Vnode // the FIFO this is the buffer of, nil for pipe(2)
}

func newPipe(c *kernel.Cred) *pipe {
	return &pipe{changed: make(chan struct{}), uid: c.Uid(), gid: c.Gid(), born: Now()}
}

func (p *pipe) signalLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitLocked waits for a change off CPU, p.mu held on entry and return;
// EINTR when the caller gives up.
func (p *pipe) waitLocked(l *kernel.LWP) unix.Errno {
	ch := p.changed
	p.mu.Unlock()
	d := l.BlockBegin()
	var e unix.Errno
	select {
	case <-ch:
	case <-l.Cancel:
		e = unix.EINTR
	}
	l.BlockEnd(d)
	p.mu.Lock()
	return e
}

// openEnd counts a new end of the given FREAD/FWRITE flags.
func (p *pipe) openEnd(ff int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.openEndLocked(ff)
}

func (p *pipe) openEndLocked(ff int) {
	if ff&FREAD != 0 {
		p.readers++
		p.rgen++
	}
	if ff&FWRITE != 0 {
		p.writers++
		p.wgen++
	}
	p.signalLocked()
}

// closeEnd drops an end; a FIFO's buffer is forgotten with its last end.
func (p *pipe) closeEnd(ff int) {
	p.mu.Lock()
	if ff&FREAD != 0 {
		p.readers--
	}
	if ff&FWRITE != 0 {
		p.writers--
	}
	p.signalLocked()
	last := p.readers == 0 && p.writers == 0
	p.mu.Unlock()
	if last && p.fifo != nil {
		v := p.fifo.Mount.vfs
		v.fifoMu.Lock()
		// A new open may have revived it in between.
		p.mu.Lock()
		if v.fifos[p.fifo] == p && p.readers == 0 && p.writers == 0 {
			delete(v.fifos, p.fifo)
		}
		p.mu.Unlock()
		v.fifoMu.Unlock()
	}
}

func (p *pipe) rw(l *kernel.LWP, buf []byte, dir kernel.UioRW, nonblock bool) (int, unix.Errno) {
	if dir == kernel.UioRead {
		return p.read(l, buf, nonblock)
	}
	return p.write(l, buf, nonblock)
}

// read takes what is buffered, waiting for something while a writer is
// left: 0 at end of file (no writers), EAGAIN for a non-blocking read of
// an empty pipe.
func (p *pipe) read(l *kernel.LWP, buf []byte, nonblock bool) (int, unix.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.n == 0 {
		if p.writers == 0 {
			return 0, 0
		}
		if nonblock {
			return 0, unix.EAGAIN
		}
		if e := p.waitLocked(l); e != 0 {
			return 0, e
		}
	}
	n := 0
	for n < len(buf) && p.n > 0 {
		end := min(p.r+p.n, len(p.buf))
		c := copy(buf[n:], p.buf[p.r:end])
		n += c
		p.r = (p.r + c) % len(p.buf)
		p.n -= c
	}
	if p.n == 0 {
		p.r = 0
	}
	p.signalLocked()
	return n, 0
}

// write puts all of buf in the pipe, waiting for room; a write of at most
// PipeBuf bytes goes in at once. EPIPE when no reader is left (before
// anything was written), EAGAIN for a non-blocking write with no room.
// A partial write reports its count.
func (p *pipe) write(l *kernel.LWP, buf []byte, nonblock bool) (int, unix.Errno) {
	p.mu.Lock()
	defer p.mu.Unlock()
	done := 0
	for done < len(buf) {
		if p.readers == 0 {
			if done > 0 {
				return done, 0
			}
			return 0, unix.EPIPE
		}
		if p.buf == nil {
			p.buf = make([]byte, PipeSize)
		}
		room := len(p.buf) - p.n
		need := 1
		if len(buf) <= PipeBuf {
			need = len(buf) - done
		}
		if room < need {
			if nonblock {
				if done > 0 {
					return done, 0
				}
				return 0, unix.EAGAIN
			}
			if e := p.waitLocked(l); e != 0 {
				if done > 0 {
					return done, 0
				}
				return 0, e
			}
			continue
		}
		for room > 0 && done < len(buf) {
			w := (p.r + p.n) % len(p.buf)
			c := copy(p.buf[w:min(len(p.buf), w+room)], buf[done:])
			done += c
			p.n += c
			room -= c
		}
		p.signalLocked()
	}
	return done, 0
}

// stat fills st for fstat of pipe(2): a FIFO owned by its maker, its
// size what is buffered.
func (p *pipe) stat(st *Vattr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*st = Vattr{Type: VFIFO, Mode: 0o600, Nlink: 1, Uid: p.uid, Gid: p.gid, Size: int64(p.n),
		Atime: p.born, Mtime: p.born, Ctime: p.born, Birthtime: p.born, Blocksize: PipeSize}
}

// fifoOpen opens a FIFO vnode as a pipe end (fifo_open): a reader waits
// for a writer and a writer for a reader, unless O_NONBLOCK: then a
// reader goes on and a writer with no reader is ENXIO. O_RDWR opens both
// ends and never waits.
func (v *VFS) fifoOpen(l *kernel.LWP, vp *Vnode, flags int) (*pipe, unix.Errno) {
	ff := OflagsToF(flags)
	v.fifoMu.Lock()
	if v.fifos == nil {
		v.fifos = map[*Vnode]*pipe{}
	}
	p := v.fifos[vp]
	if p == nil {
		p = newPipe(l.Cred())
		p.fifo = vp
		v.fifos[vp] = p
	}
	p.mu.Lock()
	nonblock := flags&unix.O_NONBLOCK != 0
	if ff == FWRITE && nonblock && p.readers == 0 {
		if p.writers == 0 {
			delete(v.fifos, vp)
		}
		p.mu.Unlock()
		v.fifoMu.Unlock()
		return nil, unix.ENXIO
	}
	v.fifoMu.Unlock()
	p.openEndLocked(ff)
	if ff == FREAD|FWRITE || nonblock {
		p.mu.Unlock()
		return p, 0
	}
	// Wait for the other end to have been opened (it may have closed
	// again since: a writer that came and went still ends the wait).
	other, gen := &p.wgen, p.wgen
	if ff == FWRITE {
		other, gen = &p.rgen, p.rgen
	}
	for (ff == FREAD && p.writers == 0 || ff == FWRITE && p.readers == 0) && *other == gen {
		if e := p.waitLocked(l); e != 0 {
			p.mu.Unlock()
			p.closeEnd(ff)
			return nil, e
		}
	}
	p.mu.Unlock()
	return p, 0
}

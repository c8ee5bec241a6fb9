package rumpblk

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// Device is a window [begin, begin+size) of an open host file or block
// device. Block I/O through the bio.Device methods is pread/pwrite at
// begin+offset, in whole sectors; the CPU is given back around every host
// call. Who opens the host file decides how it is shared (etfs shares one
// Device among keys naming the same file, window and mode).
type Device struct {
	k        *kernel.Kernel
	path     string
	fd       int
	begin    int64
	size     int64 // the device's size: present bytes, then missing ones
	present  int64 // bytes the host file holds; reads past them fail EIO
	readOnly bool
	// missingSaid: the first read of missing bytes has been logged.
	missingSaid atomic.Bool
	// fallback is set when a read-write registration got a read-only
	// descriptor because the host refused O_RDWR (rumpblk's fallback):
	// opening for write then fails with EACCES rather than EROFS.
	fallback   bool
	sectorSize int

	rw     kernel.RWLock // shared across host I/O, exclusive to close
	closed bool          // under rw

	faults faults
	rec    atomic.Pointer[Recorder] // the write recorder, when set
	ev     [2]devCounters           // the device's own, and the global "rumpblk"

	// Loans (lend.go): the read-only mapping, made once, unmapped at
	// close.
	mapOnce sync.Once
	mapping []byte
	window  []byte
}

// Config describes the window New makes a device of.
type Config struct {
	// Path names the host file in messages.
	Path string
	// Group names the device's event counters (kernel.EvcntAttach).
	Group string
	// Begin and Size are the window in the host file, checked by the
	// caller against the file's size.
	Begin, Size int64
	// ReadOnly refuses writes (EROFS); the descriptor may be O_RDONLY.
	ReadOnly bool
	// Missing bytes follow the window on the device but are not read
	// from the host (a truncated image, whose file system spans more
	// than there is): reads touching them fail with EIO. Read-only
	// devices only.
	Missing int64
	// Fallback says a read-write open was refused by the host and the
	// descriptor is read-only: writes are then EACCES for callers that
	// ask Fallback.
	Fallback bool
}

type devCounters struct {
	reqs, read, written, failed, lent *kernel.EvCnt
}

func attachCounters(k *kernel.Kernel, group string) devCounters {
	return devCounters{
		reqs:    k.EvcntAttach(group, "I/O reqs"),
		read:    k.EvcntAttach(group, "bytes read"),
		written: k.EvcntAttach(group, "bytes written"),
		failed:  k.EvcntAttach(group, "injected faults"),
		lent:    k.EvcntAttach(group, "bytes lent"),
	}
}

var _ bio.Device = (*Device)(nil)

// sectorSize is 512 bytes unless RUMP_BLKSECTSHIFT says otherwise.
func envSectorSize() int {
	if v, ok := os.LookupEnv("RUMP_BLKSECTSHIFT"); ok {
		if s, err := strconv.Atoi(v); err == nil && s >= 9 && s <= 16 {
			return 1 << s
		}
	}
	return bio.DevBSize
}

// New makes a device of the window c of the open host file fd, which it
// owns from now on (Close closes it). Fault injection starts as
// RUMP_BLKFAIL says, the sector size as RUMP_BLKSECTSHIFT says.
func New(k *kernel.Kernel, fd int, c Config) *Device {
	d := &Device{
		k: k, path: c.Path, fd: fd, begin: c.Begin, size: c.Size + c.Missing, present: c.Size,
		readOnly: c.ReadOnly, fallback: c.Fallback, sectorSize: envSectorSize(),
	}
	d.ev[0] = attachCounters(k, c.Group)
	d.ev[1] = attachCounters(k, "rumpblk")
	d.faults.tornKeep, d.faults.deadAfter = -1, -1
	d.faults.initFromEnv()
	return d
}

// Path is the host path the device was registered from.
func (d *Device) Path() string { return d.path }

// Begin is the window's offset in the host file.
func (d *Device) Begin() int64 { return d.begin }

// Size is the window size in bytes.
func (d *Device) Size() int64 { return d.size }

// SectorSize is 512 unless RUMP_BLKSECTSHIFT was set at registration.
func (d *Device) SectorSize() int { return d.sectorSize }

// ReadOnly reports whether writes are refused (a read-only registration,
// or a host file that could not be opened for writing).
func (d *Device) ReadOnly() bool { return d.readOnly }

// Fallback reports whether the device is read-only only because the host
// refused to open the file for writing (Config.Fallback).
func (d *Device) Fallback() bool { return d.fallback }

func (d *Device) aligned(n int, off int64) bool {
	ss := int64(d.sectorSize)
	return off >= 0 && off%ss == 0 && int64(n)%ss == 0
}

// ReadAt reads whole sectors at off in the window. Reading at or past the
// end returns 0 bytes, and a read straddling it is cut short. EINVAL for an
// unaligned request, EIO for a host error or an injected fault.
func (d *Device) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if !d.aligned(len(p), off) {
		return 0, unix.EINVAL
	}
	return d.ReadBytes(l, p, off)
}

// WriteAt writes whole sectors at off in the window: EROFS on a read-only
// device, ENOSPC at or past the end, and a write straddling the end is cut
// short (the count says how much went, with ENOSPC).
func (d *Device) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if d.readOnly {
		return 0, unix.EROFS
	}
	if !d.aligned(len(p), off) {
		return 0, unix.EINVAL
	}
	n, e := d.WriteBytes(l, p, off)
	if e == 0 && n < len(p) {
		e = unix.ENOSPC
	}
	return n, e
}

// Sync makes written data durable on the host (fdatasync where the host
// has it, fsync elsewhere).
func (d *Device) Sync(l *kernel.LWP) unix.Errno {
	d.rw.Enter(l, false)
	defer d.rw.Exit(false)
	if d.closed {
		return unix.EIO
	}
	if d.readOnly {
		return 0
	}
	b := l.BlockBegin()
	err := Datasync(d.fd)
	l.BlockEnd(b)
	if err != nil {
		d.k.Warnf("rumpblk: %s: fdatasync: %v", d.path, err)
		return kernel.ToErrno(err)
	}
	if r := d.rec.Load(); r != nil {
		r.Barrier()
	}
	return 0
}

// ReadBytes reads at byte offset off in the window, cut at its end: any
// offset and length (a REG key's file I/O), where ReadAt wants sectors.
func (d *Device) ReadBytes(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if off >= d.size {
		return 0, 0
	}
	p = p[:min(int64(len(p)), d.size-off)]
	if off+int64(len(p)) > d.present {
		if !d.missingSaid.Swap(true) {
			d.k.Warnf("rumpblk: %s: read at %d: past the end of the truncated image (%d bytes of %d there): EIO", d.path, d.begin+off, d.present, d.size)
		}
		return 0, unix.EIO
	}
	return d.transfer(l, p, off, false)
}

// WriteBytes writes at byte offset off in the window, cut at its end;
// ENOSPC when nothing fits. Any offset and length, as ReadBytes.
func (d *Device) WriteBytes(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if d.readOnly {
		return 0, unix.EROFS
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	if off >= d.present && len(p) > 0 {
		return 0, unix.ENOSPC
	}
	return d.transfer(l, p[:min(int64(len(p)), d.present-off)], off, true)
}

// transfer moves p to or from the host file at window offset off (checked
// by the caller): one request, fault injection, the CPU given back around
// the host call, and the counters.
func (d *Device) transfer(l *kernel.LWP, p []byte, off int64, write bool) (int, unix.Errno) {
	d.rw.Enter(l, false)
	defer d.rw.Exit(false)
	if d.closed {
		return 0, unix.EIO
	}
	for _, c := range d.ev {
		c.reqs.Inc()
	}
	failed, keep := d.faults.fail(write, off, len(p))
	if failed {
		for _, c := range d.ev {
			c.failed.Inc()
		}
		if keep == 0 {
			return 0, unix.EIO
		}
		p = p[:keep] // a torn write: this much lands, then EIO
	}
	op, what := unix.Pread, "pread"
	if write {
		op, what = unix.Pwrite, "pwrite"
	}
	b := l.BlockBegin()
	n, err := HostIO(op, d.fd, p, d.begin+off)
	l.BlockEnd(b)
	if r := d.rec.Load(); write && r != nil {
		r.Write(off, p[:n])
	}
	for _, c := range d.ev {
		if write {
			c.written.Add(uint64(n))
		} else {
			c.read.Add(uint64(n))
		}
	}
	if err != nil {
		d.k.Warnf("rumpblk: %s: %s at %d: %v", d.path, what, d.begin+off, err)
		if write {
			return n, kernel.ToErrno(err)
		}
		return n, unix.EIO
	}
	if failed {
		return n, unix.EIO
	}
	return n, 0
}

// HostIO runs pread or pwrite on fd until p is done, the file ends (a host
// file shrunk since it was opened) or an error other than EINTR.
func HostIO(op func(int, []byte, int64) (int, error), fd int, p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := op(fd, p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			break
		}
		done += n
	}
	return done, nil
}

// Close fsyncs (unless nosync or read-only) and closes the host
// descriptor, which drops any host lock taken on it. Later I/O fails with
// EIO, and a second Close does nothing.
func (d *Device) Close(l *kernel.LWP, nosync bool) {
	d.rw.Enter(l, true)
	defer d.rw.Exit(true)
	if d.closed {
		return
	}
	d.closed = true
	d.unmap()
	b := l.BlockBegin()
	defer l.BlockEnd(b)
	if !nosync && !d.readOnly {
		if err := unix.Fsync(d.fd); err != nil {
			d.k.Warnf("rumpblk: %s: fsync on close: %v", d.path, err)
		} else if r := d.rec.Load(); r != nil {
			r.Barrier()
		}
	}
	unix.Close(d.fd)
}

// WithFD runs f on the open host descriptor with l's CPU given back, as
// for a host call on the device's file (fstat, futimes); EIO once the
// device is closed.
func (d *Device) WithFD(l *kernel.LWP, f func(fd int) error) unix.Errno {
	d.rw.Enter(l, false)
	defer d.rw.Exit(false)
	if d.closed {
		return unix.EIO
	}
	b := l.BlockBegin()
	err := f(d.fd)
	l.BlockEnd(b)
	if err != nil {
		return kernel.ToErrno(err)
	}
	return 0
}

// Stats is a snapshot of a device's counters. BytesRead includes the
// bytes lent, which BytesLent counts alone.
type Stats struct {
	Reqs, BytesRead, BytesWritten, InjectedFaults, BytesLent uint64
}

// Stats returns the device's own counters.
func (d *Device) Stats() Stats {
	c := d.ev[0]
	return Stats{c.reqs.Value(), c.read.Value(), c.written.Value(), c.failed.Value(), c.lent.Value()}
}

func (d *Device) String() string {
	return fmt.Sprintf("%s@%d,%d", d.path, d.begin, d.size)
}

package bio

import (
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// fakeDev is an in-memory Device: unwritten sectors read as a pattern of
// their offset, so large devices cost no memory. It counts requests, can
// fail chosen ones and can hold reads at a gate.
type fakeDev struct {
	size int64

	mu        sync.Mutex
	sectors   map[int64][]byte // written sectors by offset
	log       []ioRec          // writes, in order
	failRead  func(off int64, n int) bool
	failWrite func(off int64, n int) bool
	onWrite   func(p []byte, off int64) // sees every write that succeeds
	gate      chan struct{}             // when set, reads wait for it to close
	entered   chan struct{}             // when set, gets a value as a read waits at the gate

	reads, writes, syncs atomic.Int64
}

type ioRec struct {
	off int64
	n   int
}

func newFakeDev(size int64) *fakeDev {
	return &fakeDev{size: size, sectors: map[int64][]byte{}}
}

func pattern(off int64) byte { return byte(off ^ off>>9 ^ off>>17) }

var _ Device = (*fakeDev)(nil)

func (f *fakeDev) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if off%DevBSize != 0 || len(p)%DevBSize != 0 || off < 0 {
		return 0, unix.EINVAL
	}
	d := l.BlockBegin()
	defer l.BlockEnd(d)
	f.reads.Add(1)
	f.mu.Lock()
	gate, entered, fail := f.gate, f.entered, f.failRead
	f.mu.Unlock()
	if gate != nil {
		if entered != nil {
			entered <- struct{}{}
		}
		<-gate
	}
	if fail != nil && fail(off, len(p)) {
		return 0, unix.EIO
	}
	if off >= f.size {
		return 0, 0
	}
	n := int(min(int64(len(p)), f.size-off))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i += DevBSize {
		o := off + int64(i)
		if s, ok := f.sectors[o]; ok {
			copy(p[i:], s)
			continue
		}
		for j := range DevBSize {
			p[i+j] = pattern(o + int64(j))
		}
	}
	return n, 0
}

func (f *fakeDev) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if off%DevBSize != 0 || len(p)%DevBSize != 0 || off < 0 {
		return 0, unix.EINVAL
	}
	d := l.BlockBegin()
	defer l.BlockEnd(d)
	f.writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrite != nil && f.failWrite(off, len(p)) {
		return 0, unix.EIO
	}
	if off+int64(len(p)) > f.size {
		return 0, unix.ENOSPC
	}
	f.log = append(f.log, ioRec{off, len(p)})
	if f.onWrite != nil {
		f.onWrite(p, off)
	}
	for i := 0; i < len(p); i += DevBSize {
		f.sectors[off+int64(i)] = append([]byte(nil), p[i:i+DevBSize]...)
	}
	return len(p), 0
}

func (f *fakeDev) Sync(l *kernel.LWP) unix.Errno { f.syncs.Add(1); return 0 }
func (f *fakeDev) Size() int64                   { return f.size }
func (f *fakeDev) SectorSize() int               { return DevBSize }
func (f *fakeDev) ReadOnly() bool                { return false }

// contents returns what the device holds at [off, off+n).
func (f *fakeDev) contents(off int64, n int) []byte {
	start := off &^ (DevBSize - 1)
	end := (off + int64(n) + DevBSize - 1) &^ (DevBSize - 1)
	p := make([]byte, end-start)
	if _, err := f.ReadAt(nil, p, start); err != 0 {
		panic(err)
	}
	f.reads.Add(-1)
	return p[off-start:][:n]
}

func (f *fakeDev) writeLog() []ioRec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ioRec(nil), f.log...)
}

func (f *fakeDev) set(fn func(f *fakeDev)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

package bio

import (
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Remap is a view of a Device in which some blocks read from elsewhere:
// a journal replayed in memory, whose newest copy of a metadata block sits
// in the log (on the device or an external one) rather than at the
// block's home. Attach the Remap, not the device, to a Cache, so that the
// buffer cache sees the replayed image.
//
// A write goes home: every remapped block it touches stops being
// remapped, and a block it covers only in part is first copied home from
// its replacement, so that no read afterwards mixes the two.
type Remap struct {
	dev   Device
	bsize int64

	mu  sync.RWMutex
	tab map[int64]Replacement // by block number, in bsize units
}

// Replacement is where a remapped block reads from: bsize bytes at byte
// offset Off of Dev (the remapped device itself when nil), passed through
// Fix when set (jbd2 escapes a block whose first word is its magic number,
// and the replayed copy must be unescaped).
type Replacement struct {
	Dev Device
	Off int64
	Fix func(block []byte)
}

var _ Device = (*Remap)(nil)

// NewRemap returns a view of dev without replacements, in blocks of bsize
// bytes (a power of two, at least dev's sector size).
func NewRemap(dev Device, bsize int) *Remap {
	if bsize < dev.SectorSize() || bsize&(bsize-1) != 0 {
		panic("bio: bad Remap block size")
	}
	return &Remap{dev: dev, bsize: int64(bsize), tab: map[int64]Replacement{}}
}

// Set makes block blk read from r. Set blocks before the view is
// attached, or drop what the cache holds of them: cached buffers are not
// reread.
func (m *Remap) Set(blk int64, r Replacement) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tab[blk] = r
}

// Remapped returns where block blk reads from, if it is remapped.
func (m *Remap) Remapped(blk int64) (Replacement, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.tab[blk]
	return r, ok
}

// Len returns the number of remapped blocks.
func (m *Remap) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.tab)
}

// blocks returns the remapped blocks among those [off, off+n) touches.
func (m *Remap) blocks(off int64, n int) map[int64]Replacement {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out map[int64]Replacement
	if len(m.tab) == 0 || n <= 0 {
		return nil
	}
	first, last := off/m.bsize, (off+int64(n)-1)/m.bsize
	if last-first+1 > int64(len(m.tab)) {
		for blk, r := range m.tab {
			if blk >= first && blk <= last {
				if out == nil {
					out = map[int64]Replacement{}
				}
				out[blk] = r
			}
		}
		return out
	}
	for blk := first; blk <= last; blk++ {
		if r, ok := m.tab[blk]; ok {
			if out == nil {
				out = map[int64]Replacement{}
			}
			out[blk] = r
		}
	}
	return out
}

// readBlock reads replacement r, one whole block.
func (m *Remap) readBlock(l *kernel.LWP, r Replacement) ([]byte, unix.Errno) {
	dev := r.Dev
	if dev == nil {
		dev = m.dev
	}
	p := make([]byte, m.bsize)
	n, err := dev.ReadAt(l, p, r.Off)
	if err == 0 && n != len(p) {
		err = unix.EIO
	}
	if err != 0 {
		return nil, err
	}
	if r.Fix != nil {
		r.Fix(p)
	}
	return p, 0
}

// ReadAt reads the range from the device in one request, then lays the
// replacements of the remapped blocks it read over it. It looks them up
// first: a block a concurrent write moves home meanwhile then reads as its
// replacement, never as the home it had before the write.
func (m *Remap) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	repl := m.blocks(off, len(p))
	n, err := m.dev.ReadAt(l, p, off)
	if err != 0 || n <= 0 {
		return n, err
	}
	for blk, r := range repl {
		if blk*m.bsize >= off+int64(n) {
			continue // past the end of the device
		}
		b, err := m.readBlock(l, r)
		if err != 0 {
			return 0, err
		}
		start := blk * m.bsize
		src, dst := max(off-start, 0), max(start-off, 0)
		copy(p[dst:n], b[src:])
	}
	return n, 0
}

// WriteAt writes p home, ending the remapping of the blocks it touches.
func (m *Remap) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if len(m.blocks(off, len(p))) == 0 {
		return m.dev.WriteAt(l, p, off)
	}
	// Writers exclude each other and readers of the table while blocks
	// move home, so that none reads a home before its copy lands.
	m.mu.Lock()
	defer m.mu.Unlock()
	end := off + int64(len(p))
	var covered []int64
	for blk := off / m.bsize; blk*m.bsize < end; blk++ {
		r, ok := m.tab[blk]
		if !ok {
			continue
		}
		start := blk * m.bsize
		if start >= off && start+m.bsize <= end {
			covered = append(covered, blk)
			continue
		}
		// Partly written: copy the replacement home first.
		b, err := m.readBlock(l, r)
		if err == 0 {
			var n int
			if n, err = m.dev.WriteAt(l, b, start); err == 0 && n != len(b) {
				err = unix.EIO
			}
		}
		if err != 0 {
			return 0, err
		}
		delete(m.tab, blk)
	}
	n, err := m.dev.WriteAt(l, p, off)
	if err == 0 && n == len(p) {
		for _, blk := range covered {
			delete(m.tab, blk)
		}
	}
	return n, err
}

// Sync syncs the device.
func (m *Remap) Sync(l *kernel.LWP) unix.Errno { return m.dev.Sync(l) }

// Size returns the device's size.
func (m *Remap) Size() int64 { return m.dev.Size() }

// SectorSize returns the device's sector size.
func (m *Remap) SectorSize() int { return m.dev.SectorSize() }

// ReadOnly reports whether the device refuses writes.
func (m *Remap) ReadOnly() bool { return m.dev.ReadOnly() }

// Unmapped returns how many of the n blocks from blk precede the first
// remapped one (n when none is): the part of a run that reads from its
// home.
func (m *Remap) Unmapped(blk, n int64) int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if int64(len(m.tab)) < n {
		for b := range m.tab {
			if b >= blk && b-blk < n {
				n = b - blk
			}
		}
		return n
	}
	for i := int64(0); i < n; i++ {
		if _, ok := m.tab[blk+i]; ok {
			return i
		}
	}
	return n
}

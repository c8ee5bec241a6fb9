package ext2fs

import (
	"bytes"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// blockDev is how the file system reaches its device. Metadata goes
// through the buffer cache (vfs/bio), which reads a bio.Remap of the
// device: the replayed journal's blocks in place of their homes. File
// data is read from the device straight into the caller's buffer, or lent
// (genfs), except where the journal replaced a block.
type blockDev struct {
	dev   bio.Device // the file system's device, as on disk
	remap *bio.Remap // dev with the journal's replacements
	bdev  *bio.Dev   // remap attached to the buffer cache
	bsize int
	per   int64 // DevBSize units per block

	// async allows background read-ahead; off until Open has finished
	// journal recovery, which changes the remap and drops the cache.
	async atomic.Bool
	// bg counts background readers in flight; close waits for them.
	bg sync.WaitGroup

	mu sync.Mutex
	// ahead holds the first block of each background read-ahead in
	// flight, so that one window is never read twice at once.
	ahead map[uint64]bool
	// marks maps the first block of a window read in the background to
	// the blocks left in its region from there: reaching it starts the
	// next window (the page cache's PG_readahead mark), so that the I/O
	// of a long inode table keeps overlapping the work.
	marks map[uint64]uint64
}

// maxPrefetch bounds a metadata read-ahead window in blocks (ext4's
// inode_readahead_blks); bio bounds it to 64 KiB too.
const (
	maxPrefetch      = 32
	maxPrefetchBytes = 64 << 10
)

// privateCacheBytes bounds the buffer cache Open makes when the caller
// gives none (tools and tests without a kernel).
const privateCacheBytes = 4 << 20

func newBlockDev(c *bio.Cache, dev bio.Device, bsize int, name string) *blockDev {
	remap := bio.NewRemap(dev, bsize)
	return &blockDev{
		dev: dev, remap: remap, bdev: c.Attach(remap, name),
		bsize: bsize, per: int64(bsize / bio.DevBSize),
		ahead: map[uint64]bool{}, marks: map[uint64]uint64{},
	}
}

// pread reads len(p) bytes at device byte offset off of dev, coping with
// sector alignment (genfs.ReadBytes). It bypasses the cache: for the
// superblock before the geometry is known, and the journal's log.
func pread(l *kernel.LWP, dev bio.Device, p []byte, off int64) unix.Errno {
	if off < 0 || off+int64(len(p)) > dev.Size() {
		return unix.EIO
	}
	return genfs.ReadBytes(l, dev, p, off)
}

// bread returns file system block blk busy from the buffer cache; the
// caller gives it back with Brelse.
func (d *blockDev) bread(l *kernel.LWP, blk uint64) (*bio.Buf, unix.Errno) {
	return d.bdev.Bread(l, int64(blk)*d.per, d.bsize)
}

// readMeta returns a copy of file system block blk, read through the
// buffer cache. The copy is the caller's: parsed structures may keep
// slices of it after the buffer is given back.
func (d *blockDev) readMeta(l *kernel.LWP, blk uint64) ([]byte, unix.Errno) {
	b, e := d.bread(l, blk)
	if e != 0 {
		return nil, e
	}
	p := bytes.Clone(b.Data)
	b.Brelse()
	return p, 0
}

// readBytes reads len(p) bytes at byte offset off of the file system as
// the journal left it, through the buffer cache.
func (d *blockDev) readBytes(l *kernel.LWP, p []byte, off int64) unix.Errno {
	bs := int64(d.bsize)
	for len(p) > 0 {
		b, e := d.bread(l, uint64(off/bs))
		if e != 0 {
			return e
		}
		n := copy(p, b.Data[off%bs:])
		b.Brelse()
		p, off = p[n:], off+int64(n)
	}
	return 0
}

// prefetch reads ahead up to n metadata blocks from blk, when blk is not
// cached: one device request for a window of them (bio's Breadn). Inode
// tables and directories are read in order, and on a cold host cache one
// large read costs about what one block does. When the region goes on
// past the window, the next window is read in the background, and
// reaching that one starts the one after (the page cache's asynchronous
// read-ahead), so that the I/O overlaps the work. Errors are left for the
// block's own read.
func (d *blockDev) prefetch(l *kernel.LWP, blk, n uint64) {
	if d.bdev.Incore(int64(blk) * d.per) {
		d.mu.Lock()
		rest, ok := d.marks[blk]
		delete(d.marks, blk)
		d.mu.Unlock()
		if w := d.window(rest); ok && rest > w {
			d.background(blk+w, rest-w)
		}
		return
	}
	if n <= 1 {
		return
	}
	w := d.window(n)
	if b, e := d.readWindow(l, blk, w); e == 0 {
		b.Brelse()
	}
	if n > w {
		d.background(blk+w, n-w)
	}
}

// window is how many of n blocks one read-ahead reads.
func (d *blockDev) window(n uint64) uint64 {
	return min(n, maxPrefetch, uint64(maxPrefetchBytes/d.bsize))
}

// readWindow reads block blk busy with the w-1 blocks after it read
// ahead into the cache.
func (d *blockDev) readWindow(l *kernel.LWP, blk, w uint64) (*bio.Buf, unix.Errno) {
	ra := make([]int64, w-1)
	sizes := make([]int, w-1)
	for i := range ra {
		ra[i] = int64(blk+1+uint64(i)) * d.per
		sizes[i] = d.bsize
	}
	return d.bdev.Breadn(l, int64(blk)*d.per, d.bsize, ra, sizes)
}

// background reads the window of the n blocks from blk in a goroutine,
// and marks its first block to start the next window.
func (d *blockDev) background(blk, n uint64) {
	if !d.async.Load() || d.bdev.Incore(int64(blk)*d.per) {
		return
	}
	d.mu.Lock()
	if d.ahead[blk] || !d.async.Load() { // async again: close may have run
		d.mu.Unlock()
		return
	}
	d.ahead[blk] = true
	if len(d.marks) > 1024 {
		clear(d.marks) // marks of regions nobody finished reading
	}
	d.marks[blk] = n
	d.bg.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.bg.Done()
		// A background reader is no LWP: it holds no virtual CPU.
		if b, e := d.readWindow(nil, blk, d.window(n)); e == 0 {
			b.Brelse()
		}
		d.mu.Lock()
		delete(d.ahead, blk)
		d.mu.Unlock()
	}()
}

// allowAsync turns background read-ahead on, once the remap is final.
func (d *blockDev) allowAsync() { d.async.Store(true) }

// dropCache forgets cached blocks (after the journal's remap changes).
func (d *blockDev) dropCache(l *kernel.LWP) { d.bdev.Invalidate(l) }

// close gives the cache back its blocks of the device.
// close stops background read-ahead, waits for what is in flight (it
// reads the device, which the caller closes next) and detaches the cache.
func (d *blockDev) close() {
	d.mu.Lock() // background checks async under mu before it starts one
	d.async.Store(false)
	d.mu.Unlock()
	d.bg.Wait()
	d.bdev.Detach()
}

// cachedBlocks lists the file system blocks the buffer cache holds.
func (d *blockDev) cachedBlocks() []uint64 {
	var out []uint64
	for _, b := range d.bdev.Cached() {
		out = append(out, uint64(b/d.per))
	}
	return out
}

// nCached returns how many blocks the cache holds.
func (d *blockDev) nCached() int { return len(d.bdev.Cached()) }

// mapOverlay returns where the n blocks from device block blk are read
// from: blk itself for the prefix no replayed journal block covers, or the
// journal copy of blk alone. An escaped journal copy differs from the
// bytes the file system holds, and a copy on an external journal is on
// another device: neither has an address on this one (EIO).
func (d *blockDev) mapOverlay(blk, n uint64) (uint64, uint64, unix.Errno) {
	if d.remap.Len() == 0 {
		return blk, n, 0
	}
	if r, ok := d.remap.Remapped(int64(blk)); ok {
		if r.Dev != nil || r.Fix != nil {
			return 0, 0, unix.EIO
		}
		return uint64(r.Off) / uint64(d.bsize), 1, 0
	}
	return blk, uint64(d.remap.Unmapped(int64(blk), int64(min(n, 1<<62)))), 0
}

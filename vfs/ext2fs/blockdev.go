package ext2fs

import (
	"container/list"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// blockDev is the one place the device is read. Metadata goes through a
// small bounded cache of immutable runs of blocks (one block, or the
// blocks one read-ahead read together, which are cached and evicted as
// one: no copies, and no run kept alive by one hot block while the cache
// thinks it gone); file data is read straight into the caller's buffer. The journal overlay redirects
// replayed blocks to their newest copy in the journal. A buffer-cache
// (vfs/bio) version replaces readMeta with bread/brelse.
type blockDev struct {
	dev   bio.Device
	bsize int

	// overlay maps a file system block to its replayed copy in the
	// journal. Filled by journal recovery during Open, read-only after.
	overlay map[uint64]overlayBlock

	mu     sync.Mutex
	cache  map[uint64]*list.Element // block -> element (*cachedRun) holding it
	lru    list.List
	blocks int // blocks in the runs of lru
	max    int // bound on blocks
	// ahead holds the first block of each asynchronous read-ahead in
	// flight, so that one window is never read twice at once.
	ahead map[uint64]bool
	// async allows background read-ahead; off until Open has finished
	// journal recovery, which changes the overlay and drops the cache.
	async bool
}

type overlayBlock struct {
	phys     uint64 // journal block on the device
	escape   bool   // jbd2 escaped the magic number in the first word
	external bool   // phys is on an external journal device (see joinedDev)
}

// cachedRun is len(data)/bsize consecutive blocks from blk.
type cachedRun struct {
	blk  uint64
	data []byte
}

// block returns block blk of the run, capped so that it cannot be
// extended into its neighbour.
func (r *cachedRun) block(blk uint64, bsize int) []byte {
	o := int(blk-r.blk) * bsize
	return r.data[o : o+bsize : o+bsize]
}

// metaCacheBytes bounds the metadata cache.
const metaCacheBytes = 4 << 20

func newBlockDev(dev bio.Device, bsize int) *blockDev {
	return &blockDev{
		dev:   dev,
		bsize: bsize,
		cache: make(map[uint64]*list.Element),
		max:   max(16, metaCacheBytes/bsize),
	}
}

// pread reads len(p) bytes at device byte offset off, coping with
// sector alignment (genfs.ReadBytes).
func (d *blockDev) pread(l *kernel.LWP, p []byte, off int64) unix.Errno {
	if off < 0 || off+int64(len(p)) > d.dev.Size() {
		return unix.EIO
	}
	return genfs.ReadBytes(l, d.dev, p, off)
}

// readBlocks reads len(p) bytes starting skip bytes into file system
// block blk, honouring the journal overlay block by block.
func (d *blockDev) readBlocks(l *kernel.LWP, p []byte, blk uint64, skip int) unix.Errno {
	bs := uint64(d.bsize)
	if len(d.overlay) == 0 {
		return d.pread(l, p, int64(blk*bs)+int64(skip))
	}
	for len(p) > 0 {
		n := min(len(p), d.bsize-skip)
		if ob, ok := d.overlay[blk]; ok {
			b, e := d.readOverlay(l, ob)
			if e != 0 {
				return e
			}
			copy(p[:n], b[skip:])
		} else if e := d.pread(l, p[:n], int64(blk*bs)+int64(skip)); e != 0 {
			return e
		}
		p = p[n:]
		blk++
		skip = 0
	}
	return 0
}

func (d *blockDev) readOverlay(l *kernel.LWP, ob overlayBlock) ([]byte, unix.Errno) {
	b := make([]byte, d.bsize)
	if e := d.pread(l, b, int64(ob.phys)*int64(d.bsize)); e != 0 {
		return nil, e
	}
	if ob.escape {
		b[0], b[1], b[2], b[3] = 0xc0, 0x3b, 0x39, 0x98
	}
	return b, 0
}

// readMeta returns file system block blk from the metadata cache, reading
// it on a miss. The slice is shared and must not be modified.
func (d *blockDev) readMeta(l *kernel.LWP, blk uint64) ([]byte, unix.Errno) {
	if b := d.cached(blk); b != nil {
		return b, 0
	}
	b := make([]byte, d.bsize)
	if e := d.readBlocks(l, b, blk, 0); e != 0 {
		return nil, e
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if b := d.cachedLocked(blk); b != nil {
		return b, 0 // another reader was first
	}
	d.insertLocked(blk, b)
	return b, 0
}

// readMetaAhead is readMeta that, on a miss, first reads ahead n blocks
// from blk (see prefetch): inode table blocks, which are read in order.
func (d *blockDev) readMetaAhead(l *kernel.LWP, blk, n uint64) ([]byte, unix.Errno) {
	if b := d.cached(blk); b != nil {
		return b, 0
	}
	d.prefetch(l, blk, n)
	return d.readMeta(l, blk)
}

// cached returns block blk if the cache holds it, else nil.
func (d *blockDev) cached(blk uint64) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cachedLocked(blk)
}

func (d *blockDev) cachedLocked(blk uint64) []byte {
	el, ok := d.cache[blk]
	if !ok {
		return nil
	}
	d.lru.MoveToFront(el)
	return el.Value.(*cachedRun).block(blk, d.bsize)
}

// insertLocked caches the blocks of data from blk as one run, none of
// which may be cached, and evicts the least recently used runs past the
// bound.
func (d *blockDev) insertLocked(blk uint64, data []byte) {
	r := &cachedRun{blk, data}
	el := d.lru.PushFront(r)
	n := len(data) / d.bsize
	for i := range uint64(n) {
		d.cache[blk+i] = el
	}
	d.blocks += n
	for d.blocks > d.max && d.lru.Len() > 1 {
		old := d.lru.Back()
		d.lru.Remove(old)
		or := old.Value.(*cachedRun)
		on := len(or.data) / d.bsize
		for i := range uint64(on) {
			delete(d.cache, or.blk+i)
		}
		d.blocks -= on
	}
}

// maxPrefetch bounds a metadata read-ahead (ext4's inode_readahead_blks).
const maxPrefetch = 32

// prefetch reads up to n metadata blocks from blk with one device read
// and caches them as a run, when blk is not cached; the run stops short
// of the first block cached already. Inode tables and directories are
// read in order, and on a cold host cache one large read costs about
// what one block does. When the region goes on past that window, the
// next window is read in the background (the page cache's asynchronous
// read-ahead), so that its I/O overlaps the work on this one. Errors are
// left for the block's own read.
func (d *blockDev) prefetch(l *kernel.LWP, blk, n uint64) {
	got := d.prefetchRun(l, blk, n)
	if got == 0 || got >= n {
		return
	}
	next, rest := blk+got, n-got
	d.mu.Lock()
	_, cached := d.cache[next]
	busy := d.ahead[next] || !d.async
	if !cached && !busy {
		if d.ahead == nil {
			d.ahead = map[uint64]bool{}
		}
		d.ahead[next] = true
	}
	d.mu.Unlock()
	if cached || busy {
		return
	}
	go func() {
		// A background reader is no LWP: it holds no virtual CPU.
		d.prefetchRun(nil, next, rest)
		d.mu.Lock()
		delete(d.ahead, next)
		d.mu.Unlock()
	}()
}

// prefetchRun does prefetch's synchronous read and returns how many
// blocks it read (0 when blk was cached or the read failed).
func (d *blockDev) prefetchRun(l *kernel.LWP, blk, n uint64) uint64 {
	n = min(n, maxPrefetch, uint64(d.max/4))
	d.mu.Lock()
	for i := uint64(0); i < n; i++ {
		if _, ok := d.cache[blk+i]; ok {
			n = i
		}
	}
	d.mu.Unlock()
	if n <= 1 {
		return 0
	}
	buf := make([]byte, n*uint64(d.bsize))
	if d.readBlocks(l, buf, blk, 0) != 0 {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := uint64(0); i < n; i++ {
		if _, ok := d.cache[blk+i]; ok {
			return n // another reader cached some meanwhile; keep theirs
		}
	}
	d.insertLocked(blk, buf)
	return n
}

// nCached returns how many blocks the cache holds.
func (d *blockDev) nCached() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.cache)
}

// cachedBlocks lists the blocks the cache holds.
func (d *blockDev) cachedBlocks() []uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]uint64, 0, len(d.cache))
	for b := range d.cache {
		out = append(out, b)
	}
	return out
}

// allowAsync turns background read-ahead on, once the overlay is final.
func (d *blockDev) allowAsync() {
	d.mu.Lock()
	d.async = true
	d.mu.Unlock()
}

// dropCache forgets cached blocks (after the journal overlay changes).
func (d *blockDev) dropCache() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.cache)
	d.lru.Init()
	d.blocks = 0
}

// mapOverlay returns where the n blocks from device block blk are read
// from: blk itself for the prefix no replayed journal block covers, or the
// journal copy of blk alone. An escaped journal copy differs from the
// bytes the file system holds, and a copy on an external journal is on
// another device: neither has an address on this one (EIO).
func (d *blockDev) mapOverlay(blk, n uint64) (uint64, uint64, unix.Errno) {
	if len(d.overlay) == 0 {
		return blk, n, 0
	}
	if ob, ok := d.overlay[blk]; ok {
		if ob.escape || ob.external {
			return 0, 0, unix.EIO
		}
		return ob.phys, 1, 0
	}
	for b := range d.overlay {
		if b > blk && b-blk < n {
			n = b - blk
		}
	}
	return blk, n, 0
}

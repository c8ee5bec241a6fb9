package bio

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

const (
	nShards     = 64
	shardShift  = 64 - 6 // top 6 bits of the hash pick the shard
	minMaxBytes = 64 << 10
)

// Cache is the buffer cache: every cached block of every attached device,
// bounded in bytes.
type Cache struct {
	k   *kernel.Kernel
	max int64

	bytes atomic.Int64 // charged bytes: data capacity plus bufOverhead
	nbufs atomic.Int64
	hand  atomic.Uint32 // next shard the evictor visits

	// Held buffers (Buf.Hold) and their charged bytes, which the bound
	// does not cover: eviction cannot free them.
	heldBufs, heldBytes atomic.Int64

	shards [nShards]shard

	hits, misses, evictions   *kernel.EvCnt
	reads, writes, readaheads *kernel.EvCnt
	readErrors, writeErrors   *kernel.EvCnt

	devMu  sync.Mutex
	devs   map[*Dev]struct{}
	nextID uint64

	syncMu sync.Mutex
	stop   chan struct{} // closed by Stop
	done   chan struct{} // closed when the syncer goroutine has exited
}

// shard is one part of the cache: an index of its buffers and their
// CLOCK ring.
type shard struct {
	mu   sync.Mutex
	tab  atomic.Pointer[table] // read without mu; replaced under it
	used int                   // table slots not empty (buffers and tombstones)
	ring []*Buf                // every buffer of the shard; the CLOCK hand sweeps it
	hand int

	// LWPs waiting for a busy buffer of the shard sleep on wcond.
	wmu   sync.Mutex
	wcond sync.Cond

	_ [256 - 56 - 64]byte // keep shards on separate cache lines
}

// NewCache makes a cache bounded to maxBytes (at least 64 KiB). k may be
// nil (tests); otherwise the cache's event counters are attached to it
// under the group "bio" and I/O errors are logged to its message buffer.
func NewCache(k *kernel.Kernel, maxBytes int64) *Cache {
	c := &Cache{k: k, max: max(maxBytes, minMaxBytes), devs: map[*Dev]struct{}{}}
	for i := range c.shards {
		c.shards[i].tab.Store(newTable(minTableSlots))
		c.shards[i].wcond.L = &c.shards[i].wmu
	}
	ev := func(name string) *kernel.EvCnt {
		if k == nil {
			return &kernel.EvCnt{Group: "bio", Name: name}
		}
		return k.EvcntAttach("bio", name)
	}
	c.hits, c.misses, c.evictions = ev("hits"), ev("misses"), ev("evictions")
	c.reads, c.writes, c.readaheads = ev("reads"), ev("writes"), ev("readaheads")
	c.readErrors, c.writeErrors = ev("read errors"), ev("write errors")
	return c
}

// MaxBytes returns the bound.
func (c *Cache) MaxBytes() int64 { return c.max }

// Stats is a snapshot of the cache's counters.
type Stats struct {
	Hits, Misses, Evictions uint64
	Reads, Writes           uint64 // device requests
	ReadAheads              uint64 // blocks read ahead by Breadn
	ReadErrors, WriteErrors uint64
	Bytes, MaxBytes         int64 // charged bytes now, and the bound
	Bufs                    int64 // buffers cached now
	// Held buffers (Buf.Hold) and their charged bytes, part of Bufs and
	// Bytes: the bound applies to Bytes-HeldBytes, so Bytes exceeds
	// MaxBytes by at most HeldBytes plus what is busy.
	Held, HeldBytes int64
}

// Stats collects the hit counts of the buffers into the "hits" counter
// and returns a snapshot.
func (c *Cache) Stats() Stats {
	c.flushHits()
	return Stats{
		Hits: c.hits.Value(), Misses: c.misses.Value(), Evictions: c.evictions.Value(),
		Reads: c.reads.Value(), Writes: c.writes.Value(), ReadAheads: c.readaheads.Value(),
		ReadErrors: c.readErrors.Value(), WriteErrors: c.writeErrors.Value(),
		Bytes: c.bytes.Load(), MaxBytes: c.max, Bufs: c.nbufs.Load(),
		Held: c.heldBufs.Load(), HeldBytes: c.heldBytes.Load(),
	}
}

// flushHits adds the hits counted in every buffer that is not busy to the
// "hits" counter. Hits are counted per buffer, so that a hit writes no
// shared memory; the counter catches up here (Stats, SyncAll, every
// syncer pass) and when a buffer leaves the cache.
func (c *Cache) flushHits() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for _, b := range s.ring {
			if b.tryLock(nil) {
				if b.hits != 0 {
					c.hits.Add(b.hits)
					b.hits = 0
				}
				b.unlock()
			}
		}
		s.mu.Unlock()
	}
}

// Attach makes dev known to the cache and returns its handle. name labels
// log messages (the mount point or device path). Attach each device once:
// two handles on one device would cache its blocks twice.
func (c *Cache) Attach(dev Device, name string) *Dev {
	c.devMu.Lock()
	defer c.devMu.Unlock()
	c.nextID++
	d := &Dev{c: c, dev: dev, name: name, seed: c.nextID * 0xC2B2AE3D27D4EB4F, dirty: map[*Buf]struct{}{}}
	c.devs[d] = struct{}{}
	return d
}

// devList returns the attached devices.
func (c *Cache) devList() []*Dev {
	c.devMu.Lock()
	defer c.devMu.Unlock()
	out := make([]*Dev, 0, len(c.devs))
	for d := range c.devs {
		out = append(out, d)
	}
	return out
}

// SyncAll writes back every dirty buffer of every device and syncs the
// devices (sync(2)); it returns the first error.
func (c *Cache) SyncAll(l *kernel.LWP) unix.Errno {
	var first unix.Errno
	for _, d := range c.devList() {
		if err := d.Sync(l, true); err != 0 && first == 0 {
			first = err
		}
	}
	c.flushHits()
	return first
}

func (c *Cache) shardOf(h uint64) *shard {
	return &c.shards[h>>shardShift]
}

// charge accounts n more bytes (negative to give back) and, when the
// cache is over its bound, evicts until it is not or nothing more can go.
func (c *Cache) charge(l *kernel.LWP, n int64) {
	if c.bytes.Add(n) > c.max && n > 0 && c.over() {
		c.reclaim(l)
	}
}

// over reports whether the buffers that are not held exceed the bound.
func (c *Cache) over() bool { return c.bytes.Load()-c.heldBytes.Load() > c.max }

// reclaim evicts buffers until the cache is within its bound. It gives up
// after two sweeps over every shard find nothing to evict (everything
// left is busy), or when a write-back fails (the device refuses writes:
// trying every dirty buffer would only repeat the error).
func (c *Cache) reclaim(l *kernel.LWP) {
	for idle := 0; c.over() && idle < 2*nShards; {
		switch c.evictOne(l, &c.shards[c.hand.Add(1)%nShards]) {
		case evicted:
			idle = 0
		case nothing:
			idle++
		case writeFailed:
			return
		}
	}
}

type evictResult int

const (
	nothing evictResult = iota
	evicted
	writeFailed
)

// evictOne advances s's CLOCK hand to the first buffer that is neither
// referenced, busy nor pinned (held, or dirty with barriers), and evicts
// it, writing it back first when dirty.
func (c *Cache) evictOne(l *kernel.LWP, s *shard) evictResult {
	s.mu.Lock()
	for range len(s.ring) {
		if s.hand >= len(s.ring) {
			s.hand = 0
		}
		b := s.ring[s.hand]
		s.hand++
		if b.ref.Load() {
			b.ref.Store(false)
			continue
		}
		if !b.tryLock(l) {
			continue
		}
		if b.pinned() {
			b.unlock()
			continue
		}
		if !b.dirty {
			c.dropLocked(s, b)
			s.mu.Unlock()
			b.unlock()
			c.evictions.Inc()
			return evicted
		}
		s.mu.Unlock()
		if b.dev.writeBuf(l, b) != 0 {
			b.unlock() // stays dirty and cached
			return writeFailed
		}
		c.drop(b)
		b.unlock()
		c.evictions.Inc()
		return evicted
	}
	s.mu.Unlock()
	return nothing
}

// drop removes busy buffer b from the cache and frees its data. b must not
// be on a dirty list. Waiters on b's busy lock see it gone and look again.
func (c *Cache) drop(b *Buf) {
	s := b.shard
	s.mu.Lock()
	c.dropLocked(s, b)
	s.mu.Unlock()
}

func (c *Cache) dropLocked(s *shard, b *Buf) {
	s.removeLocked(b)
	b.unholdAll()
	b.gone = true
	b.valid = false
	if b.mem != nil {
		putMem(b.mem)
		b.mem, b.Data = nil, nil
	}
	c.hits.Add(b.hits)
	b.hits = 0
	c.bytes.Add(-b.charged)
	b.charged = 0
	c.nbufs.Add(-1)
}

// The shard padding assumes this layout.
var _ [256 - unsafe.Sizeof(shard{})]struct{}
var _ [unsafe.Sizeof(shard{}) - 256]struct{}

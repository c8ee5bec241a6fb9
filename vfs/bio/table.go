package bio

import "sync/atomic"

// table is a shard's index from (device, block) to buffer: open
// addressing with linear probing over atomic slots, so that a hit finds
// its buffer without taking the shard's mutex (nothing on the hit path
// writes shared memory but the buffer itself). Writers hold shard.mu;
// they grow or shrink the table by building a new one and publishing it.
// A reader on a table that was just replaced may find a buffer that has
// been dropped (it sees Buf.gone once it holds the buffer, and looks
// again) or miss one just inserted (the miss path looks again under
// shard.mu before inserting).
type table struct {
	mask  uint64
	slots []atomic.Pointer[Buf]
}

// tombstone marks a slot whose buffer was removed: probes go past it.
var tombstone = new(Buf)

const minTableSlots = 16

func newTable(n int) *table {
	size := minTableSlots
	for size < n {
		size *= 2
	}
	return &table{mask: uint64(size - 1), slots: make([]atomic.Pointer[Buf], size)}
}

// hashKey mixes a device and block number (murmur3's finaliser): the top
// bits choose the shard, the low bits the first slot probed.
func hashKey(d *Dev, blkno int64) uint64 {
	h := uint64(blkno) ^ d.seed
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// find returns the buffer for (d, blkno), or nil. It takes no lock. The
// table always has an empty slot, so the probe ends.
func (t *table) find(h uint64, d *Dev, blkno int64) *Buf {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		b := t.slots[i].Load()
		if b == nil {
			return nil
		}
		if b.Blkno == blkno && b.dev == d && b != tombstone {
			return b
		}
	}
}

// addLocked indexes b, which is not in the table, and puts it on the
// CLOCK ring. s.mu is held.
func (s *shard) addLocked(h uint64, b *Buf) {
	t := s.tab.Load()
	if 2*(s.used+1) > len(t.slots) {
		t = s.rebuildLocked(len(s.ring) + 1)
	}
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		p := t.slots[i].Load()
		if p == nil || p == tombstone {
			if p == nil {
				s.used++
			}
			t.slots[i].Store(b)
			break
		}
	}
	b.ringIdx = len(s.ring)
	s.ring = append(s.ring, b)
}

// removeLocked takes b out of the table and the ring. s.mu is held.
func (s *shard) removeLocked(b *Buf) {
	t := s.tab.Load()
	for i := hashKey(b.dev, b.Blkno) & t.mask; ; i = (i + 1) & t.mask {
		p := t.slots[i].Load()
		if p == b {
			t.slots[i].Store(tombstone)
			break
		}
		if p == nil {
			panic("bio: buffer missing from its shard's table")
		}
	}
	last := s.ring[len(s.ring)-1]
	s.ring[b.ringIdx] = last
	last.ringIdx = b.ringIdx
	s.ring[len(s.ring)-1] = nil
	s.ring = s.ring[:len(s.ring)-1]
	// Shrink when mostly empty, so the table follows the cache's size.
	if len(t.slots) > minTableSlots && 8*len(s.ring) < len(t.slots) {
		s.rebuildLocked(len(s.ring))
	}
}

// rebuildLocked publishes a table sized for n buffers (a quarter full)
// holding the ring's buffers, without tombstones.
func (s *shard) rebuildLocked(n int) *table {
	t := newTable(4 * n)
	for _, b := range s.ring {
		for i := hashKey(b.dev, b.Blkno) & t.mask; ; i = (i + 1) & t.mask {
			if t.slots[i].Load() == nil {
				t.slots[i].Store(b)
				break
			}
		}
	}
	s.used = len(s.ring)
	s.tab.Store(t)
	return t
}

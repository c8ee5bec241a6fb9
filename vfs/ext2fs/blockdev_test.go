package ext2fs

import (
	"bytes"
	"testing"
)

// TestMetaCacheRuns: read-ahead caches its blocks as one run, stops short
// of blocks already cached, and the cache stays within its bound with
// every cached block reading back its own bytes.
func TestMetaCacheRuns(t *testing.T) {
	const bs, nblk = 1024, 256
	dev := make(memDev, bs*nblk)
	for b := range nblk {
		dev[b*bs] = byte(b)
	}
	d := newBlockDev(dev, bs)
	d.max = 16
	check := func(blk uint64) {
		t.Helper()
		b, e := d.readMeta(nil, blk)
		if e != 0 || len(b) != bs || cap(b) != bs || b[0] != byte(blk) || !bytes.Equal(b[1:], dev[int(blk)*bs+1:int(blk+1)*bs]) {
			t.Fatalf("block %d: %v, len %d cap %d first byte %d", blk, e, len(b), cap(b), b[0])
		}
	}
	d.prefetch(nil, 10, 4)
	if d.lru.Len() != 1 || d.blocks != 4 || len(d.cache) != 4 {
		t.Fatalf("after prefetch of 4: %d runs, %d blocks, %d mapped", d.lru.Len(), d.blocks, len(d.cache))
	}
	check(12)
	d.prefetch(nil, 8, 4) // stops at 10
	if d.lru.Len() != 2 || d.blocks != 6 {
		t.Fatalf("prefetch over cached blocks: %d runs, %d blocks", d.lru.Len(), d.blocks)
	}
	check(9)
	for blk := uint64(20); blk < 200; blk += 3 {
		d.prefetch(nil, blk, 3)
		check(blk + 1)
		if d.blocks > d.max {
			t.Fatalf("%d blocks cached, bound %d", d.blocks, d.max)
		}
	}
	live := map[uint64]bool{}
	for el := d.lru.Front(); el != nil; el = el.Next() {
		r := el.Value.(*cachedRun)
		for i := range uint64(len(r.data) / bs) {
			live[r.blk+i] = true
		}
	}
	if len(live) != len(d.cache) {
		t.Errorf("%d blocks mapped, %d in runs", len(d.cache), len(live))
	}
	for blk := range d.cache {
		if !live[blk] {
			t.Errorf("block %d mapped to an evicted run", blk)
		}
		check(blk)
	}
	if _, ok := d.cache[10]; ok {
		t.Error("least recently used run not evicted")
	}
}

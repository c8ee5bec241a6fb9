package ffs

import (
	"container/list"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// metaCache is a small LRU of metadata blocks keyed by fragment address
// and size. It stands in for the buffer cache (vfs/bio) until that lands:
// every metadata read of this package goes through ReadMeta, so swapping
// it for bread is a change to this one file.
type metaCache struct {
	dev    bio.Device
	fshift uint
	limit  int // bytes

	mu    sync.Mutex
	bytes int
	lru   list.List // of *metaBlock, most recent first
	index map[metaKey]*list.Element
}

type metaKey struct {
	fsb  int64
	size int
}

type metaBlock struct {
	key  metaKey
	data []byte
}

func newMetaCache(dev bio.Device, fshift uint, limit int) *metaCache {
	return &metaCache{dev: dev, fshift: fshift, limit: limit, index: map[metaKey]*list.Element{}}
}

// ReadMeta calls fn with size bytes at fragment address fsb.
func (c *metaCache) ReadMeta(l *kernel.LWP, fsb int64, size int, fn func([]byte)) unix.Errno {
	b, e := c.read(l, fsb, size)
	if e == 0 {
		fn(b)
	}
	return e
}

// read returns size bytes at fragment address fsb. The slice is shared
// and read-only; an eviction never changes it, only drops it.
func (c *metaCache) read(l *kernel.LWP, fsb int64, size int) ([]byte, unix.Errno) {
	k := metaKey{fsb, size}
	c.mu.Lock()
	if e, ok := c.index[k]; ok {
		c.lru.MoveToFront(e)
		b := e.Value.(*metaBlock).data
		c.mu.Unlock()
		return b, 0
	}
	c.mu.Unlock()

	b := make([]byte, size)
	off := fsb << c.fshift
	n, err := c.dev.ReadAt(l, b, off)
	if err != 0 {
		return nil, err
	}
	if n != size {
		return nil, unix.EIO
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.index[k]; !ok && size <= c.limit {
		c.index[k] = c.lru.PushFront(&metaBlock{k, b})
		c.bytes += size
		for c.bytes > c.limit {
			e := c.lru.Back()
			mb := e.Value.(*metaBlock)
			c.lru.Remove(e)
			delete(c.index, mb.key)
			c.bytes -= len(mb.data)
		}
	}
	return b, 0
}

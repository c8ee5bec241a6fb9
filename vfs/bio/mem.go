package bio

import (
	"math/bits"
	"sync"
)

// Buffer memory comes in power-of-two size classes from 512 B to 64 KiB
// (MAXBSIZE), each with its own pool. Larger buffers (up to MaxBufSize)
// are allocated exactly and left to the GC.
const (
	minClassShift = 9
	maxClassShift = 16
	nClasses      = maxClassShift - minClassShift + 1

	// MaxBufSize is the largest buffer Bread and Getblk accept.
	MaxBufSize = 1 << 20

	// bufOverhead is what a buffer costs beyond its data (header, table
	// and ring entries); it is charged against the cache bound so that
	// many small buffers cannot overrun it.
	bufOverhead = 256
)

// mem is a pooled data block. Pools hold *mem, not []byte, so that Put
// does not allocate.
type mem struct{ b []byte }

var memPools [nClasses]sync.Pool

// memClass returns the size class holding size bytes, or -1 when size is
// above the largest class.
func memClass(size int) int {
	if size <= 1<<minClassShift {
		return 0
	}
	c := bits.Len(uint(size-1)) - minClassShift
	if c >= nClasses {
		return -1
	}
	return c
}

// memCap is the capacity getMem gives a request of size bytes.
func memCap(size int) int {
	c := memClass(size)
	if c < 0 {
		return size
	}
	return 1 << (c + minClassShift)
}

// getMem returns a block of at least size bytes; its contents are stale.
func getMem(size int) *mem {
	c := memClass(size)
	if c < 0 {
		return &mem{b: make([]byte, size)}
	}
	if m, _ := memPools[c].Get().(*mem); m != nil {
		return m
	}
	return &mem{b: make([]byte, 1<<(c+minClassShift))}
}

// putMem gives m back to its pool.
func putMem(m *mem) {
	c := memClass(len(m.b))
	if c >= 0 && len(m.b) == 1<<(c+minClassShift) {
		memPools[c].Put(m)
	}
}

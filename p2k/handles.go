package p2k

import (
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
)

// handle is an open file or directory: a vnode reference and the flags
// VOP_OPEN saw, which VOP_CLOSE needs again.
type handle struct {
	vp     *vfs.Vnode
	fflags int
}

type handles struct {
	mu   sync.Mutex
	m    map[uint64]*handle
	next uint64
}

func (hs *handles) add(h *handle) uint64 {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.next++
	hs.m[hs.next] = h
	return hs.next
}

// fflags returns the open flags of handle fh, 0 if there is none.
func (hs *handles) fflags(fh uint64) int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if h := hs.m[fh]; h != nil {
		return h.fflags
	}
	return 0
}

func (hs *handles) remove(fh uint64) *handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.m[fh]
	delete(hs.m, fh)
	return h
}

func (hs *handles) drain() []*handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []*handle
	for fh, h := range hs.m {
		out = append(out, h)
		delete(hs.m, fh)
	}
	return out
}

// closeHandle closes h outside a request (Close after unmount).
func (b *Bridge) closeHandle(l *kernel.LWP, h *handle) {
	l.Schedule()
	func() {
		defer func() {
			if r := recover(); r != nil {
				l.Kernel().Warnf("p2k: recovered panic closing a handle: %v", r)
			}
		}()
		vfs.VOPClose(l, h.vp, h.fflags)
	}()
	l.Unschedule()
	kernelVrele(l, h.vp)
}

package kernel

import "sync"

// Mutex is a kernel mutex (kmutex) that may be held across blocking host
// I/O: an LWP that has to wait for it gives its virtual CPU back first, so
// the holder can always get a CPU again. Use a plain sync.Mutex only for
// short sections that neither do I/O nor wait for a CPU.
type Mutex struct {
	mu sync.Mutex
}

// Enter takes the mutex as l.
func (m *Mutex) Enter(l *LWP) {
	if m.mu.TryLock() {
		return
	}
	d := l.BlockBegin()
	m.mu.Lock()
	l.BlockEnd(d)
}

// Exit releases the mutex.
func (m *Mutex) Exit() { m.mu.Unlock() }

// RWLock is a kernel reader/writer lock (krwlock) with the same CPU rule as
// Mutex.
type RWLock struct {
	mu sync.RWMutex
}

// Enter takes the lock, exclusively when excl is set.
func (rw *RWLock) Enter(l *LWP, excl bool) {
	if excl {
		if rw.mu.TryLock() {
			return
		}
		d := l.BlockBegin()
		rw.mu.Lock()
		l.BlockEnd(d)
		return
	}
	if rw.mu.TryRLock() {
		return
	}
	d := l.BlockBegin()
	rw.mu.RLock()
	l.BlockEnd(d)
}

// Exit releases the lock taken with the same excl.
func (rw *RWLock) Exit(excl bool) {
	if excl {
		rw.mu.Unlock()
	} else {
		rw.mu.RUnlock()
	}
}

// TryEnter takes the lock without waiting and reports whether it did.
func (rw *RWLock) TryEnter(excl bool) bool {
	if excl {
		return rw.mu.TryLock()
	}
	return rw.mu.TryRLock()
}

package kernel

import (
	"fmt"
	"io"
	"sync/atomic"
)

// EvCnt is an event counter (struct evcnt), printable like
// rump_printevcnts.
type EvCnt struct {
	Group, Name string
	n           atomic.Uint64
}

// Inc adds one.
func (e *EvCnt) Inc() { e.n.Add(1) }

// Add adds d.
func (e *EvCnt) Add(d uint64) { e.n.Add(d) }

// Value returns the count.
func (e *EvCnt) Value() uint64 { return e.n.Load() }

// EvcntAttach makes a counter; attaching the same group and name twice
// returns the first.
func (k *Kernel) EvcntAttach(group, name string) *EvCnt {
	k.evMu.Lock()
	defer k.evMu.Unlock()
	for _, e := range k.evcnts {
		if e.Group == group && e.Name == name {
			return e
		}
	}
	e := &EvCnt{Group: group, Name: name}
	k.evcnts = append(k.evcnts, e)
	return e
}

// EvcntSnapshot is one counter's value at a moment.
type EvcntSnapshot struct {
	Group string `json:"group"`
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// Evcnts returns every counter, in attach order.
func (k *Kernel) Evcnts() []EvcntSnapshot {
	k.evMu.Lock()
	defer k.evMu.Unlock()
	out := make([]EvcntSnapshot, len(k.evcnts))
	for i, e := range k.evcnts {
		out[i] = EvcntSnapshot{e.Group, e.Name, e.Value()}
	}
	return out
}

// PrintEvcnts writes every counter as "group / name: count" lines.
func (k *Kernel) PrintEvcnts(w io.Writer) {
	for _, e := range k.Evcnts() {
		fmt.Fprintf(w, "%s / %s: %d\n", e.Group, e.Name, e.Count)
	}
}

package bio

import (
	"io"
	"sync/atomic"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// cpuTime is the CPU time the process has used, in ns.
func cpuTime() int64 {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkBreadHit: Bread and Brelse of one cached block.
func BenchmarkBreadHit(b *testing.B) {
	c := NewCache(nil, 64<<20)
	d := c.Attach(newFakeDev(64<<20), "fake")
	mustBread(b, d, 16, 8192).Brelse()
	b.ReportAllocs()
	for b.Loop() {
		bp, err := d.Bread(nil, 16, 8192)
		if err != 0 {
			b.Fatal(err)
		}
		bp.Brelse()
	}
}

// BenchmarkBreadHitParallel: each goroutine hits its own cached blocks.
// Compare ns/op between -cpu 1 and -cpu 2 for scaling. On a busy machine
// wall time cannot show scaling; cpu-ns/op (process CPU time per hit)
// can: it stays flat from -cpu 1 to -cpu 2 when goroutines do not contend,
// and the speedup on idle CPUs is 2 * cpu-ns/op(1) / cpu-ns/op(2).
func BenchmarkBreadHitParallel(b *testing.B) {
	const perWorker = 64
	const maxWorkers = 64
	c := NewCache(nil, 64<<20)
	d := c.Attach(newFakeDev(64<<20), "fake")
	for i := range int64(perWorker * maxWorkers) {
		mustBread(b, d, i*16, 8192).Brelse()
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		base := (next.Add(1) - 1) % maxWorkers * perWorker
		i := int64(0)
		for pb.Next() {
			bp, err := d.Bread(nil, (base+i%perWorker)*16, 8192)
			if err != 0 {
				b.Error(err)
				return
			}
			bp.Brelse()
			i++
		}
	})
}

// BenchmarkBreadHitLWP: as BenchmarkBreadHit, by a scheduled kernel LWP
// (drivers always pass one).
func BenchmarkBreadHitLWP(b *testing.B) {
	k, err := kernel.Boot(kernel.Config{NCPU: 1, Console: io.Discard, Exit: func(int) {}})
	if err != nil {
		b.Fatal(err)
	}
	l := k.LWP0()
	l.Schedule()
	defer l.Unschedule()
	c := NewCache(k, 64<<20)
	d := c.Attach(newFakeDev(64<<20), "fake")
	mustBread(b, d, 16, 8192).Brelse()
	b.ReportAllocs()
	for b.Loop() {
		bp, err := d.Bread(l, 16, 8192)
		if err != 0 {
			b.Fatal(err)
		}
		bp.Brelse()
	}
}

// BenchmarkBreadMiss: streaming through a cache a tenth of the data, so
// every Bread misses, reads the device and evicts a buffer.
func BenchmarkBreadMiss(b *testing.B) {
	const bound = 1 << 20
	const bs = 8192
	c := NewCache(nil, bound)
	d := c.Attach(newFakeDev(10*bound), "fake")
	nblk := int64(10 * bound / bs)
	b.ReportAllocs()
	b.SetBytes(bs)
	i := int64(0)
	for b.Loop() {
		bp, err := d.Bread(nil, (i%nblk)*bs/DevBSize, bs)
		if err != 0 {
			b.Fatal(err)
		}
		bp.Brelse()
		i++
	}
}

package bio

import (
	"sync/atomic"
	"testing"
)

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
// Compare ns/op between -cpu 1 and -cpu 2 for scaling.
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

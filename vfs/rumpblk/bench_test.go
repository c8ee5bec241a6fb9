package rumpblk_test

import (
	"io"
	"testing"

	"github.com/rumpfs/rumpfs/vfs/rumpblk"
)

// BenchmarkWrite: 4 KiB writes to a device bare, recording into memory and
// recording into a log file (here io.Discard); issue 21 wants recording
// within 10% of the bare throughput.
func BenchmarkWrite(b *testing.B) {
	for _, c := range []struct {
		name string
		rec  func() *rumpblk.Recorder
	}{
		{"bare", func() *rumpblk.Recorder { return nil }},
		{"memory", func() *rumpblk.Recorder { return rumpblk.NewRecorder(nil) }},
		{"logfile", func() *rumpblk.Recorder { return rumpblk.NewRecorder(io.Discard) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, l, _ := open(b, 0, 16<<10, false)
			p := make([]byte, 4096)
			b.SetBytes(int64(len(p)))
			for i := 0; b.Loop(); i++ {
				if i%4096 == 0 {
					// A fresh memory recorder now and then, so the
					// benchmark measures recording, not a growing heap.
					if r := c.rec(); r != nil {
						d.SetRecorder(r)
					}
				}
				if _, e := d.WriteAt(l, p, int64(i%4)*4096); e != 0 {
					b.Fatal(e)
				}
			}
		})
	}
}

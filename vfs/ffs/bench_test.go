package ffs

import (
	"bytes"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

const benchFile = 256 << 20

// readAll reads path sequentially in 1 MiB requests and returns the time.
func readAll(b *testing.B, l *kernel.LWP, path string, buf []byte) time.Duration {
	start := time.Now()
	fd, e := vfs.Open(l, path, unix.O_RDONLY, 0)
	if e != 0 {
		b.Fatal(e)
	}
	total := 0
	for {
		n, e := vfs.Read(l, fd, buf)
		if e != 0 {
			b.Fatal(e)
		}
		if n == 0 {
			break
		}
		total += n
	}
	vfs.Close(l, fd)
	if total != benchFile {
		b.Fatalf("read %d bytes, want %d", total, benchFile)
	}
	return time.Since(start)
}

// BenchmarkSeqRead reads a 256 MiB file from an FFS image (in the host
// page cache) and the same file from the in-memory rumpfs root in the same
// run, and reports the FFS rate as a fraction of the root's.
func BenchmarkSeqRead(b *testing.B) {
	img := emptyImage(b, 2, false, "320m", "bsize=32768,fsize=4096")
	k, l := bootKernel(b)
	if e := mountImage(b, k, l, img, "/mnt", 0); e != 0 {
		b.Fatal(e)
	}
	data := fileData(1, 1<<20)
	for _, p := range []string{"/mnt/big", "/tmp/big"} {
		fd, e := vfs.Open(l, p, unix.O_CREAT|unix.O_WRONLY, 0o644)
		if e != 0 {
			b.Fatal(e)
		}
		for i := 0; i < benchFile>>20; i++ {
			if _, e := vfs.Write(l, fd, data); e != 0 {
				b.Fatal(e)
			}
		}
		vfs.Close(l, fd)
	}
	vfs.Sync(l)
	buf := make([]byte, 1<<20)
	readAll(b, l, "/mnt/big", buf) // warm the host page cache
	var ffsT, rootT time.Duration
	b.SetBytes(benchFile)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ffsT += readAll(b, l, "/mnt/big", buf)
		b.StopTimer()
		rootT += readAll(b, l, "/tmp/big", buf)
		b.StartTimer()
	}
	b.ReportMetric(float64(rootT)/float64(ffsT), "ffs/rumpfs-rate")
	b.ReportMetric(float64(benchFile)*float64(b.N)/ffsT.Seconds()/(1<<20), "ffs-MiB/s")
	b.ReportMetric(float64(benchFile)*float64(b.N)/rootT.Seconds()/(1<<20), "rumpfs-MiB/s")
	b.StopTimer()
	halt(b, k, l)
}

// cpuTime is the CPU time the process has used: steadier than the wall
// clock on a shared machine.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeAll writes n bytes of data to a new file at path in 1 MiB requests
// and returns the time, close included.
func writeAll(b *testing.B, l *kernel.LWP, path string, flags int, data []byte, n int) time.Duration {
	start := time.Now()
	fd, e := vfs.Open(l, path, unix.O_WRONLY|flags, 0o644)
	if e != 0 {
		b.Fatal(e)
	}
	for i := 0; i < n/len(data); i++ {
		if m, e := vfs.Write(l, fd, data); e != 0 || m != len(data) {
			b.Fatalf("write: %d, %v", m, e)
		}
	}
	vfs.Close(l, fd)
	return time.Since(start)
}

// BenchmarkSeqWrite writes a 256 MiB file sequentially to an FFS image
// (the host's page cache under it), as a new file (every block allocated,
// fresh) and over itself (every block old), and the same to the
// in-memory rumpfs root in the same run, reporting the FFS rate as a
// fraction of the root's.
func BenchmarkSeqWrite(b *testing.B) {
	for _, c := range []struct {
		name  string
		flags int
	}{{"new", unix.O_CREAT | unix.O_EXCL}, {"overwrite", 0}} {
		b.Run(c.name, func(b *testing.B) {
			img := emptyImage(b, 2, false, "320m", "bsize=32768,fsize=4096")
			k, l := bootKernel(b)
			if e := mountImage(b, k, l, img, "/mnt", 0); e != 0 {
				b.Fatal(e)
			}
			data := fileData(1, 1<<20)
			if c.flags == 0 {
				writeAll(b, l, "/mnt/big", unix.O_CREAT, data, benchFile)
				writeAll(b, l, "/tmp/big", unix.O_CREAT, data, benchFile)
			}
			var ffsT, rootT, ffsCPU time.Duration
			b.SetBytes(benchFile)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cpu := cpuTime()
				ffsT += writeAll(b, l, "/mnt/big", c.flags, data, benchFile)
				ffsCPU += cpuTime() - cpu
				b.StopTimer()
				rootT += writeAll(b, l, "/tmp/big", c.flags, data, benchFile)
				if c.flags != 0 {
					vfs.Unlink(l, "/mnt/big")
					vfs.Unlink(l, "/tmp/big")
				}
				vfs.Sync(l)
				b.StartTimer()
			}
			b.ReportMetric(float64(rootT)/float64(ffsT), "ffs/rumpfs-rate")
			b.ReportMetric(float64(benchFile)*float64(b.N)/ffsT.Seconds()/(1<<20), "ffs-MiB/s")
			b.ReportMetric(float64(ffsCPU.Milliseconds())/float64(b.N), "ffs-cpu-ms/op")
			b.StopTimer()
			halt(b, k, l)
		})
	}
}

// BenchmarkCheck runs the checker over the sample image held in memory:
// the kernel-less metadata path (Open, a private buffer cache over a
// bio.ReaderDevice).
func BenchmarkCheck(b *testing.B) {
	img := sampleImage(b)
	b.SetBytes(int64(len(img)))
	for i := 0; i < b.N; i++ {
		r, err := Check(nil, bio.NewReaderDevice(bytes.NewReader(img), int64(len(img))))
		if err != nil || len(r.Problems) != 0 {
			b.Fatalf("%v %v", err, r)
		}
	}
}

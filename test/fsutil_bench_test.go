package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The fs-utils targets of issue 18: get -r of a tree against cp -a
// through a rumpfs FUSE mount (want 3x faster) and from the kernel's loop
// mount (want within 2x), and put of a big file against writing it
// through a rumpfs FUSE mount (want at least 0.8x). Caches are dropped
// before each copy.

func benchRun(b *testing.B, name string, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return time.Since(start)
}

func BenchmarkFsutilGetTree(b *testing.B) {
	benchNeed(b, "mke2fs", "fusermount3", "cp", "mount")
	n := int(benchEnv(b, "RUMPFS_BENCH_FILES", 10000))
	src := b.TempDir()
	for i := range n {
		d := filepath.Join(src, fmt.Sprintf("d%d", i/500))
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", i)), make([]byte, i%3000), 0o644)
	}
	img := filepath.Join(b.TempDir(), "tree.ext4")
	benchRun(b, "mke2fs", "-q", "-t", "ext4", "-N", fmt.Sprint(n+1000), "-d", src, img, fmt.Sprintf("%dM", 64+n/100))
	loop := b.TempDir()
	benchRun(b, "mount", "-o", "loop,ro", img, loop)
	defer exec.Command("umount", loop).Run()
	var getT, loopT, fuseT time.Duration
	b.ResetTimer()
	for range b.N {
		for _, c := range []struct {
			t   *time.Duration
			run func(dst string)
		}{
			{&getT, func(dst string) { benchRun(b, rumpfsBin, "get", "-r", img+":/", dst) }},
			{&loopT, func(dst string) { benchRun(b, "cp", "-a", loop+"/.", dst) }},
			{&fuseT, func(dst string) {
				s := benchMount(b, "-o", "ro", img)
				benchRun(b, "cp", "-a", s.mnt+"/.", dst)
				s.stop()
			}},
		} {
			b.StopTimer()
			dst := b.TempDir()
			dropCaches(b, "3")
			b.StartTimer()
			start := time.Now()
			c.run(dst)
			*c.t += time.Since(start)
		}
	}
	b.ReportMetric(getT.Seconds()/float64(b.N), "get-s")
	b.ReportMetric(float64(fuseT)/float64(getT), "x-faster-than-fuse-cp")
	b.ReportMetric(float64(getT)/float64(loopT), "x-of-loop-cp")
}

func BenchmarkFsutilPut(b *testing.B) {
	benchNeed(b, "makefs", "fusermount3")
	size := int64(benchEnv(b, "RUMPFS_BENCH_SIZE", 256<<20))
	data := filepath.Join(b.TempDir(), "big")
	f, err := os.Create(data)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for off := int64(0); off < size; off += int64(len(chunk)) {
		f.Write(chunk)
	}
	f.Close()
	var putT, fuseT time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		img1 := benchImage(b, uint64(size+size/4+64<<20), "bsize=32768,fsize=4096")
		img2 := benchImage(b, uint64(size+size/4+64<<20), "bsize=32768,fsize=4096")
		warmFile(b, data)
		b.StartTimer()
		putT += benchRun(b, rumpfsBin, "put", data, img1+":/")
		s := benchMount(b, "-t", "ffs", img2)
		start := time.Now()
		benchRun(b, "cp", data, s.mnt+"/")
		s.stop() // the unmount's sync is part of the write
		fuseT += time.Since(start)
	}
	b.ReportMetric(float64(size)*float64(b.N)/putT.Seconds()/(1<<20), "put-MiB/s")
	b.ReportMetric(float64(fuseT)/float64(putT), "x-of-fuse-write")
}

package test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkPeersRW is issue #13's table in one run: the same work on fresh
// read-write file systems through the kernel's ext4 loop mount, fuse2fs
// (ext4), rumpfs FFS and the rumpfs in-memory root, reported as each
// one's rate over the kernel's (1.0 = as fast; "-x-kernel" metrics) and
// the rumpfs servers' peak memory. Sizes: RUMPFS_BENCH_TAR files untarred
// (default 5000; the 50000) and RUMPFS_BENCH_SIZE bytes written
// and read (default 256MiB; the 1GiB). Rows: untar + sync, find
// and ls -lR warm and cold, the big file written + fsync, read cold and
// warm, rm -rf + sync.
func BenchmarkPeersRW(b *testing.B) {
	benchNeed(b, "makefs", "mke2fs", "fuse2fs", "fusermount3", "tar", "find", "ls")
	n := int(benchEnv(b, "RUMPFS_BENCH_TAR", 5000))
	size := int64(benchEnv(b, "RUMPFS_BENCH_SIZE", 256<<20))
	tarball := filepath.Join(b.TempDir(), "tree.tar")
	tarTree(b, tarball, n, false, 5)
	warmFile(b, tarball)
	imgSize := uint64(n)*8192 + uint64(size) + 256<<20

	type system struct {
		name string
		dir  string
		srv  *benchServer // rumpfs servers
	}
	ext4 := func() string {
		img := filepath.Join(b.TempDir(), "ext4.img")
		if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-E", "lazy_itable_init=0,lazy_journal_init=0",
			img, strconv.FormatUint(imgSize>>20, 10)+"M").CombinedOutput(); err != nil {
			b.Fatalf("mke2fs: %v\n%s", err, out)
		}
		return img
	}
	kmnt := b.TempDir()
	if out, err := exec.Command("mount", "-t", "ext4", "-o", "loop", ext4(), kmnt).CombinedOutput(); err != nil {
		b.Fatalf("loop mount: %v\n%s", err, out)
	}
	b.Cleanup(func() { exec.Command("umount", kmnt).Run() })
	fmnt := b.TempDir()
	f2 := exec.Command("fuse2fs", "-f", "-o", "rw,fakeroot", ext4(), fmnt)
	if err := f2.Start(); err != nil {
		b.Fatal(err)
	}
	f2done := make(chan struct{})
	go func() { f2.Wait(); close(f2done) }()
	b.Cleanup(func() {
		exec.Command("fusermount3", "-u", fmnt).Run()
		select {
		case <-f2done:
		case <-time.After(time.Minute):
			f2.Process.Kill()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !isMounted(fmnt); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("fuse2fs did not mount in 30 s")
		}
	}
	ffs := benchMount(b, "-t", "ffs", benchImage(b, imgSize, "bsize=16384,fsize=2048,density=4096"))
	mem := benchMount(b, rootArgs...)
	systems := []system{{"kernel", kmnt, nil}, {"fuse2fs", fmnt, nil}, {"ffs", ffs.mnt, ffs}, {"mem", mem.mnt, mem}}

	const (
		untar = iota
		findWarm
		findCold
		lsWarm
		lsCold
		write
		readCold
		readWarm
		rm
		nRows
	)
	rowNames := [nRows]string{"untar", "find-warm", "find-cold", "ls-lR-warm", "ls-lR-cold", "write-fsync", "read-cold", "read-warm", "rm-rf"}
	run := func(name string, args ...string) time.Duration {
		start := time.Now()
		var stderr strings.Builder
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
		}
		return time.Since(start)
	}
	chunk := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{13}).Read(chunk)
	writeBig := func(p string) time.Duration {
		start := time.Now()
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += int64(len(chunk)) {
			if _, err := f.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	buf := make([]byte, 1<<20)
	var dur [4][nRows]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for si, s := range systems {
			dir := filepath.Join(s.dir, fmt.Sprintf("t%d", i))
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			d := &dur[si]
			d[untar] += run("tar", "-xf", tarball, "-C", dir) + run("sync", "-f", dir)
			dropCaches(b, "2")
			d[findCold] += run("find", dir)
			d[findWarm] += run("find", dir)
			dropCaches(b, "2")
			d[lsCold] += run("ls", "-lR", dir)
			d[lsWarm] += run("ls", "-lR", dir)
			big := filepath.Join(dir, "big")
			d[write] += writeBig(big)
			dropCaches(b, "3")
			d[readCold] += readAll(b, big, buf, size)
			d[readWarm] += readAll(b, big, buf, size)
			d[rm] += run("rm", "-rf", dir) + run("sync", "-f", s.dir)
		}
	}
	b.StopTimer()
	for si, s := range systems {
		for r := range nRows {
			b.ReportMetric(dur[si][r].Seconds()/float64(b.N), s.name+"-"+rowNames[r]+"-s")
			if si > 0 {
				b.ReportMetric(dur[0][r].Seconds()/dur[si][r].Seconds(), s.name+"-"+rowNames[r]+"-x-kernel")
			}
		}
		if s.srv != nil {
			b.ReportMetric(s.srv.peakMiB(), s.name+"-peak-MiB")
		}
	}
	ffs.stop()
	mem.stop()
}

// readAll reads p in 1 MiB reads from whatever caches hold it and wants
// size bytes.
func readAll(b *testing.B, p string, buf []byte, size int64) time.Duration {
	b.Helper()
	start := time.Now()
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
	if err != nil || n != size {
		b.Fatalf("read %s: %d bytes of %d, %v", p, n, size, err)
	}
	return time.Since(start)
}

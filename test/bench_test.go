package test

import (
	"bufio"
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

	"github.com/dustin/go-humanize"
	"github.com/rumpfs/rumpfs/internal/testenv"
	"golang.org/x/sys/unix"
)

// The FFS benchmarks of `make bench`: the same work through FUSE on an
// FFS image (a makefs image on the host file system, in the host page
// cache) and on the in-memory root (-t rumpfs none, the bridge's
// ceiling), in one run, with the ratio of the two. Each benchmark sets
// up its servers once per call: run them with -benchtime 1x (make bench
// does). Sizes:
//
//	RUMPFS_BENCH_SIZE   sequential read file size (default 256MiB; the 1GiB)
//	RUMPFS_BENCH_FILES  files walked by find (default 10000; the 50000)
//	RUMPFS_BENCH_TAR    files in the unpacked tarball (default 5000; the 20000)
//	RUMPFS_BENCH_BIGIMAGE  the large image of the mount benchmark (default 4GiB; the 16GiB)

// benchEnv reads a size knob: humanize sizes ("1GiB") or plain counts.
func benchEnv(b *testing.B, name string, def uint64) uint64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 {
		b.Fatalf("%s=%q: want a size such as 1GiB or a count", name, v)
	}
	return n
}

// benchNeed skips a benchmark that cannot mount or lacks a tool, by
// test's rule (RUMPFS_E2E=1 makes it a failure).
func benchNeed(b *testing.B, tools ...string) {
	b.Helper()
	why := ""
	if _, err := os.Stat("/dev/fuse"); err != nil {
		why = "/dev/fuse is missing"
	} else if os.Geteuid() != 0 {
		why = "not running as root (FUSE mounts and drop_caches)"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil && why == "" {
			why = tool + " is not installed"
		}
	}
	if why == "" {
		return
	}
	testenv.Unmet(b, why)
}

// benchServer is a `rumpfs mount` process serving a benchmark.
type benchServer struct {
	b      *testing.B
	mnt    string
	cmd    *exec.Cmd
	stderr syncBuffer
	done   chan struct{}
}

// benchMount serves args on a new mount point under base and returns
// once the mount answers.
func benchMount(b *testing.B, args ...string) *benchServer {
	b.Helper()
	mnt, err := os.MkdirTemp(base, "bench-")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(mnt, 0o755)
	s := &benchServer{b: b, mnt: mnt, done: make(chan struct{})}
	s.cmd = exec.Command(rumpfsBin, append(append([]string{"mount"}, args...), mnt)...)
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	b.Cleanup(func() {
		if isMounted(mnt) {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			s.cmd.Process.Kill()
			<-s.done
		}
		os.Remove(mnt)
	})
	for deadline := time.Now().Add(30 * time.Second); !isMounted(mnt); time.Sleep(200 * time.Microsecond) {
		select {
		case <-s.done:
			b.Fatalf("rumpfs mount %s exited before mounting; stderr:\n%s", strings.Join(args, " "), s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("rumpfs mount %s: no mount after 30 s", strings.Join(args, " "))
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		b.Fatalf("stat of the new mount: %v", err)
	}
	return s
}

// stop unmounts and waits for the server to exit 0.
func (s *benchServer) stop() {
	s.b.Helper()
	for try := 0; ; try++ {
		out, err := exec.Command("fusermount3", "-u", s.mnt).CombinedOutput()
		if err == nil {
			break
		}
		if try == 100 || !strings.Contains(string(out), "busy") {
			s.b.Fatalf("fusermount3 -u %s: %v %s", s.mnt, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Minute):
		s.b.Fatalf("server on %s still running 5 minutes after the unmount", s.mnt)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.b.Fatalf("server on %s exited %d; stderr:\n%s", s.mnt, code, s.stderr.String())
	}
}

// peakMiB is the server's peak resident set (VmHWM) in MiB.
func (s *benchServer) peakMiB() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		s.b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	s.b.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// benchImage makes an empty UFS2 makefs image of size bytes in a fresh
// directory on the host file system.
func benchImage(b *testing.B, size uint64, opts string) string {
	b.Helper()
	dir := b.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		b.Fatal(err)
	}
	img := filepath.Join(dir, "ffs.img")
	out, err := exec.Command("makefs", "-t", "ffs", "-o", "version=2,"+opts, "-s", strconv.FormatUint(size, 10), img, empty).CombinedOutput()
	if err != nil {
		b.Fatalf("makefs: %v\n%s", err, out)
	}
	return img
}

// warmFile reads a host file so that it is in the page cache.
func warmFile(b *testing.B, p string) {
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	io.Copy(io.Discard, f)
}

// dropCaches writes v to /proc/sys/vm/drop_caches ("2": dentries and
// inodes, which makes the FUSE mounts forget their nodes and look them
// up again, while the image stays in the page cache).
func dropCaches(b *testing.B, v string) {
	b.Helper()
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte(v), 0); err != nil {
		b.Fatalf("drop_caches: %v", err)
	}
}

// seqRead reads p sequentially in 1 MiB reads, with the FUSE page cache
// for it dropped first, and returns the time and byte count.
func seqRead(b *testing.B, p string, buf []byte) (time.Duration, int64) {
	b.Helper()
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	start := time.Now()
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
	if err != nil {
		b.Fatalf("read %s: %v", p, err)
	}
	return time.Since(start), n
}

// BenchmarkFFSSeqRead reads one big file (RUMPFS_BENCH_SIZE) through
// FUSE from an FFS image and from the in-memory root, three times each;
// ns/op and MB/s are the FFS reads'. The target: ffs/mem-rate at least 0.8.
func BenchmarkFFSSeqRead(b *testing.B) {
	benchNeed(b, "makefs", "fusermount3")
	size := int64(benchEnv(b, "RUMPFS_BENCH_SIZE", 256<<20))
	img := benchImage(b, uint64(size+size/8+64<<20), "bsize=32768,fsize=4096")
	ffs := benchMount(b, "-t", "ffs", img)
	mem := benchMount(b, rootArgs...)
	chunk := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{9}).Read(chunk)
	for _, s := range []*benchServer{ffs, mem} {
		f, err := os.Create(filepath.Join(s.mnt, "big"))
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += int64(len(chunk)) {
			if _, err := f.Write(chunk[:min(int64(len(chunk)), size-off)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	// A fresh FFS server for the reads, so that its peak memory is the
	// read's; the image is in the host page cache.
	ffs.stop()
	warmFile(b, img)
	ffs = benchMount(b, "-t", "ffs", img)

	// Each op reads the file seqPasses times from each, alternating, so
	// that a burst of load on the host hits both alike.
	const seqPasses = 3
	var ffsT, memT time.Duration
	b.SetBytes(size * seqPasses)
	b.ResetTimer()
	for range b.N {
		for range seqPasses {
			d, n := seqRead(b, filepath.Join(ffs.mnt, "big"), chunk)
			if n != size {
				b.Fatalf("ffs: read %d bytes, want %d", n, size)
			}
			ffsT += d
			b.StopTimer()
			d, n = seqRead(b, filepath.Join(mem.mnt, "big"), chunk)
			if n != size {
				b.Fatalf("in-memory root: read %d bytes, want %d", n, size)
			}
			memT += d
			b.StartTimer()
		}
	}
	b.StopTimer()
	mb := float64(size) * seqPasses * float64(b.N) / 1e6
	b.ReportMetric(mb/ffsT.Seconds(), "ffs-MB/s")
	b.ReportMetric(mb/memT.Seconds(), "mem-MB/s")
	b.ReportMetric(memT.Seconds()/ffsT.Seconds(), "ffs/mem-rate")
	b.ReportMetric(ffs.peakMiB(), "ffs-server-peak-MiB")
	ffs.stop()
	mem.stop()
	fsckBench(b, img)
}

// benchTree makes the walked tree in dir (a host directory or a mount):
// n files of 100 bytes in directories of 100 files each.
func benchTree(b *testing.B, dir string, n int) {
	b.Helper()
	data := []byte(strings.Repeat("0123456789", 10))
	for i := 0; i < n; i++ {
		d := filepath.Join(dir, fmt.Sprintf("d%04d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("file-%06d", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// findLs runs `find dir -ls` (a stat of every entry) and returns the
// time and the number of lines.
func findLs(b *testing.B, dir string) (time.Duration, int) {
	b.Helper()
	cmd := exec.Command("find", dir, "-ls")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines++
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("find %s -ls: %v", dir, err)
	}
	return time.Since(start), lines
}

// BenchmarkFFSFindStat walks RUMPFS_BENCH_FILES files with `find -ls`
// (readdir and a stat of every entry, the host's dentry and inode caches
// dropped first) on an FFS image and on the in-memory root holding the
// same tree; ns/op is the FFS walk's. The target: ffs/mem-time
// at most 1.5.
//
// The tree is made through the mount, by a server that exits before the
// walk (the walk's server starts cold), not by makefs: NetBSD makefs
// 20190105 writes UFS2 images of 50,000 files whose first few file
// inodes are zero (fsck finds them free but referenced).
func BenchmarkFFSFindStat(b *testing.B) {
	benchNeed(b, "makefs", "fusermount3", "find")
	n := int(benchEnv(b, "RUMPFS_BENCH_FILES", 10000))
	img := benchImage(b, uint64(n)*4096+64<<20, "bsize=16384,fsize=2048,density=4096")
	ffs := benchMount(b, "-t", "ffs", img)
	benchTree(b, ffs.mnt, n)
	ffs.stop()
	fsckBench(b, img)
	warmFile(b, img)
	ffs = benchMount(b, "-t", "ffs", img)
	mem := benchMount(b, rootArgs...)
	benchTree(b, filepath.Join(mem.mnt, "tree"), n)
	want := n + n/100 + 1
	if n%100 != 0 {
		want++
	}

	var ffsT, memT time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dropCaches(b, "2")
		b.StartTimer()
		d, lines := findLs(b, ffs.mnt)
		if lines != want {
			b.Fatalf("find on ffs listed %d entries, want %d", lines, want)
		}
		ffsT += d
		b.StopTimer()
		dropCaches(b, "2")
		d, lines = findLs(b, filepath.Join(mem.mnt, "tree"))
		if lines != want {
			b.Fatalf("find on the in-memory root listed %d entries, want %d", lines, want)
		}
		memT += d
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(ffsT.Seconds()/float64(b.N), "ffs-s")
	b.ReportMetric(memT.Seconds()/float64(b.N), "mem-s")
	b.ReportMetric(ffsT.Seconds()/memT.Seconds(), "ffs/mem-time")
	b.ReportMetric(ffs.peakMiB(), "ffs-server-peak-MiB")
	ffs.stop()
	mem.stop()
	fsckBench(b, img)
}

// BenchmarkFFSUntar unpacks a tarball of RUMPFS_BENCH_TAR small files
// with tar -xf and then syncs (sync -f), through FUSE into an FFS image
// and into the in-memory root; ns/op is the FFS unpack's. Each pass
// unpacks into a new directory and removes it afterwards, untimed.
func BenchmarkFFSUntar(b *testing.B) {
	benchNeed(b, "makefs", "fusermount3", "tar")
	n := int(benchEnv(b, "RUMPFS_BENCH_TAR", 5000))
	tarball := filepath.Join(b.TempDir(), "tree.tar")
	tarTree(b, tarball, n, false, 3)
	warmFile(b, tarball)
	img := benchImage(b, uint64(n)*8192+64<<20, "bsize=16384,fsize=2048,density=4096")
	warmFile(b, img)
	ffs := benchMount(b, "-t", "ffs", img)
	mem := benchMount(b, rootArgs...)
	untar := func(s *benchServer, pass int) time.Duration {
		dir := filepath.Join(s.mnt, fmt.Sprintf("x%d", pass))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if out, err := exec.Command("tar", "-xf", tarball, "-C", dir).CombinedOutput(); err != nil {
			b.Fatalf("tar -xf into %s: %v\n%s", dir, err, out)
		}
		if out, err := exec.Command("sync", "-f", dir).CombinedOutput(); err != nil {
			b.Fatalf("sync -f %s: %v\n%s", dir, err, out)
		}
		return time.Since(start)
	}
	var ffsT, memT time.Duration
	b.ResetTimer()
	for i := range b.N {
		ffsT += untar(ffs, i)
		b.StopTimer()
		memT += untar(mem, i)
		for _, s := range []*benchServer{ffs, mem} {
			if err := os.RemoveAll(filepath.Join(s.mnt, fmt.Sprintf("x%d", i))); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(ffsT.Seconds()/float64(b.N), "ffs-s")
	b.ReportMetric(memT.Seconds()/float64(b.N), "mem-s")
	b.ReportMetric(ffsT.Seconds()/memT.Seconds(), "ffs/mem-time")
	b.ReportMetric(float64(n)*float64(b.N)/ffsT.Seconds(), "ffs-files/s")
	ffs.stop()
	mem.stop()
	fsckBench(b, img)
}

// fsckBench wants the benchmark's image fsck clean after its server
// exited.
func fsckBench(b *testing.B, img string) {
	b.Helper()
	if out, err := exec.Command(rumpfsBin, "fsck", "-n", img).CombinedOutput(); err != nil {
		b.Fatalf("rumpfs fsck -n after the benchmark: %v\n%s", err, out)
	}
}

// BenchmarkFFSMount times `rumpfs mount -t ffs` of an empty 64 MiB image
// and of an empty RUMPFS_BENCH_BIGIMAGE image, alternating, from the
// start of the process to the first answered stat of the mount (process
// start, kernel boot, the FFS mount and FUSE_INIT), ten times each; ns/op
// is the ten mounts of the small image. The target: the same time for both (big/small-time
// near 1), under 50 ms.
func BenchmarkFFSMount(b *testing.B) {
	benchNeed(b, "makefs", "fusermount3")
	big := benchEnv(b, "RUMPFS_BENCH_BIGIMAGE", 4<<30)
	imgs := []string{
		benchImage(b, 64<<20, "bsize=32768,fsize=4096"),
		benchImage(b, big, "bsize=32768,fsize=4096"),
	}
	unix.Sync() // makefs's dirty pages written back before the clock runs
	const rounds = 10
	var times [2]time.Duration
	b.ResetTimer()
	for range b.N {
		for range rounds {
			for i, img := range imgs {
				if i == 1 {
					b.StopTimer()
				}
				start := time.Now()
				s := benchMount(b, "-t", "ffs", img)
				times[i] += time.Since(start)
				b.StopTimer()
				s.stop()
				b.StartTimer()
			}
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(b.N*rounds) }
	b.ReportMetric(ms(times[0]), "small-ms")
	b.ReportMetric(ms(times[1]), "big-ms")
	b.ReportMetric(times[1].Seconds()/times[0].Seconds(), "big/small-time")
	for _, img := range imgs {
		fsckBench(b, img)
	}
}

package vfs_test

import (
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// BenchmarkStatCached is the syscall round trip: stat of a cached path.
// It must allocate nothing.
func BenchmarkStatCached(b *testing.B) {
	_, l := boot(b, kernel.Config{})
	vfs.Mkdir(l, "/tmp/a", 0o755)
	fd, _ := vfs.Open(l, "/tmp/a/file", unix.O_CREAT|unix.O_WRONLY, 0o644)
	vfs.Close(l, fd)
	var va vfs.Vattr
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if e := vfs.Stat(l, "/tmp/a/file", &va); e != 0 {
			b.Fatal(e)
		}
	}
}

func TestStatAllocatesNothing(t *testing.T) {
	_, l := boot(t, kernel.Config{})
	fd, _ := vfs.Open(l, "/tmp/file", unix.O_CREAT|unix.O_WRONLY, 0o644)
	vfs.Close(l, fd)
	var va vfs.Vattr
	if n := testing.AllocsPerRun(200, func() { vfs.Stat(l, "/tmp/file", &va) }); n != 0 {
		t.Fatalf("stat of a cached path allocates %v times", n)
	}
}

// BenchmarkPread1M reads 1 MiB from a file on the rumpfs root.
func BenchmarkPread1M(b *testing.B) {
	_, l := boot(b, kernel.Config{})
	fd, _ := vfs.Open(l, "/tmp/big", unix.O_CREAT|unix.O_RDWR, 0o644)
	buf := make([]byte, 1<<20)
	for i := 0; i < 16; i++ {
		vfs.Write(l, fd, buf)
	}
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n, e := vfs.Pread(l, fd, buf, int64(i%16)<<20); n != len(buf) || e != 0 {
			b.Fatal(n, e)
		}
	}
}

// BenchmarkCreateUnlink creates and removes one file.
func BenchmarkCreateUnlink(b *testing.B) {
	_, l := boot(b, kernel.Config{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fd, e := vfs.Open(l, "/tmp/f", unix.O_CREAT|unix.O_WRONLY, 0o644)
		if e != 0 {
			b.Fatal(e)
		}
		vfs.Close(l, fd)
		if e := vfs.Unlink(l, "/tmp/f"); e != 0 {
			b.Fatal(e)
		}
	}
}

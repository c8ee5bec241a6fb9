package p2k

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// BenchmarkSequential measures sequential write and read of one large
// file through a real FUSE mount of the rumpfs root served by p2k, and
// through a bare go-fuse server that keeps the file in a byte slice with
// no kernel behind it (the ceiling for the bridge), in one run. It reports
// MB/s of each and p2k's ratio to the ceiling. The size is 256 MiB, or
// RUMPFS_BENCH_SIZE (for example 1GiB).
func BenchmarkSequential(bm *testing.B) {
	size := uint64(256 << 20)
	if s := os.Getenv("RUMPFS_BENCH_SIZE"); s != "" {
		var err error
		if size, err = humanize.ParseBytes(s); err != nil {
			bm.Fatalf("RUMPFS_BENCH_SIZE=%q: %v", s, err)
		}
	}
	size = size &^ (1<<20 - 1)
	b, _ := testBridge(bm, DefaultOptions())
	p2kMnt := mount(bm, b, nil)
	bare := &memFS{RawFileSystem: fuse.NewDefaultRawFileSystem(), data: make([]byte, 0, size)}
	bareMnt := mount(bm, bare, nil)
	for _, m := range []string{p2kMnt, bareMnt} {
		setReadahead(bm, m, 1024)
	}
	p2kFile := filepath.Join(p2kMnt, "data")
	if err := os.WriteFile(p2kFile, nil, 0o644); err != nil {
		bm.Fatal(err)
	}
	bareFile := filepath.Join(bareMnt, "data")

	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + i>>10)
	}
	var dur [4]time.Duration // p2k write, p2k read, bare write, bare read
	for bm.Loop() {
		for i, f := range []string{p2kFile, bareFile} {
			dur[2*i] += timed(bm, func() { writeFile(bm, f, buf, size) })
			dur[2*i+1] += timed(bm, func() { readFile(bm, f, buf, size) })
		}
	}
	mbs := func(d time.Duration) float64 { return float64(size) * float64(bm.N) / 1e6 / d.Seconds() }
	bm.ReportMetric(mbs(dur[0]), "p2k-write-MB/s")
	bm.ReportMetric(mbs(dur[1]), "p2k-read-MB/s")
	bm.ReportMetric(mbs(dur[2]), "bare-write-MB/s")
	bm.ReportMetric(mbs(dur[3]), "bare-read-MB/s")
	bm.ReportMetric(mbs(dur[0])/mbs(dur[2]), "write-ratio")
	bm.ReportMetric(mbs(dur[1])/mbs(dur[3]), "read-ratio")
}

// timed runs fn after a collection, so that garbage an earlier pass left
// (the rumpfs root allocates as it is written) is not billed to fn.
func timed(bm *testing.B, fn func()) time.Duration {
	bm.StopTimer()
	runtime.GC()
	bm.StartTimer()
	t0 := time.Now()
	fn()
	return time.Since(t0)
}

// writeFile truncates name and writes size bytes, buf after buf.
func writeFile(bm *testing.B, name string, buf []byte, size uint64) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		bm.Fatal(err)
	}
	for n := uint64(0); n < size; n += uint64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			bm.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		bm.Fatal(err)
	}
}

// readFile reads name to its end; opening it again drops the host's page
// cache of the file (no FOPEN_KEEP_CACHE on either server), so every byte
// comes from the server.
func readFile(bm *testing.B, name string, buf []byte, size uint64) {
	f, err := os.Open(name)
	if err != nil {
		bm.Fatal(err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
	if err != nil || uint64(n) != size {
		bm.Fatalf("read %s: %d bytes, %v; want %d", name, n, err, size)
	}
}

// setReadahead raises the host's readahead for the mount, so reads come
// in requests as large as MaxWrite allows. Best effort: it needs root.
func setReadahead(bm *testing.B, mnt string, kb int) {
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		bm.Fatal(err)
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	if err := os.WriteFile(p, []byte(fmt.Sprint(kb)), 0); err != nil {
		bm.Logf("readahead stays at the default: %v", err)
	}
}

// memFS is the ceiling: a go-fuse raw server with one file, "data", kept
// in a byte slice and served without copies.
type memFS struct {
	fuse.RawFileSystem
	mu   sync.RWMutex
	data []byte
}

const memFileID = 2

func (m *memFS) attr(id uint64, a *fuse.Attr) fuse.Status {
	switch id {
	case fuse.FUSE_ROOT_ID:
		*a = fuse.Attr{Ino: 1, Mode: unix.S_IFDIR | 0o755, Nlink: 2}
	case memFileID:
		m.mu.RLock()
		*a = fuse.Attr{Ino: 2, Mode: unix.S_IFREG | 0o644, Nlink: 1, Size: uint64(len(m.data)), Blksize: 4096}
		m.mu.RUnlock()
	default:
		return fuse.ENOENT
	}
	return fuse.OK
}

func (m *memFS) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	if h.NodeId != fuse.FUSE_ROOT_ID || name != "data" {
		return fuse.ENOENT
	}
	out.NodeId = memFileID
	out.SetEntryTimeout(time.Second)
	out.SetAttrTimeout(time.Second)
	return m.attr(memFileID, &out.Attr)
}

func (m *memFS) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	out.SetTimeout(time.Second)
	return m.attr(in.NodeId, &out.Attr)
}

func (m *memFS) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	if sz, ok := in.GetSize(); ok && in.NodeId == memFileID {
		m.mu.Lock()
		if sz <= uint64(len(m.data)) {
			m.data = m.data[:sz]
		} else {
			m.data = append(m.data, make([]byte, sz-uint64(len(m.data)))...)
		}
		m.mu.Unlock()
	}
	out.SetTimeout(time.Second)
	return m.attr(in.NodeId, &out.Attr)
}

func (m *memFS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return fuse.OK
}

func (m *memFS) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	off := min(in.Offset, uint64(len(m.data)))
	end := min(off+uint64(in.Size), uint64(len(m.data)))
	return fuse.ReadResultData(m.data[off:end]), fuse.OK
}

func (m *memFS) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	end := in.Offset + uint64(len(data))
	if end > uint64(len(m.data)) {
		if end > uint64(cap(m.data)) {
			return 0, fuse.Status(unix.ENOSPC)
		}
		m.data = m.data[:end]
	}
	copy(m.data[in.Offset:], data)
	return uint32(len(data)), fuse.OK
}

func (m *memFS) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status { return fuse.OK }

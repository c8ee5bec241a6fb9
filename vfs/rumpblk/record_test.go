package rumpblk_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/rumpblk"
	"golang.org/x/sys/unix"
)

// TestRecorder: a device's writes, barriers and a test's marks land in the
// log in order; a failed write and a write after SetRecorder(nil) do not.
// The log file form reads back the same.
func TestRecorder(t *testing.T) {
	d, l, _ := open(t, 1024, 8192, false)
	var file bytes.Buffer
	mem, stream := rumpblk.NewRecorder(nil), rumpblk.NewRecorder(&file)
	both := func(f func(r *rumpblk.Recorder)) { f(mem); f(stream) }
	a, b := bytes.Repeat([]byte{1}, 512), bytes.Repeat([]byte{2}, 1024)

	d.SetRecorder(mem)
	both(func(r *rumpblk.Recorder) { r.Mark("first") })
	d.WriteAt(l, a, 512)
	d.Sync(l)
	d.FailNthWrite(1)
	if _, e := d.WriteAt(l, a, 0); e == 0 {
		t.Fatal("injected fault did not fail")
	}
	d.WriteAt(l, b, 2048)
	d.SetRecorder(nil)
	d.WriteAt(l, a, 4096)
	// The stream recorder gets the same calls by hand (through Recording).
	rd := rumpblk.Recording{Device: &memDev{make([]byte, 8192)}, Rec: stream}
	rd.WriteAt(nil, a, 512)
	rd.Sync(nil)
	rd.WriteAt(nil, b, 2048)

	want := []rumpblk.Op{
		{Kind: rumpblk.OpMark, Label: "first"},
		{Kind: rumpblk.OpWrite, Off: 512, Data: a},
		{Kind: rumpblk.OpBarrier},
		{Kind: rumpblk.OpWrite, Off: 2048, Data: b},
	}
	same := func(what string, got []rumpblk.Op) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s log:\n%v\nwant\n%v", what, got, want)
		}
	}
	same("memory", mem.Log().Ops)
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
	lg, err := rumpblk.ReadLog(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	same("file", lg.Ops)
	var again bytes.Buffer
	if n, err := mem.Log().WriteTo(&again); err != nil || n != int64(again.Len()) {
		t.Errorf("WriteTo: %d, %v; wrote %d", n, err, again.Len())
	}
	if !bytes.Equal(again.Bytes(), file.Bytes()) {
		t.Error("Log.WriteTo and the streaming recorder disagree")
	}
}

// TestReadLogBad: every cut and every flipped byte of a log is an error.
func TestReadLogBad(t *testing.T) {
	lg := &rumpblk.Log{Ops: []rumpblk.Op{
		{Kind: rumpblk.OpMark, Label: "x"},
		{Kind: rumpblk.OpWrite, Off: 512, Data: bytes.Repeat([]byte{7}, 512)},
		{Kind: rumpblk.OpBarrier},
	}}
	var buf bytes.Buffer
	lg.WriteTo(&buf)
	good := buf.Bytes()
	if _, err := rumpblk.ReadLog(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(good); n++ {
		if _, err := rumpblk.ReadLog(bytes.NewReader(good[:n])); !errors.Is(err, rumpblk.ErrBadLog) {
			t.Fatalf("log cut at %d of %d: %v", n, len(good), err)
		}
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x10
		if _, err := rumpblk.ReadLog(bytes.NewReader(bad)); !errors.Is(err, rumpblk.ErrBadLog) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	// A huge length is refused before anything is allocated.
	huge := []byte("RBLKLOG1W")
	huge = binary.LittleEndian.AppendUint64(huge, 0)
	huge = binary.LittleEndian.AppendUint32(huge, 1<<31)
	if _, err := rumpblk.ReadLog(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "write of") {
		t.Fatalf("huge write: %v", err)
	}
	if _, _, err := lg.Replay(make([]byte, 600), rumpblk.ReplayOptions{}, nil); !errors.Is(err, rumpblk.ErrBadLog) {
		t.Fatalf("write past the image: %v", err)
	}
}

// pairDriver is a toy driver updating a record in two blocks, the data
// (block 1) and a commit block (block 0) naming the version the data
// holds. Correct ordering puts a barrier between them; the broken one
// writes both before its only barrier.
func pairDriver(r *rumpblk.Recorder, broken bool) {
	dev := rumpblk.Recording{Device: &memDev{make([]byte, 2048)}, Rec: r}
	for v := byte(1); v <= 3; v++ {
		r.Mark(fmt.Sprintf("update %d", v))
		dev.WriteAt(nil, bytes.Repeat([]byte{v}, 512), 512)
		if !broken {
			dev.Sync(nil)
		}
		dev.WriteAt(nil, bytes.Repeat([]byte{v}, 512), 0)
		dev.Sync(nil)
	}
}

// pairCheck: the data holds at least the version committed.
func pairCheck(_ rumpblk.Point, dev *rumpblk.CrashImage) error {
	return pairCheckBytes(dev.Bytes())
}

func pairCheckBytes(img []byte) error {
	if img[512] < img[0] {
		return fmt.Errorf("commit says %d, data is %d", img[0], img[512])
	}
	return nil
}

// TestReplayFindsMissingBarrier: every crash point of the correct toy
// driver checks clean, cuts into its epochs included; the broken one's
// first bad point is found, named and rebuilt on its own.
func TestReplayFindsMissingBarrier(t *testing.T) {
	base := make([]byte, 2048)
	opts := rumpblk.ReplayOptions{Epochs: true, Seed: 1}
	good := rumpblk.NewRecorder(nil)
	pairDriver(good, false)
	n, fail, err := good.Log().Replay(base, opts, pairCheck)
	if err != nil || fail != nil {
		t.Fatalf("correct driver: %v %v", err, fail)
	}
	if n < 7 {
		t.Errorf("only %d points tried", n)
	}

	bad := rumpblk.NewRecorder(nil)
	pairDriver(bad, true)
	lg := bad.Log()
	// The barrier images alone cannot see it.
	if _, fail, _ := lg.Replay(base, rumpblk.ReplayOptions{}, pairCheck); fail != nil {
		t.Fatalf("barrier points of the broken driver: %v", fail)
	}
	_, fail, err = lg.Replay(base, opts, pairCheck)
	if err != nil || fail == nil {
		t.Fatalf("broken driver not caught: %v", err)
	}
	t.Logf("caught: %v", fail)
	if !fail.Point.Cut || fail.Point.Mark != "update 1" {
		t.Errorf("first failure %v, want a cut during update 1", fail.Point)
	}
	img, err := lg.Image(base, fail.Point)
	if err != nil || pairCheckBytes(img) == nil {
		t.Errorf("the failing point does not reproduce: %v", err)
	}
}

// memDev is a writable bio.Device over memory.
type memDev struct{ b []byte }

var _ bio.Device = (*memDev)(nil)

func (d *memDev) ReadAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	return copy(p, d.b[off:]), 0
}
func (d *memDev) WriteAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	return copy(d.b[off:], p), 0
}
func (d *memDev) Sync(*kernel.LWP) unix.Errno { return 0 }
func (d *memDev) Size() int64                 { return int64(len(d.b)) }
func (d *memDev) SectorSize() int             { return 512 }
func (d *memDev) ReadOnly() bool              { return false }

// TestTornAndDeadWrites: a torn write lands its first bytes, fails with
// EIO and is recorded as far as it went; after FailAfterWrites(n) the
// (n+1)th write and every later one fail.
func TestTornAndDeadWrites(t *testing.T) {
	d, l, data := open(t, 0, 8192, false)
	rec := rumpblk.NewRecorder(nil)
	d.SetRecorder(rec)
	d.TearNthWrite(2, 512)
	ones := bytes.Repeat([]byte{1}, 2048)
	if n, e := d.WriteAt(l, ones, 0); n != 2048 || e != 0 {
		t.Fatalf("first write: %d %v", n, e)
	}
	if n, e := d.WriteAt(l, ones, 4096); n != 512 || e != unix.EIO {
		t.Fatalf("torn write: %d %v, want 512 EIO", n, e)
	}
	got := make([]byte, 2048)
	d.ReadAt(l, got, 4096)
	if !bytes.Equal(got[:512], ones[:512]) || !bytes.Equal(got[512:], data[4096+512:4096+2048]) {
		t.Error("torn write did not keep exactly its first 512 bytes")
	}
	if ops := rec.Log().Writes(); len(ops) != 2 || len(ops[1].Data) != 512 {
		t.Errorf("recorded %v", ops)
	}
	if _, e := d.WriteAt(l, ones, 4096); e != 0 {
		t.Errorf("a torn write is once: %v", e)
	}

	d.FailAfterWrites(2)
	for i, want := range []unix.Errno{0, 0, unix.EIO, unix.EIO} {
		if _, e := d.WriteAt(l, ones[:512], 0); e != want {
			t.Errorf("write %d after FailAfterWrites(2): %v, want %v", i+1, e, want)
		}
	}
	if _, e := d.ReadAt(l, got, 0); e != 0 {
		t.Errorf("reads still work on a dead disk: %v", e)
	}
	d.ClearFaults()
	if _, e := d.WriteAt(l, ones[:512], 0); e != 0 {
		t.Errorf("after ClearFaults: %v", e)
	}
}

// TestCrashImageOverlay: writes at any offset and length, overlapping and
// touching a short last sector, read back through the overlay as through
// a copy they were applied to in order; base stays as it was.
func TestCrashImageOverlay(t *testing.T) {
	base := make([]byte, 3000) // the last sector is 440 bytes
	for i := range base {
		base[i] = byte(i % 7)
	}
	orig := bytes.Clone(base)
	rng := rand.New(rand.NewPCG(1, 2))
	lg := &rumpblk.Log{}
	want := bytes.Clone(base)
	for i := 0; i < 200; i++ {
		off := rng.IntN(len(base))
		n := 1 + rng.IntN(min(1500, len(base)-off))
		p := bytes.Repeat([]byte{byte(i)}, n)
		lg.Ops = append(lg.Ops, rumpblk.Op{Kind: rumpblk.OpWrite, Off: int64(off), Data: p})
		copy(want[off:], p)
	}
	img, err := lg.Open(base, rumpblk.Point{Writes: 200})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img.Bytes(), want) {
		t.Fatal("Bytes differs from the writes applied in order")
	}
	for i := 0; i < 200; i++ {
		off := rng.IntN(len(base) + 100)
		got := make([]byte, rng.IntN(2000))
		n, _ := img.ReadAt(nil, got, int64(off))
		wantN := max(0, min(len(got), len(base)-off))
		if n != wantN || n > 0 && !bytes.Equal(got[:n], want[off:off+n]) {
			t.Fatalf("ReadAt(%d bytes at %d): %d bytes, differs", len(got), off, n)
		}
	}
	if !bytes.Equal(base, orig) {
		t.Fatal("the base image changed")
	}
}

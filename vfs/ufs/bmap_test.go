package ufs

import (
	"encoding/binary"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// fakeMeta serves indirect blocks from a map of fragment address to
// pointers.
type fakeMeta struct {
	bo     binary.ByteOrder
	blocks map[int64][]int64
	bsize  int
}

func (f *fakeMeta) ReadMeta(_ *kernel.LWP, fsb int64, size int, fn func([]byte)) unix.Errno {
	ptrs, ok := f.blocks[fsb]
	if !ok {
		return unix.EIO
	}
	b := make([]byte, f.bsize)
	for i, p := range ptrs {
		f.bo.PutUint64(b[8*i:], uint64(p))
	}
	fn(b)
	return 0
}

// TestBmapAllLevels maps blocks through direct, single, double and triple
// indirection, with a tiny NIndir so the triple range is reachable, and
// checks holes and out-of-range pointers.
func TestBmapAllLevels(t *testing.T) {
	const nindir = 4
	meta := &fakeMeta{bo: binary.BigEndian, bsize: 4096, blocks: map[int64][]int64{
		100: {500, 0, 502, 503},       // single: lbn 12..15
		200: {210, 0, 0, 0},           // double: lbn 16..31
		210: {600, 601, 602, 0},       //
		300: {0, 310, 0, 0},           // triple: lbn 32..95
		310: {0, 0, 320, 0},           //   lbn 32+16+8.. = 56..59
		320: {700, 1 << 40, 702, 703}, //
	}}
	m := &Mount{Meta: meta, Order: binary.BigEndian, UFS2: true, BSize: 4096, FSize: 4096,
		BShift: 12, FShift: 12, NIndir: nindir, NFrags: 10000, MaxIno: 100}
	ip := &Inode{M: m, Number: 9, Dinode: Dinode{UFS2: true, Mode: IFREG, Size: 96 * 4096}}
	for i := range ip.DB {
		ip.DB[i] = int64(400 + i)
	}
	ip.DB[5] = 0
	ip.IB = [3]int64{100, 200, 300}
	for _, tc := range []struct {
		lbn, fsb int64
		run      int
		err      unix.Errno
	}{
		{0, 400, 4, 0}, {4, 404, 0, 0}, {5, 0, 0, 0}, {6, 406, 5, 0}, {11, 411, 0, 0},
		{12, 500, 0, 0}, {13, 0, 0, 0}, {14, 502, 1, 0},
		{16, 600, 2, 0}, {18, 602, 0, 0}, {19, 0, 0, 0}, {20, 0, 0, 0},
		{32, 0, 0, 0}, {56, 700, 0, 0}, {57, 0, 0, unix.EIO}, {58, 702, 1, 0},
		{96, 0, 0, unix.EFBIG},
	} {
		fsb, run, err := ip.Bmap(nil, tc.lbn)
		if fsb != tc.fsb || run != tc.run || err != tc.err {
			t.Errorf("Bmap(%d) = %d, run %d, %v; want %d, run %d, %v", tc.lbn, fsb, run, err, tc.fsb, tc.run, tc.err)
		}
	}
}

package disk

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testimg"
)

// sampleImage is the driver's sample image (a small little-endian UFS2).
func sampleImage(t testing.TB) []byte { return testimg.Gunzip(t, "../testdata/sample.ffs.gz") }

// sampleSB returns the sample image, its superblock bytes and location.
func sampleSB(t testing.TB) ([]byte, []byte, int64) {
	img := sampleImage(t)
	for _, loc := range SBlockSearch {
		if _, _, ok := FindMagic(img[loc:]); ok {
			return img, img[loc : loc+SBlockSize], loc
		}
	}
	t.Fatal("sample has no superblock")
	return nil, nil, 0
}

// TestSuperblockEncode checks that encoding goes through the layout
// decoding reads: an unchanged superblock encodes to its own bytes, and
// the members a writer changes read back as written, in both orders.
func TestSuperblockEncode(t *testing.T) {
	_, le, loc := sampleSB(t)
	for _, raw := range [][]byte{le, testimg.SwapFFSSuperblock(le)} {
		sb, err := ParseSuperblock(raw, loc)
		if err != nil {
			t.Fatal(err)
		}
		b := bytes.Clone(sb.Raw)
		sb.Encode(b)
		if !bytes.Equal(b, sb.Raw) {
			t.Errorf("%v: an unchanged superblock encodes differently", sb.Order)
		}
		sb.Clean, sb.Ronly, sb.Fmod, sb.Time = 0, 1, 0, 1234567
		sb.CSTotal = CSum{NDir: 7, NBFree: 1 << 33, NIFree: 9, NFFree: 10}
		sb.Encode(b)
		again, err := ParseSuperblock(append(b, raw[len(b):]...), loc)
		if err != nil {
			t.Fatal(err)
		}
		if again.Clean != 0 || again.Ronly != 1 || again.Time != 1234567 || again.CSTotal != sb.CSTotal {
			t.Errorf("%v: reads back clean %d ronly %d time %d totals %v", sb.Order, again.Clean, again.Ronly, again.Time, again.CSTotal)
		}
	}
}

// TestCGFields checks the cylinder group helpers against ParseCG.
func TestCGFields(t *testing.T) {
	img, raw, loc := sampleSB(t)
	sb, err := ParseSuperblock(raw, loc)
	if err != nil {
		t.Fatal(err)
	}
	off := sb.CGTod(0) << sb.FShift
	b := bytes.Clone(img[off : off+int64(sb.CGSize)])
	cg, err := ParseCG(b, sb, 0)
	if err != nil {
		t.Fatal(err)
	}
	if CGCS(sb.Order, b) != cg.CS {
		t.Errorf("CGCS %v, ParseCG %v", CGCS(sb.Order, b), cg.CS)
	}
	CGAddCS(sb.Order, b, CSum{NDir: 1, NIFree: -1})
	SetCGTime(sb, b, 99)
	CGIRotor.Put(sb.Order, b, 5)
	cg2, err := ParseCG(b, sb, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cg2.CS.NDir != cg.CS.NDir+1 || cg2.CS.NIFree != cg.CS.NIFree-1 || cg2.Time != 99 || cg2.IRotor != 5 {
		t.Errorf("after the edits: %+v", cg2)
	}
	s := make([]byte, 3*CSumSize)
	EncodeCSum(sb.Order, s, 2, cg.CS)
	if DecodeCSum(sb.Order, s, 2) != cg.CS || DecodeCSum(sb.Order, s, 1) != (CSum{}) {
		t.Errorf("summary array round trip")
	}
}

func TestSuperblockBothOrders(t *testing.T) {
	_, le, loc := sampleSB(t)
	a, err := ParseSuperblock(le, loc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseSuperblock(testimg.SwapFFSSuperblock(le), loc)
	if err != nil {
		t.Fatalf("swapped: %v", err)
	}
	if b.Order != binary.BigEndian || a.Size != b.Size || a.CSTotal != b.CSTotal || a.IPG != b.IPG || a.Clean != b.Clean {
		t.Errorf("swapped superblock reads differently: %+v vs %+v", a, b)
	}
}

func TestSuperblockRejects(t *testing.T) {
	_, good, loc := sampleSB(t)
	for _, tc := range []struct {
		name string
		off  int
		val  uint32
	}{
		{"bsize 2048", 48, 2048}, {"bsize 128k", 48, 131072}, {"bsize not pow2", 48, 12288},
		{"fsize 256", 52, 256}, {"frag 16", 56, 16}, {"ncg 0", 44, 0}, {"ncg huge", 44, 1 << 30},
		{"ipg 0", 184, 0}, {"ipg odd", 184, 7}, {"fpg 0", 188, 0}, {"cgsize huge", 160, 1 << 20},
		{"cgsize tiny", 160, 10}, {"sbsize", 104, 100}, {"inopb", 120, 3}, {"nindir", 116, 5},
		{"dblkno past fpg", 20, 1 << 30}, {"iblkno before cblkno", 16, 0}, {"cssize", 156, 0},
		{"contigsumsize", 1316, 99}, {"maxsymlinklen", 1320, 500}, {"bshift", 80, 3},
	} {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[tc.off:], tc.val)
		if _, err := ParseSuperblock(b, loc); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	b := bytes.Clone(good)
	binary.LittleEndian.PutUint64(b[1080:], 1<<40) // fs_size
	if _, err := ParseSuperblock(b, loc); err == nil {
		t.Errorf("size 2^40: accepted")
	}
	if _, err := ParseSuperblock(good, loc+8192); err == nil {
		t.Errorf("superblock at the wrong location accepted")
	}
}

func FuzzParseSuperblock(f *testing.F) {
	_, sb, loc := sampleSB(f)
	f.Add(bytes.Clone(sb), loc)
	f.Add(testimg.SwapFFSSuperblock(sb), loc)
	f.Fuzz(func(t *testing.T, b []byte, loc int64) {
		if len(b) < SBlockSize {
			b = append(b, make([]byte, SBlockSize-len(b))...)
		}
		s, err := ParseSuperblock(b, loc)
		if err != nil {
			return
		}
		// Everything the driver derives must be in range.
		last := int64(s.NCG) - 1
		if s.CGDMin(last) > s.Size || s.CGTod(last)+int64(s.CGSize)>>s.FShift > s.Size {
			t.Fatalf("last group's metadata past the end")
		}
		maxIno := uint64(s.NInodes() - 1)
		if s.InoToFsba(maxIno)+int64(s.Frag) > s.CGDMin(last) {
			t.Fatalf("last inode block past the inode area")
		}
		_ = s.MaxFileSize()
	})
}

func FuzzParseCG(f *testing.F) {
	img, raw, loc := sampleSB(f)
	sb, err := ParseSuperblock(raw, loc)
	if err != nil {
		f.Fatal(err)
	}
	off := sb.CGTod(0) << sb.FShift
	f.Add(bytes.Clone(img[off : off+int64(sb.CGSize)]))
	f.Fuzz(func(t *testing.T, b []byte) {
		cg, err := ParseCG(b, sb, 0)
		if err != nil {
			return
		}
		for i := int64(0); i < int64(sb.IPG); i++ {
			cg.InodeUsed(i)
		}
		for i := int64(0); i < int64(sb.FPG); i++ {
			cg.FragFree(i)
		}
		for i := int64(0); cg.ClustersFree != nil && i < int64(sb.FPG/sb.Frag); i++ {
			cg.ClusterFree(i)
		}
	})
}

package disk

import "testing"

// Seeds are small valid structures; the fuzzers check that the parsers
// never panic and that what they accept is self-consistent.

func testRecord(name string, su []byte) []byte {
	n := MinRecord - 1 + len(name)
	if len(name)%2 == 0 {
		n++
	}
	b := make([]byte, n+len(su))
	b[0] = byte(len(b))
	b[2], b[10] = 20, 100
	b[19], b[20] = 1, 1
	b[32] = byte(len(name))
	copy(b[33:], name)
	copy(b[n:], su)
	return b
}

func testSUSP() []byte {
	return []byte{
		'N', 'M', 9, 1, 0, 'n', 'a', 'm', 'e',
		'S', 'L', 12, 1, 0, 8, 0, 0, 3, 'a', 'b', 'c',
		'T', 'F', 12, 1, 0x02, 120, 1, 2, 3, 4, 5, 0,
		'C', 'E', 28, 1, 20, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 10,
	}
}

func FuzzRecord(f *testing.F) {
	f.Add(testRecord("FILE.TXT;1", testSUSP()))
	f.Add(testRecord("\x00", nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		if r.Len < MinRecord || r.Len > len(b) || len(r.Name) == 0 {
			t.Fatalf("accepted record length %d name %d of %d bytes", r.Len, len(r.Name), len(b))
		}
		_ = PlainName(r.Name)
		_ = JolietName(r.Name)
	})
}

func FuzzSUSP(f *testing.F) {
	f.Add(testSUSP())
	f.Add([]byte{'S', 'P', 7, 1, 0xbe, 0xef, 0})
	f.Add([]byte{'P', 'X', 44, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var rr RockRidge
		ce, err := ParseSUSP(b, &rr)
		if err != nil {
			return
		}
		// A second area continues what the first left open.
		_, _ = ParseSUSP(b, &rr)
		_ = ce
	})
}

func FuzzVolumeDescriptor(f *testing.F) {
	b := make([]byte, SectorSize)
	b[0] = VDPrimary
	copy(b[1:], "CD001")
	b[6] = 1
	b[128], b[129] = 0, 8
	copy(b[156:], testRecord("\x00", nil))
	b[156+25] = FlagDir
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		vd, err := ParseVolumeDescriptor(b)
		if err != nil || vd.Type != VDPrimary && vd.Type != VDSupplementary {
			return
		}
		if vd.BlockSize != 512 && vd.BlockSize != 1024 && vd.BlockSize != 2048 {
			t.Fatalf("accepted block size %d", vd.BlockSize)
		}
		if vd.Root.Flags&FlagDir == 0 {
			t.Fatal("accepted a root that is not a directory")
		}
	})
}

func TestSUSP(t *testing.T) {
	var rr RockRidge
	ce, err := ParseSUSP(testSUSP(), &rr)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Name != "name" || rr.Link != "/abc" || rr.Mtime.Year() != 2020 || ce == nil || ce.Block != 20 || ce.Len != 10 {
		t.Errorf("parsed %+v, continuation %+v", rr, ce)
	}
	if _, err := ParseSUSP([]byte{'N', 'M', 200, 1, 0}, &rr); err == nil {
		t.Error("an entry running past its area was accepted")
	}
}

func TestVolumeDescriptorSeed(t *testing.T) {
	b := make([]byte, SectorSize)
	b[0] = VDPrimary
	copy(b[1:], "CD001")
	b[6] = 1
	b[128], b[129] = 0, 8
	copy(b[156:], testRecord("\x00", nil))
	b[156+25] = FlagDir
	if _, err := ParseVolumeDescriptor(b); err != nil {
		t.Fatal(err)
	}
}

package disk

import (
	"encoding/binary"
	"testing"
)

// Seeds are small valid structures; the fuzzers check that parsers never
// panic and that what they accept is self-consistent.

func FuzzSuperblock(f *testing.F) {
	f.Add(testSuperblock())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSuperblock(b)
		if err != nil {
			return
		}
		if bs := s.BlockSize(); bs < 1024 || bs > 65536 {
			t.Fatalf("accepted block size %d", bs)
		}
		_ = s.Verify(b)
		_ = s.FeatureString()
		if s.Has64bit() && s.GroupDescSize() < 32 {
			t.Fatal("descriptor size below 32")
		}
	})
}

func FuzzGroupDesc(f *testing.F) {
	sb, _ := ParseSuperblock(testSuperblock())
	f.Add(make([]byte, 32))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGroupDesc(b)
		if err != nil {
			return
		}
		_ = VerifyGroupDesc(sb, 1, b, g)
		_ = VerifyBitmap(sb, "block", 1, b, 1<<20, g.BlockBitmapCsum)
	})
}

func testInode() []byte {
	b := make([]byte, 256)
	binary.LittleEndian.PutUint16(b[0:], S_IFREG|0o644)
	binary.LittleEndian.PutUint16(b[0x80:], 32)
	x := b[160:]
	binary.LittleEndian.PutUint32(x, XattrMagic)
	// one entry user.a = "xy"
	e := x[4:]
	e[0], e[1] = 1, XattrIndexUser
	binary.LittleEndian.PutUint16(e[2:], 40)
	binary.LittleEndian.PutUint32(e[8:], 2)
	e[16] = 'a'
	copy(x[4+40:], "xy")
	return b
}

func FuzzInode(f *testing.F) {
	f.Add(testInode(), true)
	f.Add(make([]byte, 128), false)
	f.Fuzz(func(t *testing.T, b []byte, huge bool) {
		in, err := ParseInode(b, huge)
		if err != nil {
			return
		}
		_ = VerifyInode(12345, 12, b, &in)
		_, _ = in.Rdev()
		_ = in.Blocks512(4096)
		if in.InlineXattr != nil {
			es, err := ParseInodeXattrs(in.InlineXattr)
			for _, e := range es {
				if err == nil && e.ValueInum == 0 && len(e.Value) != int(e.ValueSize) {
					t.Fatal("value length differs from e_value_size")
				}
				_ = e.FullName()
			}
		}
	})
}

func testExtentRoot(depth uint16, n int) []byte {
	b := make([]byte, BlockArea)
	binary.LittleEndian.PutUint16(b[0:], ExtentMagic)
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint16(b[4:], 4)
	binary.LittleEndian.PutUint16(b[6:], depth)
	for i := 0; i < n; i++ {
		e := b[12+12*i:]
		binary.LittleEndian.PutUint32(e[0:], uint32(100*i))
		if depth == 0 {
			binary.LittleEndian.PutUint16(e[4:], 10+InitMaxLen*uint16(i&1))
			binary.LittleEndian.PutUint32(e[8:], uint32(1000+i))
		} else {
			binary.LittleEndian.PutUint32(e[4:], uint32(1000+i))
		}
	}
	return b
}

func FuzzExtentNode(f *testing.F) {
	f.Add(testExtentRoot(0, 3))
	f.Add(testExtentRoot(1, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseExtentNode(b)
		if err != nil {
			return
		}
		if n.Header.Depth > MaxExtentDepth || n.Header.Entries > n.Header.Max {
			t.Fatalf("inconsistent node %+v", n.Header)
		}
		for i := 0; i < n.Len(); i++ {
			if n.Header.Depth > 0 {
				if ix := n.Index(i); i > 0 && ix.Block <= n.Index(i-1).Block {
					t.Fatal("unordered index accepted")
				}
				continue
			}
			if x := n.Extent(i); x.Len == 0 || i > 0 && x.Block < n.Extent(i-1).Block+uint32(n.Extent(i-1).Len) {
				t.Fatal("empty or overlapping extents accepted")
			}
		}
		for _, lblk := range []uint32{0, 1, 150, 1 << 31, ^uint32(0)} {
			i := n.Find(lblk)
			if i < -1 || i >= n.Len() {
				t.Fatalf("Find(%d) = %d of %d", lblk, i, n.Len())
			}
			// Find's answer starts at or before lblk, the next one after.
			start := func(i int) uint32 {
				if n.Header.Depth > 0 {
					return n.Index(i).Block
				}
				return n.Extent(i).Block
			}
			if i >= 0 && start(i) > lblk || i+1 < n.Len() && start(i+1) <= lblk {
				t.Fatalf("Find(%d) = %d", lblk, i)
			}
		}
		_ = VerifyExtentBlock(1, b, &n)
	})
}

func testDirBlock(bs int) []byte {
	b := make([]byte, bs)
	put := func(off int, ino uint32, rec int, name string, ft byte) {
		binary.LittleEndian.PutUint32(b[off:], ino)
		binary.LittleEndian.PutUint16(b[off+4:], uint16(rec))
		b[off+6] = byte(len(name))
		b[off+7] = ft
		copy(b[off+8:], name)
	}
	put(0, 2, 12, ".", FtDir)
	put(12, 2, 12, "..", FtDir)
	put(24, 12, bs-24-12, "file", FtRegFile)
	put(bs-12, 0, 12, "", FtDirCsum)
	return b
}

func FuzzDirBlock(f *testing.F) {
	f.Add(testDirBlock(1024), true)
	f.Fuzz(func(t *testing.T, b []byte, ft bool) {
		for off := 0; off < len(b); {
			d, err := ParseDirent(b, off, 4096, ft)
			if err != nil {
				break
			}
			if off+DirentHdrSize+len(d.Name) > len(b) || d.RecLen <= 0 {
				t.Fatal("entry accepted past the block")
			}
			off += d.RecLen
		}
		_ = VerifyDirBlock(7, b)
	})
}

func testDxRoot(bs int, csum bool) []byte {
	b := make([]byte, bs)
	binary.LittleEndian.PutUint32(b[0:], 2)
	binary.LittleEndian.PutUint16(b[4:], 12)
	b[6], b[7], b[8] = 1, FtDir, '.'
	binary.LittleEndian.PutUint32(b[12:], 2)
	binary.LittleEndian.PutUint16(b[16:], uint16(bs-12))
	b[18], b[19], b[20], b[21] = 2, FtDir, '.', '.'
	b[0x1c], b[0x1d] = HashHalfMD4, 8
	limit := (bs - 0x20) / 8
	if csum {
		limit = (bs - 0x20 - DxTailSize) / 8
	}
	binary.LittleEndian.PutUint16(b[0x20:], uint16(limit))
	binary.LittleEndian.PutUint16(b[0x22:], 2)
	binary.LittleEndian.PutUint32(b[0x24:], 1)
	binary.LittleEndian.PutUint32(b[0x28:], 0x80000000)
	binary.LittleEndian.PutUint32(b[0x2c:], 2)
	return b
}

func FuzzHtree(f *testing.F) {
	f.Add(testDxRoot(1024, true), true)
	f.Add(testDxRoot(1024, false), false)
	f.Fuzz(func(t *testing.T, b []byte, csum bool) {
		for _, parse := range []func([]byte, int, bool) (DxNode, error){ParseDxRoot, ParseDxNode} {
			n, err := parse(b, 4096, csum)
			if err != nil {
				continue
			}
			if n.Count == 0 || n.Count > n.Limit {
				t.Fatal("entry count outside (0, limit]")
			}
			for i := 1; i < int(n.Count); i++ {
				if n.Entry(i).Hash < n.Entry(i-1).Hash {
					t.Fatal("unordered hashes accepted")
				}
			}
			i := n.Lookup(0x12345678)
			if i < 0 || i >= int(n.Count) {
				t.Fatalf("lookup index %d of %d", i, n.Count)
			}
			_ = VerifyDxNode(3, b, &n)
		}
	})
}

func FuzzXattr(f *testing.F) {
	blk := make([]byte, 1024)
	binary.LittleEndian.PutUint32(blk[0:], XattrMagic)
	binary.LittleEndian.PutUint32(blk[8:], 1)
	e := blk[32:]
	e[0], e[1] = 3, XattrIndexTrusted
	binary.LittleEndian.PutUint16(e[2:], 1000)
	binary.LittleEndian.PutUint32(e[8:], 5)
	copy(e[16:], "abc")
	copy(blk[1000:], "value")
	f.Add(blk)
	f.Add(testInode()[160:])
	acl := []byte{1, 0, 0, 0, 1, 0, 6, 0, 2, 0, 6, 0, 0xe8, 3, 0, 0, 4, 0, 4, 0, 0x10, 0, 6, 0, 0x20, 0, 4, 0}
	f.Add(acl)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) ([]XattrEntry, error){
			func(b []byte) ([]XattrEntry, error) { _, es, err := ParseXattrBlock(b); return es, err },
			ParseInodeXattrs,
		} {
			es, err := parse(b)
			if err != nil {
				continue
			}
			for _, e := range es {
				if e.ValueInum == 0 && len(e.Value) != int(e.ValueSize) {
					t.Fatal("value length differs from e_value_size")
				}
			}
		}
		if x, err := ACLToXattr(b); err == nil && (len(x)-4)%8 != 0 {
			t.Fatal("converted ACL has a partial entry")
		}
	})
}

func testJournalSuper() []byte {
	b := make([]byte, 1024)
	be := binary.BigEndian
	be.PutUint32(b[0:], JournalMagic)
	be.PutUint32(b[4:], JBlockSuperV2)
	be.PutUint32(b[0xc:], 1024)
	be.PutUint32(b[0x10:], 1024)
	be.PutUint32(b[0x14:], 1)
	be.PutUint32(b[0x18:], 5)
	be.PutUint32(b[0x1c:], 1)
	be.PutUint32(b[0x28:], JIncompatCsumV3|JIncompat64bit|JIncompatRevoke)
	b[0x50] = JChecksumCRC32C
	return b
}

func FuzzJournal(f *testing.F) {
	desc := make([]byte, 1024)
	binary.BigEndian.PutUint32(desc[0:], JournalMagic)
	binary.BigEndian.PutUint32(desc[4:], JBlockDescriptor)
	binary.BigEndian.PutUint32(desc[12:], 77)
	binary.BigEndian.PutUint32(desc[16:], JFlagLastTag)
	rev := make([]byte, 1024)
	binary.BigEndian.PutUint32(rev[0:], JournalMagic)
	binary.BigEndian.PutUint32(rev[4:], JBlockRevoke)
	binary.BigEndian.PutUint32(rev[12:], 24)
	f.Add(testJournalSuper(), desc)
	f.Add(testJournalSuper(), rev)
	f.Fuzz(func(t *testing.T, sb, b []byte) {
		s, err := ParseJournalSuperblock(sb)
		if err != nil {
			return
		}
		_ = s.Verify(sb)
		if tags, err := s.ParseDescriptor(b); err == nil && len(tags) == 0 {
			t.Fatal("descriptor accepted with no tags")
		}
		_, _ = s.ParseRevoke(b)
		_ = s.VerifyDescriptorTail(b)
		_ = s.VerifyCommit(b)
		_ = s.VerifyTag(JournalTag{}, 1, b)
	})
}

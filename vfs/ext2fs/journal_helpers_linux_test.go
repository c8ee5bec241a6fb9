package ext2fs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
)

// dirtyJournal writes, with debugfs, the transactions the journal tests
// replay, one per journal_write: two data blocks of sizes/f0300000
// ("B"s), a revoke of the second, an escaped block (a "C" block starting
// with the jbd2 magic), the inode table block of owners/u1000 with uid
// 4321 and mtime 1234567890 (its checksum recomputed), then a block in a
// transaction never committed. jo is journal_open's arguments ("-c -v 2",
// "-f JOURNAL", ...). It returns the victim's first four device blocks.
func dirtyJournal(t testing.TB, img, jo string) []uint64 {
	t.Helper()
	f, err := Open(nil, openDev(t, img), Options{NoRecovery: true})
	if err != nil {
		t.Fatal(err)
	}
	bs := f.bsize
	victim, e := resolve(t, f, "sizes/f0300000")
	if e != 0 {
		t.Fatal(e)
	}
	var blks []uint64
	for i := range uint64(4) {
		r, e := victim.Bmap(nil, i)
		if e != 0 || r.Zero {
			t.Fatalf("victim block %d: %+v %v", i, r, e)
		}
		blks = append(blks, r.Physical)
	}
	target, e := resolve(t, f, "owners/u1000")
	if e != 0 {
		t.Fatal(e)
	}
	ipg := f.sb.InodesPerGroup
	isz := int(f.sb.InodeSize)
	off := uint64((target.Ino-1)%ipg) * uint64(isz)
	itBlk := f.groups[(target.Ino-1)/ipg].InodeTable + off/uint64(bs)
	itab := make([]byte, bs)
	if e := f.bd.readBytes(nil, itab, int64(itBlk)*int64(f.bsize)); e != 0 {
		t.Fatal(e)
	}
	raw := itab[off%uint64(bs):][:isz]
	binary.LittleEndian.PutUint16(raw[0x2:], 4321)
	binary.LittleEndian.PutUint32(raw[0x10:], 1234567890)
	if f.sb.HasMetadataCsum() {
		c := disk.InodeChecksum(f.seed, target.Ino, raw)
		binary.LittleEndian.PutUint16(raw[0x7c:], uint16(c))
		if isz > 128 {
			binary.LittleEndian.PutUint16(raw[0x82:], uint16(c>>16))
		}
	}

	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fill := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n*bs) }
	escaped := fill('C', 1)
	binary.BigEndian.PutUint32(escaped, disk.JournalMagic)
	debugfsScript(t, img,
		"jo "+jo,
		fmt.Sprintf("jw -b %d,%d %s", blks[0], blks[1], file("b", fill('B', 2))),
		fmt.Sprintf("jw -r %d", blks[1]),
		fmt.Sprintf("jw -b %d %s", blks[2], file("c", escaped)),
		fmt.Sprintf("jw -b %d %s", itBlk, file("itab", itab)),
		fmt.Sprintf("jw -b %d -c %s", blks[3], file("d", fill('D', 1))),
		"jc")
	return blks
}

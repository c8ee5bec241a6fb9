package disk

import (
	"encoding/binary"
	"strings"
	"testing"
)

// testJournalDevSuper is the ext2 superblock of an external journal
// device: journal_dev, 4 KiB blocks, no groups or inodes.
func testJournalDevSuper() []byte {
	b := make([]byte, SuperblockSize)
	le := binary.LittleEndian
	le.PutUint32(b[0x4:], 2048)
	le.PutUint32(b[0x18:], 2)
	le.PutUint32(b[0x20:], 32768)
	le.PutUint16(b[0x38:], Magic)
	le.PutUint32(b[0x4c:], 1)
	le.PutUint32(b[0x54:], 11)
	le.PutUint16(b[0x58:], 256)
	le.PutUint32(b[0x60:], IncompatJournalDev)
	copy(b[0x68:], "journal-uuid-0x1")
	return b
}

func TestJournalDevSuperblock(t *testing.T) {
	b := testJournalDevSuper()
	s, err := ParseJournalDevSuperblock(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.BlockSize() != 4096 || string(s.UUID[:]) != "journal-uuid-0x1" {
		t.Errorf("block size %d, uuid %q", s.BlockSize(), s.UUID[:])
	}
	// A journal device has no inodes: not a file system superblock.
	if _, err := ParseSuperblock(b); err == nil {
		t.Error("ParseSuperblock accepted a journal device's superblock")
	}
	// A file system superblock is not a journal device's.
	if _, err := ParseJournalDevSuperblock(testSuperblock()); err == nil || !strings.Contains(err.Error(), "journal_dev") {
		t.Errorf("file system superblock as a journal device: %v, want a journal_dev error", err)
	}
	binary.LittleEndian.PutUint16(b[0x38:], 0)
	if _, err := ParseJournalDevSuperblock(b); err == nil {
		t.Error("bad magic accepted")
	}
}

func TestJournalUsers(t *testing.T) {
	b := testJournalSuper()
	var a, c [16]byte
	copy(a[:], "file-system-uuid")
	copy(c[:], "another-fs-uuid!")
	binary.BigEndian.PutUint32(b[0x40:], 1)
	copy(b[0x100:], a[:])
	s, err := ParseJournalSuperblock(b)
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasUser(a) || s.HasUser(c) || len(s.Users) != 1 {
		t.Errorf("users %x: want only %x", s.Users, a)
	}
	// nr_users past the 48 slots reads the slots there are.
	binary.BigEndian.PutUint32(b[0x40:], 1000)
	if s, err = ParseJournalSuperblock(b); err != nil || len(s.Users) != JUsersMax {
		t.Errorf("nr_users 1000: %d users, %v", len(s.Users), err)
	}
}

func FuzzJournalDevSuperblock(f *testing.F) {
	f.Add(testJournalDevSuper())
	f.Add(testSuperblock())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseJournalDevSuperblock(b)
		if err != nil {
			return
		}
		if s.FeatureIncompat&IncompatJournalDev == 0 {
			t.Fatal("accepted without journal_dev")
		}
		if bs := s.BlockSize(); bs < 1024 || bs > 65536 {
			t.Fatalf("accepted block size %d", bs)
		}
		_ = s.Verify(b)
	})
}

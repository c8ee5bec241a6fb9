package disk

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

var le = binary.LittleEndian

func testSuperblock() []byte {
	b := make([]byte, SuperblockSize)
	le.PutUint32(b[0x0:], 4096)   // inodes
	le.PutUint32(b[0x4:], 65536)  // blocks
	le.PutUint32(b[0x18:], 2)     // 4 KiB
	le.PutUint32(b[0x20:], 32768) // blocks per group
	le.PutUint32(b[0x24:], 32768)
	le.PutUint32(b[0x28:], 2048)
	le.PutUint16(b[0x38:], Magic)
	le.PutUint32(b[0x4c:], 1)
	le.PutUint32(b[0x54:], 11)
	le.PutUint16(b[0x58:], 256)
	le.PutUint32(b[0x60:], IncompatFiletype|IncompatExtents|Incompat64bit)
	le.PutUint32(b[0x64:], RoCompatMetadataCsum)
	le.PutUint16(b[0xfe:], 64)
	b[0x175] = 1
	copy(b[0x68:], "0123456789abcdef")
	le.PutUint32(b[sbChecksumOff:], SuperblockChecksum(b))
	return b
}

func TestSuperblock(t *testing.T) {
	b := testSuperblock()
	s, err := ParseSuperblock(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.BlockSize() != 4096 || s.GroupCount() != 2 || s.GroupDescSize() != 64 {
		t.Errorf("geometry: bs %d groups %d desc %d", s.BlockSize(), s.GroupCount(), s.GroupDescSize())
	}
	if err := s.Verify(b); err != nil {
		t.Error(err)
	}
	b[0x100] ^= 1
	if err := s.Verify(b); err == nil {
		t.Error("checksum mismatch not detected")
	}
	if got := s.FeatureString(); got != "filetype extent 64bit metadata_csum" {
		t.Errorf("features %q", got)
	}
	if n := FeatureNames(1<<31, IncompatNames, "I"); n[0] != "FEATURE_I31" {
		t.Errorf("unknown feature named %q", n)
	}
}

func TestCrc16(t *testing.T) {
	// CRC-16/ARC check value.
	if c := Crc16(0, []byte("123456789")); c != 0xbb3d {
		t.Errorf("crc16 %#x", c)
	}
	// CRC-32C check value: the raw form inverted at both ends.
	if c := ^Crc32c(^uint32(0), []byte("123456789")); c != 0xe3069283 {
		t.Errorf("crc32c %#x", c)
	}
}

// TestCrc32cU32 checks the byte-at-a-time path against the library's.
func TestCrc32cU32(t *testing.T) {
	for _, c := range []uint32{0, ^uint32(0), 0x12345678} {
		for _, v := range []uint32{0, 1, 0xdeadbeef, ^uint32(0)} {
			if got, want := crc32cU32(c, v), Crc32c(c, le.AppendUint32(nil, v)); got != want {
				t.Errorf("crc32cU32(%#x, %#x) = %#x, want %#x", c, v, got, want)
			}
		}
	}
}

func TestInodeTimes(t *testing.T) {
	b := make([]byte, 256)
	le.PutUint16(b[0:], S_IFREG|0o644)
	le.PutUint32(b[0x10:], 0xffffffff) // mtime -1 ...
	le.PutUint16(b[0x80:], 32)
	le.PutUint32(b[0x88:], 1|999999999<<2) // ... +2^32 s, 999999999 ns
	le.PutUint32(b[0x90:], 5)
	le.PutUint32(b[0x94:], 7<<2)
	in, err := ParseInode(b, true)
	if err != nil {
		t.Fatal(err)
	}
	if in.Mtime.Sec() != 1<<32-1 || in.Mtime.Nsec() != 999999999 || in.Crtime.Sec() != 5 || in.Crtime.Nsec() != 7 || !in.HasCrtime {
		t.Errorf("times: %+v %+v", in.Mtime, in.Crtime)
	}
	if in.Atime.Sec() != 0 || in.Ctime.Nsec() != 0 {
		t.Errorf("unset times: %+v %+v", in.Atime, in.Ctime)
	}
	le.PutUint32(b[0x8:], 0x80000000) // atime before 1970, no epoch bits
	if in, _ := ParseInode(b, true); in.Atime.Sec() != -1<<31 {
		t.Errorf("atime %d, want %d", in.Atime.Sec(), int64(-1<<31))
	}
	le.PutUint16(b[0x80:], 200)
	if _, err := ParseInode(b, true); err == nil {
		t.Error("oversized i_extra_isize accepted")
	}
}

// TestDirHash compares every hash variant with debugfs's dx_hash.
func TestDirHash(t *testing.T) {
	debugfs := testenv.Tool(t, "debugfs")
	img := filepath.Join(t.TempDir(), "img")
	testenv.Run(t, "", "mke2fs", "-q", "-F", img, "1024")
	names := []string{"a", "hello", "héllo-wörld", "\xff\x80\x7f", "a-name-that-is-longer-than-thirty-two-bytes-for-md4",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-ÿ"}
	seedUUID := "01234567-89ab-cdef-0123-456789abcdef"
	seedBytes := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	var seed [4]uint32
	for i := range seed {
		seed[i] = le.Uint32(seedBytes[4*i:])
	}
	re := regexp.MustCompile(`is (0x[0-9a-f]+) \(minor (0x[0-9a-f]+)\)`)
	for v := uint8(0); v <= HashTeaUnsigned; v++ {
		for _, useSeed := range []bool{false, true} {
			for _, name := range names {
				args := []string{"-R", fmt.Sprintf("dx_hash -h %d %s", v, name)}
				sd := [4]uint32{}
				if useSeed {
					args[1] = fmt.Sprintf("dx_hash -h %d -s %s %s", v, seedUUID, name)
					sd = seed
				}
				out, err := exec.Command(debugfs, append(args, img)...).CombinedOutput()
				m := re.FindSubmatch(out)
				if err != nil || m == nil {
					t.Fatalf("debugfs dx_hash: %v\n%s", err, out)
				}
				wantH, _ := strconv.ParseUint(string(m[1]), 0, 32)
				wantM, _ := strconv.ParseUint(string(m[2]), 0, 32)
				h, mi, err := DirHash(v, sd, []byte(name))
				if err != nil {
					t.Fatal(err)
				}
				if h != uint32(wantH) || mi != uint32(wantM) {
					t.Errorf("%s seed=%v %q: got %#x/%#x, debugfs %#x/%#x", HashNames[v], useSeed, name, h, mi, wantH, wantM)
				}
			}
		}
	}
}

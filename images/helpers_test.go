package images

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

// need skips the test when a tool is missing, unless RUMPFS_E2E is set
// (CI), where a missing tool is a failure.
func need(t testing.TB, tools ...string) { testenv.Tool(t, tools...) }

// run runs a tool and returns its standard output; stdin is fed from in.
func run(t testing.TB, in string, name string, args ...string) string {
	return testenv.Run(t, in, name, args...)
}

// blank makes a sparse file of size bytes.
func blank(t testing.TB, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// makeFS makes a file system image of size bytes with a real tool. kind:
// ext2, ext3, ext4, ffs1le, ffs1be, ffs2le, ffs2be, fat12, fat16, fat32,
// iso, swap.
func makeFS(t testing.TB, kind, label string, size int64) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, kind+".img")
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello\n"), 0o644)
	switch kind {
	case "ext2", "ext3", "ext4":
		args := []string{"-q", "-F", "-t", kind, "-d", src, "-b", "1024"}
		if label != "" {
			args = append(args, "-L", label)
		}
		blank(t, dir, kind+".img", size)
		run(t, "", "mke2fs", append(args, p)...)
	case "ffs1le", "ffs1be", "ffs2le", "ffs2be":
		run(t, "", "makefs", "-t", "ffs", "-o", "version="+kind[3:4], "-B", kind[4:], "-s", itoa(size), p, src)
	case "fat12", "fat16", "fat32":
		args := []string{"-C", "-F", kind[3:], "-s", "1"}
		if label != "" {
			args = append(args, "-n", label)
		}
		run(t, "", "mkfs.fat", append(args, p, itoa(size/1024))...)
	case "iso":
		run(t, "", "xorriso", "-as", "mkisofs", "-quiet", "-J", "-R", "-V", label, "-o", p, src)
	case "swap":
		blank(t, dir, kind+".img", size)
		args := []string{}
		if label != "" {
			args = append(args, "-L", label)
		}
		run(t, "", "mkswap", append(args, p)...)
	default:
		t.Fatalf("makeFS: unknown kind %q", kind)
	}
	return p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// putAt copies the file src into the image at byte off.
func putAt(t testing.TB, img string, off int64, src string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	pokeAt(t, img, off, b)
}

// pokeAt writes b into the image at byte off.
func pokeAt(t testing.TB, img string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// testLabelPart is one partition for makeDisklabel.
type testLabelPart struct {
	letter      byte
	off, size   uint32 // sectors
	fstype      byte
	offh, sizeh uint16 // OpenBSD high bits
}

// makeDisklabel builds the bytes of a BSD disklabel (struct disklabel) in
// the given byte order, with a correct checksum unless badSum.
func makeDisklabel(order binary.ByteOrder, secsize, secperunit uint32, parts []testLabelPart, openBSD, badSum bool) []byte {
	n := 0
	for _, p := range parts {
		n = max(n, int(p.letter-'a')+1)
	}
	b := make([]byte, 148+16*n)
	order.PutUint32(b[0:], 0x82564557)
	order.PutUint16(b[4:], 6) // DKTYPE_SCSI... any type
	copy(b[8:], "rumpfs-test")
	order.PutUint32(b[40:], secsize)
	order.PutUint32(b[60:], secperunit)
	if openBSD {
		order.PutUint16(b[114:], 1)
	}
	order.PutUint32(b[132:], 0x82564557)
	order.PutUint16(b[138:], uint16(n))
	order.PutUint32(b[140:], 8192)
	order.PutUint32(b[144:], 8192)
	for _, p := range parts {
		e := b[148+16*int(p.letter-'a'):]
		order.PutUint32(e[0:], p.size)
		order.PutUint32(e[4:], p.off)
		if openBSD {
			order.PutUint16(e[8:], p.offh)
			order.PutUint16(e[10:], p.sizeh)
		} else {
			order.PutUint32(e[8:], 1024)
		}
		e[12] = p.fstype
		e[13] = 8
	}
	var sum uint16
	for i := 0; i < len(b); i += 2 {
		sum ^= order.Uint16(b[i:])
	}
	if badSum {
		sum ^= 1
	}
	order.PutUint16(b[136:], sum)
	return b
}

// mmlsRow is one allocated partition as The Sleuth Kit's mmls lists it.
type mmlsRow struct {
	slot          string
	start, length int64
	desc          string
}

// mmls runs mmls (with extra arguments before the image) and returns its
// allocated rows (not Meta, not Unallocated).
func mmls(t testing.TB, img string, args ...string) []mmlsRow {
	t.Helper()
	out := run(t, "", "mmls", append(args, img)...)
	var rows []mmlsRow
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[0], ":") || f[1] == "Meta" || strings.HasPrefix(f[1], "---") {
			continue
		}
		start, err1 := strconv.ParseInt(f[2], 10, 64)
		length, err2 := strconv.ParseInt(f[4], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		rows = append(rows, mmlsRow{f[1], start, length, strings.Join(f[5:], " ")})
	}
	return rows
}

// sfdiskPart is one partition of `sfdisk --json`.
type sfdiskPart struct {
	Node  string `json:"node"`
	Start int64  `json:"start"`
	Size  int64  `json:"size"`
	Type  string `json:"type"`
	UUID  string `json:"uuid"`
	Name  string `json:"name"`
}

func sfdiskJSON(t testing.TB, img string) (label string, parts []sfdiskPart) {
	t.Helper()
	var v struct {
		PT struct {
			Label      string       `json:"label"`
			Partitions []sfdiskPart `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal([]byte(run(t, "", "sfdisk", "--json", img)), &v); err != nil {
		t.Fatal(err)
	}
	return v.PT.Label, v.PT.Partitions
}

// nodeIndex is the partition number at the end of an sfdisk node name.
func nodeIndex(t testing.TB, node string) int {
	i := len(node)
	for i > 0 && node[i-1] >= '0' && node[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(node[i:])
	if err != nil {
		t.Fatalf("node %q has no number", node)
	}
	return n
}

func byIndex(l *Layout, n int) *Partition {
	for _, p := range l.Partitions {
		if p.Index == n {
			return p
		}
	}
	return nil
}

// hasWarning reports whether some layout warning contains all of words.
func hasWarning(l *Layout, words ...string) bool {
	for _, w := range l.Warnings {
		ok := true
		for _, word := range words {
			ok = ok && strings.Contains(w, word)
		}
		if ok {
			return true
		}
	}
	return false
}

func layoutOf(t testing.TB, path string) *Layout {
	t.Helper()
	img, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	return img.Layout()
}

// testDrivers stand for the drivers a program links in: the probe asks
// the lookup it is given, never a list of its own.
var testDrivers = map[string]bool{"ffs": true, "ext2fs": true}

func init() { SetDriverLookup(func(t string) bool { return testDrivers[t] }) }

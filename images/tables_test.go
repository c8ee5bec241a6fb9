package images

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const MiB = 1 << 20

// checkAgainstSfdisk compares every partition sfdisk lists with ours.
func checkAgainstSfdisk(t *testing.T, img string, l *Layout, wantLabel string) {
	t.Helper()
	label, parts := sfdiskJSON(t, img)
	if label != wantLabel {
		t.Fatalf("sfdisk says the label is %q, want %q", label, wantLabel)
	}
	ours := 0
	for _, p := range l.Partitions {
		if p.Scheme != SchemeDisklabel {
			ours++
		}
	}
	if ours != len(parts) {
		t.Errorf("sfdisk lists %d partitions, we list %d", len(parts), ours)
	}
	for _, sp := range parts {
		n := nodeIndex(t, sp.Node)
		p := byIndex(l, n)
		if p == nil {
			t.Errorf("sfdisk lists %s; we have no partition %d", sp.Node, n)
			continue
		}
		if p.Start != sp.Start*512 || p.Size != sp.Size*512 {
			t.Errorf("partition %d: we say bytes %d+%d, sfdisk says sectors %d+%d", n, p.Start, p.Size, sp.Start, sp.Size)
		}
		typ := strings.TrimLeft(p.Type, "0")
		if p.Scheme == SchemeGPT {
			typ = p.Type
		}
		if !strings.EqualFold(typ, sp.Type) {
			t.Errorf("partition %d: type %q, sfdisk says %q", n, p.Type, sp.Type)
		}
		if p.Scheme == SchemeGPT && (p.UUID != sp.UUID || p.Name != sp.Name) {
			t.Errorf("partition %d: uuid %s name %q, sfdisk says %s %q", n, p.UUID, p.Name, sp.UUID, sp.Name)
		}
	}
}

// checkAgainstMmls compares The Sleuth Kit's allocated rows with our
// non-container partitions.
func checkAgainstMmls(t *testing.T, img string, l *Layout) {
	t.Helper()
	rows := mmls(t, img)
	var ours []*Partition
	for _, p := range l.Partitions {
		if !p.Extended && p.Scheme != SchemeDisklabel {
			ours = append(ours, p)
		}
	}
	if len(rows) != len(ours) {
		t.Fatalf("mmls lists %d partitions %v, we list %d", len(rows), rows, len(ours))
	}
	for i, r := range rows {
		p := ours[i]
		if p.Start != r.start*512 || p.Size != r.length*512 {
			t.Errorf("mmls row %d (%s): sectors %d+%d; our partition %d: bytes %d+%d", i, r.desc, r.start, r.length, p.Index, p.Start, p.Size)
		}
	}
}

func TestMBRMatchesSfdiskAndMmls(t *testing.T) {
	need(t, "sfdisk", "mmls", "mke2fs", "makefs", "mkfs.fat")
	dir := t.TempDir()
	img := blank(t, dir, "mbr.img", 48*MiB)
	run(t, `label: dos
start=2048, size=8192, type=83, bootable
start=10240, size=16384, type=6
start=26624, type=5
start=28672, size=8192, type=83
start=38912, size=8192, type=83
`, "sfdisk", "-q", img)
	putAt(t, img, 2048*512, makeFS(t, "ext4", "root4", 4*MiB))
	putAt(t, img, 10240*512, makeFS(t, "fat16", "DOSPART", 8*MiB))
	putAt(t, img, 28672*512, makeFS(t, "ext2", "logical5", 4*MiB))
	putAt(t, img, 38912*512, makeFS(t, "ffs1be", "", 4*MiB))

	l := layoutOf(t, img)
	if len(l.Warnings) != 0 {
		t.Errorf("warnings on a clean image: %q", l.Warnings)
	}
	checkAgainstSfdisk(t, img, l, "dos")
	checkAgainstMmls(t, img, l)
	want := map[int]string{1: "ext4", 2: "FAT16", 5: "ext2", 6: "FFSv1"}
	for n, v := range want {
		p := byIndex(l, n)
		if p == nil || p.FS == nil || p.FS.Variant != v {
			t.Errorf("partition %d: file system %v, want %s", n, p, v)
		}
	}
	if p := byIndex(l, 1); p == nil || !p.Bootable || p.FS.Label != "root4" {
		t.Errorf("partition 1 should be bootable and labelled root4: %+v", p)
	}
	if !byIndex(l, 3).Extended || !byIndex(l, 5).Logical {
		t.Errorf("partition 3 should be extended and 5 logical")
	}

	// Selectors: by number, and the rump OFFSET form.
	tg, err := Resolve(img + "@5")
	if err != nil || tg.Begin != 28672*512 || tg.Size != 8192*512 || tg.FSType != "ext2fs" {
		t.Fatalf("Resolve @5 = %+v, %v", tg, err)
	}
	tg, err = Resolve(fmt.Sprintf("%s%%OFFSET:%d,%d%%", img, 10240*512, 16384*512))
	if err != nil || tg.FSType != "msdos" || tg.Partition != nil {
		t.Fatalf("Resolve %%OFFSET%% = %+v, %v", tg, err)
	}
	tg, err = Resolve(fmt.Sprintf("%s%%OFFSET:%d%%", img, 38912*512))
	if err != nil || tg.FSType != "ffs" || tg.Size != 48*MiB-38912*512 {
		t.Fatalf("Resolve %%OFFSET%% to the end = %+v, %v", tg, err)
	}
	_, err = Resolve(img + "@4")
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "@5") {
		t.Errorf("Resolve @4 (no such partition): %v; want ENOENT listing what exists", err)
	}
	if _, err := Resolve(img + "@3"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Resolve of the extended container: %v, want EINVAL", err)
	}
}

func TestGPTMatchesSgdiskSfdiskAndMmls(t *testing.T) {
	need(t, "sgdisk", "sfdisk", "mmls", "mke2fs", "makefs", "mkfs.fat")
	dir := t.TempDir()
	img := blank(t, dir, "gpt.img", 40*MiB)
	run(t, "", "sgdisk",
		"-n", "1:2048:+8M", "-t", "1:ef00", "-c", "1:EFI system",
		"-n", "2:0:+8M", "-t", "2:8300", "-c", "2:root",
		"-n", "4:0:+4M", "-t", "4:a503", "-c", "4:fbsd-ufs",
		"-n", "5:0:+4M", "-t", "5:8200", "-c", "5:swap", img)
	sg := run(t, "", "sgdisk", "-p", img)
	putAt(t, img, 2048*512, makeFS(t, "fat16", "ESP", 8*MiB))
	putAt(t, img, 18432*512, makeFS(t, "ext3", "rootfs", 8*MiB))
	putAt(t, img, 34816*512, makeFS(t, "ffs2le", "", 4*MiB))
	putAt(t, img, 43008*512, makeFS(t, "swap", "sw", 4*MiB))

	l := layoutOf(t, img)
	if len(l.Warnings) != 0 {
		t.Errorf("warnings on a clean image: %q", l.Warnings)
	}
	checkAgainstSfdisk(t, img, l, "gpt")
	checkAgainstMmls(t, img, l)
	// sgdisk -p rows: number, start, end, size, unit, code, name.
	rows := 0
	for _, line := range strings.Split(sg, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		rows++
		start, _ := strconv.ParseInt(f[1], 10, 64)
		end, _ := strconv.ParseInt(f[2], 10, 64)
		p := byIndex(l, n)
		if p == nil || p.Start != start*512 || p.End() != (end+1)*512 || p.Name != strings.Join(f[6:], " ") {
			t.Errorf("sgdisk: %q; ours: %+v", line, p)
		}
	}
	if rows != len(l.Partitions) {
		t.Errorf("sgdisk lists %d partitions, we list %d", rows, len(l.Partitions))
	}
	names := map[int][2]string{1: {"EFI System", "FAT16"}, 2: {"Linux filesystem", "ext3"},
		4: {"FreeBSD UFS", "FFSv2"}, 5: {"Linux swap", "Linux swap"}}
	for n, w := range names {
		p := byIndex(l, n)
		if p == nil || p.TypeName != w[0] || p.FS == nil || p.FS.Variant != w[1] {
			t.Errorf("partition %d: want type %q holding %s, got %+v", n, w[0], w[1], p)
		}
	}
	tg, err := Resolve(img + "@root")
	if err != nil || tg.Partition.Index != 2 || tg.FSType != "ext2fs" || tg.FS.Label != "rootfs" {
		t.Fatalf("Resolve @root = %+v, %v", tg, err)
	}
	if tg, err := Resolve(img + "@EFI system"); err != nil || tg.FSType != "msdos" {
		t.Fatalf("Resolve @EFI system = %+v, %v", tg, err)
	}
	if _, err := Resolve(img + "@home"); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), `"root"`) {
		t.Errorf("Resolve @home: %v; want ENOENT listing the partitions", err)
	}
}

// A path that itself contains '@' or '%' names the file, not a selector.
func TestSelectorPathWithAt(t *testing.T) {
	need(t, "mke2fs")
	dir := t.TempDir()
	odd := dir + "/disk@2"
	putAt(t, blank(t, dir, "disk@2", 4*MiB), 0, makeFS(t, "ext2", "x", 4*MiB))
	tg, err := Resolve(odd)
	if err != nil || tg.HostPath != odd || tg.Partition != nil || tg.FSType != "ext2fs" {
		t.Fatalf("Resolve(%q) = %+v, %v", odd, tg, err)
	}
	if _, err := Resolve(odd + "@1"); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "no partition table") {
		t.Errorf("Resolve of a partition of an unpartitioned image: %v", err)
	}
	if _, err := Resolve(odd + "%OFFSET:x%"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("bad OFFSET: %v, want EINVAL", err)
	}
	if _, err := Resolve(odd + "%OFFSET:0,99999999%"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("OFFSET past the end: %v, want EINVAL", err)
	}
}

// Disklabels made by makeDisklabel inside NetBSD, FreeBSD and OpenBSD
// slices, and alone at the start of an image.
func TestDisklabelInMBRSlice(t *testing.T) {
	need(t, "sfdisk", "makefs", "mke2fs")
	ffs := makeFS(t, "ffs1le", "", 4*MiB)
	ext := makeFS(t, "ext2", "inlabel", 2*MiB)
	for _, tc := range []struct {
		typ      string
		relative bool // FreeBSD counts from the slice
		openBSD  bool
		order    binary.ByteOrder
	}{{"a9", false, false, binary.LittleEndian}, {"a5", true, false, binary.LittleEndian},
		{"a6", false, true, binary.LittleEndian}, {"a9", false, false, binary.BigEndian}} {
		t.Run(tc.typ+fmt.Sprint(tc.order), func(t *testing.T) {
			dir := t.TempDir()
			img := blank(t, dir, "bsd.img", 16*MiB)
			run(t, "label: dos\nstart=2048, size=8192, type=83\nstart=10240, size=20480, type="+tc.typ+"\n", "sfdisk", "-q", img)
			slice := uint32(10240)
			base := slice
			if tc.relative {
				base = 0
			}
			parts := []testLabelPart{
				{letter: 'a', off: base + 64, size: 8192, fstype: 7},
				{letter: 'c', off: base, size: 20480, fstype: 0},
				{letter: 'e', off: base + 64 + 8192, size: 4096, fstype: 17},
			}
			if !tc.relative {
				parts = append(parts, testLabelPart{letter: 'd', off: 0, size: 32768})
			}
			pokeAt(t, img, int64(slice)*512+512, makeDisklabel(tc.order, 512, 32768, parts, tc.openBSD, false))
			putAt(t, img, int64(slice+64)*512, ffs)
			putAt(t, img, int64(slice+64+8192)*512, ext)

			l := layoutOf(t, img)
			if len(l.Warnings) != 0 {
				t.Errorf("warnings: %q", l.Warnings)
			}
			if tc.typ == "a9" && tc.order == binary.LittleEndian {
				// The Sleuth Kit reads the same label.
				rows := mmls(t, img, "-t", "bsd", "-o", fmt.Sprint(slice))
				if len(rows) != len(parts) {
					t.Errorf("mmls -t bsd lists %d partitions %v, the label has %d", len(rows), rows, len(parts))
				}
				for _, r := range rows {
					n, _ := strconv.Atoi(r.slot)
					p := findName(l, string(rune('a'+n)))
					if p == nil || p.Start != r.start*512 || p.Size != r.length*512 {
						t.Errorf("mmls: slot %s sectors %d+%d; ours %+v", r.slot, r.start, r.length, p)
					}
				}
			}
			if len(l.Tables) != 2 || l.Tables[1].Scheme != SchemeDisklabel || l.Tables[1].Parent != 2 {
				t.Fatalf("tables: %+v", l.Tables)
			}
			for _, sel := range []string{"@a", "%DISKLABEL:a%"} {
				tg, err := Resolve(img + sel)
				if err != nil || tg.Begin != int64(slice+64)*512 || tg.Size != 8192*512 || tg.FSType != "ffs" || tg.Partition.Parent != 2 {
					t.Fatalf("Resolve %s = %+v, %v", sel, tg, err)
				}
			}
			tg, err := Resolve(img + "@e")
			if err != nil || tg.FSType != "ext2fs" || tg.FS.Label != "inlabel" {
				t.Fatalf("Resolve @e = %+v, %v", tg, err)
			}
			// Indexes continue after the MBR's.
			if tg.Partition.Index < 5 {
				t.Errorf("label partition e has index %d; want one after the MBR's", tg.Partition.Index)
			}
			if p := findName(l, "c"); p == nil || !p.Raw {
				t.Errorf("partition c should be the raw partition: %+v", p)
			}
			if _, err := Resolve(img + "%DISKLABEL:b%"); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), `"a"`) {
				t.Errorf("DISKLABEL:b: %v; want ENOENT listing a, c, e", err)
			}
		})
	}
	t.Run("alone", func(t *testing.T) {
		dir := t.TempDir()
		img := blank(t, dir, "label.img", 8*MiB)
		pokeAt(t, img, 512, makeDisklabel(binary.BigEndian, 512, 16384, []testLabelPart{
			{letter: 'a', off: 16, size: 8192, fstype: 7}, {letter: 'c', off: 0, size: 16384},
			{letter: 'b', off: 8208, size: 8176, fstype: 1}}, false, false))
		putAt(t, img, 16*512, ffs)
		l := layoutOf(t, img)
		if len(l.Warnings) != 0 || len(l.Tables) != 1 || len(l.Partitions) != 3 {
			t.Fatalf("layout: %+v", l)
		}
		tg, err := Resolve(img + "@1")
		if err != nil || tg.Partition.Name != "a" || tg.FSType != "ffs" {
			t.Fatalf("Resolve @1 = %+v, %v", tg, err)
		}
	})
}

func findName(l *Layout, name string) *Partition {
	for _, p := range l.Partitions {
		if p.Name == name {
			return p
		}
	}
	return nil
}

package ffs

import (
	"fmt"
	"github.com/rumpfs/rumpfs/vfs/ffs/disk"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// patchImage edits img in place with fn, given the superblock.
func patchImage(t *testing.T, img string, fn func(sb *Superblock, b []byte)) {
	t.Helper()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	sb := openImage(t, img).SB
	fn(sb, b)
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkProblems is the checker's findings on img, as strings.
func checkProblems(t *testing.T, img string) []string {
	t.Helper()
	r := checkImage(t, img)
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.String())
	}
	if r.Dropped > 0 {
		out = append(out, fmt.Sprintf("%d more", r.Dropped))
	}
	return out
}

// TestCGSummaryDisagrees: groups whose counts (cg_cs, the fragment-run
// and cluster summaries, the cluster map, the summary area) disagree
// with their maps are never allocated from: a write workload gets EIO,
// the mount turns read-only with one dmesg line naming the group and
// what disagreed, and the checker finds afterwards exactly what it
// found before.
func TestCGSummaryDisagrees(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "d"), 0o755)
	for i, n := range []int{100, 5000, 70000} {
		os.WriteFile(filepath.Join(src, "d", fmt.Sprintf("f%d", i)), fileData(uint64(i), n), 0o644)
	}
	i32 := func(sb *Superblock, b []byte, off int64) int32 { return int32(sb.Order.Uint32(b[off:])) }
	add := func(sb *Superblock, b []byte, off int64, d int32) {
		sb.Order.PutUint32(b[off:], uint32(i32(sb, b, off)+d))
	}
	// Each damage is applied to every group, so that the first
	// allocation meets it wherever it goes.
	cases := []struct {
		name string
		want string // in the dmesg line
		fn   func(sb *Superblock, b []byte, cg int64)
	}{
		{"cg nbfree", "free blocks counted", func(sb *Superblock, b []byte, cg int64) { add(sb, b, cg+28, 3) }},
		{"cg nffree", "free fragments counted", func(sb *Superblock, b []byte, cg int64) { add(sb, b, cg+36, -1) }},
		{"cg nifree", "free inodes counted", func(sb *Superblock, b []byte, cg int64) { add(sb, b, cg+32, 2) }},
		{"frsum", "free runs of 1 fragments", func(sb *Superblock, b []byte, cg int64) { add(sb, b, cg+52+4, 1) }},
		{"cluster summary", "cluster summary has", func(sb *Superblock, b []byte, cg int64) {
			add(sb, b, cg+int64(i32(sb, b, cg+104))+4, -3)
		}},
		{"cluster map", "cluster map says block", func(sb *Superblock, b []byte, cg int64) {
			// Mark every block in use in the cluster map: the
			// fragment map still has free ones.
			m := cg + int64(i32(sb, b, cg+108))
			clear(b[m : m+int64(sb.FPG>>sb.FragShift+7)/8])
		}},
		{"summary area", "summary area says", func(sb *Superblock, b []byte, cg int64) {
			g := int64(i32(sb, b, cg+12))
			add(sb, b, sb.CSAddr<<sb.FShift+g*disk.CSumSize+4, 5)
		}},
	}
	for _, version := range []int{1, 2} {
		base := makefs(t, geometry{version, false, 8192, 1024}, src)
		if sb := openImage(t, base).SB; sb.ContigSum <= 0 {
			t.Fatalf("ufs%d: makefs kept no cluster summary (contigsumsize %d)", version, sb.ContigSum)
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("ufs%d/%s", version, c.name), func(t *testing.T) {
				img := filepath.Join(t.TempDir(), "img")
				b, _ := os.ReadFile(base)
				os.WriteFile(img, b, 0o644)
				patchImage(t, img, func(sb *Superblock, b []byte) {
					for g := range int64(sb.NCG) {
						c.fn(sb, b, sb.CGTod(g)<<sb.FShift)
					}
				})
				before := checkProblems(t, img)
				if len(before) == 0 {
					t.Fatal("the damage is invisible to the checker")
				}
				k, l := bootKernel(t)
				if e := mountImage(t, k, l, img, "/m", 0); e != 0 {
					t.Fatalf("mount: %v\n%s", e, k.Dmesg())
				}
				var errs []unix.Errno
				errs = append(errs, writeFile(t, l, "/m/new", fileData(9, 40000)))
				errs = append(errs, vfs.Mkdir(l, "/m/newdir", 0o755))
				errs = append(errs, writeFile(t, l, "/m/d/f0", fileData(3, 30000)))
				errs = append(errs, vfs.Unlink(l, "/m/d/f1"))
				if !slices.Contains(errs, unix.EIO) {
					t.Errorf("workload errors %v, want an EIO", errs)
				}
				mp := vfs.Of(k).Mounts()[len(vfs.Of(k).Mounts())-1]
				if !mp.ReadOnly() {
					t.Error("mount still read-write after the damage was found")
				}
				if e := vfs.Mkdir(l, "/m/later", 0o755); e != unix.EROFS {
					t.Errorf("mkdir after the damage: %v, want EROFS", e)
				}
				halt(t, k, l)
				var lines []string
				for line := range strings.SplitSeq(k.Dmesg(), "\n") {
					if strings.Contains(line, "mount made read-only") {
						lines = append(lines, line)
					}
				}
				if len(lines) != 1 || !strings.Contains(lines[0], "cylinder group ") || !strings.Contains(lines[0], c.want) {
					t.Errorf("dmesg lines on the damage %q, want one naming the group and %q\n%s", lines, c.want, k.Dmesg())
				}
				after := checkProblems(t, img)
				if !slices.Equal(before, after) {
					t.Errorf("checker before the session:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
				}
			})
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

// Names here carry a parts prefix: other commands' tests share package main.

func partsNeed(t *testing.T, tools ...string) { testenv.Tool(t, tools...) }

func partsRun(t *testing.T, stdin, name string, args ...string) string {
	return testenv.Run(t, stdin, name, args...)
}

// partsCapture runs a command function and returns its exit status and
// standard output.
func partsCapture(t *testing.T, run func([]string) int, args ...string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	old := partsStdout
	partsStdout = &buf
	defer func() { partsStdout = old }()
	return run(args), buf.String()
}

// partsImage is a 24 MiB GPT image: 1 "root" ext4, 2 "data" ext2, 3 empty.
func partsImage(t *testing.T) string {
	t.Helper()
	partsNeed(t, "sgdisk", "sfdisk", "mke2fs")
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	os.WriteFile(img, nil, 0o644)
	os.Truncate(img, 24<<20)
	partsRun(t, "", "sgdisk", "-n", "1:2048:+8M", "-c", "1:root", "-n", "2:0:+8M", "-c", "2:data", "-n", "3:0:0", "-t", "3:8200", img)
	for i, fs := range []struct{ typ, label string }{{"ext4", "rootfs"}, {"ext2", "datafs"}} {
		p := filepath.Join(dir, fs.typ)
		os.WriteFile(p, nil, 0o644)
		os.Truncate(p, 8<<20)
		partsRun(t, "", "mke2fs", "-q", "-F", "-t", fs.typ, "-L", fs.label, p)
		b, _ := os.ReadFile(p)
		f, _ := os.OpenFile(img, os.O_RDWR, 0)
		f.WriteAt(b, int64(2048+i*16384)*512)
		f.Close()
	}
	return img
}

func TestPartsJSONMatchesSfdisk(t *testing.T) {
	img := partsImage(t)
	rc, out := partsCapture(t, cmdParts, "--json", img)
	if rc != 0 {
		t.Fatalf("parts --json: exit %d", rc)
	}
	var got partsJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("parts --json printed bad JSON: %v\n%s", err, out)
	}
	var sf struct {
		PT struct {
			Partitions []struct {
				Node             string
				Start, Size      int64
				Type, UUID, Name string
			}
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal([]byte(partsRun(t, "", "sfdisk", "--json", img)), &sf); err != nil {
		t.Fatal(err)
	}
	if len(sf.PT.Partitions) != len(got.Partitions) {
		t.Fatalf("sfdisk lists %d partitions, parts --json %d", len(sf.PT.Partitions), len(got.Partitions))
	}
	for i, s := range sf.PT.Partitions {
		g := got.Partitions[i]
		if !strings.HasSuffix(s.Node, "img"+itoaParts(g.Index)) || g.Start != s.Start || g.Sectors != s.Size ||
			g.End != s.Start+s.Size-1 || g.Type != s.Type || g.UUID != s.UUID || g.Name != s.Name {
			t.Errorf("sfdisk: %+v\nparts:  %+v", s, g)
		}
	}
	if fs := got.Partitions[0].FS; fs == nil || fs.Variant != "ext4" || fs.Label != "rootfs" || !fs.Driver {
		t.Errorf("partition 1 file system: %+v", fs)
	}
	if got.Partitions[2].FS != nil {
		t.Errorf("empty partition 3 has a file system: %+v", got.Partitions[2].FS)
	}
}

func itoaParts(n int) string { return strconv.Itoa(n) }

func TestPartsTable(t *testing.T) {
	img := partsImage(t)
	rc, out := partsCapture(t, cmdParts, img)
	if rc != 0 {
		t.Fatalf("exit %d", rc)
	}
	for _, want := range []string{"GPT (id ", "#  Start", "root", `ext4 "rootfs"`, `ext2 "datafs"`, "Linux swap", "8.0 MiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("parts output lacks %q:\n%s", want, out)
		}
	}
	if rc, _ := partsCapture(t, cmdParts); rc != 2 {
		t.Errorf("parts without an image: exit %d, want 2", rc)
	}
	if rc, _ := partsCapture(t, cmdParts, filepath.Join(t.TempDir(), "missing.img")); rc != 1 {
		t.Errorf("parts of a missing image: exit %d, want 1", rc)
	}
}

func TestInfo(t *testing.T) {
	img := partsImage(t)
	rc, out := partsCapture(t, cmdInfo, "--json", img+"@data")
	if rc != 0 {
		t.Fatalf("exit %d", rc)
	}
	var got infoJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if got.FS == nil || got.FS.Variant != "ext2" || got.FS.Label != "datafs" || got.Begin != (2048+16384)*512 || got.Partition.Index != 2 {
		t.Errorf("info --json @data: %+v", got)
	}
	if got.FS.Free <= 0 || got.FS.Used <= 0 || got.FS.Size != got.FS.Free+got.FS.Used {
		t.Errorf("sizes: %+v", got.FS)
	}
	rc, out = partsCapture(t, cmdInfo, img+"@1")
	for _, want := range []string{"type:         ext4 (driver ext2fs)", "label:        rootfs", "state:        clean", "features:", "has_journal", "free:"} {
		if rc != 0 || !strings.Contains(out, want) {
			t.Errorf("info @1 lacks %q (exit %d):\n%s", want, rc, out)
		}
	}
	rc, out = partsCapture(t, cmdInfo, img)
	if rc != 0 || !strings.Contains(out, "partitioned") || !strings.Contains(out, img+"@2") {
		t.Errorf("info of the whole partitioned image should point at its partitions (exit %d):\n%s", rc, out)
	}
	if rc, _ := partsCapture(t, cmdInfo, img+"@9"); rc != 1 {
		t.Errorf("info @9: exit %d, want 1", rc)
	}
}

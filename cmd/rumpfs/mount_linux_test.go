package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	in := `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
90 27 0:52 / /tmp/with\040space rw,nosuid,nodev,relatime shared:1 - fuse.rumpfs /img/a\040b.img rw,user_id=0,group_id=0
91 27 0:53 / /tmp/x rw - fuse.other src rw
`
	got := parseMountinfo(strings.NewReader(in))
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(got), got)
	}
	want := mountEntry{dev: "0:52", mountpoint: "/tmp/with space", fstype: "fuse.rumpfs", source: "/img/a b.img"}
	if got[1] != want {
		t.Fatalf("got %+v, want %+v", got[1], want)
	}
	if !isRumpfsMount(got[1], "rumpfs") || isRumpfsMount(got[2], "rumpfs") || !isRumpfsMount(got[2], "other") {
		t.Fatal("isRumpfsMount misjudges fuse.rumpfs / fuse.other")
	}
}

func TestCheckMountpoint(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	if msg := checkMountpoint(dir, "rumpfs"); msg != "" {
		t.Errorf("an empty directory: %s", msg)
	}
	for p, want := range map[string]string{
		filepath.Join(dir, "missing"): "does not exist",
		file:                          "not a directory",
	} {
		if msg := checkMountpoint(p, "rumpfs"); !strings.Contains(msg, want) {
			t.Errorf("checkMountpoint(%s) = %q, want it to say %q", p, msg, want)
		}
	}
}

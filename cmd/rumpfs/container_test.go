package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestContainerPartsInfoMount: parts and info read a qcow2 made by
// qemu-img as its virtual disk and name the container; mount refuses it
// with a message.
func TestContainerPartsInfoMount(t *testing.T) {
	img := partsImage(t)
	partsNeed(t, "qemu-img")
	q := filepath.Join(t.TempDir(), "disk.qcow2")
	partsRun(t, "", "qemu-img", "convert", "-c", "-O", "qcow2", img, q)
	rc, out := partsCapture(t, cmdParts, q)
	if rc != 0 || !strings.Contains(out, "container: qcow2") || !strings.Contains(out, "rootfs") {
		t.Fatalf("parts: exit %d\n%s", rc, out)
	}
	rc, out = partsCapture(t, cmdInfo, "--json", q+"@root")
	var got infoJSON
	if rc != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Container == nil || got.Container.Format != "qcow2" ||
		got.FS == nil || got.FS.Label != "rootfs" || got.Begin != 2048*512 {
		t.Fatalf("info --json: exit %d\n%s", rc, out)
	}
	var errs bytes.Buffer
	old := errOut
	errOut = &errs
	defer func() { errOut = old }()
	rc = cmdMount([]string{"-o", "ro", q + "@root", t.TempDir()})
	if rc == 0 || !strings.Contains(errs.String(), "is a qcow2 image; mounting containers is not supported") {
		t.Fatalf("mount: exit %d: %s", rc, errs.String())
	}
}

package images

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/testenv"
)

// loopDevice attaches img to a loop device with the given logical sector
// size; it needs root (CI has it).
func loopDevice(t *testing.T, img string, sectorSize string) string {
	t.Helper()
	need(t, "losetup")
	testenv.Root(t)
	out, err := exec.Command("losetup", "-b", sectorSize, "-f", "--show", img).Output()
	if err != nil {
		testenv.Unmet(t, "losetup failed: "+err.Error())
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	return dev
}

// Block devices: size from the device, sector size from BLKSSZGET, and a
// GPT written for 4096-byte sectors read in those units.
func TestBlockDevice(t *testing.T) {
	need(t, "sgdisk", "mke2fs")
	for _, ss := range []string{"512", "4096"} {
		t.Run(ss, func(t *testing.T) {
			img := blank(t, t.TempDir(), "dev.img", 32*MiB)
			dev := loopDevice(t, img, ss)
			run(t, "", "sgdisk", "-n", "1:0:+8M", "-c", "1:first", "-n", "2:0:+8M", "-c", "2:second", dev)
			im, err := Open(dev, false)
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if !im.IsDevice() || im.Size() != 32*MiB || itoa(int64(im.SectorSize())) != ss {
				t.Fatalf("device %s: size %d, sector size %d", dev, im.Size(), im.SectorSize())
			}
			// Put an ext2 file system in partition 2 through the host path.
			l := im.Layout()
			p := byIndex(l, 2)
			if p == nil || p.Name != "second" || p.Size != 8*MiB || len(l.Warnings) != 0 {
				t.Fatalf("layout %+v, warnings %q", l, l.Warnings)
			}
			putAt(t, dev, p.Start, makeFS(t, "ext2", "ondev", 8*MiB))
			tg, err := Resolve(dev + "@second")
			if err != nil || tg.FSType != "ext2fs" || tg.FS.Label != "ondev" || tg.Begin != p.Start {
				t.Fatalf("Resolve @second on %s: %+v, %v", dev, tg, err)
			}
		})
	}
}

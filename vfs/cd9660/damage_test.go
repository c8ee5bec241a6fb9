package cd9660_test

import (
	"math/rand/v2"
	"os"
	"path"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/drivertest"
	"golang.org/x/sys/unix"
)

// TestRandomDamage mounts copies of a Rock Ridge and Joliet image with
// random bytes of its descriptors and directories changed, and walks
// each: whatever the damage, errors and no panic or hang.
func TestRandomDamage(t *testing.T) {
	img := xorriso(t, tree(t), "-joliet", "on", "-hardlinks", "on")
	orig, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	// The metadata: descriptors and the directories xorriso puts before
	// the file data.
	end := min(len(orig), 64*2048)
	runs := 150
	if testing.Short() {
		runs = 30
	}
	for seed := range uint64(runs) {
		r := rand.New(rand.NewPCG(seed, 3))
		b := append([]byte(nil), orig...)
		for range 1 + r.IntN(12) {
			b[16*2048+r.IntN(end-16*2048)] = byte(r.Uint32())
		}
		k, l := drivertest.Boot(t)
		if e := vfs.Mkdir(l, "/mnt", 0o755); e != 0 {
			t.Fatal(e)
		}
		if e := drivertest.MountDev(t, k, l, drivertest.MemDisk(t, k, b), "cd9660", "/mnt", vfs.MNT_RDONLY, nil); e == 0 {
			budget := 2000
			walk(l, "/mnt", 0, &budget)
		}
		drivertest.Halt(t, k, l)
	}
}

// walk visits what it can below dir, depth and entries bounded (a
// damaged directory may name an ancestor).
func walk(l *kernel.LWP, dir string, depth int, budget *int) {
	ents, e := vfs.ReadDir(l, dir)
	if e != 0 || depth > 20 {
		return
	}
	buf := make([]byte, 4096)
	for _, d := range ents {
		if d.Name == "." || d.Name == ".." || *budget <= 0 {
			continue
		}
		*budget--
		p := path.Join(dir, d.Name)
		var va vfs.Vattr
		if vfs.Lstat(l, p, &va) != 0 {
			continue
		}
		switch va.Type {
		case vfs.VDIR:
			walk(l, p, depth+1, budget)
		case vfs.VLNK:
			vfs.Readlink(l, p, buf)
		case vfs.VREG:
			if fd, e := vfs.Open(l, p, unix.O_RDONLY, 0); e == 0 {
				for n := 0; n < 1<<20; {
					m, e := vfs.Read(l, fd, buf)
					if e != 0 || m == 0 {
						break
					}
					n += m
				}
				vfs.Close(l, fd)
			}
		}
	}
}

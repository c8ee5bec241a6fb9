package ffs

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// TestModuleRequiresUFS: FFS is a VFS module requiring the ufs module,
// which therefore cannot go while FFS is loaded.
func TestModuleRequiresUFS(t *testing.T) {
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Reboot(nil, kernel.RB_HALT)
	ms := k.Modstat()
	i := slices.IndexFunc(ms, func(m kernel.ModStat) bool { return m.Name == "ffs" })
	if i < 0 || ms[i].Class != kernel.ModClassVFS || !slices.Equal(ms[i].Requires, []string{"ufs"}) || !ms[i].Loaded {
		t.Fatalf("ffs module: %+v", ms)
	}
	l := k.LWP0()
	if err := k.ModuleUnload(l, "ufs"); err != unix.EBUSY {
		t.Fatalf("unload ufs under ffs: %v", err)
	}
	if err := k.ModuleUnload(l, "ffs"); err != nil {
		t.Fatal(err)
	}
	if err := k.ModuleUnload(l, "ufs"); err != nil {
		t.Fatal(err)
	}
	if err := k.ModuleLoad(l, "ffs"); err != nil {
		t.Fatal(err)
	}
	for _, m := range k.Modstat() {
		if (m.Name == "ufs" || m.Name == "ffs") && !m.Loaded {
			t.Fatalf("%s not loaded again", m.Name)
		}
	}
}

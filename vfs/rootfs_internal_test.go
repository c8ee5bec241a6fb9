package vfs

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
)

// TestBootWithoutRoot: a program that links the VFS but no root file
// system type gets a boot error that says what to import.
func TestBootWithoutRoot(t *testing.T) {
	saved := rootFSType.Swap(nil)
	defer rootFSType.Store(saved)
	_, err := kernel.Boot(kernel.Config{NoThreads: true, Console: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "no root file system") || !strings.Contains(err.Error(), "vfs/rumpfs") {
		t.Fatalf("boot without a root type: %v", err)
	}
}

// TestRootIsRegistered: the root type linked in is mounted at "/" and is
// also an ordinary type by name.
func TestRootIsRegistered(t *testing.T) {
	rt := rootFSType.Load()
	if rt == nil {
		t.Fatal("no root type registered (the test links vfs/rumpfs)")
	}
	k, err := kernel.Boot(kernel.Config{NoThreads: true, Console: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Reboot(nil, kernel.RB_HALT)
	if got := Of(k).RootMount().Type; got != rt || LookupFSType(rt.Name) != rt {
		t.Fatalf("root mount type %v, registered %v", got.Name, rt.Name)
	}
}

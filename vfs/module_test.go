package vfs_test

import (
	"slices"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func loaded(k *kernel.Kernel, name string) bool {
	i := slices.IndexFunc(k.Modstat(), func(m kernel.ModStat) bool { return m.Name == name })
	return i >= 0 && k.Modstat()[i].Loaded
}

// TestFSModuleUnload: a file system type is a module that cannot be
// unloaded while mounted, and mounts again once loaded again.
func TestFSModuleUnload(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	const typ = "vntest-jr"
	if !loaded(k, typ) || !loaded(k, "rumpfs") {
		t.Fatalf("file system modules not loaded at boot: %+v", k.Modstat())
	}
	must(t, vfs.Mkdir(l, "/j", 0o755), "mkdir")
	must(t, vfs.MountPath(l, typ, "none", "/j", 0, nil), "mount")
	if err := k.ModuleUnload(l, typ); err != unix.EBUSY {
		t.Fatalf("unload with a mount: %v", err)
	}
	if err := k.ModuleUnload(l, "rumpfs"); err != unix.EBUSY {
		t.Fatalf("unload the root's type: %v", err)
	}
	must(t, vfs.UnmountPath(l, "/j", 0), "unmount")
	if err := k.ModuleUnload(l, typ); err != nil {
		t.Fatalf("unload after unmount: %v", err)
	}
	if loaded(k, typ) {
		t.Fatal("modstat still lists it loaded")
	}
	must(t, k.SysctlSet(l, "kern.module.autoload", "0"), "autoload off")
	if e := vfs.MountPath(l, typ, "none", "/j", 0, nil); e != unix.ENODEV {
		t.Fatalf("mount of an unloaded type: %v", e)
	}
	if err := k.ModuleLoad(l, typ); err != nil {
		t.Fatal(err)
	}
	must(t, vfs.MountPath(l, typ, "none", "/j", 0, nil), "mount after load")
	must(t, vfs.UnmountPath(l, "/j", 0), "unmount")
	// With autoload a mount loads the module it needs, as NetBSD's does.
	must(t, k.SysctlSet(l, "kern.module.autoload", "1"), "autoload on")
	if err := k.ModuleUnload(l, typ); err != nil {
		t.Fatal(err)
	}
	must(t, vfs.MountPath(l, typ, "none", "/j", 0, nil), "mount autoloads")
	if !loaded(k, typ) {
		t.Fatal("autoload did not load it")
	}
}

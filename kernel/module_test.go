package kernel

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var modOrder []string

func init() {
	// Registered out of class order, with a requirement across classes.
	add := func(name string, c ModClass, req ...string) {
		RegisterModule(&ModuleInfo{Name: name, Class: c, Requires: req,
			Init: func(*Kernel) error { modOrder = append(modOrder, name); return nil }})
	}
	add("test-driver", ModClassDriver)
	add("test-vfs", ModClassVFS, "test-misc")
	add("test-misc", ModClassMisc)
	add("test-secmodel", ModClassSecmodel)
}

func testMods(order []string) []string {
	return slices.DeleteFunc(slices.Clone(order), func(n string) bool { return !strings.HasPrefix(n, "test-") })
}

func TestModulesBootInClassOrder(t *testing.T) {
	modOrder = nil
	k := boot(t, Config{})
	// Requirements first, then classes in boot order.
	if got := strings.Join(testMods(modOrder), " "); got != "test-secmodel test-misc test-vfs test-driver" {
		t.Fatalf("modules initialised as %q", got)
	}
	var names []string
	for _, m := range k.Modstat() {
		if strings.HasPrefix(m.Name, "test-") {
			if !m.Loaded || m.Source != "builtin" {
				t.Errorf("modstat %+v", m)
			}
			names = append(names, m.Name+":"+m.Class.String())
		}
	}
	if got := strings.Join(names, " "); got != "test-driver:driver test-misc:misc test-secmodel:secmodel test-vfs:vfs" {
		t.Fatalf("modstat %s", got)
	}
}

func TestModuleUnloadLoad(t *testing.T) {
	k := boot(t, Config{})
	l := k.LWP0()
	user, _ := k.Rfork(nil, RFCFDG)
	user.Proc().SetCred(CredCreate(5, 5, nil))
	if err := k.ModuleUnload(user, "test-vfs"); err != unix.EPERM {
		t.Fatalf("user unload: %v", err)
	}
	// Required by a loaded module, or held: busy.
	if err := k.ModuleUnload(l, "test-misc"); err != unix.EBUSY {
		t.Fatalf("unload a requirement: %v", err)
	}
	if e := k.ModuleHold("test-vfs", ModClassVFS); e != 0 {
		t.Fatal(e)
	}
	if err := k.ModuleUnload(l, "test-vfs"); err != unix.EBUSY {
		t.Fatalf("unload a held module: %v", err)
	}
	k.ModuleRele("test-vfs")
	if err := k.ModuleUnload(l, "test-vfs"); err != nil {
		t.Fatal(err)
	}
	if err := k.ModuleUnload(l, "test-vfs"); err != unix.ENOENT {
		t.Fatalf("second unload: %v", err)
	}
	if err := k.ModuleUnload(l, "test-misc"); err != nil {
		t.Fatalf("unload the requirement once free: %v", err)
	}
	// Without autoload a hold of an unloaded module fails.
	if e := k.SysctlSet(l, "kern.module.autoload", "0"); e != 0 {
		t.Fatal(e)
	}
	if e := k.ModuleHold("test-vfs", ModClassVFS); e != unix.ENOENT {
		t.Fatalf("hold of an unloaded module: %v", e)
	}
	// Loading again loads the requirement too.
	modOrder = nil
	if err := k.ModuleLoad(l, "test-vfs"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(modOrder, " "); got != "test-misc test-vfs" {
		t.Fatalf("load order %q", got)
	}
	if err := k.ModuleLoad(l, "test-vfs"); err != unix.EEXIST {
		t.Fatalf("second load: %v", err)
	}
	if err := k.ModuleLoad(l, "no-such"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("unknown module: %v", err)
	}
	// With autoload (the default) a hold loads it.
	k.SysctlSet(l, "kern.module.autoload", "1")
	k.ModuleUnload(l, "test-vfs")
	if e := k.ModuleHold("test-vfs", ModClassVFS); e != 0 {
		t.Fatalf("autoload: %v", e)
	}
	k.ModuleRele("test-vfs")
}

func TestModuleInitFini(t *testing.T) {
	k := boot(t, Config{})
	l := k.LWP0()
	finied := false
	mi := &ModuleInfo{Name: "added", Class: ModClassMisc, Requires: []string{"test-misc"},
		Fini: func(*Kernel) error { finied = true; return nil }}
	if err := k.ModuleInit(l, mi); err != nil {
		t.Fatal(err)
	}
	if err := k.ModuleInit(l, mi); err != unix.EEXIST {
		t.Fatalf("second init: %v", err)
	}
	i := slices.IndexFunc(k.Modstat(), func(m ModStat) bool { return m.Name == "added" })
	if i < 0 || k.Modstat()[i].Source != "added" || !k.Modstat()[i].Loaded {
		t.Fatalf("modstat %+v", k.Modstat())
	}
	if err := k.ModuleFini(l, "added"); err != nil || !finied {
		t.Fatalf("fini: %v %v", err, finied)
	}
	if slices.ContainsFunc(k.Modstat(), func(m ModStat) bool { return m.Name == "added" }) {
		t.Fatal("fini did not forget the module")
	}
	// A missing requirement is refused and leaves nothing behind.
	if err := k.ModuleInit(l, &ModuleInfo{Name: "orphan", Requires: []string{"no-such"}}); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("missing requirement: %v", err)
	}
	if slices.ContainsFunc(k.Modstat(), func(m ModStat) bool { return m.Name == "orphan" }) {
		t.Fatal("failed init left the module")
	}
	// A Fini that refuses keeps the module loaded.
	k.ModuleInit(l, &ModuleInfo{Name: "stubborn", Fini: func(*Kernel) error { return unix.EBUSY }})
	if err := k.ModuleUnload(l, "stubborn"); err != unix.EBUSY {
		t.Fatal(err)
	}
}

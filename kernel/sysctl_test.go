package kernel

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

type testStats struct{ A, B int }

func TestSysctlTree(t *testing.T) {
	k := boot(t, Config{NCPU: 2, Hostname: "h"})
	// Well-known numbers, names and numbers mixed.
	for name, want := range map[string]string{"kern.hostname": "h", "1.10": "h", "kern.10": "h", "hw.ncpu": "2", "6.3": "2", "kern.ostype": "NetBSD"} {
		if v, e := k.SysctlGet(name); e != 0 || v != want {
			t.Errorf("%s = %q, %v; want %q", name, v, e, want)
		}
	}
	if mib, _ := k.SysctlLookup("kern.hostname"); !slices.Equal(mib, []int32{1, 10}) {
		t.Fatalf("kern.hostname mib %v", mib)
	}
	if mib, _ := k.SysctlLookup("vfs.generic"); !slices.Equal(mib, []int32{3, 0}) {
		t.Fatalf("vfs.generic mib %v", mib)
	}
	if v, _ := k.SysctlGet("kern.osrevision"); v != "1001000000" {
		t.Fatalf("kern.osrevision %s", v)
	}

	// A subsystem registers leaves of every type; numbers are dynamic.
	var n int64 = 5
	on := false
	st := testStats{1, 2}
	mib, e := k.SysctlCreate("vfs.test.count", SysctlNode{Type: CTLTYPE_INT, Desc: "a counter", ReadWrite: true,
		Get: func() any { return n },
		Set: func(v any) unix.Errno {
			if v.(int64) < 0 {
				return unix.EINVAL
			}
			n = v.(int64)
			return 0
		}})
	if e != 0 || len(mib) != 3 || mib[0] != 3 || mib[1] != sysctlCreateBase || mib[2] != sysctlCreateBase {
		t.Fatalf("create: %v %v", mib, e)
	}
	must := func(e unix.Errno, what string) {
		t.Helper()
		if e != 0 {
			t.Fatalf("%s: %v", what, e)
		}
	}
	_, e = k.SysctlCreate("vfs.test.on", SysctlNode{Type: CTLTYPE_BOOL, ReadWrite: true,
		Get: func() any { return on }, Set: func(v any) unix.Errno { on = v.(bool); return 0 }})
	must(e, "create bool")
	_, e = k.SysctlCreate("vfs.test.stats", SysctlStruct("two numbers", func() any { return st }))
	must(e, "create struct")
	_, e = k.SysctlCreate("vfs.test.name", SysctlString("a name", func() string { return "x" }))
	must(e, "create string")
	if _, e := k.SysctlCreate("vfs.test.count", SysctlInt("", func() int64 { return 0 })); e != unix.EEXIST {
		t.Fatalf("second create: %v", e)
	}
	if _, e := k.SysctlCreate("vfs.test.count.below", SysctlInt("", func() int64 { return 0 })); e != unix.ENOTDIR {
		t.Fatalf("create below a leaf: %v", e)
	}
	if _, e := k.SysctlCreate("vfs.test.rw", SysctlNode{Type: CTLTYPE_INT, ReadWrite: true, Get: func() any { return int64(0) }}); e != unix.EINVAL {
		t.Fatalf("writable leaf without Set: %v", e)
	}
	if _, e := k.SysctlCreate("vfs..x", SysctlInt("", func() int64 { return 0 })); e != unix.EINVAL {
		t.Fatalf("empty component: %v", e)
	}

	// Typed get and set.
	old, e := k.Sysctl(k.LWP0(), "vfs.test.count", 7)
	if e != 0 || old != int64(5) || n != 7 {
		t.Fatalf("set int: old %v e %v n %d", old, e, n)
	}
	if _, e := k.Sysctl(k.LWP0(), "vfs.test.count", "7"); e != unix.EINVAL {
		t.Fatalf("string into an int: %v", e)
	}
	if _, e := k.Sysctl(k.LWP0(), "vfs.test.count", -1); e != unix.EINVAL {
		t.Fatalf("refused by Set: %v", e)
	}
	if _, e := k.Sysctl(k.LWP0(), "vfs.test.on", 1); e != unix.EINVAL {
		t.Fatalf("int into a bool: %v", e)
	}
	must(k.SysctlSet(k.LWP0(), "vfs.test.on", "1"), "set bool")
	if v, _ := k.SysctlGet("vfs.test.on"); v != "1" || !on {
		t.Fatalf("bool %s", v)
	}
	if e := k.SysctlSet(k.LWP0(), "vfs.test.count", "many"); e != unix.EINVAL {
		t.Fatalf("text not a number: %v", e)
	}
	if v, e := k.Sysctl(nil, "vfs.test.stats", nil); e != 0 || v != (testStats{1, 2}) {
		t.Fatalf("struct %v %v", v, e)
	}
	if _, e := k.Sysctl(k.LWP0(), "vfs.test.stats", testStats{}); e != unix.EPERM {
		t.Fatalf("write to a read-only struct: %v", e)
	}
	if _, e := k.Sysctl(nil, "vfs.test", nil); e != unix.EISDIR {
		t.Fatalf("read an inner node: %v", e)
	}
	for _, name := range []string{"no.such", "vfs.test.nope", "kern.hostname.x", "", "99"} {
		if _, e := k.SysctlGet(name); e != unix.ENOENT && e != unix.ENOTDIR {
			t.Errorf("%q: %v, want ENOENT", name, e)
		}
	}
	if _, e := k.SysctlGet("no.such"); e != unix.ENOENT {
		t.Fatal(e)
	}
	if d, _ := k.SysctlDescribe("vfs.test.count"); d != "a counter" {
		t.Fatalf("description %q", d)
	}

	// Listing and removal.
	list, _ := k.SysctlList("vfs.test")
	var names []string
	for _, en := range list {
		names = append(names, en.Name+":"+en.Type.String())
	}
	if got := strings.Join(names, " "); got != "vfs.test:node vfs.test.count:int vfs.test.on:bool vfs.test.stats:struct vfs.test.name:string" {
		t.Fatalf("list: %s", got)
	}
	if !slices.Contains(k.SysctlNames(), "kern.hostname") {
		t.Fatal("SysctlNames lacks kern.hostname")
	}
	must(k.SysctlDestroy("vfs.test"), "destroy")
	if _, e := k.SysctlGet("vfs.test.count"); e != unix.ENOENT {
		t.Fatalf("after destroy: %v", e)
	}
	if e := k.SysctlDestroy("vfs.test"); e != unix.ENOENT {
		t.Fatalf("second destroy: %v", e)
	}
}

func TestKauthScopes(t *testing.T) {
	k := boot(t, Config{})
	user := CredCreate(1000, 1000, nil)
	for _, s := range Scopes {
		if got := k.KauthListeners(s); !slices.Equal(got, []string{"suser"}) {
			t.Fatalf("scope %s listeners %v", s, got)
		}
	}
	if k.Authorize(user, ActionMknod) != unix.EPERM || k.Authorize(RootCred, ActionMknod) != 0 {
		t.Fatal("suser secmodel")
	}
	// A policy lets uid 1000 make device nodes, with the argument it got.
	var gotArgs []any
	unlisten := k.ListenScope(ScopeSystem, "test-mknod", func(c *Cred, a Action, args []any) Result {
		if a == ActionMknod && c.Uid() == 1000 {
			gotArgs = args
			return Allow
		}
		return Defer
	})
	if e := k.Authorize(user, ActionMknod, "/dev/x"); e != 0 || len(gotArgs) != 1 || gotArgs[0] != "/dev/x" {
		t.Fatalf("listener allow: %v %v", e, gotArgs)
	}
	if e := k.Authorize(user, ActionReboot); e != unix.EPERM {
		t.Fatalf("other actions still need root: %v", e)
	}
	// A deny wins over suser's allow.
	undeny := k.ListenScope(ScopeSystem, "no-reboot", func(c *Cred, a Action, args []any) Result {
		if a == ActionReboot {
			return Deny
		}
		return Defer
	})
	if e := k.Reboot(nil, RB_HALT); e != unix.EPERM || k.Halted() {
		t.Fatalf("denied reboot: %v", e)
	}
	undeny()
	unlisten()
	if k.Authorize(user, ActionMknod) != unix.EPERM {
		t.Fatal("listener still there after unlisten")
	}
	if got := k.KauthListeners(ScopeSystem); !slices.Equal(got, []string{"suser"}) {
		t.Fatalf("listeners after unlisten %v", got)
	}
	// Actions reach their own scope's listeners only.
	k.ListenScope(ScopeVnode, "chown-all", func(*Cred, Action, []any) Result { return Allow })
	if k.Authorize(user, ActionChown) != 0 || k.Authorize(user, ActionMknod) != unix.EPERM {
		t.Fatal("scopes mixed")
	}
	// sysctl writes ask kauth too.
	k.ListenScope(ScopeSystem, "sysctl-1000", func(c *Cred, a Action, args []any) Result {
		if a == ActionSysctlWrite && len(args) == 1 && args[0] == "kern.hostname" {
			return Allow
		}
		return Defer
	})
	l, _ := k.Rfork(nil, RFCFDG)
	l.Proc().SetCred(user)
	if e := k.SysctlSet(l, "1.10", "mine"); e != 0 {
		t.Fatalf("sysctl write allowed by a listener: %v", e)
	}
}

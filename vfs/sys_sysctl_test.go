package vfs_test

import (
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

func TestSysctlSyscall(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	for _, name := range []string{"vfs.bio.maxbytes", "vfs.bio.bytes", "vfs.bio.hits", "vfs.bio.misses", "kern.maxvnodes", "vfs.generic.usermount"} {
		v, e := vfs.Sysctl(l, name, nil)
		if _, ok := v.(int64); e != 0 || !ok {
			t.Errorf("%s: %v %T", name, e, v)
		}
	}
	if v, _ := vfs.Sysctl(l, "vfs.bio.maxbytes", nil); v != vfs.Of(k).Bufcache.MaxBytes() {
		t.Fatalf("vfs.bio.maxbytes %v", v)
	}
	if v, _ := vfs.Sysctl(l, "vfs.bio.stats", nil); v == nil {
		t.Fatal("no bio stats")
	} else if _, ok := v.(bio.Stats); !ok {
		t.Fatalf("vfs.bio.stats is %T", v)
	}
	if _, e := vfs.Sysctl(l, "vfs.no.such", nil); e != unix.ENOENT {
		t.Fatalf("unknown name: %v", e)
	}
	if _, e := vfs.Sysctl(l, "vfs.generic.usermount", "yes"); e != unix.EINVAL {
		t.Fatalf("wrong type: %v", e)
	}
	if _, e := vfs.Sysctl(l, "vfs.generic.usermount", 2); e != unix.EINVAL {
		t.Fatalf("out of range: %v", e)
	}
	if _, e := vfs.Sysctl(l, "vfs.bio.hits", 0); e != unix.EPERM {
		t.Fatalf("read-only: %v", e)
	}
	if old, e := vfs.SysctlText(l, "kern.hostname", "renamed"); e != 0 || old == "" {
		t.Fatalf("text set: %q %v", old, e)
	}
	if v, _ := vfs.SysctlText(l, "kern.hostname", ""); v != "renamed" {
		t.Fatalf("hostname %q", v)
	}

	// Each mount has a node while it is mounted.
	must(t, vfs.Mkdir(l, "/m", 0o755), "mkdir")
	must(t, vfs.MountPath(l, "rumpfs", "none", "/m", 0, nil), "mount")
	var mp *vfs.Mount
	for _, m := range vfs.Of(k).Mounts() {
		if m.On == "/m" {
			mp = m
		}
	}
	name := "vfs.mount." + itoa(mp.ID())
	v, e := vfs.Sysctl(l, name, nil)
	st, ok := v.(vfs.MountStats)
	if e != 0 || !ok || st.On != "/m" || st.FSType != "rumpfs" || st.Vnodes < 1 {
		t.Fatalf("%s: %+v %v", name, v, e)
	}
	if d, _ := k.SysctlDescribe(name); !strings.Contains(d, "/m") {
		t.Fatalf("description %q", d)
	}
	must(t, vfs.UnmountPath(l, "/m", 0), "unmount")
	if _, e := vfs.Sysctl(l, name, nil); e != unix.ENOENT {
		t.Fatalf("node after unmount: %v", e)
	}
}

func itoa(n uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func TestUsermount(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	user, _ := k.Rfork(l, kernel.RFCFDG)
	user.Proc().SetCred(kernel.CredCreate(1000, 1000, nil))
	other, _ := k.Rfork(l, kernel.RFCFDG)
	other.Proc().SetCred(kernel.CredCreate(2000, 2000, nil))
	must(t, vfs.Mkdir(l, "/mine", 0o755), "mkdir")
	must(t, vfs.Chown(l, "/mine", 1000, 1000), "chown")
	must(t, vfs.Mkdir(l, "/roots", 0o777), "mkdir")

	if v, _ := k.SysctlGet("vfs.generic.usermount"); v != "0" {
		t.Fatalf("usermount defaults to %s", v)
	}
	if e := vfs.MountPath(user, "rumpfs", "none", "/mine", 0, nil); e != unix.EPERM {
		t.Fatalf("user mount with usermount=0: %v", e)
	}
	if _, e := vfs.Sysctl(user, "vfs.generic.usermount", 1); e != unix.EPERM {
		t.Fatalf("user turned usermount on: %v", e)
	}
	if _, e := vfs.Sysctl(l, "vfs.generic.usermount", 1); e != 0 {
		t.Fatal(e)
	}
	if e := vfs.MountPath(user, "rumpfs", "none", "/roots", 0, nil); e != unix.EPERM {
		t.Fatalf("user mount on a directory of root's: %v", e)
	}
	must(t, vfs.MountPath(user, "rumpfs", "none", "/mine", 0, nil), "user mount on own directory")
	if e := vfs.UnmountPath(other, "/mine", 0); e != unix.EPERM {
		t.Fatalf("another user unmounted it: %v", e)
	}
	must(t, vfs.UnmountPath(user, "/mine", 0), "user unmounts own mount")
	// Back off: users are refused again.
	vfs.Sysctl(l, "vfs.generic.usermount", 0)
	if e := vfs.MountPath(user, "rumpfs", "none", "/mine", 0, nil); e != unix.EPERM {
		t.Fatalf("after usermount=0: %v", e)
	}
}

func TestSysctlNumbers(t *testing.T) {
	k, _ := boot(t, kernel.Config{MaxVnodes: 777})
	if v, e := k.SysctlGet("1.5"); e != 0 || v != "777" {
		t.Fatalf("kern.maxvnodes by number: %q %v", v, e)
	}
}

package kernel

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var order []string
var orderMu sync.Mutex

func init() {
	// Registered out of order: Boot must run them by class.
	for _, c := range []Class{ClassSysCall, ClassKern, ClassPostInit, ClassDev, ClassVFS, ClassKernVFS, ClassNet} {
		c := c
		RegisterComponent(Component{Name: "test-" + c.String(), Class: c, Init: func(k *Kernel) error {
			orderMu.Lock()
			order = append(order, c.String())
			orderMu.Unlock()
			if c == ClassPostInit && k.InitProc() == nil {
				return errors.New("initproc missing at POSTINIT")
			}
			return nil
		}})
	}
}

func boot(t testing.TB, cfg Config) *Kernel {
	t.Helper()
	cfg.Console = &bytes.Buffer{}
	k, err := Boot(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBootOrderAndCounts(t *testing.T) {
	orderMu.Lock()
	order = nil
	orderMu.Unlock()
	k := boot(t, Config{})
	want := "KERN VFS NET DEV KERN_VFS POSTINIT SYSCALL"
	orderMu.Lock()
	got := strings.Join(order, " ")
	orderMu.Unlock()
	if got != want {
		t.Fatalf("components ran in order %q, want %q", got, want)
	}
	for name, n := range k.ComponentCounts() {
		if n != 1 {
			t.Errorf("class %s: %d components ran, want 1", name, n)
		}
	}
	// A second Boot is a no-op.
	if err := k.Boot(); err != nil {
		t.Fatal(err)
	}
	if n := k.ComponentsRan(ClassKern); n != 1 {
		t.Fatalf("second Boot ran components again: %d", n)
	}
	if p := k.InitProc(); p == nil || p.Pid() != 1 || p.Comm != "rumplocal" {
		t.Fatalf("initproc = %+v", p)
	}
	if k.Proc0().Pid() != 0 || k.LWP0().Proc() != k.Proc0() {
		t.Fatal("proc0/lwp0 wrong")
	}
}

func TestSeveralKernels(t *testing.T) {
	a := boot(t, Config{NCPU: 1, Hostname: "a"})
	b := boot(t, Config{NCPU: 3, Hostname: "b"})
	ha, _ := a.SysctlGet("kern.hostname")
	hb, _ := b.SysctlGet("kern.hostname")
	if ha != "a" || hb != "b" || a.NCPU() != 1 || b.NCPU() != 3 {
		t.Fatalf("kernels share state: %q %q %d %d", ha, hb, a.NCPU(), b.NCPU())
	}
}

func TestConfigEnv(t *testing.T) {
	t.Setenv("RUMP_NCPU", "3")
	t.Setenv("RUMP_VERBOSE", "1")
	t.Setenv("RUMP_THREADS", "0")
	t.Setenv("RUMP_MEMLIMIT", "100m")
	k := boot(t, Config{})
	c := k.Config()
	if k.NCPU() != 3 || !c.Verbose || !c.NoThreads || c.MemLimit != 100<<20 || c.BufCacheBytes != 5<<20 {
		t.Fatalf("env not applied: ncpu %d cfg %+v", k.NCPU(), c)
	}
	// An explicit field wins over the environment.
	if k := boot(t, Config{NCPU: 1}); k.NCPU() != 1 {
		t.Fatalf("explicit NCPU overridden: %d", k.NCPU())
	}
	t.Setenv("RUMP_NCPU", "host")
	if k := boot(t, Config{}); k.NCPU() < 1 {
		t.Fatal("host ncpu")
	}
}

func TestBootMessages(t *testing.T) {
	k := boot(t, Config{NCPU: 3})
	d := k.Dmesg()
	for i := 0; i < 3; i++ {
		want := "cpu" + string(rune('0'+i)) + " at thinair0: rump virtual cpu"
		if !strings.Contains(d, want) {
			t.Errorf("dmesg lacks %q:\n%s", want, d)
		}
	}
	// The buffer keeps the last 16 KiB.
	for i := 0; i < 2000; i++ {
		k.Printf("filler line %d", i)
	}
	d = k.Dmesg()
	if len(d) > msgbufSize || !strings.Contains(d, "filler line 1999") || strings.Contains(d, "filler line 1\n") {
		t.Fatalf("msgbuf wrap wrong: len %d", len(d))
	}
}

// TestCPUBound proves at most NCPU LWPs run kernel code at once, and that
// NCPU of them do under contention.
func TestCPUBound(t *testing.T) {
	const ncpu = 2
	k := boot(t, Config{NCPU: ncpu})
	var inside, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		l, err := k.NewLWP(1)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				l.Schedule()
				n := inside.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(50 * time.Microsecond)
				inside.Add(-1)
				l.Unschedule()
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != ncpu {
		t.Fatalf("peak LWPs in the kernel = %d, want %d", p, ncpu)
	}
}

// TestBlockReleasesCPU: an LWP blocked with BlockBegin lets others run
// even with one CPU.
func TestBlockReleasesCPU(t *testing.T) {
	k := boot(t, Config{NCPU: 1})
	a, _ := k.NewLWP(1)
	b, _ := k.NewLWP(1)
	a.Schedule()
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		d := a.BlockBegin()
		<-release
		a.BlockEnd(d)
		a.Unschedule()
		close(done)
	}()
	b.Schedule() // would hang if a still held the only CPU
	b.Unschedule()
	close(release)
	<-done
	// A kernel mutex waiter gives its CPU back too.
	var m Mutex
	a.Schedule()
	m.Enter(a)
	go func() {
		b.Schedule()
		m.Enter(b) // blocks, must release the CPU
		m.Exit()
		b.Unschedule()
	}()
	time.Sleep(10 * time.Millisecond)
	c, _ := k.NewLWP(1)
	d := a.BlockBegin() // a gives its CPU up; c must be able to run while b waits
	c.Schedule()
	c.Unschedule()
	a.BlockEnd(d)
	m.Exit()
	a.Unschedule()
}

type fakeState struct {
	files  *[]string
	shared bool
	exited *int
}

func (s *fakeState) Fork(l *LWP, flags int) (ProcState, error) {
	switch {
	case flags&RFCFDG != 0:
		f := []string{}
		return &fakeState{files: &f, exited: s.exited}, nil
	case flags&RFFDG != 0:
		f := append([]string(nil), *s.files...)
		return &fakeState{files: &f, exited: s.exited}, nil
	}
	return &fakeState{files: s.files, shared: true, exited: s.exited}, nil
}

func (s *fakeState) Exit(l *LWP) { *s.exited++ }

func TestProcsAndLWPs(t *testing.T) {
	k := boot(t, Config{})
	exited := 0
	files := []string{"fd0"}
	k.SetProcStateFactory(func(p *Proc) ProcState { return &fakeState{files: &files, exited: &exited} })

	if _, err := k.Rfork(nil, RFFDG|RFCFDG); err != unix.EINVAL {
		t.Fatalf("both flags: %v, want EINVAL", err)
	}
	shared, _ := k.Rfork(nil, 0)
	copied, _ := k.Rfork(nil, RFFDG)
	clean, _ := k.Rfork(nil, RFCFDG)
	if shared.Proc().Parent() != k.InitProc() {
		t.Fatal("implicit rfork must be parented to init")
	}
	*shared.Proc().State.(*fakeState).files = append(*shared.Proc().State.(*fakeState).files, "fd1")
	if n := len(files); n != 2 {
		t.Fatalf("shared table not shared: %d", n)
	}
	if n := len(*copied.Proc().State.(*fakeState).files); n != 1 {
		t.Fatalf("copied table: %d entries, want 1 (copied before the change)", n)
	}
	if n := len(*clean.Proc().State.(*fakeState).files); n != 0 {
		t.Fatalf("clean table: %d entries", n)
	}
	pid := clean.Proc().Pid()
	if _, err := k.NewLWP(99999); err != unix.ESRCH {
		t.Fatalf("NewLWP of a missing pid: %v", err)
	}
	l2, err := k.NewLWP(pid)
	if err != nil || l2.Proc() != clean.Proc() || l2.Lid() == clean.Lid() {
		t.Fatalf("NewLWP: %v", err)
	}
	if err := k.Switch(nil, l2); err != nil {
		t.Fatal(err)
	}
	if err := k.Switch(nil, l2); err != unix.EBUSY {
		t.Fatalf("switch to a running LWP: %v", err)
	}
	// A child of clean, then clean goes away: the child goes to init.
	child, _ := k.Rfork(clean, RFCFDG)
	k.ReleaseLWP(clean)
	if k.FindProc(pid) == nil || exited != 0 {
		t.Fatal("proc freed while an LWP remains")
	}
	k.ReleaseLWP(l2)
	if k.FindProc(pid) != nil || exited != 1 {
		t.Fatalf("proc not freed after its last LWP (exited=%d)", exited)
	}
	if child.Proc().Parent() != k.InitProc() {
		t.Fatal("orphan not re-parented to init")
	}
	if _, err := k.NewLWP(pid); err != unix.ESRCH {
		t.Fatalf("NewLWP of a freed pid: %v", err)
	}
}

func TestAllBetsAreOffSetID(t *testing.T) {
	k := boot(t, Config{})
	l, _ := k.Rfork(nil, RFCFDG)
	tab := l.Proc().tabPid
	AllBetsAreOffSetID(l, 4242, 77)
	if l.Proc().Pid() != 4242 || l.Lid() != 77 {
		t.Fatalf("ids %d/%d", l.Proc().Pid(), l.Lid())
	}
	if k.FindProc(tab) != l.Proc() {
		t.Fatal("proc table rehashed")
	}
}

func TestCredAndKauth(t *testing.T) {
	c := CredCreate(1000, 100, []uint32{5, 6})
	if c.Uid() != 1000 || c.RUid() != 1000 || c.SvUid() != 1000 || c.Gid() != 100 || c.SvGid() != 100 || !c.IsMember(6) || c.IsMember(7) {
		t.Fatal("cred ids")
	}
	if Authorize(c, ActionReboot) != unix.EPERM || Authorize(RootCred, ActionReboot) != 0 {
		t.Fatal("suser secmodel")
	}
	cases := []struct {
		cred           *Cred
		dir            bool
		mode, uid, gid uint32
		acc            uint32
		want           unix.Errno
	}{
		{c, false, 0o600, 1000, 0, VREAD | VWRITE, 0},
		{c, false, 0o060, 1000, 100, VREAD, unix.EACCES}, // owner bits only
		{c, false, 0o060, 0, 6, VREAD | VWRITE, 0},       // supplementary group
		{c, false, 0o604, 0, 0, VREAD, 0},                // other
		{c, false, 0o604, 0, 0, VWRITE, unix.EACCES},
		{RootCred, false, 0o000, 5, 5, VREAD | VWRITE, 0},
		{RootCred, false, 0o644, 5, 5, VEXEC, unix.EACCES}, // no x bit: root too
		{RootCred, false, 0o744, 5, 5, VEXEC, 0},
		{RootCred, true, 0o000, 5, 5, VEXEC, 0},
	}
	for i, tc := range cases {
		if got := VAccess(tc.cred, tc.dir, tc.mode, tc.uid, tc.gid, tc.acc); got != tc.want {
			t.Errorf("case %d: %v, want %v", i, got, tc.want)
		}
	}
	if StickyCheck(c, 0o1777, 0, 2000) != unix.EPERM || StickyCheck(c, 0o1777, 0, 1000) != 0 || StickyCheck(c, 0o777, 0, 2000) != 0 || StickyCheck(c, 0o1777, 1000, 2000) != 0 {
		t.Fatal("sticky rules")
	}
}

func TestUio(t *testing.T) {
	buf := make([]byte, 10)
	u := UioSetup(buf, 100, UioRead)
	if n, _ := Uiomove([]byte("hello"), u); n != 5 {
		t.Fatal(n)
	}
	if UioGetResid(u) != 5 || UioGetOff(u) != 105 {
		t.Fatal(UioGetResid(u), UioGetOff(u))
	}
	UiomoveZero(100, u)
	if r := UioFree(u); r != 0 || string(buf) != "hello\x00\x00\x00\x00\x00" {
		t.Fatalf("resid %d buf %q", r, buf)
	}
	w := UioSetup([]byte("abcdef"), 0, UioWrite)
	dst := make([]byte, 4)
	Uiomove(dst, w)
	if string(dst) != "abcd" || UioFree(w) != 2 {
		t.Fatal(string(dst))
	}
	if n := testing.AllocsPerRun(100, func() { UioFree(UioSetup(buf, 0, UioRead)) }); n != 0 {
		t.Fatalf("UioSetup allocates %v", n)
	}
}

func TestSysctlAndEvcnt(t *testing.T) {
	k := boot(t, Config{NCPU: 2, Hostname: "h"})
	if v, _ := k.SysctlGet("kern.ostype"); v != "NetBSD" {
		t.Fatal(v)
	}
	if v, _ := k.SysctlGet("hw.ncpu"); v != "2" {
		t.Fatal(v)
	}
	user, _ := k.Rfork(nil, RFCFDG)
	user.Proc().SetCred(CredCreate(1, 1, nil))
	if e := k.SysctlSet(user, "kern.hostname", "x"); e != unix.EPERM {
		t.Fatal(e)
	}
	if e := k.SysctlSet(k.LWP0(), "kern.hostname", "newname"); e != 0 {
		t.Fatal(e)
	}
	if v, _ := k.SysctlGet("kern.hostname"); v != "newname" {
		t.Fatal(v)
	}
	if e := k.SysctlSet(k.LWP0(), "kern.ostype", "x"); e != unix.EPERM {
		t.Fatal(e)
	}
	if _, e := k.SysctlGet("no.such"); e != unix.ENOENT {
		t.Fatal(e)
	}
	ev := k.EvcntAttach("grp", "events")
	ev.Add(41)
	k.EvcntAttach("grp", "events").Inc()
	var b bytes.Buffer
	k.PrintEvcnts(&b)
	if !strings.Contains(b.String(), "grp / events: 42\n") {
		t.Fatalf("evcnt print: %q", b.String())
	}
}

func TestReboot(t *testing.T) {
	for _, tc := range []struct {
		howto          int
		fini, shutdown bool
	}{
		{RB_HALT, true, true},
		{RB_HALT | RB_NOSYNC, false, true},
		{RB_HALT | RB_DUMP, false, false},
		{RB_DUMP, false, false},
	} {
		k := boot(t, Config{Abort: func() {}, Exit: func(int) { t.Fatal("exit after halt") }})
		var fini, shut bool
		k.RegisterFini(func(l *LWP) error { fini = true; return nil })
		k.RegisterShutdown(func(int) { shut = true })
		user, _ := k.Rfork(nil, RFCFDG)
		user.Proc().SetCred(CredCreate(5, 5, nil))
		if err := k.Reboot(user, tc.howto); err != unix.EPERM || k.Halted() {
			t.Fatalf("non-root reboot: %v", err)
		}
		if err := k.Reboot(nil, tc.howto); err != nil {
			t.Fatal(err)
		}
		if fini != tc.fini || shut != tc.shutdown || !k.Halted() {
			t.Errorf("howto %#x: fini %v shutdown %v", tc.howto, fini, shut)
		}
	}
	// Without RB_HALT the host process exits through Config.Exit.
	code := -1
	k := boot(t, Config{Exit: func(c int) { code = c }})
	k.Reboot(nil, 0)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

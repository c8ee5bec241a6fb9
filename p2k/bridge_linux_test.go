package p2k

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// TestTracePidLid checks that a trace line carries the kernel-side pid and
// lid, rewritten to the host caller's process and thread.
func TestTracePidLid(t *testing.T) {
	var buf syncBuffer
	b, _ := testBridge(t, Options{UID: -1, GID: -1, Umask: -1, Trace: &buf})
	f := create(t, b, 1, "f", []byte("x"))

	// Another process: its pid is its thread id.
	child := exec.Command("sleep", "10")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	h := hdr(f.NodeId)
	h.Pid = uint32(child.Process.Pid)
	h.Uid = 42
	mustOK(t, "getattr", b.GetAttr(nil, &fuse.GetAttrIn{InHeader: h}, &fuse.AttrOut{}))
	want := fmt.Sprintf(" pid=%d lid=%d uid=42 op=getattr ino=", child.Process.Pid, child.Process.Pid)
	if !strings.Contains(buf.String(), want) {
		t.Errorf("trace lacks %q:\n%s", want, buf.String())
	}

	// A thread of this process that is not its main thread: pid is the
	// thread group, lid the thread.
	var tid int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid = unix.Gettid()
		h := hdr(f.NodeId)
		h.Pid = uint32(tid)
		b.Read(nil, &fuse.ReadIn{InHeader: h, Size: 10}, make([]byte, 10))
	}()
	wg.Wait()
	want = fmt.Sprintf(" pid=%d lid=%d uid=0 op=read ino=", os.Getpid(), tid)
	if !strings.Contains(buf.String(), want) {
		t.Errorf("trace lacks %q:\n%s", want, buf.String())
	}
	if !strings.Contains(buf.String(), `op=create ino=2 name="f" err=0`) {
		t.Errorf("trace lacks the create line:\n%s", buf.String())
	}
	var eo fuse.EntryOut
	h = hdr(1)
	b.Lookup(nil, &h, "nope", &eo)
	if !strings.Contains(buf.String(), `op=lookup ino=2 name="nope" err=ENOENT`) {
		t.Errorf("trace lacks the failed lookup:\n%s", buf.String())
	}
}

func TestProcStatus(t *testing.T) {
	st := []byte("Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\nGroups:\t50 100 \nNStgid:\t4242\n")
	if pid, ok := statusField(st, "Tgid:"); !ok || pid != 4242 {
		t.Errorf("Tgid = %d %v", pid, ok)
	}
	if g := statusGroups(st); !slices.Equal(g, []uint32{50, 100}) {
		t.Errorf("Groups = %v", g)
	}
	if _, ok := statusField([]byte("Name:\tx\n"), "Tgid:"); ok {
		t.Error("found a Tgid in a file without one")
	}
	if g := statusGroups([]byte("Groups:\t\n")); len(g) != 0 {
		t.Errorf("empty Groups = %v", g)
	}
	hp, ok := lookupHostProc(uint32(unix.Gettid()), 0)
	if !ok || hp.pid != uint32(os.Getpid()) || !hp.alive() {
		t.Errorf("lookupHostProc(self) = %+v %v", hp, ok)
	}
	hp.release()
}

// TestCallerCacheNotFooledByExit: an entry for a process that has ended
// is not used again, even under the same id and ids.
func TestCallerCacheNotFooledByExit(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000, Groups: []uint32{50, 60}}}
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pid := uint32(cmd.Process.Pid)
	var cc callerCache
	defer cc.close()
	got, cred := cc.get(pid, 1000, 1000)
	if got != pid || !slices.Equal(cred.Groups(), []uint32{50, 60}) {
		t.Fatalf("caller %d: pid %d groups %v, want %d [50 60]", pid, got, cred.Groups(), pid)
	}
	if _, again := cc.get(pid, 1000, 1000); again != cred {
		t.Error("a live caller was looked up again")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, after := cc.get(pid, 1000, 1000); after == cred {
		t.Error("the cache still answers with an ended process's cred")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if testing.AllocsPerRun(100, func() { cc.get(uint32(unix.Gettid()), 0, 0) }) != 0 {
		t.Error("a cache hit allocates")
	}
}

// Rename flags as the host spells them.
const (
	renameExchangeFlag  = unix.RENAME_EXCHANGE
	renameNoReplaceFlag = unix.RENAME_NOREPLACE
)

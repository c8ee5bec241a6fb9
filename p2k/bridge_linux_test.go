package p2k

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
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

func TestParseTgid(t *testing.T) {
	st := []byte("Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\n")
	if pid, ok := parseTgid(st); !ok || pid != 4242 {
		t.Errorf("parseTgid = %d %v", pid, ok)
	}
	if _, ok := parseTgid([]byte("Name:\tx\n")); ok {
		t.Error("parseTgid found a Tgid in a file without one")
	}
	if pid, ok := hostTgid(uint32(os.Getpid())); !ok || pid != uint32(os.Getpid()) {
		t.Errorf("hostTgid(self) = %d %v", pid, ok)
	}
}

// Rename flags as the host spells them.
const (
	renameExchangeFlag  = unix.RENAME_EXCHANGE
	renameNoReplaceFlag = unix.RENAME_NOREPLACE
)

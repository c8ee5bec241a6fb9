//go:build linux

package etfs_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"golang.org/x/sys/unix"
)

// Two kernels in one process: the second read-write registration of a
// window is refused, naming this process; readers share.
func TestHostLockInProcess(t *testing.T) {
	a, b := boot(t), boot(t)
	host, _ := hostFile(t, 64<<10)
	if err := a.e.RegisterWithSize("/w", host, etfs.BLK, 0, 16<<10); err != nil {
		t.Fatal(err)
	}
	err := b.e.RegisterWithSize("/w", host, etfs.BLK, 8<<10, 16<<10)
	var le *etfs.LockError
	if !errors.As(err, &le) || !errors.Is(err, unix.EBUSY) {
		t.Fatalf("second writer: %v, want a *LockError (EBUSY)", err)
	}
	if le.Pid != int32(os.Getpid()) || !strings.Contains(err.Error(), fmt.Sprintf("this process (pid %d)", os.Getpid())) ||
		!strings.Contains(err.Error(), host) {
		t.Errorf("the error does not name the host file and this process: %v", err)
	}
	if err := b.e.RegisterReadOnly("/r", host, etfs.BLK); !errors.Is(err, unix.EBUSY) {
		t.Errorf("a reader while a writer holds part of the file: %v, want EBUSY", err)
	}
	// A window beside the locked one is free.
	if err := b.e.RegisterWithSize("/w2", host, etfs.BLK, 16<<10, 16<<10); err != nil {
		t.Errorf("a disjoint window: %v", err)
	}
	if err := a.e.Remove("/w"); err != nil {
		t.Fatal(err)
	}
	// Readers share, and keep writers out.
	if err := a.e.RegisterWithSize("/r", host, etfs.BLK, 0, 16<<10); err != nil {
		t.Fatalf("after the writer left: %v", err)
	}
	a.e.Remove("/r")
	if err := a.e.RegisterOpts("/r", host, etfs.BLK, etfs.Options{Size: 16 << 10, ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	if err := b.e.RegisterOpts("/r", host, etfs.BLK, etfs.Options{Size: 16 << 10, ReadOnly: true}); err != nil {
		t.Errorf("a second reader: %v", err)
	}
	if err := b.e.RegisterWithSize("/w", host, etfs.BLK, 0, 512); !errors.Is(err, unix.EBUSY) {
		t.Errorf("a writer while readers hold the window: %v, want EBUSY", err)
	}
}

const lockerEnv = "ETFS_TEST_LOCKER"

// TestMain lets the test binary act as another process holding a write
// lock on a file (ETFS_TEST_LOCKER=posix:path or ofd:path) until its
// stdin closes.
func TestMain(m *testing.M) {
	if v := os.Getenv(lockerEnv); v != "" {
		kind, path, _ := strings.Cut(v, ":")
		cmd := unix.F_SETLK
		if kind == "ofd" {
			cmd = unix.F_OFD_SETLK
		}
		fd, err := unix.Open(path, unix.O_RDWR, 0)
		if err == nil {
			lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 0, Len: 0}
			err = unix.FcntlFlock(uintptr(fd), cmd, &lk)
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Another process holding a lock is named by its pid: a POSIX lock by
// the host, an OFD lock (another rumpfs) through /proc/PID/fdinfo.
func TestHostLockOtherProcess(t *testing.T) {
	for _, kind := range []string{"posix", "ofd"} {
		t.Run(kind, func(t *testing.T) { testHostLockOtherProcess(t, kind) })
	}
}

func testHostLockOtherProcess(t *testing.T, kind string) {
	x := boot(t)
	host, _ := hostFile(t, 64<<10)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockerEnv+"="+kind+":"+host)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("locker: %q", line)
	}
	err := x.e.Register("/img", host, etfs.BLK)
	var le *etfs.LockError
	if !errors.As(err, &le) || le.Pid != int32(cmd.Process.Pid) ||
		!strings.Contains(err.Error(), fmt.Sprintf("process %d", cmd.Process.Pid)) {
		t.Fatalf("register while process %d holds a lock: %v", cmd.Process.Pid, err)
	}
	if err := x.e.RegisterReadOnly("/img", host, etfs.BLK); !errors.As(err, &le) {
		t.Errorf("read-only register while another process writes: %v, want a *LockError", err)
	}
	stdin.Close()
	cmd.Wait()
	if err := x.e.Register("/img", host, etfs.BLK); err != nil {
		t.Errorf("after the other process exited: %v", err)
	}
}

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// Daemon mode, as rump_daemonize_begin/done: the parent re-executes itself
// with daemonEnv naming a pipe's write end, in a new session, and waits.
// The child does every check and the mount; once the mount is live it
// points its stdout and stderr at /dev/null and writes one byte to the
// pipe, and the parent prints the child's pid on stdout and exits 0. If the child fails first, it has printed
// its error on the stderr it shares with the parent and exits; the pipe
// closes without a byte, and the parent exits with the child's status.

const daemonEnv = "RUMPFS_DAEMON_READY_FD"

func isDaemonChild() bool { return os.Getenv(daemonEnv) != "" }

// daemonize runs `rumpfs mount args...` as a daemon and waits for it.
func daemonize(args []string) int {
	exe, err := os.Executable()
	if err != nil {
		return fail("mount: --daemon: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fail("mount: --daemon: %v", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, append([]string{"mount"}, args...)...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fail("mount: --daemon: %v", err)
	}
	var b [1]byte
	if n, _ := r.Read(b[:]); n == 1 {
		fmt.Println(cmd.Process.Pid)
		cmd.Process.Release()
		return 0
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return ee.ExitCode()
	}
	if err != nil {
		return fail("mount: --daemon: server: %v", err)
	}
	return fail("mount: --daemon: the server exited before the mount was live")
}

// daemonNotifier tells the waiting parent how the mount went; a nil one
// (foreground) does nothing.
type daemonNotifier struct {
	f *os.File
}

// takeDaemonNotifier returns the notifier of a daemon child, nil
// otherwise, and hides the marker from processes the child starts.
func takeDaemonNotifier() *daemonNotifier {
	v := os.Getenv(daemonEnv)
	if v == "" {
		return nil
	}
	os.Unsetenv(daemonEnv)
	var fd int
	if _, err := fmt.Sscanf(v, "%d", &fd); err != nil || fd < 3 {
		return nil
	}
	unix.CloseOnExec(fd)
	return &daemonNotifier{f: os.NewFile(uintptr(fd), "daemon-ready")}
}

// ready detaches from the parent's terminal and releases the parent.
func (n *daemonNotifier) ready() {
	if n == nil || n.f == nil {
		return
	}
	if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		dup2(int(null.Fd()), 0)
		dup2(int(null.Fd()), 1)
		dup2(int(null.Fd()), 2)
		null.Close()
	}
	n.f.Write([]byte{1})
	n.f.Close()
	n.f = nil
}

// failed closes the pipe without a byte if the mount never got live.
func (n *daemonNotifier) failed() {
	if n == nil || n.f == nil {
		return
	}
	n.f.Close()
	n.f = nil
}

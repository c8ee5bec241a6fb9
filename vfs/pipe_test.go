package vfs_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func TestPipe(t *testing.T) {
	_, l := boot(t, kernel.Config{NCPU: 1})
	fds, e := vfs.Pipe(l)
	must(t, e, "pipe")
	r, w := fds[0], fds[1]
	if n, e := vfs.Write(l, w, []byte("hello")); n != 5 || e != 0 {
		t.Fatalf("write %d %v", n, e)
	}
	var st vfs.Vattr
	must(t, vfs.Fstat(l, r, &st), "fstat")
	if st.Type != vfs.VFIFO || st.Size != 5 {
		t.Fatalf("fstat %v size %d", st.Type, st.Size)
	}
	buf := make([]byte, 10)
	if n, e := vfs.Read(l, r, buf); n != 5 || e != 0 || string(buf[:5]) != "hello" {
		t.Fatalf("read %d %v %q", n, e, buf[:n])
	}
	if _, e := vfs.Read(l, w, buf); e != unix.EBADF {
		t.Fatalf("read the write end: %v", e)
	}
	if _, e := vfs.Lseek(l, r, 0, unix.SEEK_SET); e != unix.ESPIPE {
		t.Fatalf("lseek: %v", e)
	}
	if _, e := vfs.Pread(l, r, buf, 0); e != unix.ESPIPE {
		t.Fatalf("pread: %v", e)
	}
	if e := vfs.Fchmod(l, r, 0o644); e != unix.EINVAL {
		t.Fatalf("fchmod: %v", e)
	}
	if _, e := vfs.Getdents(l, r, buf); e != unix.ENOTDIR {
		t.Fatalf("getdents: %v", e)
	}
	must(t, vfs.Close(l, w), "close w")
	if n, e := vfs.Read(l, r, buf); n != 0 || e != 0 {
		t.Fatalf("read at EOF: %d %v", n, e)
	}
	// No reader: EPIPE.
	fds, _ = vfs.Pipe(l)
	must(t, vfs.Close(l, fds[0]), "close r")
	if _, e := vfs.Write(l, fds[1], []byte("x")); e != unix.EPIPE {
		t.Fatalf("write without reader: %v", e)
	}
	// Non-blocking: EAGAIN both ways.
	fds, _ = vfs.Pipe2(l, unix.O_NONBLOCK)
	if _, e := vfs.Read(l, fds[0], buf); e != unix.EAGAIN {
		t.Fatalf("empty non-blocking read: %v", e)
	}
	big := make([]byte, vfs.PipeSize+100)
	if n, e := vfs.Write(l, fds[1], big); n != vfs.PipeSize || e != 0 {
		t.Fatalf("non-blocking write past the buffer: %d %v", n, e)
	}
	if _, e := vfs.Write(l, fds[1], []byte("x")); e != unix.EAGAIN {
		t.Fatalf("full non-blocking write: %v", e)
	}
	if _, e := vfs.Pipe2(l, unix.O_TRUNC); e != unix.EINVAL {
		t.Fatalf("pipe2 bad flags: %v", e)
	}
}

// TestPipeBlocks streams more than the buffer from one LWP to another on
// a kernel with one CPU: each side must give the CPU back while it waits.
func TestPipeBlocks(t *testing.T) {
	k, l := boot(t, kernel.Config{NCPU: 1})
	fds, e := vfs.Pipe(l)
	must(t, e, "pipe")
	reader, _ := k.Rfork(l, 0) // shares the descriptor table
	want := make([]byte, 5*vfs.PipeSize+123)
	for i := range want {
		want[i] = byte(i * 7)
	}
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 10000)
		for {
			n, e := vfs.Read(reader, fds[0], buf)
			if e != 0 || n == 0 {
				return
			}
			got.Write(buf[:n])
		}
	}()
	if n, e := vfs.Write(l, fds[1], want); n != len(want) || e != 0 {
		t.Fatalf("write %d %v", n, e)
	}
	vfs.Close(l, fds[1])
	wg.Wait()
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not what was written", got.Len())
	}
	k.ReleaseLWP(reader)
}

func TestPipeInterrupted(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	fds, _ := vfs.Pipe(l)
	c, _ := k.Rfork(l, 0)
	cancel := make(chan struct{})
	c.Cancel = cancel
	done := make(chan unix.Errno)
	go func() {
		_, e := vfs.Read(c, fds[0], make([]byte, 1))
		done <- e
	}()
	close(cancel)
	if e := <-done; e != unix.EINTR {
		t.Fatalf("interrupted read: %v", e)
	}
}

func TestCloexec(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	fd, e := vfs.Open(l, "/tmp/f", unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
	must(t, e, "open")
	plain, _ := vfs.Open(l, "/tmp/f", unix.O_RDONLY, 0)
	if v, _ := vfs.Fcntl(l, fd, unix.F_GETFD, 0); v != unix.FD_CLOEXEC {
		t.Fatalf("O_CLOEXEC not kept: %d", v)
	}
	if v, _ := vfs.Fcntl(l, fd, unix.F_GETFL, 0); v&unix.O_CLOEXEC != 0 || v&unix.O_ACCMODE != unix.O_RDWR {
		t.Fatalf("F_GETFL %#x", v)
	}
	if v, _ := vfs.Fcntl(l, plain, unix.F_GETFD, 0); v != 0 {
		t.Fatalf("plain descriptor close-on-exec: %d", v)
	}
	dup, _ := vfs.Dup(l, fd)
	if v, _ := vfs.Fcntl(l, dup, unix.F_GETFD, 0); v != 0 {
		t.Fatal("dup kept close-on-exec")
	}
	dupc, e := vfs.Fcntl(l, plain, unix.F_DUPFD_CLOEXEC, 10)
	if e != 0 || dupc != 10 {
		t.Fatalf("F_DUPFD_CLOEXEC: %d %v", dupc, e)
	}
	if v, _ := vfs.Fcntl(l, dupc, unix.F_GETFD, 0); v != unix.FD_CLOEXEC {
		t.Fatal("F_DUPFD_CLOEXEC not close-on-exec")
	}
	_, e = vfs.Fcntl(l, plain, unix.F_SETFD, unix.FD_CLOEXEC)
	must(t, e, "F_SETFD")
	d3, e := vfs.Dup3(l, dup, 20, unix.O_CLOEXEC)
	must(t, e, "dup3")
	if v, _ := vfs.Fcntl(l, d3, unix.F_GETFD, 0); v != unix.FD_CLOEXEC {
		t.Fatal("dup3 O_CLOEXEC")
	}
	if _, e := vfs.Dup3(l, dup, dup, 0); e != unix.EINVAL {
		t.Fatalf("dup3 to itself: %v", e)
	}
	if n, e := vfs.Dup2(l, dup, dup); n != dup || e != 0 {
		t.Fatalf("dup2 to itself: %d %v", n, e)
	}
	if _, e := vfs.Fcntl(l, fd, 12345, 0); e != unix.EINVAL {
		t.Fatalf("bad command: %v", e)
	}
	// F_SETFL changes O_APPEND.
	_, e = vfs.Fcntl(l, fd, unix.F_SETFL, unix.O_APPEND)
	must(t, e, "F_SETFL")
	vfs.Write(l, fd, []byte("ab"))
	vfs.Lseek(l, fd, 0, unix.SEEK_SET)
	vfs.Write(l, fd, []byte("c"))
	var st vfs.Vattr
	vfs.Fstat(l, fd, &st)
	if st.Size != 3 {
		t.Fatalf("O_APPEND from F_SETFL not applied: size %d", st.Size)
	}

	// A copied table keeps the flags; exec closes exactly those.
	child, _ := k.Rfork(l, kernel.RFFDG)
	if v, _ := vfs.Fcntl(child, fd, unix.F_GETFD, 0); v != unix.FD_CLOEXEC {
		t.Fatal("RFFDG lost close-on-exec")
	}
	must(t, vfs.ExecCloseFiles(child), "exec")
	for fd, open := range map[int]bool{fd: false, plain: false, dupc: false, d3: false, dup: true} {
		var st vfs.Vattr
		if got := vfs.Fstat(child, fd, &st) == 0; got != open {
			t.Errorf("after exec fd %d open=%v, want %v", fd, got, open)
		}
		if vfs.Fstat(l, fd, &st) != 0 {
			t.Errorf("exec in the child closed the parent's fd %d", fd)
		}
	}
	k.ReleaseLWP(child)
}

func TestRlimitNofile(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	c, _ := k.Rfork(l, kernel.RFCFDG)
	if r, _ := c.Proc().Getrlimit(kernel.RLIMIT_NOFILE); r.Cur != vfs.MaxFiles {
		t.Fatalf("default RLIMIT_NOFILE %+v", r)
	}
	must(t, c.Setrlimit(kernel.RLIMIT_NOFILE, kernel.Rlimit{Cur: 3, Max: 100}), "setrlimit")
	for i := 0; i < 3; i++ {
		if _, e := vfs.Open(c, "/", unix.O_RDONLY, 0); e != 0 {
			t.Fatalf("open %d: %v", i, e)
		}
	}
	if _, e := vfs.Open(c, "/", unix.O_RDONLY, 0); e != unix.EMFILE {
		t.Fatalf("open past the limit: %v", e)
	}
	if _, e := vfs.Dup(c, 0); e != unix.EMFILE {
		t.Fatalf("dup past the limit: %v", e)
	}
	if _, e := vfs.Dup2(c, 0, 3); e != unix.EBADF {
		t.Fatalf("dup2 past the limit: %v", e)
	}
	vfs.Close(c, 2)
	if _, e := vfs.Pipe(c); e != unix.EMFILE {
		t.Fatalf("pipe with one free slot: %v", e)
	}
	if fds := procFilesCount(c); fds != 2 {
		t.Fatalf("failed pipe left %d descriptors", fds)
	}
	// Children inherit; users cannot raise the hard limit, root can.
	gc, _ := k.Rfork(c, kernel.RFCFDG)
	if r, _ := gc.Proc().Getrlimit(kernel.RLIMIT_NOFILE); r.Cur != 3 || r.Max != 100 {
		t.Fatalf("inherited %+v", r)
	}
	gc.Proc().SetCred(kernel.CredCreate(1000, 1000, nil))
	if e := gc.Setrlimit(kernel.RLIMIT_NOFILE, kernel.Rlimit{Cur: 200, Max: 200}); e != unix.EPERM {
		t.Fatalf("user raised the hard limit: %v", e)
	}
	if e := gc.Setrlimit(kernel.RLIMIT_NOFILE, kernel.Rlimit{Cur: 50, Max: 40}); e != unix.EINVAL {
		t.Fatalf("soft above hard: %v", e)
	}
	must(t, gc.Setrlimit(kernel.RLIMIT_NOFILE, kernel.Rlimit{Cur: 100, Max: 100}), "raise soft to hard")
	must(t, c.Setrlimit(kernel.RLIMIT_NOFILE, kernel.Rlimit{Cur: 1000, Max: 1000}), "root raises")
}

func procFilesCount(l *kernel.LWP) int {
	return l.Proc().State.(*vfs.ProcFiles).NumFiles()
}

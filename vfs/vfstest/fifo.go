package vfstest

import (
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func init() { Cases = append(Cases, fifoCases...) }

// fifoCases check that a FIFO node of the driver opens as a pipe inside
// the kernel: the VFS keeps its buffer, so every driver behaves alike.
var fifoCases = []Case{
	{"FifoIsAPipe", needSpecial, func(e *Env) {
		f := e.P("fifo")
		e.Must(vfs.Mknod(e.L, f, unix.S_IFIFO|0o644, 0), "mkfifo")
		_, err := vfs.Open(e.L, f, unix.O_WRONLY|unix.O_NONBLOCK, 0)
		e.Want(err, unix.ENXIO, "non-blocking write open with no reader")
		r, err := vfs.Open(e.L, f, unix.O_RDONLY|unix.O_NONBLOCK, 0)
		e.Must(err, "non-blocking read open")
		buf := make([]byte, 16)
		n, err := vfs.Read(e.L, r, buf)
		if n != 0 || err != 0 {
			e.T.Fatalf("read with no writer: %d %v, want end of file", n, err)
		}
		w, err := vfs.Open(e.L, f, unix.O_WRONLY, 0)
		e.Must(err, "write open with a reader")
		if n, err := vfs.Write(e.L, w, []byte("through")); n != 7 || err != 0 {
			e.T.Fatalf("write %d %v", n, err)
		}
		n, err = vfs.Read(e.L, r, buf)
		if err != 0 || string(buf[:n]) != "through" {
			e.T.Fatalf("read %q %v", buf[:n], err)
		}
		// The data went through the kernel, not the file system.
		if st := e.Stat(f); st.Size != 0 || st.Type != vfs.VFIFO {
			e.T.Fatalf("fifo node size %d type %v", st.Size, st.Type)
		}
		_, err = vfs.Lseek(e.L, w, 0, unix.SEEK_SET)
		e.Want(err, unix.ESPIPE, "lseek on a FIFO")
		e.Must(vfs.Close(e.L, r), "close reader")
		_, err = vfs.Write(e.L, w, []byte("x"))
		e.Want(err, unix.EPIPE, "write with the reader gone")
		e.Must(vfs.Close(e.L, w), "close writer")

		// A blocking read open waits for a writer, on its own LWP.
		c, _ := e.K.Rfork(e.L, 0)
		got := make(chan string)
		go func() {
			fd, err := vfs.Open(c, f, unix.O_RDONLY, 0)
			if err != 0 {
				got <- err.Error()
				return
			}
			b := make([]byte, 16)
			n, _ := vfs.Read(c, fd, b)
			vfs.Close(c, fd)
			got <- string(b[:n])
		}()
		w, err = vfs.Open(e.L, f, unix.O_WRONLY, 0) // waits for the reader
		e.Must(err, "blocking write open")
		vfs.Write(e.L, w, []byte("later"))
		vfs.Close(e.L, w)
		if s := <-got; s != "later" {
			e.T.Fatalf("blocked reader got %q", s)
		}
		e.K.ReleaseLWP(c)
		// O_RDWR never waits and is both ends.
		rw, err := vfs.Open(e.L, f, unix.O_RDWR, 0)
		e.Must(err, "O_RDWR open")
		vfs.Write(e.L, rw, []byte("self"))
		n, _ = vfs.Read(e.L, rw, buf)
		if string(buf[:n]) != "self" {
			e.T.Fatalf("O_RDWR read %q", buf[:n])
		}
		e.Must(vfs.Close(e.L, rw), "close")
	}},
}

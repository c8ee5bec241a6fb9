package vfs_test

import (
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

func TestSmoke(t *testing.T) {
	k, err := kernel.Boot(kernel.Config{NoThreads: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := k.Rfork(nil, kernel.RFCFDG)
	if err != nil {
		t.Fatal(err)
	}
	fd, e := vfs.Open(l, "/tmp/a", unix.O_CREAT|unix.O_RDWR, 0o644)
	if e != 0 {
		t.Fatal(e)
	}
	if n, e := vfs.Write(l, fd, []byte("hello")); n != 5 || e != 0 {
		t.Fatal(n, e)
	}
	buf := make([]byte, 10)
	n, e := vfs.Pread(l, fd, buf, 0)
	if string(buf[:n]) != "hello" {
		t.Fatal(n, e, buf)
	}
	vfs.Close(l, fd)
	var st vfs.Vattr
	if e := vfs.Stat(l, "/tmp/a", &st); e != 0 || st.Size != 5 {
		t.Fatal(e, st)
	}
	ents, e := vfs.ReadDir(l, "/")
	t.Log(ents, e)
	if e := k.Reboot(l, kernel.RB_HALT); e != nil {
		t.Fatal(e)
	}
}

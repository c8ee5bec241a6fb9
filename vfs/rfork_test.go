package vfs_test

import (
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestRforkDescriptorTables checks the three rfork modes against the real
// descriptor table: shared, copied (open files shared, new descriptors
// not) and clean.
func TestRforkDescriptorTables(t *testing.T) {
	k, l := boot(t, kernel.Config{})
	fd, e := vfs.Open(l, "/tmp/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	must(t, e, "open")
	vfs.Write(l, fd, []byte("0123456789"))
	vfs.Lseek(l, fd, 0, unix.SEEK_SET)
	var st vfs.Vattr

	shared, _ := k.Rfork(l, 0)
	nfd, e := vfs.Open(shared, "/tmp/f", unix.O_RDONLY, 0)
	must(t, e, "open in the sharing child")
	if vfs.Fstat(l, nfd, &st) != 0 {
		t.Fatal("a descriptor opened in a sharing child is not the parent's")
	}
	must(t, vfs.Close(l, nfd), "close from the parent")
	k.ReleaseLWP(shared)
	if vfs.Fstat(l, fd, &st) != 0 {
		t.Fatal("the sharing child's exit closed the shared table")
	}

	copied, _ := k.Rfork(l, kernel.RFFDG)
	buf := make([]byte, 4)
	vfs.Read(copied, fd, buf) // the open file, and its offset, are shared
	if off, _ := vfs.Lseek(l, fd, 0, unix.SEEK_CUR); off != 4 {
		t.Fatalf("offset after the copy's read: %d, want 4", off)
	}
	cfd, _ := vfs.Open(copied, "/tmp/f", unix.O_RDONLY, 0)
	if vfs.Fstat(l, cfd, &st) == 0 && cfd != fd {
		t.Fatal("a descriptor opened in the copy is in the parent's table")
	}
	must(t, vfs.Close(copied, fd), "close in the copy")
	if vfs.Fstat(l, fd, &st) != 0 {
		t.Fatal("closing in the copy closed the parent's descriptor")
	}
	k.ReleaseLWP(copied)

	clean, _ := k.Rfork(l, kernel.RFCFDG)
	if e := vfs.Fstat(clean, fd, &st); e != unix.EBADF {
		t.Fatalf("clean table has the parent's descriptor: %v", e)
	}
	k.ReleaseLWP(clean)
	if _, err := k.Rfork(l, kernel.RFFDG|kernel.RFCFDG); err != unix.EINVAL {
		t.Fatalf("both flags: %v", err)
	}
}

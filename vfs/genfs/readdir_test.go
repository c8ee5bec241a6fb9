package genfs_test

import (
	"testing"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"github.com/rumpfs/rumpfs/vfs/genfs"
	"golang.org/x/sys/unix"
)

// walk3 is a driver's directory walk over three entries with cookies 1, 2
// and 3 after them, from cookie off.
func walk3(ds *genfs.Dirents, off int64) unix.Errno {
	for i := off; i < 3; i++ {
		if !ds.Emit(uint64(10+i), uint64(i+1), unix.DT_REG, string(rune('a'+i))) {
			break
		}
	}
	return 0
}

// TestDirents: the answers VOP_READDIR gives through genfs.Dirents: EOF
// when every entry fitted, not EOF with the cookie of the first refused
// entry when the sink filled, the walk's error before the sink's, and
// EINVAL for a negative cookie or a sink of the wrong type.
func TestDirents(t *testing.T) {
	for _, c := range []struct {
		name     string
		take     int // entries the sink accepts
		off      int64
		walkErr  unix.Errno
		wantEOF  bool
		wantErr  unix.Errno
		wantNext int64
		wantGot  string
	}{
		{"all fit", 9, 0, 0, true, 0, 3, "abc"},
		{"from a cookie", 9, 1, 0, true, 0, 3, "bc"},
		{"sink fills", 2, 0, 0, false, 0, 2, "ab"},
		{"walk error", 9, 0, unix.EIO, false, unix.EIO, 3, "abc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			sink := vfs.DirentFunc(func(name string, ino uint64, dtype uint8, next uint64) bool {
				if len(got) == c.take {
					return false
				}
				got += name
				return true
			})
			u := &kernel.Uio{Offset: c.off, Sink: vfs.DirentSink(sink)}
			ds, e := genfs.Readdir(u)
			if e != 0 {
				t.Fatal(e)
			}
			e = walk3(&ds, u.Offset)
			if e == 0 {
				e = c.walkErr
			}
			eof, e := ds.Done(e)
			if eof != c.wantEOF || e != c.wantErr || u.Offset != c.wantNext || got != c.wantGot {
				t.Errorf("eof %v err %v next %d got %q; want %v %v %d %q", eof, e, u.Offset, got, c.wantEOF, c.wantErr, c.wantNext, c.wantGot)
			}
		})
	}
	if _, e := genfs.Readdir(&kernel.Uio{Offset: -1}); e != unix.EINVAL {
		t.Errorf("negative cookie: %v, want EINVAL", e)
	}
	u := &kernel.Uio{Sink: "not a sink"}
	ds, _ := genfs.Readdir(u)
	if eof, e := ds.Done(walk3(&ds, 0)); eof || e != unix.EINVAL {
		t.Errorf("a sink of the wrong type: eof %v err %v, want EINVAL", eof, e)
	}
}

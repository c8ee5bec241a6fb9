package p2k

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/internal/testenv"
	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// testBridge boots a kernel and serves its rumpfs root through a bridge,
// called directly (no FUSE).
func testBridge(t testing.TB, opts Options) (*Bridge, *vfs.VFS) {
	t.Helper()
	k, err := kernel.Boot(kernel.Config{NoThreads: true})
	if err != nil {
		t.Fatal(err)
	}
	v := vfs.Of(k)
	root := v.Root()
	vfs.Vref(root)
	b, err := New(k, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		if err := k.Reboot(nil, kernel.RB_HALT); err != nil {
			t.Errorf("reboot: %v", err)
		}
	})
	return b, v
}

// hdr is a request header from this process as root.
func hdr(id uint64) fuse.InHeader {
	return fuse.InHeader{NodeId: id, Caller: fuse.Caller{Pid: uint32(os.Getpid())}}
}

// rename2 is the header of a RENAME2 request, the one carrying flags.
func rename2(id uint64) fuse.InHeader {
	h := hdr(id)
	h.Opcode = 45
	return h
}

func mustOK(t testing.TB, what string, st fuse.Status) {
	t.Helper()
	if st != fuse.OK {
		t.Fatalf("%s: %v", what, st)
	}
}

func mkdir(t testing.TB, b *Bridge, dir uint64, name string) fuse.EntryOut {
	t.Helper()
	var out fuse.EntryOut
	mustOK(t, "mkdir "+name, b.Mkdir(nil, &fuse.MkdirIn{InHeader: hdr(dir), Mode: 0o755}, name, &out))
	return out
}

// create makes a file, writes data, releases the handle, and returns its
// entry (one lookup counted).
func create(t testing.TB, b *Bridge, dir uint64, name string, data []byte) fuse.EntryOut {
	t.Helper()
	var out fuse.CreateOut
	in := fuse.CreateIn{InHeader: hdr(dir), Flags: unix.O_RDWR | unix.O_CREAT, Mode: 0o644}
	mustOK(t, "create "+name, b.Create(nil, &in, name, &out))
	if len(data) > 0 {
		n, st := b.Write(nil, &fuse.WriteIn{InHeader: hdr(out.NodeId), Fh: out.Fh, Size: uint32(len(data))}, data)
		if st != fuse.OK || int(n) != len(data) {
			t.Fatalf("write %s: %d, %v", name, n, st)
		}
	}
	b.Release(nil, &fuse.ReleaseIn{InHeader: hdr(out.NodeId), Fh: out.Fh})
	return out.EntryOut
}

func lookup(t testing.TB, b *Bridge, dir uint64, name string) fuse.EntryOut {
	t.Helper()
	var out fuse.EntryOut
	h := hdr(dir)
	mustOK(t, "lookup "+name, b.Lookup(nil, &h, name, &out))
	return out
}

func vnodeOf(t testing.TB, b *Bridge, id uint64) *vfs.Vnode {
	t.Helper()
	vp, e := b.nodes.get(nil, id)
	if e != 0 {
		t.Fatalf("node %d: %v", id, e)
	}
	vfs.Vrele(nil, vp) // not the last: the node holds one
	return vp
}

func TestLookupForgetRefcounts(t *testing.T) {
	b, v := testBridge(t, DefaultOptions())
	d := mkdir(t, b, 1, "d")
	f := create(t, b, d.NodeId, "f", []byte("hello"))
	for range 3 {
		if got := lookup(t, b, d.NodeId, "f"); got.NodeId != f.NodeId {
			t.Fatalf("lookup gave node %d, want %d", got.NodeId, f.NodeId)
		}
	}
	if n, _ := b.nodes.lookupCount(f.NodeId); n != 4 {
		t.Errorf("nlookup of f = %d, want 4 (create + 3 lookups)", n)
	}
	// One vnode reference per node, however many lookups.
	fvp := vnodeOf(t, b, f.NodeId)
	if u := fvp.UseCount(); u != 1 {
		t.Errorf("usecount of f's vnode = %d, want 1", u)
	}
	if s := b.Stats(); s.Nodes != 3 || s.Lookups != 5 {
		t.Errorf("stats %v, want 3 nodes and 5 lookups", s)
	}

	// Unlink f: its vnode lives on while the host holds the node.
	h := hdr(d.NodeId)
	mustOK(t, "unlink", b.Unlink(nil, &h, "f"))
	total0, _ := v.NumVnodes()
	b.Forget(f.NodeId, 3)
	b.waitReleases()
	if total, _ := v.NumVnodes(); total != total0 {
		t.Errorf("vnodes %d -> %d after a partial forget", total0, total)
	}
	var ao fuse.AttrOut
	mustOK(t, "getattr of the unlinked file", b.GetAttr(nil, &fuse.GetAttrIn{InHeader: hdr(f.NodeId)}, &ao))
	if ao.Nlink != 0 || ao.Size != 5 {
		t.Errorf("unlinked file: nlink %d size %d", ao.Nlink, ao.Size)
	}
	b.Forget(f.NodeId, 1)
	b.waitReleases()
	if total, _ := v.NumVnodes(); total != total0-1 {
		t.Errorf("vnodes %d -> %d after the last forget, want the unlinked file reclaimed", total0, total)
	}
	if st := b.GetAttr(nil, &fuse.GetAttrIn{InHeader: hdr(f.NodeId)}, &ao); st != fuse.Status(unix.ESTALE) {
		t.Errorf("getattr of a forgotten node: %v, want ESTALE", st)
	}

	// Forgetting everything drops every reference the bridge held: d's
	// vnode goes to the cache's free list (VOP_INACTIVE ran).
	dvp := vnodeOf(t, b, d.NodeId)
	_, free0 := v.NumVnodes()
	b.Forget(d.NodeId, 1)
	b.waitReleases()
	if s := b.Stats(); s.Nodes != 1 || s.Lookups != 0 {
		t.Errorf("after forgetting everything: %v", s)
	}
	if u := dvp.UseCount(); u != 0 {
		t.Errorf("d's vnode has %d references after its forget, want 0", u)
	}
	if _, free := v.NumVnodes(); free != free0+1 {
		t.Errorf("free vnodes %d -> %d, want d inactivated and freed", free0, free)
	}
	// Forgetting unknown nodes and the root is harmless.
	b.Forget(12345, 1)
	b.Forget(1, 1)
}

func TestNodeIDsNeverReused(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	seen := map[uint64]bool{1: true}
	for i := range 50 {
		e := create(t, b, 1, fmt.Sprint("f", i), nil)
		if seen[e.NodeId] || e.NodeId == ^uint64(0) {
			t.Fatalf("node id %d reused", e.NodeId)
		}
		seen[e.NodeId] = true
		h := hdr(1)
		mustOK(t, "unlink", b.Unlink(nil, &h, fmt.Sprint("f", i)))
		b.Forget(e.NodeId, 1)
	}
	b.waitReleases()
}

// readAll reads directory dir with READDIR or READDIRPLUS into replies of
// bufSize bytes, resuming at the offset of the last entry each time.
func readAll(t *testing.T, b *Bridge, dir uint64, bufSize int, plus bool, from uint64) []fuse.DirEntry {
	t.Helper()
	var all []fuse.DirEntry
	off := from
	for range 10000 {
		out := fuse.NewDirEntryList(make([]byte, bufSize), off)
		in := &fuse.ReadIn{InHeader: hdr(dir), Offset: off, Size: uint32(bufSize)}
		var ents []fuse.DirEntry
		var err error
		if plus {
			mustOK(t, "readdirplus", b.ReadDirPlus(nil, in, out))
			ents, _, err = fuse.ParseDirLookupEntries(out.Bytes())
		} else {
			mustOK(t, "readdir", b.ReadDir(nil, in, out))
			ents, err = fuse.ParseDirEntries(out.Bytes())
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			return all
		}
		all = append(all, ents...)
		off = ents[len(ents)-1].Off
	}
	t.Fatal("readdir never ended")
	return nil
}

func TestReaddirCookieResume(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	d := mkdir(t, b, 1, "d")
	const n = 120
	want := map[string]bool{".": true, "..": true}
	for i := range n {
		name := fmt.Sprintf("file-%04d-%s", i, strings.Repeat("x", i%40))
		want[name] = true
		create(t, b, d.NodeId, name, nil)
	}
	for _, size := range []int{200, 512, 4096, 64 << 10} {
		ents := readAll(t, b, d.NodeId, size, false, 0)
		got := map[string]int{}
		for _, e := range ents {
			got[e.Name]++
		}
		for name := range want {
			if got[name] != 1 {
				t.Errorf("reply size %d: %q seen %d times", size, name, got[name])
			}
		}
		if len(ents) != len(want) {
			t.Errorf("reply size %d: %d entries, want %d", size, len(ents), len(want))
		}
		// Resuming at any entry's offset continues right after it.
		for _, i := range []int{0, 1, 2, 37, len(ents) - 2} {
			rest := readAll(t, b, d.NodeId, size, false, ents[i].Off)
			if len(rest) != len(ents)-i-1 || (len(rest) > 0 && rest[0].Name != ents[i+1].Name) {
				t.Errorf("reply size %d: resume after entry %d gave %d entries", size, i, len(rest))
			}
		}
	}
	// Removing entries while reading does not disturb the cookies of
	// the others.
	first := readAll(t, b, d.NodeId, 4096, false, 0)
	h := hdr(d.NodeId)
	mustOK(t, "unlink", b.Unlink(nil, &h, first[5].Name))
	rest := readAll(t, b, d.NodeId, 4096, false, first[3].Off)
	if len(rest) == 0 || rest[0].Name != first[4].Name || rest[1].Name != first[6].Name {
		t.Errorf("after removing %q, resume gave %v...", first[5].Name, rest[:min(3, len(rest))])
	}
}

func TestReaddirPlusCountsLookups(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	d := mkdir(t, b, 1, "d")
	ids := map[string]uint64{}
	for i := range 30 {
		name := fmt.Sprintf("entry%02d", i)
		ids[name] = create(t, b, d.NodeId, name, []byte(name)).NodeId
	}
	before := b.Stats().Lookups
	var plusEnts []fuse.DirEntry
	var outs []fuse.EntryOut
	off := uint64(0)
	for {
		out := fuse.NewDirEntryList(make([]byte, 700), off)
		mustOK(t, "readdirplus", b.ReadDirPlus(nil, &fuse.ReadIn{InHeader: hdr(d.NodeId), Offset: off, Size: 700}, out))
		e, o, err := fuse.ParseDirLookupEntries(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(e) == 0 {
			break
		}
		plusEnts, outs = append(plusEnts, e...), append(outs, o...)
		off = e[len(e)-1].Off
	}
	if len(plusEnts) != 32 {
		t.Fatalf("%d entries, want 32", len(plusEnts))
	}
	for i, e := range plusEnts {
		switch e.Name {
		case ".", "..":
			if outs[i].NodeId != 0 {
				t.Errorf("%q has node %d, want none", e.Name, outs[i].NodeId)
			}
		default:
			if outs[i].NodeId != ids[e.Name] || outs[i].Size != uint64(len(e.Name)) {
				t.Errorf("%q: node %d size %d, want node %d size %d", e.Name, outs[i].NodeId, outs[i].Size, ids[e.Name], len(e.Name))
			}
		}
	}
	if got := b.Stats().Lookups - before; got != 30 {
		t.Errorf("READDIRPLUS counted %d lookups, want 30", got)
	}
}

func TestErrnoMapping(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	d := mkdir(t, b, 1, "d")
	create(t, b, d.NodeId, "f", []byte("data"))
	var eo fuse.EntryOut
	h := hdr(1)
	hd := hdr(d.NodeId)
	errs := []struct {
		what string
		got  fuse.Status
		want unix.Errno
	}{
		{"mkdir existing", b.Mkdir(nil, &fuse.MkdirIn{InHeader: hdr(1), Mode: 0o755}, "d", &eo), unix.EEXIST},
		{"rmdir non-empty", b.Rmdir(nil, &h, "d"), unix.ENOTEMPTY},
		{"unlink a directory", b.Unlink(nil, &h, "d"), unix.EISDIR},
		{"rmdir a file", b.Rmdir(nil, &hd, "f"), unix.ENOTDIR},
		{"unlink missing", b.Unlink(nil, &h, "nope"), unix.ENOENT},
		{"lookup long name", b.Lookup(nil, &h, strings.Repeat("n", 256), &eo), unix.ENAMETOOLONG},
		{"getattr unknown node", b.GetAttr(nil, &fuse.GetAttrIn{InHeader: hdr(999)}, &fuse.AttrOut{}), unix.ESTALE},
		{"rename exchange with a missing target", b.Rename(nil, &fuse.RenameIn{InHeader: rename2(d.NodeId), Newdir: d.NodeId, Flags: renameExchangeFlag}, "f", "g"), unix.ENOENT},
		{"rename exchange and noreplace", b.Rename(nil, &fuse.RenameIn{InHeader: rename2(d.NodeId), Newdir: 1, Flags: renameExchangeFlag | renameNoReplaceFlag}, "f", "d"), unix.EINVAL},
		{"rename exchange into its own subtree", b.Rename(nil, &fuse.RenameIn{InHeader: rename2(1), Newdir: d.NodeId, Flags: renameExchangeFlag}, "d", "f"), unix.EINVAL},
		{"rename noreplace onto a file", b.Rename(nil, &fuse.RenameIn{InHeader: rename2(1), Newdir: d.NodeId, Flags: renameNoReplaceFlag}, "d", "f"), unix.EEXIST},
		{"rename a directory into itself", b.Rename(nil, &fuse.RenameIn{InHeader: hdr(1), Newdir: d.NodeId}, "d", "sub"), unix.EINVAL},
		{"readlink of a file", func() fuse.Status { _, st := b.Readlink(nil, &hd); return st }(), unix.EINVAL},
		{"symlink with empty target", b.Symlink(nil, &hd, "", "l", &eo), unix.ENOENT},
		{"mknod of a directory type", b.Mknod(nil, &fuse.MknodIn{InHeader: hdr(1), Mode: unix.S_IFDIR | 0o755}, "x", &eo), unix.EPERM}, // Linux's answer
		{"seek with SEEK_SET", b.Lseek(nil, &fuse.LseekIn{InHeader: hdr(d.NodeId), Whence: unix.SEEK_SET}, &fuse.LseekOut{}), unix.EINVAL},
	}
	for _, c := range errs {
		if c.got != fuse.Status(c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	// RENAME_NOREPLACE onto a free name works.
	mustOK(t, "rename noreplace", b.Rename(nil, &fuse.RenameIn{InHeader: rename2(d.NodeId), Newdir: 1, Flags: renameNoReplaceFlag}, "f", "moved"))
	// RENAME_EXCHANGE swaps a file and a directory.
	mustOK(t, "rename exchange", b.Rename(nil, &fuse.RenameIn{InHeader: rename2(1), Newdir: 1, Flags: renameExchangeFlag}, "moved", "d"))
	if got := lookup(t, b, 1, "moved"); got.NodeId != d.NodeId || got.Attr.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("after exchange 'moved' is node %d mode %o, want the directory %d", got.NodeId, got.Attr.Mode, d.NodeId)
	}
	// A pseudo error never reaches FUSE.
	c := b.begin(&h, nil)
	if st := b.done(c, "test", "", kernel.EJUSTRETURN); st != fuse.EIO {
		t.Errorf("EJUSTRETURN became %v, want EIO", st)
	}
	// Negative entries: cached for NegativeTimeout, or plain ENOENT.
	if st := b.Lookup(nil, &h, "missing", &eo); st != fuse.OK || eo.NodeId != 0 || eo.EntryTimeout() == 0 {
		t.Errorf("negative lookup: %v node %d timeout %v", st, eo.NodeId, eo.EntryTimeout())
	}
	nb, _ := testBridge(t, Options{UID: -1, GID: -1, Umask: -1, NegativeTimeout: -1})
	if st := nb.Lookup(nil, &h, "missing", &eo); st != fuse.ENOENT {
		t.Errorf("lookup without negative caching: %v, want ENOENT", st)
	}
}

func TestReadOnlyOptions(t *testing.T) {
	b, v := testBridge(t, Options{ReadOnly: true, UID: 1234, GID: 99, Umask: 0o027})
	// Make a file behind the bridge's back.
	l := v.Kernel().LWP0()
	fd, e := vfs.Open(l, "/file", unix.O_CREAT|unix.O_WRONLY, 0o666)
	if e != 0 {
		t.Fatal(e)
	}
	vfs.Close(l, fd)
	e1 := lookup(t, b, 1, "file")
	if e1.Uid != 1234 || e1.Gid != 99 || e1.Mode&0o777 != 0o640 {
		t.Errorf("shown owner %d:%d mode %o, want 1234:99 0640", e1.Uid, e1.Gid, e1.Mode&0o777)
	}
	if e1.EntryTimeout() < 3600e9 || e1.AttrTimeout() < 3600e9 {
		t.Errorf("read-only timeouts %v %v, want an hour", e1.EntryTimeout(), e1.AttrTimeout())
	}
	var oo fuse.OpenOut
	mustOK(t, "open ro", b.Open(nil, &fuse.OpenIn{InHeader: hdr(e1.NodeId), Flags: unix.O_RDONLY}, &oo))
	if oo.OpenFlags&fuse.FOPEN_KEEP_CACHE == 0 {
		t.Errorf("read-only open flags %x lack KEEP_CACHE", oo.OpenFlags)
	}
	if st := b.Open(nil, &fuse.OpenIn{InHeader: hdr(e1.NodeId), Flags: unix.O_RDWR}, &oo); st != fuse.EROFS {
		t.Errorf("open for writing: %v, want EROFS", st)
	}
	var eo fuse.EntryOut
	if st := b.Mkdir(nil, &fuse.MkdirIn{InHeader: hdr(1), Mode: 0o755}, "x", &eo); st != fuse.EROFS {
		t.Errorf("mkdir: %v, want EROFS", st)
	}
	if st := b.SetAttr(nil, &fuse.SetAttrIn{SetAttrInCommon: fuse.SetAttrInCommon{InHeader: hdr(e1.NodeId), Valid: fuse.FATTR_MODE, Mode: 0o600}}, &fuse.AttrOut{}); st != fuse.EROFS {
		t.Errorf("chmod: %v, want EROFS", st)
	}
}

func TestSetattrAndData(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	f := create(t, b, 1, "f", bytes.Repeat([]byte("a"), 100000))
	set := func(in fuse.SetAttrInCommon) fuse.AttrOut {
		t.Helper()
		in.InHeader = hdr(f.NodeId)
		var out fuse.AttrOut
		mustOK(t, "setattr", b.SetAttr(nil, &fuse.SetAttrIn{SetAttrInCommon: in}, &out))
		return out
	}
	if a := set(fuse.SetAttrInCommon{Valid: fuse.FATTR_SIZE, Size: 10}); a.Size != 10 {
		t.Errorf("truncate: size %d", a.Size)
	}
	if a := set(fuse.SetAttrInCommon{Valid: fuse.FATTR_MODE, Mode: 0o4711}); a.Mode != unix.S_IFREG|0o4711 {
		t.Errorf("chmod: mode %o", a.Mode)
	}
	if a := set(fuse.SetAttrInCommon{Valid: fuse.FATTR_UID | fuse.FATTR_GID, Owner: fuse.Owner{Uid: 7, Gid: 8}}); a.Uid != 7 || a.Gid != 8 {
		t.Errorf("chown: %d:%d", a.Uid, a.Gid)
	}
	if a := set(fuse.SetAttrInCommon{Valid: fuse.FATTR_ATIME | fuse.FATTR_MTIME, Atime: 42, Mtime: 43, Mtimensec: 5}); a.Atime != 42 || a.Mtime != 43 || a.Mtimensec != 5 {
		t.Errorf("utimes: %d %d.%d", a.Atime, a.Mtime, a.Mtimensec)
	}
	a := set(fuse.SetAttrInCommon{Valid: fuse.FATTR_ATIME | fuse.FATTR_MTIME | fuse.FATTR_ATIME_NOW | fuse.FATTR_MTIME_NOW})
	if a.Mtime < 1e9 {
		t.Errorf("UTIME_NOW left mtime %d", a.Mtime)
	}
	// Read back what is left, and a hole beyond a write far out.
	var oo fuse.OpenOut
	mustOK(t, "open", b.Open(nil, &fuse.OpenIn{InHeader: hdr(f.NodeId), Flags: unix.O_RDWR}, &oo))
	data := [][]byte{[]byte("xy"), []byte("z")}
	if n, st := b.Writev(nil, &fuse.WriteIn{InHeader: hdr(f.NodeId), Fh: oo.Fh, Offset: 1 << 20}, data); n != 3 || st != fuse.OK {
		t.Fatalf("writev: %d %v", n, st)
	}
	buf := make([]byte, 16)
	r, st := b.Read(nil, &fuse.ReadIn{InHeader: hdr(f.NodeId), Fh: oo.Fh, Size: 16}, buf)
	mustOK(t, "read", st)
	got, _ := r.Bytes(nil)
	if string(got) != "aaaaaaaaaa\x00\x00\x00\x00\x00\x00" {
		t.Errorf("read %q", got)
	}
	r.Done()
	r, st = b.Read(nil, &fuse.ReadIn{InHeader: hdr(f.NodeId), Fh: oo.Fh, Offset: 1<<20 + 1, Size: 16}, buf)
	mustOK(t, "read", st)
	if got, _ := r.Bytes(nil); string(got) != "yz" {
		t.Errorf("read at the end %q", got)
	}
	var lo fuse.LseekOut
	mustOK(t, "seek hole", b.Lseek(nil, &fuse.LseekIn{InHeader: hdr(f.NodeId), Fh: oo.Fh, Offset: 0, Whence: unix.SEEK_HOLE}, &lo))
	if lo.Offset != 64<<10 {
		t.Errorf("SEEK_HOLE from 0 = %d, want 65536", lo.Offset)
	}
	mustOK(t, "seek data", b.Lseek(nil, &fuse.LseekIn{InHeader: hdr(f.NodeId), Fh: oo.Fh, Offset: 70000, Whence: unix.SEEK_DATA}, &lo))
	if lo.Offset != 1<<20 {
		t.Errorf("SEEK_DATA from 70000 = %d, want %d", lo.Offset, 1<<20)
	}
	mustOK(t, "fsync", b.Fsync(nil, &fuse.FsyncIn{InHeader: hdr(f.NodeId), Fh: oo.Fh}))
	b.Release(nil, &fuse.ReleaseIn{InHeader: hdr(f.NodeId), Fh: oo.Fh})
	if s := b.Stats(); s.Handles != 0 {
		t.Errorf("handles left open: %v", s)
	}
}

func TestXattrSizes(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	f := create(t, b, 1, "f", nil)
	h := hdr(f.NodeId)
	if _, st := b.GetXAttr(nil, &h, "user.a", make([]byte, 10)); st != fuse.Status(unix.ENODATA) {
		t.Errorf("missing attribute: %v", st)
	}
	mustOK(t, "setxattr", b.SetXAttr(nil, &fuse.SetXAttrIn{InHeader: h, Size: 5}, "user.a", []byte("value")))
	if n, st := b.GetXAttr(nil, &h, "user.a", nil); st != fuse.OK || n != 5 {
		t.Errorf("size query: %d %v", n, st)
	}
	if n, st := b.GetXAttr(nil, &h, "user.a", make([]byte, 3)); st != fuse.ERANGE || n != 5 {
		t.Errorf("small buffer: %d %v, want 5 ERANGE", n, st)
	}
	buf := make([]byte, 10)
	if n, st := b.GetXAttr(nil, &h, "user.a", buf); st != fuse.OK || string(buf[:n]) != "value" {
		t.Errorf("get: %q %v", buf[:n], st)
	}
	if n, st := b.ListXAttr(nil, &h, nil); st != fuse.OK || n != 7 {
		t.Errorf("list size: %d %v", n, st)
	}
	if n, st := b.ListXAttr(nil, &h, buf); st != fuse.OK || string(buf[:n]) != "user.a\x00" {
		t.Errorf("list: %q %v", buf[:n], st)
	}
	if st := b.SetXAttr(nil, &fuse.SetXAttrIn{InHeader: h, Flags: unix.XATTR_CREATE}, "user.a", nil); st != fuse.Status(unix.EEXIST) {
		t.Errorf("XATTR_CREATE of an existing one: %v", st)
	}
	mustOK(t, "removexattr", b.RemoveXAttr(nil, &h, "user.a"))
	if st := b.RemoveXAttr(nil, &h, "user.a"); st != fuse.Status(unix.ENODATA) {
		t.Errorf("remove again: %v", st)
	}
}

func TestNamespaceOps(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	f := create(t, b, 1, "f", []byte("x"))
	var eo fuse.EntryOut
	mustOK(t, "link", b.Link(nil, &fuse.LinkIn{InHeader: hdr(1), Oldnodeid: f.NodeId}, "g", &eo))
	if eo.NodeId != f.NodeId || eo.Nlink != 2 {
		t.Errorf("link: node %d nlink %d", eo.NodeId, eo.Nlink)
	}
	h := hdr(1)
	mustOK(t, "symlink", b.Symlink(nil, &h, "f", "s", &eo))
	sh := hdr(eo.NodeId)
	if got, st := b.Readlink(nil, &sh); st != fuse.OK || string(got) != "f" {
		t.Errorf("readlink %q %v", got, st)
	}
	mustOK(t, "mknod fifo", b.Mknod(nil, &fuse.MknodIn{InHeader: hdr(1), Mode: unix.S_IFIFO | 0o600}, "p", &eo))
	if eo.Mode != unix.S_IFIFO|0o600 {
		t.Errorf("fifo mode %o", eo.Mode)
	}
	mustOK(t, "rename over", b.Rename(nil, &fuse.RenameIn{InHeader: hdr(1), Newdir: 1}, "g", "s"))
	e := lookup(t, b, 1, "s")
	if e.NodeId != f.NodeId {
		t.Errorf("after rename over, s is node %d, want %d", e.NodeId, f.NodeId)
	}
	var so fuse.StatfsOut
	mustOK(t, "statfs", b.StatFs(nil, &h, &so))
	if so.Bsize == 0 || so.NameLen != 255 {
		t.Errorf("statfs %+v", so)
	}
	mustOK(t, "access", b.Access(nil, &fuse.AccessIn{InHeader: hdr(f.NodeId), Mask: fuse.R_OK | fuse.W_OK}))
}

func TestPermissionsAsCaller(t *testing.T) {
	b, _ := testBridge(t, DefaultOptions())
	f := create(t, b, 1, "secret", []byte("x"))
	var ao fuse.AttrOut
	mustOK(t, "chmod", b.SetAttr(nil, &fuse.SetAttrIn{SetAttrInCommon: fuse.SetAttrInCommon{InHeader: hdr(f.NodeId), Valid: fuse.FATTR_MODE, Mode: 0o600}}, &ao))
	user := hdr(f.NodeId)
	user.Uid, user.Gid = 1000, 1000
	var oo fuse.OpenOut
	if st := b.Open(nil, &fuse.OpenIn{InHeader: user, Flags: unix.O_RDONLY}, &oo); st != fuse.EACCES {
		t.Errorf("uid 1000 opening a 0600 root file: %v, want EACCES", st)
	}
	// tmp is 01777: the user creates a file it owns.
	tmp := lookup(t, b, 1, "tmp")
	var co fuse.CreateOut
	in := fuse.CreateIn{InHeader: hdr(tmp.NodeId), Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644}
	in.Uid, in.Gid = 1000, 1000
	mustOK(t, "create as 1000", b.Create(nil, &in, "mine", &co))
	if co.Uid != 1000 {
		t.Errorf("file created by uid 1000 is owned by %d", co.Uid)
	}
	b.Release(nil, &fuse.ReleaseIn{InHeader: in.InHeader, Fh: co.Fh})
}

func TestCloseReleasesEverything(t *testing.T) {
	k, err := kernel.Boot(kernel.Config{NoThreads: true})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Reboot(nil, kernel.RB_HALT)
	v := vfs.Of(k)
	root := v.Root()
	procs0 := k.NProcs()
	use0 := root.UseCount()
	vfs.Vref(root)
	b, err := New(k, root, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	d := mkdir(t, b, 1, "d")
	create(t, b, d.NodeId, "f", []byte("x"))
	var oo fuse.OpenOut
	mustOK(t, "opendir", b.OpenDir(nil, &fuse.OpenIn{InHeader: hdr(d.NodeId)}, &oo))
	// Concurrent requests make several LWPs.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.GetAttr(nil, &fuse.GetAttrIn{InHeader: hdr(d.NodeId)}, &fuse.AttrOut{})
			}
		}()
	}
	wg.Wait()
	if k.NProcs() <= procs0 {
		t.Errorf("no request processes: %d procs", k.NProcs())
	}
	b.Close()
	b.Close()
	if u := root.UseCount(); u != use0 {
		t.Errorf("root usecount %d after Close, want %d", u, use0)
	}
	if n := k.NProcs(); n != procs0 {
		t.Errorf("%d procs after Close, want %d: LWPs leaked", n, procs0)
	}
	total, free := v.NumVnodes()
	if total-free != 1 {
		t.Errorf("%d vnodes still referenced after Close (total %d), want only the root", total-free, total)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer = testenv.SyncBuffer

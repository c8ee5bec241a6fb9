package p2k

import (
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
	"golang.org/x/sys/unix"
)

// TestNodeTableSharedVnode: two bridges naming the same vnode each keep
// their own node and count (one through the vnode's cookie, the other
// through its shard's map), and a forgotten id goes stale even when its
// slot is reused.
func TestNodeTableSharedVnode(t *testing.T) {
	root := vfs.NewVnode(nil, vfs.VDIR, 2, vfs.GenericOps{}, nil)
	vp := vfs.NewVnode(nil, vfs.VREG, 5, vfs.GenericOps{}, nil)
	var t1, t2 nodeTable
	t1.init(root)
	t2.init(root)
	ref := func() *vfs.Vnode { vfs.Vref(vp); return vp }

	id1 := t1.add(nil, ref())
	id2 := t2.add(nil, ref())
	if id := t1.add(nil, ref()); id != id1 {
		t.Fatalf("second add to bridge 1: id %#x, want %#x", id, id1)
	}
	if id := t2.add(nil, ref()); id != id2 {
		t.Fatalf("second add to bridge 2: id %#x, want %#x", id, id2)
	}
	if c := vp.ClientCookie.Load(); c != id1 {
		t.Fatalf("cookie %#x, want bridge 1's id %#x", c, id1)
	}
	if s := &t2.shards[shardOf(vp)]; s.other[vp] != id2 {
		t.Fatalf("bridge 2 does not keep its id in its shard map: %v", s.other)
	}
	if got := vp.UseCount(); got != 3 {
		t.Fatalf("use count %d, want 3 (ours and one per bridge)", got)
	}

	// Bridge 1 forgets: its node goes and releases the cookie; bridge 2
	// is untouched.
	if got := t1.forget(id1, 2); got != vp {
		t.Fatalf("forget on bridge 1 returned %p, want the vnode", got)
	}
	vfs.Vrele(nil, vp)
	if c := vp.ClientCookie.Load(); c != 0 {
		t.Fatalf("cookie %#x after bridge 1 forgot, want 0", c)
	}
	if _, e := t1.get(nil, id1); e != unix.ESTALE {
		t.Fatalf("get of a forgotten id: %v, want ESTALE", e)
	}
	if id := t2.add(nil, ref()); id != id2 {
		t.Fatalf("bridge 2 after bridge 1 forgot: id %#x, want %#x", id, id2)
	}
	if n, _ := t2.lookupCount(id2); n != 3 {
		t.Fatalf("bridge 2 lookups %d, want 3", n)
	}

	// The slot is reused with a new generation: the old id stays stale.
	id3 := t1.add(nil, ref())
	if id3 == id1 || id3&(nshards-1) != id1&(nshards-1) || id3>>shardBits&slotMask != id1>>shardBits&slotMask {
		t.Fatalf("re-added id %#x: want id %#x's slot with a new generation", id3, id1)
	}
	if _, e := t1.get(nil, id1); e != unix.ESTALE {
		t.Fatalf("get of an id whose slot was reused: %v, want ESTALE", e)
	}
	if got, e := t1.get(nil, id3); e != 0 || got != vp {
		t.Fatalf("get of the new id: %v %v", got, e)
	}
	vfs.Vrele(nil, vp)

	if got := t2.drain(); len(got) != 1 || got[0] != vp {
		t.Fatalf("drain of bridge 2: %v", got)
	}
	if s := &t2.shards[shardOf(vp)]; len(s.other) != 0 {
		t.Fatalf("bridge 2's shard map keeps %v after drain", s.other)
	}
	if c := vp.ClientCookie.Load(); c != id3 {
		t.Fatalf("cookie %#x, want bridge 1's new id %#x", c, id3)
	}
	if t1.count.Load() != 1 || t2.count.Load() != 0 || t2.lookups.Load() != 0 {
		t.Fatalf("counts: bridge 1 %d nodes, bridge 2 %d nodes %d lookups", t1.count.Load(), t2.count.Load(), t2.lookups.Load())
	}
}

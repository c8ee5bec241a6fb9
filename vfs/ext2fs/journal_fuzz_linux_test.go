package ext2fs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// FuzzJournalReplay fuzzes the whole journal replay: Open of an image
// whose journal needs recovery, then a walk of what it shows. The images
// are real: mke2fs, then debugfs writes committed transactions (data
// blocks, a revoke, an escaped block, an inode table block) and an
// uncommitted one. An input patches a few bytes of one log block (the
// journal superblock, a descriptor, a data, revoke or commit block, or
// the block after the log) of one of two images: one with metadata_csum
// and journal checksum v3 at 4 KiB blocks, one without any checksum at
// 1 KiB blocks (32-bit tags), so that damage the checksums would refuse
// still reaches the replay. Whatever the patch, Open and the walk must
// not panic or hang, fail only with EIO/EINVAL (and the errnos the walk
// documents below), and never report more replayed blocks than the
// journal holds.
func FuzzJournalReplay(f *testing.F) {
	ims := journalFuzzImages(f)
	for i, im := range ims {
		which := uint8(i)
		seed := func(n, off int, patch ...byte) { f.Add(which, uint16(n), uint16(off), patch) }
		seed(0, 0)                                     // the log as debugfs left it
		seed(0, 0x1c, 0, 0, 0, byte(im.data[0]))       // s_start: a data block
		seed(im.desc[0], disk.JHeaderSize, 0, 0, 0, 2) // first tag: block 2
		seed(im.commit[0], 8, 0xff)                    // commit sequence
		seed(im.revoke[0], 12, 0xff, 0xff)             // r_count past the block
		seed(im.data[0], 0, 0xc0, 0x3b, 0x39, 0x98)    // data block starting with the magic
		// The block after the uncommitted transaction becomes its commit.
		var commit [disk.JHeaderSize]byte
		binary.BigEndian.PutUint32(commit[0:], disk.JournalMagic)
		binary.BigEndian.PutUint32(commit[4:], disk.JBlockCommit)
		binary.BigEndian.PutUint32(commit[8:], im.openSeq)
		seed(im.end, 0, commit[:]...)
	}
	f.Fuzz(func(t *testing.T, which uint8, block, off uint16, patch []byte) {
		im := ims[int(which)%len(ims)]
		n := int(block) % len(im.logPhys)
		o := int(off) % im.bsize
		patch = patch[:min(len(patch), maxJournalPatch, im.bsize-o)]
		dev := &patchDev{memDev: im.raw, at: int64(im.logPhys[n])*int64(im.bsize) + int64(o), patch: patch}
		what := fmt.Sprintf("%s, log block %d, offset %d, patch %x", im.name, n, o, patch)

		var log testLog
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic: %v\n%s", what, p, debug.Stack())
				}
			}()
			fs, err := Open(nil, dev, Options{Name: im.name, Logf: log.logf})
			if err != nil {
				var kerr *Error
				if !errors.As(err, &kerr) || (kerr.Errno != unix.EIO && kerr.Errno != unix.EINVAL) {
					t.Errorf("%s: Open: %v (%T) is not an *Error with EIO or EINVAL", what, err, err)
				}
				return
			}
			if fs.Replayed > im.journalLen {
				t.Errorf("%s: replayed %d blocks, the journal has %d", what, fs.Replayed, im.journalLen)
			}
			if len(patch) == 0 && fs.Replayed != im.replayed {
				t.Errorf("%s: replayed %d blocks unpatched, %d when the image was built", what, fs.Replayed, im.replayed)
			}
			w := &budgetWalk{t: t, fs: fs, what: what, entries: 4000, bytes: 8 << 20,
				seen: map[uint32]bool{}, buf: make([]byte, 64<<10)}
			root, e := fs.Root(nil)
			w.check("root", e)
			if e == 0 {
				w.visit(root, "/", 0)
			}
		}()
		watchdog := time.NewTimer(time.Minute)
		defer watchdog.Stop()
		select {
		case <-done:
		case <-watchdog.C:
			t.Fatalf("%s: Open and walk do not finish", what)
		}
		if t.Failed() {
			t.Logf("driver messages:\n%s", log.String())
		}
	})
}

// maxJournalPatch bounds how many bytes one input changes.
const maxJournalPatch = 64

// journalFuzzImage is one dirty image held in memory, and where its log
// blocks are.
type journalFuzzImage struct {
	name  string
	raw   memDev
	bsize int
	// logPhys maps the log blocks an input may patch (the journal
	// superblock through two blocks past the last one written) to
	// device blocks.
	logPhys []uint64
	// Log blocks by kind, from the journal superblock's s_start on.
	desc, data, revoke, commit []int
	end                        int    // the first log block past the log
	openSeq                    uint32 // the uncommitted transaction's sequence
	journalLen                 int    // journal inode size in blocks
	replayed                   int    // FS.Replayed of the pristine image
}

var journalFuzz struct {
	once sync.Once
	ims  []*journalFuzzImage
}

// journalFuzzImages builds the images once per process (every fuzz
// worker runs the target's body).
func journalFuzzImages(f *testing.F) []*journalFuzzImage {
	need(f, "mke2fs", "e2fsck", "debugfs")
	journalFuzz.once.Do(func() {
		journalFuzz.ims = []*journalFuzzImage{
			dirtyJournalImage(f, image{name: "ext4-csum3-4k", fstype: "ext4",
				args: []string{"-b", "4096"}, sizeK: 12 << 10}, "-c"),
			dirtyJournalImage(f, image{name: "ext4-nocsum-1k-32bit", fstype: "ext4",
				args: []string{"-b", "1024", "-O", "^metadata_csum,^64bit"}, sizeK: 8 << 10}, ""),
		}
	})
	if journalFuzz.ims == nil {
		f.Fatal("the journal fuzz images could not be built (see the first failure)")
	}
	return journalFuzz.ims
}

// dirtyJournalImage makes im, writes the transactions into its journal
// with debugfs (jo = journal_open arguments), reads the image into memory
// and maps its log.
func dirtyJournalImage(t testing.TB, im image, jo string) *journalFuzzImage {
	im.tree = treeOpts{bigDir: 40, extents: 8, acls: true}
	img := makeImage(t, im)
	dirtyJournal(t, img, jo)
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	x := &journalFuzzImage{name: im.name, raw: raw}

	// Map the log through the journal inode, as replay does.
	fs, err := Open(nil, x.raw, Options{NoRecovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if fs.sb.FeatureIncompat&disk.IncompatRecover == 0 {
		t.Fatalf("%s: debugfs did not leave the journal needing recovery", im.name)
	}
	x.bsize = fs.bsize
	ji, e := fs.Inode(nil, fs.sb.JournalInum)
	if e != 0 {
		t.Fatalf("%s: journal inode: %v", im.name, e)
	}
	x.journalLen = int(ji.Size / uint64(fs.bsize))
	logBlock := func(n int) []byte {
		r, e := ji.Bmap(nil, uint64(n))
		if e != 0 || r.Zero {
			t.Fatalf("%s: journal block %d: %+v %v", im.name, n, r, e)
		}
		b := make([]byte, fs.bsize)
		if e := fs.bd.readBytes(nil, b, int64(r.Physical)*int64(fs.bsize)); e != 0 {
			t.Fatal(e)
		}
		x.logPhys = append(x.logPhys, r.Physical)
		return b
	}
	js, err := disk.ParseJournalSuperblock(logBlock(0))
	if err != nil {
		t.Fatalf("%s: %v", im.name, err)
	}
	for n := 1; n < int(js.Start); n++ {
		logBlock(n)
	}
	// Follow the log as debugfs wrote it, without wrapping: every block
	// with the jbd2 magic, and the data blocks after each descriptor.
	n := int(js.Start)
	for n < x.journalLen {
		b := logBlock(n)
		h, ok := disk.ParseJournalHeader(b)
		if !ok {
			break
		}
		n++
		switch h.BlockType {
		case disk.JBlockDescriptor:
			x.desc = append(x.desc, n-1)
			x.openSeq = h.Sequence
			tags, err := js.ParseDescriptor(b)
			if err != nil {
				t.Fatalf("%s: log block %d: %v", im.name, n-1, err)
			}
			for range tags {
				logBlock(n)
				x.data = append(x.data, n)
				n++
			}
		case disk.JBlockRevoke:
			x.revoke = append(x.revoke, n-1)
		case disk.JBlockCommit:
			x.commit = append(x.commit, n-1)
		default:
			t.Fatalf("%s: log block %d has block type %d", im.name, n-1, h.BlockType)
		}
	}
	x.end = n
	for n := len(x.logPhys); n < min(x.end+2, x.journalLen); n++ {
		logBlock(n)
	}
	if len(x.desc) != 4 || len(x.commit) != 4 || len(x.revoke) != 1 || len(x.data) != 5 {
		t.Fatalf("%s: log blocks: descriptors %v, data %v, revoke %v, commits %v; want 4, 5, 1, 4",
			im.name, x.desc, x.data, x.revoke, x.commit)
	}

	fs, err = Open(nil, x.raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x.replayed = fs.Replayed
	if x.replayed < 3 {
		t.Fatalf("%s: the pristine image replays %d blocks, want at least 3", im.name, x.replayed)
	}
	return x
}

// patchDev is the in-memory image with patch laid over it at byte at:
// an input's damage without copying the image.
type patchDev struct {
	memDev
	at    int64
	patch []byte
}

func (d *patchDev) ReadAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	n, e := d.memDev.ReadAt(l, p, off)
	if e != 0 {
		return n, e
	}
	if lo, hi := max(off, d.at), min(off+int64(n), d.at+int64(len(d.patch))); lo < hi {
		copy(p[lo-off:hi-off], d.patch[lo-d.at:])
	}
	return n, 0
}

// budgetWalk visits every inode reachable from the root once, reading
// every file (up to 1 MiB of each, and its last 4 KiB), symlink and
// extended attribute, until its budgets of directory entries and bytes
// run out. Errors must be EIO or EINVAL, besides those check is told
// the driver documents for the call.
type budgetWalk struct {
	t       *testing.T
	fs      *FS
	what    string
	entries int   // directory entries and attributes left to visit
	bytes   int64 // file bytes left to read
	seen    map[uint32]bool
	buf     []byte
}

func (w *budgetWalk) check(op string, e unix.Errno, also ...unix.Errno) {
	if e == 0 || e == unix.EIO || e == unix.EINVAL || slices.Contains(also, e) {
		return
	}
	w.t.Errorf("%s: %s: errno %d (%v), want EIO or EINVAL", w.what, op, int(e), e)
}

func (w *budgetWalk) visit(ip Inode, path string, depth int) {
	if w.seen[ip.Ino] || depth > 64 {
		return
	}
	w.seen[ip.Ino] = true
	ip.Attr()
	names, e := ip.ListXattr(nil)
	w.check("listxattr "+path, e)
	for _, x := range names {
		if w.entries--; w.entries < 0 {
			return
		}
		_, e := ip.GetXattr(nil, x)
		w.check("getxattr "+path+" "+x, e)
	}
	switch {
	case ip.IsReg():
		const perFile = 1 << 20
		for off := int64(0); off < int64(ip.Size) && off < perFile && w.bytes > 0; {
			n, e := ip.ReadAt(nil, w.buf[:min(int64(len(w.buf)), w.bytes)], off)
			w.check("read "+path, e)
			if e != 0 || n == 0 {
				return
			}
			off += int64(n)
			w.bytes -= int64(n)
		}
		if ip.Size > perFile && w.bytes > 0 {
			n, e := ip.ReadAt(nil, w.buf[:min(4096, w.bytes)], int64(ip.Size-4096))
			w.check("read the end of "+path, e)
			w.bytes -= int64(n)
		}
	case ip.IsSymlink():
		_, e := ip.Readlink(nil)
		w.check("readlink "+path, e)
	case ip.IsDir():
		var kids []Dirent
		e := ip.Readdir(nil, 0, func(d Dirent) bool {
			kids = append(kids, d)
			w.entries--
			return w.entries > 0
		})
		w.check("readdir "+path, e)
		for _, d := range kids {
			if d.Name == "." || d.Name == ".." {
				continue
			}
			p := path + d.Name
			// A name readdir listed can be missing from a damaged
			// htree; an entry can name an inode not in use.
			_, _, e := ip.Lookup(nil, d.Name)
			w.check("lookup "+p, e, unix.ENOENT)
			c, e := w.fs.Inode(nil, d.Ino)
			w.check("inode of "+p, e, unix.ESTALE)
			if e == 0 {
				if c.IsDir() {
					p += "/"
				}
				w.visit(c, p, depth+1)
			}
		}
	}
}

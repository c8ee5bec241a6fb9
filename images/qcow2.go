package images

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// qcow2 (QEMU copy-on-write, versions 2 and 3), read-only: a two-level
// table (L1 in memory, L2 tables read on demand and cached) maps each
// cluster of the virtual disk to a cluster of the file, to a compressed
// run of sectors, to zeros, or to nothing (the backing file, or zeros).
// Refcounts are not needed to read.

const qcow2Magic = "QFI\xfb"

const (
	qcow2OffsetMask  = 0x00fffffffffffe00 // host offset bits 9-55 of L1/L2 entries
	qcow2Compressed  = 1 << 62
	qcow2ZeroFlag    = 1 // v3: the cluster reads as zeros
	qcow2MaxL1Bytes  = 32 << 20
	qcow2L2Cached    = 64 // L2 tables kept in memory
	qcow2MaxBacking  = 1023
	qcow2ExtBackFmt  = 0xe2792aca
	qcow2ExtDataFile = 0x44415441
	qcow2MaxSize     = 1 << 56 // what bits 9-55 can address
)

// incompatible feature bits (v3)
const (
	qcow2Dirty        = 1 << 0
	qcow2Corrupt      = 1 << 1
	qcow2ExternalData = 1 << 2
	qcow2CompressType = 1 << 3
	qcow2ExtendedL2   = 1 << 4
)

type qcow2 struct {
	f           *os.File
	path        string
	fsize       int64
	clusterBits uint
	size        int64
	l1          []uint64
	backing     vdisk // nil: unallocated clusters read as zeros
	backingSize int64

	l2 *tableCache[uint64] // L2 tables by file offset

	mu   sync.Mutex
	zoff uint64 // file offset of the cluster in zbuf, 0 if none; under mu
	zbuf []byte // the last decompressed cluster; under mu
}

func openQcow2(f *os.File, path string, fsize int64, ch *chain) (vdisk, *Container, error) {
	bad := func(format string, args ...any) (vdisk, *Container, error) {
		return nil, nil, errnof(unix.EIO, "%s: qcow2: "+format, append([]any{path}, args...)...)
	}
	unsupported := func(format string, args ...any) (vdisk, *Container, error) {
		return nil, nil, errnof(unix.EOPNOTSUPP, "%s: qcow2: "+format, append([]any{path}, args...)...)
	}
	var h [112]byte
	n, _ := f.ReadAt(h[:], 0)
	if n < 72 {
		return bad("header truncated (%d bytes)", n)
	}
	be := binary.BigEndian
	version := be.Uint32(h[4:])
	backOff, backLen := be.Uint64(h[8:]), be.Uint32(h[16:])
	cb := be.Uint32(h[20:])
	size := be.Uint64(h[24:])
	crypt := be.Uint32(h[32:])
	l1Size, l1Off := be.Uint32(h[36:]), be.Uint64(h[40:])
	nsnap := be.Uint32(h[60:])
	if version != 2 && version != 3 {
		return unsupported("version %d (only 2 and 3 are known)", version)
	}
	if cb < 9 || cb > 21 {
		return bad("cluster_bits %d outside 9-21", cb)
	}
	cs := uint64(1) << cb
	c := &Container{Format: "qcow2", Subformat: "v" + fmtInt(int64(version)), Path: path}
	if crypt != 0 {
		return unsupported("the image is encrypted (crypt_method %d); decrypt it with qemu-img convert first", crypt)
	}
	extStart := uint64(72)
	if version == 3 {
		if n < 104 {
			return bad("version 3 header truncated (%d bytes)", n)
		}
		incompat := be.Uint64(h[72:])
		hlen := be.Uint32(h[100:])
		if hlen < 104 || uint64(hlen) > cs || hlen%8 != 0 {
			return bad("header_length %d", hlen)
		}
		extStart = uint64(hlen)
		if incompat&qcow2ExternalData != 0 {
			return unsupported("the data is in an external data file, which rumpfs does not read")
		}
		if incompat&qcow2ExtendedL2 != 0 {
			return unsupported("extended L2 entries (subclusters) are not supported")
		}
		if incompat&qcow2CompressType != 0 {
			ct := byte(0)
			if hlen > 104 && n > 104 {
				ct = h[104]
			}
			if ct != 0 {
				return unsupported("compression type %d (zstd) is not supported, only zlib", ct)
			}
		}
		if rest := incompat &^ (qcow2Dirty | qcow2Corrupt | qcow2CompressType); rest != 0 {
			return unsupported("unknown incompatible features %#x", rest)
		}
		if incompat&qcow2Dirty != 0 {
			c.Subformat += ", dirty"
		}
		if incompat&qcow2Corrupt != 0 {
			c.Subformat += ", marked corrupt"
		}
	}
	if size > qcow2MaxSize {
		return bad("virtual size %d is larger than qcow2 can address", size)
	}
	// Each L1 entry covers an L2 table of cs/8 clusters.
	perL1 := cs * (cs / 8)
	need := (size + perL1 - 1) / perL1
	if uint64(l1Size) < need {
		return bad("L1 table of %d entries is too small for a virtual size of %d bytes", l1Size, size)
	}
	if uint64(l1Size)*8 > qcow2MaxL1Bytes {
		return bad("L1 table of %d entries is larger than %d bytes", l1Size, qcow2MaxL1Bytes)
	}
	if l1Size > 0 && (l1Off%cs != 0 || l1Off > uint64(fsize) || uint64(l1Size)*8 > uint64(fsize)-l1Off) {
		return bad("L1 table at byte %d (%d entries) lies outside the file (%d bytes)", l1Off, l1Size, fsize)
	}
	q := &qcow2{f: f, path: path, fsize: fsize, clusterBits: uint(cb), size: int64(size), l2: newTableCache[uint64](qcow2L2Cached)}
	raw := make([]byte, int(l1Size)*8)
	if err := readPart(f, path, "qcow2 L1 table", raw, int64(l1Off)); err != nil {
		return nil, nil, err
	}
	q.l1 = make([]uint64, l1Size)
	for i := range q.l1 {
		q.l1[i] = be.Uint64(raw[i*8:])
	}
	// Header extensions: between the header and the end of the first
	// cluster, each a type, a length and data padded to 8 bytes.
	backFmt := ""
	if extStart < cs && extStart < uint64(fsize) {
		ext := make([]byte, min(cs, uint64(fsize))-extStart)
		if err := readPart(f, path, "qcow2 header extensions", ext, int64(extStart)); err != nil {
			return nil, nil, err
		}
		for len(ext) >= 8 {
			typ, l := be.Uint32(ext), uint64(be.Uint32(ext[4:]))
			if typ == 0 {
				break
			}
			if l > uint64(len(ext)-8) {
				return bad("header extension %#x of %d bytes runs past the first cluster", typ, l)
			}
			data := ext[8 : 8+l]
			switch typ {
			case qcow2ExtBackFmt:
				backFmt = string(data)
			case qcow2ExtDataFile:
				return unsupported("the data is in an external data file, which rumpfs does not read")
			}
			ext = ext[min(uint64(len(ext)), 8+(l+7)&^7):]
		}
	}
	c.VirtualSize = int64(size)
	if nsnap > 0 {
		names, err := qcow2Snapshots(f, path, fsize, be.Uint64(h[64:]), nsnap)
		if err != nil {
			return nil, nil, err
		}
		c.Snapshots = names
	}
	if backOff != 0 {
		if backLen == 0 || backLen > qcow2MaxBacking || backOff > cs || uint64(backLen) > cs-backOff {
			return bad("backing file name at byte %d (%d bytes) is not inside the first cluster", backOff, backLen)
		}
		name := make([]byte, backLen)
		if err := readPart(f, path, "qcow2 backing file name", name, int64(backOff)); err != nil {
			return nil, nil, err
		}
		if bytes.IndexByte(name, 0) >= 0 {
			return bad("backing file name holds a NUL byte")
		}
		d, bc, bsize, err := openBacking(path, string(name), backFmt, ch)
		if err != nil {
			return nil, nil, err
		}
		q.backing, q.backingSize, c.Backing = d, bsize, bc
	}
	return q, c, nil
}

func (q *qcow2) Close() error {
	if q.backing != nil {
		q.backing.Close()
	}
	return q.f.Close()
}

func (q *qcow2) eio(format string, args ...any) error {
	return errnof(unix.EIO, "%s: qcow2: "+format, append([]any{q.path}, args...)...)
}

func (q *qcow2) ReadAt(p []byte, off int64) (int, error) {
	cs := int64(1) << q.clusterBits
	done := 0
	for done < len(p) {
		at := off + int64(done)
		within := at & (cs - 1)
		n := int(min(int64(len(p)-done), cs-within))
		if err := q.readCluster(p[done:done+n], uint64(at>>q.clusterBits), within); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// readCluster fills p from virtual cluster idx, starting within bytes in.
func (q *qcow2) readCluster(p []byte, idx uint64, within int64) error {
	cs := uint64(1) << q.clusterBits
	virt := int64(idx<<q.clusterBits) + within
	l2n := cs / 8
	l1i := idx / l2n
	if l1i >= uint64(len(q.l1)) {
		return q.eio("cluster %d is past the L1 table", idx)
	}
	l2off := q.l1[l1i] & qcow2OffsetMask
	var e uint64
	if l2off != 0 {
		t, err := q.table(l2off)
		if err != nil {
			return err
		}
		e = t[idx%l2n]
	}
	switch {
	case e&qcow2Compressed != 0:
		return q.readCompressed(p, e, within)
	case e&qcow2ZeroFlag != 0:
		clear(p)
		return nil
	case e&qcow2OffsetMask == 0:
		if q.backing == nil {
			clear(p)
			return nil
		}
		return readLayer(q.backing, q.backingSize, p, virt)
	}
	host := e & qcow2OffsetMask
	if host%cs != 0 {
		return q.eio("L2 entry for cluster %d points at unaligned byte %d", idx, host)
	}
	return readPart(q.f, q.path, "qcow2 data cluster", p, int64(host)+within)
}

// table returns the L2 table at file offset off, from the cache or read.
func (q *qcow2) table(off uint64) ([]uint64, error) {
	return q.l2.get(off, func() ([]uint64, error) {
		cs := uint64(1) << q.clusterBits
		if off%cs != 0 || off > uint64(q.fsize) || cs > uint64(q.fsize)-off {
			return nil, q.eio("L2 table at byte %d lies outside the file (%d bytes)", off, q.fsize)
		}
		raw := make([]byte, cs)
		if err := readPart(q.f, q.path, "qcow2 L2 table", raw, int64(off)); err != nil {
			return nil, err
		}
		t := make([]uint64, cs/8)
		for i := range t {
			t[i] = binary.BigEndian.Uint64(raw[i*8:])
		}
		return t, nil
	})
}

// readCompressed inflates the cluster L2 entry e describes (raw deflate,
// at most one cluster out: a stream that would inflate further is cut
// there, one that inflates to less is damage).
func (q *qcow2) readCompressed(p []byte, e uint64, within int64) error {
	cs := uint64(1) << q.clusterBits
	shift := 62 - (q.clusterBits - 8)
	host := e & (1<<shift - 1)
	sectors := (e&^qcow2Compressed)>>shift + 1
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.zoff != host || q.zbuf == nil {
		if host >= uint64(q.fsize) {
			return q.eio("compressed cluster at byte %d lies past the end of the file", host)
		}
		clen := min(sectors*512-host%512, uint64(q.fsize)-host)
		comp := make([]byte, clen)
		if err := readPart(q.f, q.path, "qcow2 compressed cluster", comp, int64(host)); err != nil {
			return err
		}
		if q.zbuf == nil {
			q.zbuf = make([]byte, cs)
		}
		q.zoff = 0
		zr := flate.NewReader(bytes.NewReader(comp))
		_, err := io.ReadFull(zr, q.zbuf)
		zr.Close()
		if err != nil {
			return q.eio("compressed cluster at byte %d does not inflate to a cluster: %v", host, err)
		}
		q.zoff = host
	}
	copy(p, q.zbuf[within:])
	return nil
}

// Bounds on the snapshot table, as qemu keeps them.
const (
	qcow2MaxSnapshots     = 65536
	qcow2MaxSnapshotBytes = 64 << 20
	qcow2MaxSnapshotExtra = 1024
	qcow2SnapshotsListed  = 64 // names kept; the rest are counted
)

// qcow2Snapshots reads the names of the internal snapshots, walking the
// table entry by entry: a fixed 40-byte part, extra data, the id and the
// name, padded to 8 bytes.
func qcow2Snapshots(f *os.File, path string, fsize int64, off uint64, n uint32) ([]string, error) {
	bad := func(format string, args ...any) ([]string, error) {
		return nil, errnof(unix.EIO, "%s: qcow2: snapshot table: "+format, append([]any{path}, args...)...)
	}
	if n > qcow2MaxSnapshots {
		return bad("%d snapshots", n)
	}
	be := binary.BigEndian
	var names []string
	at := off
	for i := range n {
		if at > uint64(fsize) || at-off > qcow2MaxSnapshotBytes {
			return bad("entry %d at byte %d lies outside the file or past %d bytes of table", i, at, qcow2MaxSnapshotBytes)
		}
		var e [40]byte
		if err := readPart(f, path, "qcow2 snapshot entry", e[:], int64(at)); err != nil {
			return nil, err
		}
		idLen, nameLen, extra := uint64(be.Uint16(e[12:])), uint64(be.Uint16(e[14:])), uint64(be.Uint32(e[36:]))
		if extra > qcow2MaxSnapshotExtra {
			return bad("entry %d has %d bytes of extra data", i, extra)
		}
		if len(names) < qcow2SnapshotsListed {
			name := make([]byte, nameLen)
			if err := readPart(f, path, "qcow2 snapshot name", name, int64(at+40+extra+idLen)); err != nil {
				return nil, err
			}
			names = append(names, string(name))
		}
		at += (40 + extra + idLen + nameLen + 7) &^ 7
	}
	if n > qcow2SnapshotsListed {
		names = append(names, "and "+fmtInt(int64(n-qcow2SnapshotsListed))+" more")
	}
	return names, nil
}

package ext2fs

import (
	"strings"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// recover replays the internal journal into the block overlay, the way
// jbd2 recovery would write it to the device: scan the log from s_start
// for transactions closed by a valid commit block, collect their revoke
// records, then map every tagged block not revoked by the same or a later
// transaction to its newest copy in the log. The device is never written.
func (fs *FS) recover(l *kernel.LWP) error {
	fail := func(errno unix.Errno, format string, args ...any) error {
		e := &Error{errno, fs.prefix() + "journal: " + sprintf(format, args...)}
		fs.logf("%s", e.Msg)
		return e
	}
	sb := fs.sb
	if sb.JournalInum == 0 {
		return fail(unix.EINVAL, "external journal needs recovery; not supported (mount with norecovery to read the image as it is)")
	}
	ji, e := fs.Inode(l, sb.JournalInum)
	if e != 0 {
		return fail(unix.EIO, "cannot read journal inode %d", sb.JournalInum)
	}
	// jmap maps a journal block to its device block.
	jmap := func(n uint32) (uint64, bool) {
		r, e := ji.Bmap(l, uint64(n))
		if e != 0 || r.Zero {
			return 0, false
		}
		return r.Physical, true
	}
	read := func(n uint32) ([]byte, bool) {
		p, ok := jmap(n)
		if !ok {
			return nil, false
		}
		b := make([]byte, fs.bsize)
		return b, fs.bd.readBlocks(l, b, p, 0) == 0
	}
	raw, ok := read(0)
	if !ok {
		return fail(unix.EIO, "cannot read the journal superblock")
	}
	js, err := disk.ParseJournalSuperblock(raw)
	if err != nil {
		return fail(unix.EIO, "%v", err)
	}
	if err := js.Verify(raw); err != nil {
		return fail(unix.EIO, "%v", err)
	}
	if int(js.BlockSize) != fs.bsize {
		return fail(unix.EIO, "journal block size %d differs from the file system's %d", js.BlockSize, fs.bsize)
	}
	if js.Start == 0 {
		return nil // clean
	}
	if bad := js.FeatureIncompat &^ disk.JKnownIncompat; bad != 0 {
		return fail(unix.EINVAL, "unsupported journal features %#x", bad)
	}
	if js.FeatureIncompat&disk.JIncompatFastCommit != 0 {
		return fail(unix.EINVAL, "journal_fast_commit needs recovery; fast commit replay is not supported")
	}
	if js.MaxLen > uint32(ji.Size/uint64(fs.bsize)) {
		return fail(unix.EIO, "journal length %d exceeds its inode (%d bytes)", js.MaxLen, ji.Size)
	}

	type tagged struct {
		tag disk.JournalTag
		log uint32 // journal block holding the data
	}
	type transaction struct {
		seq  uint32
		tags []tagged
	}
	var done []transaction
	revoked := map[uint64]uint32{} // block -> latest revoking sequence
	seq := js.Sequence
	pos := js.Start
	next := func(p uint32) uint32 {
		if p++; p >= js.MaxLen {
			return js.First
		}
		return p
	}
	cur := transaction{seq: seq}
	var curRevokes []uint64
	budget := js.MaxLen - js.First // a scan never reads more than the log
scan:
	for budget > 0 {
		b, ok := read(pos)
		if !ok {
			fs.logf("%sjournal: cannot read log block %d; stopping", fs.prefix(), pos)
			break
		}
		budget--
		h, ok := disk.ParseJournalHeader(b)
		if !ok || h.Sequence != seq {
			break
		}
		switch h.BlockType {
		case disk.JBlockDescriptor:
			if err := js.VerifyDescriptorTail(b); err != nil {
				fs.logf("%sjournal: transaction %d: %v; stopping", fs.prefix(), seq, err)
				break scan
			}
			tags, err := js.ParseDescriptor(b)
			if err != nil {
				fs.logf("%sjournal: transaction %d: %v; stopping", fs.prefix(), seq, err)
				break scan
			}
			for _, t := range tags {
				pos = next(pos)
				if budget == 0 {
					break scan
				}
				budget--
				cur.tags = append(cur.tags, tagged{t, pos})
			}
			pos = next(pos)
		case disk.JBlockRevoke:
			if err := js.VerifyDescriptorTail(b); err != nil {
				fs.logf("%sjournal: transaction %d revoke block: %v; stopping", fs.prefix(), seq, err)
				break scan
			}
			blks, err := js.ParseRevoke(b)
			if err != nil {
				fs.logf("%sjournal: transaction %d: %v; stopping", fs.prefix(), seq, err)
				break scan
			}
			curRevokes = append(curRevokes, blks...)
			pos = next(pos)
		case disk.JBlockCommit:
			if err := js.VerifyCommit(b); err != nil {
				fs.logf("%sjournal: transaction %d: %v; stopping", fs.prefix(), seq, err)
				break scan
			}
			for _, r := range curRevokes {
				if old, ok := revoked[r]; !ok || int32(seq-old) > 0 {
					revoked[r] = seq
				}
			}
			done = append(done, cur)
			seq++
			cur, curRevokes = transaction{seq: seq}, nil
			pos = next(pos)
		default:
			break scan
		}
	}

	overlay := map[uint64]overlayBlock{}
	var skipped []string
	for _, t := range done {
		for _, tg := range t.tags {
			blk := tg.tag.Block
			if r, ok := revoked[blk]; ok && int32(t.seq-r) <= 0 {
				continue
			}
			if !fs.validBlock(blk, 1) {
				skipped = append(skipped, sprintf("block %d out of range", blk))
				continue
			}
			phys, ok := jmap(tg.log)
			if !ok {
				skipped = append(skipped, sprintf("log block %d unmapped", tg.log))
				continue
			}
			ob := overlayBlock{phys: phys, escape: tg.tag.Flags&disk.JFlagEscape != 0}
			if js.CsumV2or3() {
				// The tag checksum covers the block as logged, escaped.
				data, e := fs.bd.readOverlay(l, overlayBlock{phys: phys})
				if e != 0 {
					skipped = append(skipped, sprintf("log block %d unreadable", tg.log))
					continue
				}
				if err := js.VerifyTag(tg.tag, t.seq, data); err != nil {
					skipped = append(skipped, err.Error())
					continue
				}
			}
			overlay[blk] = ob
		}
	}
	if len(skipped) > 0 {
		fs.logf("%sjournal: %d blocks not replayed: %s", fs.prefix(), len(skipped), strings.Join(skipped[:min(len(skipped), 5)], "; "))
	}
	fs.bd.overlay = overlay
	fs.bd.dropCache()
	fs.Replayed = len(overlay)
	if len(done) > 0 {
		fs.logf("%sjournal: replayed %d transactions (%d blocks) in memory", fs.prefix(), len(done), len(overlay))
	}

	// The superblock and descriptors may have been journalled.
	raw = make([]byte, disk.SuperblockSize)
	if e := fs.bd.readBlocks(l, raw, disk.SuperblockOffset/uint64(fs.bsize), disk.SuperblockOffset%fs.bsize); e != 0 {
		return fail(unix.EIO, "cannot reread the superblock")
	}
	if err := fs.loadSuperblock(raw); err != nil {
		return fail(unix.EIO, "superblock after replay: %v", err)
	}
	if err := fs.loadGroups(l); err != nil {
		return fail(unix.EIO, "after replay: %v", err)
	}
	return nil
}

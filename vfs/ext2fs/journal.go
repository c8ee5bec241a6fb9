package ext2fs

import (
	"fmt"
	"strings"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"github.com/rumpfs/rumpfs/vfs/ext2fs/disk"
	"golang.org/x/sys/unix"
)

// loadJournal runs at Open unless norecovery: it replays the journal when
// the file system needs recovery, and checks an external journal device
// given in Options even when the journal is clean, as Linux does with
// journal_path.
func (fs *FS) loadJournal(l *kernel.LWP) error {
	sb := fs.sb
	dirty := sb.FeatureIncompat&disk.IncompatRecover != 0
	switch {
	case sb.FeatureCompat&disk.CompatHasJournal == 0:
		if dirty {
			fs.logf("%sneeds_recovery set without a journal; ignored", fs.prefix())
		}
		if fs.opts.JournalDev != nil {
			fs.logf("%sjournal_path ignored: the file system has no journal", fs.prefix())
		}
		return nil
	case sb.JournalInum != 0 && fs.opts.JournalDev != nil:
		fs.logf("%sjournal_path ignored: the journal is internal (inode %d)", fs.prefix(), sb.JournalInum)
	}
	if dirty {
		return fs.recover(l)
	}
	if sb.JournalInum == 0 && fs.opts.JournalDev != nil {
		_, err := fs.openJournal(l)
		return err
	}
	return nil
}

// journalLog reads the blocks of a jbd2 journal by journal block number,
// wherever the journal lives: through the journal inode's block map for
// an internal journal, straight from the device for an external one
// (whose journal block n is device block n). Scan and replay read the log
// only through it.
type journalLog struct {
	sb    *disk.JournalSuperblock
	dev   bio.Device // the device holding the journal
	bsize int
	// where maps journal block n to its block on dev.
	where func(n uint32) (uint64, bool)
	// super is the journal block of the jbd2 superblock.
	super uint32
	// blocks is how many journal blocks there are, and what names them
	// in messages.
	blocks uint64
	what   string
	// ext is the external journal device; nil for an internal journal.
	ext bio.Device
}

// read returns journal block n as it is on the device.
func (j *journalLog) read(l *kernel.LWP, n uint32) ([]byte, bool) {
	p, ok := j.where(n)
	if !ok {
		return nil, false
	}
	b := make([]byte, j.bsize)
	return b, pread(l, j.dev, b, int64(p)*int64(j.bsize)) == 0
}

// journalErr logs and returns a journal failure.
func (fs *FS) journalErr(errno unix.Errno, format string, args ...any) error {
	e := &Error{errno, fs.prefix() + "journal: " + sprintf(format, args...)}
	fs.logf("%s", e.Msg)
	return e
}

// openJournal finds the journal (its inode, or the external device of
// Options.JournalDev) and checks its superblock. A clean journal is
// returned with sb.Start == 0 and not checked further.
func (fs *FS) openJournal(l *kernel.LWP) (*journalLog, error) {
	var j *journalLog
	var err error
	if fs.sb.JournalInum != 0 {
		j, err = fs.internalJournal(l)
	} else {
		j, err = fs.externalJournal(l)
	}
	if err != nil {
		return nil, err
	}
	raw, ok := j.read(l, j.super)
	if !ok {
		return nil, fs.journalErr(unix.EIO, "cannot read the journal superblock")
	}
	js, err := disk.ParseJournalSuperblock(raw)
	if err != nil {
		return nil, fs.journalErr(unix.EIO, "%v", err)
	}
	if err := js.Verify(raw); err != nil {
		return nil, fs.journalErr(unix.EIO, "%v", err)
	}
	if int(js.BlockSize) != fs.bsize {
		return nil, fs.journalErr(unix.EIO, "journal block size %d differs from the file system's %d", js.BlockSize, fs.bsize)
	}
	if j.ext != nil {
		if js.First <= j.super {
			return nil, fs.journalErr(unix.EIO, "external journal's log starts at block %d, inside its superblocks", js.First)
		}
		if js.NrUsers > disk.JUsersMax {
			return nil, fs.journalErr(unix.EIO, "external journal: %d users, past the %d slots", js.NrUsers, disk.JUsersMax)
		}
		if js.NrUsers > 0 && !js.HasUser(fs.sb.UUID) {
			users := make([]string, len(js.Users))
			for i, u := range js.Users {
				users[i] = uuidString(u)
			}
			return nil, fs.journalErr(unix.EINVAL, "external journal serves %s, not this file system (%s)",
				strings.Join(users, ", "), uuidString(fs.sb.UUID))
		}
	}
	j.sb = js
	if js.Start == 0 {
		return j, nil // clean
	}
	if bad := js.FeatureIncompat &^ disk.JKnownIncompat; bad != 0 {
		return nil, fs.journalErr(unix.EINVAL, "unsupported journal features %#x", bad)
	}
	if js.FeatureIncompat&disk.JIncompatFastCommit != 0 {
		return nil, fs.journalErr(unix.EINVAL, "journal_fast_commit needs recovery; fast commit replay is not supported")
	}
	if uint64(js.MaxLen) > j.blocks {
		return nil, fs.journalErr(unix.EIO, "journal length %d exceeds %s", js.MaxLen, j.what)
	}
	return j, nil
}

// internalJournal reads the journal through its inode.
func (fs *FS) internalJournal(l *kernel.LWP) (*journalLog, error) {
	ino := fs.sb.JournalInum
	ji, e := fs.Inode(l, ino)
	if e != 0 {
		return nil, fs.journalErr(unix.EIO, "cannot read journal inode %d", ino)
	}
	return &journalLog{
		dev: fs.bd.dev, bsize: fs.bsize,
		where: func(n uint32) (uint64, bool) {
			r, e := ji.Bmap(l, uint64(n))
			if e != 0 || r.Zero {
				return 0, false
			}
			return r.Physical, true
		},
		blocks: ji.Size / uint64(fs.bsize),
		what:   sprintf("its inode (%d bytes)", ji.Size),
	}, nil
}

// externalJournal checks that Options.JournalDev is this file system's
// external journal: an ext2 superblock with the journal_dev feature, the
// UUID the file system names (s_journal_uuid) and the same block size.
// The jbd2 superblock is in the block after the ext2 superblock.
func (fs *FS) externalJournal(l *kernel.LWP) (*journalLog, error) {
	dev := fs.opts.JournalDev
	if dev == nil {
		return nil, fs.journalErr(unix.EINVAL, "the external journal (uuid %s) needs recovery: give its device with -o journal_path=PATH, or mount with -o norecovery to read the image as it is",
			uuidString(fs.sb.JournalUUID))
	}
	bs := fs.bsize
	super := uint32(disk.SuperblockOffset/bs + 1)
	if dev.Size() < int64(super+1)*int64(bs) {
		return nil, fs.journalErr(unix.EINVAL, "journal device of %d bytes is too small for an external journal", dev.Size())
	}
	raw := make([]byte, disk.SuperblockSize)
	if e := pread(l, dev, raw, disk.SuperblockOffset); e != 0 {
		return nil, fs.journalErr(unix.EIO, "cannot read the journal device's superblock: %v", e)
	}
	jsb, err := disk.ParseJournalDevSuperblock(raw)
	if err != nil {
		return nil, fs.journalErr(unix.EINVAL, "journal device is not an external journal: %v", err)
	}
	if err := jsb.Verify(raw); err != nil {
		return nil, fs.journalErr(unix.EIO, "journal device: %v", err)
	}
	if jsb.UUID != fs.sb.JournalUUID {
		return nil, fs.journalErr(unix.EINVAL, "journal device has uuid %s; this file system's journal is %s",
			uuidString(jsb.UUID), uuidString(fs.sb.JournalUUID))
	}
	if jsb.BlockSize() != bs {
		return nil, fs.journalErr(unix.EINVAL, "journal device block size %d differs from the file system's %d", jsb.BlockSize(), bs)
	}
	blocks := min(jsb.BlocksCount, uint64(dev.Size())/uint64(bs))
	return &journalLog{
		dev: dev, bsize: bs,
		where:  func(n uint32) (uint64, bool) { return uint64(n), uint64(n) < blocks },
		super:  super,
		blocks: blocks,
		what:   sprintf("the journal device (%d blocks)", blocks),
		ext:    dev,
	}, nil
}

// recover replays the journal into the buffer cache's remap, the way jbd2
// recovery would write it to the device: scan the log from s_start for
// transactions closed by a valid commit block, collect their revoke
// records, then map every tagged block not revoked by the same or a later
// transaction to its newest copy in the log. The device is never written.
func (fs *FS) recover(l *kernel.LWP) error {
	j, err := fs.openJournal(l)
	if err != nil {
		return err
	}
	js := j.sb
	if js.Start == 0 {
		return nil
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
		b, ok := j.read(l, pos)
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

	fsSize := fs.bd.dev.Size()
	repl := map[uint64]bio.Replacement{}
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
			phys, ok := j.where(tg.log)
			if !ok {
				skipped = append(skipped, sprintf("log block %d unmapped", tg.log))
				continue
			}
			if js.CsumV2or3() {
				// The tag checksum covers the block as logged, escaped.
				data, ok := j.read(l, tg.log)
				if !ok {
					skipped = append(skipped, sprintf("log block %d unreadable", tg.log))
					continue
				}
				if err := js.VerifyTag(tg.tag, t.seq, data); err != nil {
					skipped = append(skipped, err.Error())
					continue
				}
			}
			r := bio.Replacement{Dev: j.ext, Off: int64(phys) * int64(fs.bsize)}
			if tg.tag.Flags&disk.JFlagEscape != 0 {
				r.Fix = unescape
			}
			repl[blk] = r
		}
	}
	if len(skipped) > 0 {
		fs.logf("%sjournal: %d blocks not replayed: %s", fs.prefix(), len(skipped), strings.Join(skipped[:min(len(skipped), 5)], "; "))
	}
	for blk, r := range repl {
		fs.bd.remap.Set(int64(blk), r)
	}
	fs.bd.dropCache(l)
	fs.Replayed = len(repl)
	if len(done) > 0 {
		fs.logf("%sjournal: replayed %d transactions (%d blocks) in memory", fs.prefix(), len(done), len(repl))
	}

	// The superblock and descriptors may have been journalled.
	bs := fs.bsize
	raw := make([]byte, disk.SuperblockSize)
	if e := fs.bd.readBytes(l, raw, disk.SuperblockOffset); e != 0 {
		return fs.journalErr(unix.EIO, "cannot reread the superblock")
	}
	if err := fs.loadSuperblock(raw); err != nil {
		return fs.journalErr(unix.EIO, "superblock after replay: %v", err)
	}
	if fs.bsize != bs {
		return fs.journalErr(unix.EIO, "superblock after replay: block size %d, was %d", fs.bsize, bs)
	}
	if fs.sb.BlocksCount > uint64(fsSize)/uint64(bs) {
		return fs.journalErr(unix.EIO, "superblock after replay: %d blocks exceed the device (%d bytes)", fs.sb.BlocksCount, fsSize)
	}
	if err := fs.loadGroups(l); err != nil {
		return fs.journalErr(unix.EIO, "after replay: %v", err)
	}
	return nil
}

// unescape undoes jbd2's escape of a logged block whose first word was
// the journal's magic number.
func unescape(b []byte) { b[0], b[1], b[2], b[3] = 0xc0, 0x3b, 0x39, 0x98 }

// uuidString formats a UUID the way blkid and dumpe2fs do.
func uuidString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

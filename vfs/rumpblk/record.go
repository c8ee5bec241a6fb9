package rumpblk

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// The write recorder, for crash-consistency tests (dm-log-writes in one
// process): every write that reached the device (offset and bytes), every
// barrier (a Sync that succeeded: what came before it is durable) and the
// marks a test puts between its operations, in order, kept in memory or
// streamed to a log file.
//
// The log file is little-endian: the 8 bytes "RBLKLOG1", then records,
// each a kind byte, its body and the CRC-32 (IEEE) of kind and body:
//
//	'W' offset uint64, length uint32, the bytes    a write
//	'B'                                           a barrier
//	'M' length uint16, the text                   a mark
//	'E' records before it uint64                  the end
//
// The end record is last (Recorder.Close writes it), so that a log cut
// at a record boundary is still found out.
// ReadLog trusts none of it: a bad magic, an unknown kind, a checksum
// that does not match, an absurd length or a record cut short is an error
// naming the record.

const logMagic = "RBLKLOG1"

// maxLogWrite bounds a write record's length, so that a corrupt length
// cannot make ReadLog allocate without end.
const maxLogWrite = 64 << 20

// OpKind is what a log record is.
type OpKind byte

// Log record kinds.
const (
	OpWrite   OpKind = 'W'
	OpBarrier OpKind = 'B'
	OpMark    OpKind = 'M'
	opEnd     OpKind = 'E' // in files only
)

// Op is one log record.
type Op struct {
	Kind  OpKind
	Off   int64  // OpWrite: device offset
	Data  []byte // OpWrite: the bytes written
	Label string // OpMark: the test's text
}

// Recorder records a device's writes and barriers. A Device records into
// one after SetRecorder; Recording wraps any other bio.Device. It is safe
// for concurrent use; the order of the log is the order the calls
// finished in.
type Recorder struct {
	mu    sync.Mutex
	w     *bufio.Writer // nil: in memory
	ops   []Op
	arena []byte // a memory recorder's copies of written bytes
	n     uint64 // records written to the file
	err   error  // the first error writing the log file
}

// NewRecorder records into memory (w nil; Log returns the records) or
// streams to w (Flush before reading it back).
func NewRecorder(w io.Writer) *Recorder {
	r := &Recorder{}
	if w != nil {
		r.w = bufio.NewWriter(w)
		_, r.err = r.w.WriteString(logMagic)
	}
	return r
}

func (r *Recorder) add(op Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil {
		if op.Kind == OpWrite {
			op.Data = r.keep(op.Data)
		}
		r.ops = append(r.ops, op)
		return
	}
	if r.err == nil {
		r.err = writeOp(r.w, op)
		r.n++
	}
}

// arenaSize is the chunk a memory recorder copies written bytes into: one
// allocation for many writes keeps recording cheap.
const arenaSize = 1 << 20

// keep copies p into the arena; r.mu is held.
func (r *Recorder) keep(p []byte) []byte {
	if cap(r.arena)-len(r.arena) < len(p) {
		r.arena = make([]byte, 0, max(arenaSize, len(p)))
	}
	n := len(r.arena)
	r.arena = append(r.arena, p...)
	return r.arena[n:len(r.arena):len(r.arena)]
}

// Write records that p went to the device at off (a copy is kept).
func (r *Recorder) Write(off int64, p []byte) {
	if len(p) > 0 {
		r.add(Op{Kind: OpWrite, Off: off, Data: p})
	}
}

// Barrier records that every write recorded so far is durable.
func (r *Recorder) Barrier() { r.add(Op{Kind: OpBarrier}) }

// Mark records text, the operation a test starts, so that a crash point
// can say what was running.
func (r *Recorder) Mark(text string) {
	if len(text) > 0xffff {
		text = text[:0xffff]
	}
	r.add(Op{Kind: OpMark, Label: text})
}

// Flush writes out what a log file recorder buffered, returning the first
// error the log file gave.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil && r.err == nil {
		r.err = r.w.Flush()
	}
	return r.err
}

// Close ends a log file with its end record and flushes it; the
// recorder records nothing more.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil && r.err == nil {
		_, r.err = r.w.Write(encodeEnd(r.n))
		if r.err == nil {
			r.err = r.w.Flush()
		}
		if r.err == nil {
			r.err = errors.New("recorder closed")
			return nil
		}
	}
	return r.err
}

// Log returns what an in-memory recorder holds so far (nil for one that
// streams to a file: read that back with ReadLog).
func (r *Recorder) Log() *Log {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil {
		return nil
	}
	return &Log{Ops: append([]Op(nil), r.ops...)}
}

func encodeEnd(n uint64) []byte {
	b := binary.LittleEndian.AppendUint64([]byte{byte(opEnd)}, n)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// writeOp writes op's record to w without copying its bytes.
func writeOp(w *bufio.Writer, op Op) error {
	h := []byte{byte(op.Kind)}
	var body []byte
	switch op.Kind {
	case OpWrite:
		h = binary.LittleEndian.AppendUint64(h, uint64(op.Off))
		h = binary.LittleEndian.AppendUint32(h, uint32(len(op.Data)))
		body = op.Data
	case OpMark:
		h = binary.LittleEndian.AppendUint16(h, uint16(len(op.Label)))
		body = []byte(op.Label)
	}
	sum := crc32.Update(crc32.ChecksumIEEE(h), crc32.IEEETable, body)
	w.Write(h)
	w.Write(body)
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, sum))
	return err
}

// WriteTo writes lg in the log file format.
func (lg *Log) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	bw.WriteString(logMagic)
	for _, op := range lg.Ops {
		if err := writeOp(bw, op); err != nil {
			return cw.n, err
		}
	}
	bw.Write(encodeEnd(uint64(len(lg.Ops))))
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ErrBadLog is wrapped by every error ReadLog returns for a log that is
// not well formed.
var ErrBadLog = errors.New("bad write log")

// ReadLog reads a log file written by a Recorder or Log.WriteTo.
func ReadLog(r io.Reader) (*Log, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(logMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != logMagic {
		return nil, fmt.Errorf("%w: no %q header", ErrBadLog, logMagic)
	}
	lg := &Log{}
	for i := 0; ; i++ {
		kind, err := br.ReadByte()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: cut short after %d records (no end record)", ErrBadLog, i)
		}
		bad := func(what string) (*Log, error) {
			return nil, fmt.Errorf("%w: record %d (%q): %s", ErrBadLog, i, rune(kind), what)
		}
		if err != nil {
			return bad(err.Error())
		}
		rec := []byte{kind}
		read := func(n int) []byte {
			if err != nil {
				return nil
			}
			p := make([]byte, n)
			_, err = io.ReadFull(br, p)
			rec = append(rec, p...)
			return p
		}
		op := Op{Kind: OpKind(kind)}
		switch op.Kind {
		case OpWrite:
			h := read(12)
			if err == nil {
				op.Off = int64(binary.LittleEndian.Uint64(h))
				n := binary.LittleEndian.Uint32(h[8:])
				if op.Off < 0 || n == 0 || n > maxLogWrite {
					return bad(fmt.Sprintf("write of %d bytes at %d", n, op.Off))
				}
				op.Data = read(int(n))
			}
		case OpBarrier, opEnd:
			if op.Kind == opEnd {
				h := read(8)
				if err == nil && binary.LittleEndian.Uint64(h) != uint64(i) {
					return bad(fmt.Sprintf("end record counts %d records", binary.LittleEndian.Uint64(h)))
				}
			}
		case OpMark:
			h := read(2)
			if err == nil {
				op.Label = string(read(int(binary.LittleEndian.Uint16(h))))
			}
		default:
			return bad("unknown kind")
		}
		sum := make([]byte, 4)
		if err == nil {
			_, err = io.ReadFull(br, sum)
		}
		if err != nil {
			return bad("cut short")
		}
		if binary.LittleEndian.Uint32(sum) != crc32.ChecksumIEEE(rec) {
			return bad("checksum mismatch")
		}
		if op.Kind == opEnd {
			if _, err := br.ReadByte(); err != io.EOF {
				return bad("bytes after the end record")
			}
			return lg, nil
		}
		lg.Ops = append(lg.Ops, op)
	}
}

// Recording is a bio.Device that records the writes and barriers of the
// device it wraps (a test's device; a Device records through
// SetRecorder). Writes are recorded as far as they went, barriers when
// Sync succeeded.
type Recording struct {
	bio.Device
	Rec *Recorder
}

func (r Recording) WriteAt(l *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	n, e := r.Device.WriteAt(l, p, off)
	r.Rec.Write(off, p[:n])
	return n, e
}

func (r Recording) Sync(l *kernel.LWP) unix.Errno {
	e := r.Device.Sync(l)
	if e == 0 {
		r.Rec.Barrier()
	}
	return e
}

// SetRecorder records every write reaching the host from now on, and
// every barrier (a Sync or closing fsync that succeeded), into r; nil
// stops recording.
func (d *Device) SetRecorder(r *Recorder) { d.rec.Store(r) }

package rumpblk

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/rumpfs/rumpfs/kernel"
	"github.com/rumpfs/rumpfs/vfs/bio"
	"golang.org/x/sys/unix"
)

// Crash-point replay: from the image a recording started on and its log,
// the images a crash could have left. A barrier makes every write before
// it durable; the writes after a barrier and before the next one (an
// epoch) may reach the disk in any order, or not at all, until then. So
// the crash points are the image at every barrier and, when asked, cuts
// into the epochs: every prefix of an epoch's writes (a crash of a disk
// that keeps order) and subsets of them (a cache that lost some), sampled
// when there are more than MaxCuts.

// Log is a recorded sequence of writes, barriers and marks.
type Log struct {
	Ops []Op
}

// Point is one crash image: the first Writes writes of the log applied to
// the starting image in order, except those numbered in Drop (writes are
// numbered from 0 in log order). Image rebuilds it on its own.
type Point struct {
	Writes  int
	Drop    []int
	Barrier int    // barriers before the cut
	Cut     bool   // a cut into an epoch, not a barrier's image
	Mark    string // the last mark before the cut: the operation running
}

func (p Point) String() string {
	s := fmt.Sprintf("barrier %d, writes [0,%d)", p.Barrier, p.Writes)
	if !p.Cut {
		s = fmt.Sprintf("at barrier %d (writes [0,%d))", p.Barrier, p.Writes)
	}
	if len(p.Drop) > 0 {
		s += fmt.Sprintf(" without %v", p.Drop)
	}
	if p.Mark != "" {
		s += fmt.Sprintf(", during %q", p.Mark)
	}
	return s
}

// Writes returns the log's writes in order.
func (lg *Log) Writes() []Op {
	var w []Op
	for _, op := range lg.Ops {
		if op.Kind == OpWrite {
			w = append(w, op)
		}
	}
	return w
}

// Image returns base with p's writes applied (base is not changed). An
// error when a write falls outside base.
func (lg *Log) Image(base []byte, p Point) ([]byte, error) {
	c, err := lg.Open(base, p)
	if err != nil {
		return nil, err
	}
	return c.Bytes(), nil
}

// Open returns p's image as a read-only device laid over base, which it
// shares rather than copies (base must not change while it is used).
func (lg *Log) Open(base []byte, p Point) (*CrashImage, error) {
	c := &CrashImage{base: base, sectors: map[int64][]byte{}}
	n := 0
	for _, op := range lg.Ops {
		if op.Kind != OpWrite {
			continue
		}
		if n >= p.Writes {
			break
		}
		if !slices.Contains(p.Drop, n) {
			if op.Off < 0 || op.Off > int64(len(base))-int64(len(op.Data)) {
				return nil, fmt.Errorf("%w: write %d of %d bytes at %d is past the image's %d bytes", ErrBadLog, n, len(op.Data), op.Off, len(base))
			}
			c.write(op.Off, op.Data)
		}
		n++
	}
	return c, nil
}

// CrashImage is a crash point's image: the starting image with the
// point's writes laid over it a sector at a time, copy-on-write, so that
// a point costs what its writes hold, not the image's size. It is a
// read-only bio.Device.
type CrashImage struct {
	base []byte
	// sectors holds the written sectors: slices of the log's bytes for
	// whole ones, copies for partly written ones; never changed in place.
	sectors map[int64][]byte
}

var _ bio.Device = (*CrashImage)(nil)

const sector = bio.DevBSize

// sectorAt returns sector s as the image holds it now.
func (c *CrashImage) sectorAt(s int64) []byte {
	if b, ok := c.sectors[s]; ok {
		return b
	}
	end := min((s+1)*sector, int64(len(c.base)))
	return c.base[s*sector : end]
}

func (c *CrashImage) write(off int64, p []byte) {
	for len(p) > 0 {
		s, in := off/sector, int(off%sector)
		cur := c.sectorAt(s)
		n := min(len(p), len(cur)-in)
		if in == 0 && n == len(cur) {
			c.sectors[s] = p[:n:n]
		} else {
			b := slices.Clone(cur)
			copy(b[in:], p[:n])
			c.sectors[s] = b
		}
		off += int64(n)
		p = p[n:]
	}
}

// ReadAt reads the image at any offset, cut at its end.
func (c *CrashImage) ReadAt(_ *kernel.LWP, p []byte, off int64) (int, unix.Errno) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	done := 0
	for done < len(p) && off < int64(len(c.base)) {
		s, in := off/sector, int(off%sector)
		n := copy(p[done:], c.sectorAt(s)[in:])
		done += n
		off += int64(n)
	}
	return done, 0
}

func (c *CrashImage) WriteAt(*kernel.LWP, []byte, int64) (int, unix.Errno) { return 0, unix.EROFS }
func (c *CrashImage) Sync(*kernel.LWP) unix.Errno                          { return 0 }
func (c *CrashImage) Size() int64                                          { return int64(len(c.base)) }
func (c *CrashImage) SectorSize() int                                      { return sector }
func (c *CrashImage) ReadOnly() bool                                       { return true }

// Bytes returns a copy of the whole image (for a checker that wants a
// file).
func (c *CrashImage) Bytes() []byte {
	img := slices.Clone(c.base)
	for s, b := range c.sectors {
		copy(img[s*sector:], b)
	}
	return img
}

// ReplayOptions chooses the crash points beyond the barriers'.
type ReplayOptions struct {
	// Tail cuts into the writes after the last barrier (what a crash
	// right now could lose); Epochs into every epoch.
	Tail, Epochs bool
	// MaxCuts bounds the prefixes, and separately the subsets, tried per
	// epoch (64 when 0): more prefixes are spread evenly, subsets are
	// drawn at random from Seed.
	MaxCuts int
	Seed    uint64
	// Workers check points in parallel (GOMAXPROCS when 0); the checker
	// must then be safe for concurrent use.
	Workers int
}

// Points lists the crash points o asks for, in log order: the starting
// image, the image at every barrier, then the epochs' cuts.
func (lg *Log) Points(o ReplayOptions) []Point {
	if o.MaxCuts <= 0 {
		o.MaxCuts = 64
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5851f42d4c957f2d))
	var pts []Point
	mark, barriers, writes, epochStart := "", 0, 0, 0
	// markAt[w] is the mark before write w.
	var markAt []string
	// cuts adds an epoch's cuts; closed: a barrier ends it, whose image
	// is the whole epoch already.
	cuts := func(end int, closed bool) {
		n := end - epochStart
		if n == 0 {
			return
		}
		// Prefixes: epochStart+1 .. end writes.
		for i := 1; i <= n; i++ {
			if n > o.MaxCuts && i%((n+o.MaxCuts-1)/o.MaxCuts) != 0 && i != n {
				continue
			}
			if i == n && closed {
				continue
			}
			pts = append(pts, Point{Writes: epochStart + i, Barrier: barriers, Cut: true, Mark: markAt[epochStart+i-1]})
		}
		// Subsets of the epoch, each dropping at least one write.
		if n < 2 {
			return
		}
		for k := 0; k < o.MaxCuts; k++ {
			var drop []int
			for w := epochStart; w < end; w++ {
				if rng.IntN(2) == 0 {
					drop = append(drop, w)
				}
			}
			if len(drop) == 0 || len(drop) == n {
				continue
			}
			pts = append(pts, Point{Writes: end, Drop: drop, Barrier: barriers, Cut: true, Mark: markAt[end-1]})
		}
	}
	pts = append(pts, Point{})
	for _, op := range lg.Ops {
		switch op.Kind {
		case OpMark:
			mark = op.Label
		case OpWrite:
			markAt = append(markAt, mark)
			writes++
		case OpBarrier:
			if o.Epochs {
				cuts(writes, true)
			}
			barriers++
			epochStart = writes
			pts = append(pts, Point{Writes: writes, Barrier: barriers, Mark: mark})
		}
	}
	if (o.Tail || o.Epochs) && writes > epochStart {
		cuts(writes, false)
	}
	return pts
}

// Failure is the first crash point whose image the checker refused.
type Failure struct {
	Point Point
	Err   error
}

func (f *Failure) Error() string { return fmt.Sprintf("crash %v: %v", f.Point, f.Err) }

// Replay builds the image of every crash point o asks for over base and
// runs check on it (check must not keep img). It returns how
// many points were checked and the first failing one in log order (nil
// when all passed); the error is for a log that does not fit base.
func (lg *Log) Replay(base []byte, o ReplayOptions, check func(p Point, img *CrashImage) error) (int, *Failure, error) {
	if _, err := lg.Open(base, Point{Writes: len(lg.Writes())}); err != nil {
		return 0, nil, err
	}
	pts := lg.Points(o)
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		mu    sync.Mutex
		first = len(pts) // index of the first failure so far
		fail  *Failure
		tried int
		next  int
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				if i >= first {
					mu.Unlock()
					return
				}
				mu.Unlock()
				img, err := lg.Open(base, pts[i])
				if err == nil {
					err = check(pts[i], img)
				}
				mu.Lock()
				tried++
				if err != nil && i < first {
					first, fail = i, &Failure{Point: pts[i], Err: err}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return tried, fail, nil
}

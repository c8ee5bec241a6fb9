package rumpblk

import (
	"math/rand/v2"
	"os"
	"strconv"
	"sync"

	"github.com/rumpfs/rumpfs/vfs/bio"
)

// Fault injection for driver testing. A device fails chosen I/Os with EIO
// before touching the host: a random share of all I/Os (RUMP_BLKFAIL, n
// of every 10000, seeded by RUMP_BLKFAIL_SEED), I/Os touching a block
// range, the Nth read or write from the moment it is armed, or every
// write after a count (a dead disk); the Nth write can also be torn (its
// first bytes land, then EIO).

// blkfailMax is RUMP_BLKFAIL's scale: n of every blkfailMax I/Os fail.
const blkfailMax = 10000

// FaultOps selects which I/O directions a fault applies to.
type FaultOps uint8

// Fault directions.
const (
	FaultRead FaultOps = 1 << iota
	FaultWrite
	FaultAll = FaultRead | FaultWrite
)

type blockRange struct {
	first, end int64 // in bio.DevBSize blocks, device-relative
	ops        FaultOps
}

type faults struct {
	mu       sync.Mutex
	rate     int // per blkfailMax
	rng      *rand.Rand
	ranges   []blockRange
	nthRead  int64 // countdown; the I/O that brings it to zero fails
	nthWrite int64
	// tornKeep: the nth write is torn, keeping this many bytes (-1: no).
	tornKeep int
	// deadAfter counts the writes that still succeed before every later
	// one fails (-1: off).
	deadAfter int64
}

// initFromEnv reads RUMP_BLKFAIL and RUMP_BLKFAIL_SEED, as rumpblk does
// (a seed from the host's random source when none is given).
func (f *faults) initFromEnv() {
	v, ok := os.LookupEnv("RUMP_BLKFAIL")
	if !ok {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return
	}
	seed := rand.Uint64()
	if s, ok := os.LookupEnv("RUMP_BLKFAIL_SEED"); ok {
		if x, err := strconv.ParseUint(s, 10, 64); err == nil {
			seed = x
		}
	}
	f.setRate(n, seed)
}

func (f *faults) setRate(n int, seed uint64) {
	f.rate = min(max(n, 0), blkfailMax)
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// armed reports whether any fault is set up: then every read goes through
// transfer, which injects them (no lending).
func (f *faults) armed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rate > 0 || f.nthRead > 0 || f.nthWrite > 0 || len(f.ranges) > 0 || f.deadAfter >= 0
}

// fail reports whether the I/O of n bytes at device offset off fails,
// and for a torn write how many of its bytes go to the host first.
func (f *faults) fail(write bool, off int64, n int) (failed bool, keep int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if write && f.nthWrite > 0 {
		f.nthWrite--
		if f.nthWrite == 0 {
			failed, keep = true, max(min(f.tornKeep, n), 0)
			f.tornKeep = -1
		}
	}
	if write && f.deadAfter >= 0 {
		if f.deadAfter == 0 {
			failed = true
		} else {
			f.deadAfter--
		}
	}
	if !write && f.nthRead > 0 {
		f.nthRead--
		failed = f.nthRead == 0
	}
	op := FaultRead
	if write {
		op = FaultWrite
	}
	first, end := off/bio.DevBSize, (off+int64(n)+bio.DevBSize-1)/bio.DevBSize
	for _, r := range f.ranges {
		if r.ops&op != 0 && first < r.end && r.first < end {
			failed, keep = true, 0
		}
	}
	if f.rate > 0 && f.rng.IntN(blkfailMax) < f.rate {
		failed, keep = true, 0
	}
	return failed, keep
}

// SetFailRate fails n of every 10000 I/Os at random, from a generator
// seeded with seed (RUMP_BLKFAIL and RUMP_BLKFAIL_SEED do this at
// registration). n 0 turns it off; n 10000 fails everything.
func (d *Device) SetFailRate(n int, seed uint64) {
	d.faults.mu.Lock()
	d.faults.setRate(n, seed)
	d.faults.mu.Unlock()
}

// FailBlocks fails every I/O of the chosen directions that touches blocks
// [first, first+count) (bio.DevBSize units from the start of the device).
func (d *Device) FailBlocks(first, count int64, ops FaultOps) {
	d.faults.mu.Lock()
	d.faults.ranges = append(d.faults.ranges, blockRange{first, first + count, ops})
	d.faults.mu.Unlock()
}

// FailNthWrite fails the nth write from now (1: the next one), once.
func (d *Device) FailNthWrite(n int64) {
	d.faults.mu.Lock()
	d.faults.nthWrite = n
	d.faults.mu.Unlock()
}

// TearNthWrite makes the nth write from now (1: the next one) torn, once:
// its first keep bytes reach the host, the rest does not, and it fails
// with EIO, as a disk losing power mid-request.
func (d *Device) TearNthWrite(n int64, keep int) {
	d.faults.mu.Lock()
	d.faults.nthWrite, d.faults.tornKeep = n, keep
	d.faults.mu.Unlock()
}

// FailAfterWrites lets n more writes through and fails every later one,
// as a disk that died.
func (d *Device) FailAfterWrites(n int64) {
	d.faults.mu.Lock()
	d.faults.deadAfter = max(n, 0)
	d.faults.mu.Unlock()
}

// FailNthRead fails the nth read from now (1: the next one), once.
func (d *Device) FailNthRead(n int64) {
	d.faults.mu.Lock()
	d.faults.nthRead = n
	d.faults.mu.Unlock()
}

// ClearFaults removes every injected fault, the random rate included.
func (d *Device) ClearFaults() {
	d.faults.mu.Lock()
	d.faults.rate, d.faults.rng = 0, nil
	d.faults.ranges = nil
	d.faults.nthRead, d.faults.nthWrite = 0, 0
	d.faults.tornKeep, d.faults.deadAfter = -1, -1
	d.faults.mu.Unlock()
}

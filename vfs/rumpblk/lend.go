package rumpblk

import (
	"math"
	"os"
	"unsafe"

	"github.com/rumpfs/rumpfs/kernel"
	"golang.org/x/sys/unix"
)

// Lending: a read-only device maps its window of the host file and hands
// out slices of the mapping in place of copies, for reads whose uio takes
// loans (kernel.UioSetupLend): the bytes go from the host's page cache to
// the FUSE reply with one copy fewer. The mapping is made on the first
// loan and unmapped when the device closes; a loan stays valid until then.
// Were the host file to shrink under a loan, the host kernel's copy of the
// reply fails (EFAULT, the reader sees EIO): Go code never touches lent
// bytes itself. A borrower hands a loan back with Unlend.

// mapWindow maps the window read-only, once; nil when it cannot be (the
// host refused, or the window is too large for the address space).
func (d *Device) mapWindow() []byte {
	d.mapOnce.Do(func() {
		if d.present <= 0 || uint64(d.present) > math.MaxInt/2 || unsafe.Sizeof(uintptr(0)) < 8 {
			return
		}
		page := int64(os.Getpagesize())
		start := d.begin &^ (page - 1)
		m, err := unix.Mmap(d.fd, start, int(d.begin-start+d.present), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			d.k.Printf("rumpblk: %s: no mapping for loans (%v): reads copy", d.path, err)
			return
		}
		d.mapping = m
		d.window = m[d.begin-start:]
	})
	return d.window
}

// Lend returns the n bytes at window offset off as a slice of the device's
// read-only mapping, or false when it will not lend them: a writable
// device, faults set up to inject, a range not wholly inside the window,
// a closed device or no mapping. The caller then reads them with ReadAt.
// The borrower hands the slice back with Unlend.
func (d *Device) Lend(l *kernel.LWP, off int64, n int) ([]byte, bool) {
	if !d.readOnly || off < 0 || n <= 0 || off > d.present-int64(n) || d.faults.armed() {
		return nil, false
	}
	d.rw.Enter(l, false)
	defer d.rw.Exit(false)
	if d.closed {
		return nil, false
	}
	w := d.mapWindow()
	if w == nil {
		return nil, false
	}
	for _, c := range d.ev {
		c.reqs.Inc()
		c.read.Add(uint64(n))
		c.lent.Add(uint64(n))
	}
	return w[off : off+int64(n) : off+int64(n)], true
}

// Unlend takes back a loan: its pages leave the process's mappings (they
// stay in the host's page cache, and come back on the next access), so
// that serving a large file does not grow the server's resident set by
// the file's size.
func (d *Device) Unlend(p []byte) {
	if len(p) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	first := start &^ (page - 1)
	end := (start + uintptr(len(p)) + page - 1) &^ (page - 1)
	d.rw.Enter(nil, false)
	defer d.rw.Exit(false)
	if d.mapping == nil {
		return // unmapped at close already
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(d.mapping)))
	if first < base || end > base+uintptr(len(d.mapping)) {
		return
	}
	unix.Madvise(d.mapping[first-base:end-base], unix.MADV_DONTNEED)
}

// unmap drops the mapping; the caller holds d.rw exclusively.
func (d *Device) unmap() {
	if d.mapping != nil {
		unix.Munmap(d.mapping)
		d.mapping, d.window = nil, nil
	}
}

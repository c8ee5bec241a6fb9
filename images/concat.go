package images

import (
	"io"
	"sort"

	"golang.org/x/sys/unix"
)

// concat is a virtual disk made of pieces end to end: a split raw set,
// the extents a VMDK descriptor lists.
type concat struct {
	pieces []piece
	starts []int64 // virtual offset of each piece; starts[len] is the size
}

// piece is one part of a concat: size bytes of r from base (r nil: zeros).
type piece struct {
	r      io.ReaderAt
	closer io.Closer
	name   string
	base   int64
	size   int64
}

func (c *concat) add(p piece) {
	if len(c.starts) == 0 {
		c.starts = []int64{0}
	}
	c.pieces = append(c.pieces, p)
	c.starts = append(c.starts, c.starts[len(c.starts)-1]+p.size)
}

func (c *concat) size() int64 {
	if len(c.starts) == 0 {
		return 0
	}
	return c.starts[len(c.starts)-1]
}

func (c *concat) Close() error {
	for _, p := range c.pieces {
		if p.closer != nil {
			p.closer.Close()
		}
	}
	return nil
}

func (c *concat) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		at := off + int64(done)
		i := sort.Search(len(c.pieces), func(i int) bool { return c.starts[i+1] > at })
		if i == len(c.pieces) {
			return done, errnof(unix.EIO, "byte %d is past the last piece of the disk", at)
		}
		pc := c.pieces[i]
		n := int(min(int64(len(p)-done), c.starts[i+1]-at))
		if pc.r == nil {
			clear(p[done : done+n])
		} else if err := readPart(pc.r, pc.name, "data", p[done:done+n], pc.base+at-c.starts[i]); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

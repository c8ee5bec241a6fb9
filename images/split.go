package images

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Split raw: a raw image cut into IMAGE.001, IMAGE.002, ... (as dd | split
// or forensic tools make them). The set has no header; naming IMAGE.001
// when IMAGE.002 exists beside it names the whole set, which ends at the
// first missing number.

const maxSegments = 999

type splitRaw struct {
	files  []*os.File
	starts []int64 // virtual offset of each segment; starts[len] is the size
}

func openSplit(first *os.File, path string, size int64) (vdisk, *Container, error) {
	base := strings.TrimSuffix(path, ".001")
	s := &splitRaw{files: []*os.File{first}, starts: []int64{0, size}}
	c := &Container{Format: "split raw", Path: path, Files: []string{path}}
	for i := 2; i <= maxSegments; i++ {
		name := fmt.Sprintf("%s.%03d", base, i)
		if _, err := os.Stat(name); err != nil {
			break
		}
		f, err := OpenHostFile(name, false)
		if err != nil {
			s.closeRest()
			return nil, nil, err
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			s.closeRest()
			return nil, nil, errnof(unix.EIO, "%s: segment of a split raw image is not a regular file", name)
		}
		s.files = append(s.files, f)
		s.starts = append(s.starts, s.starts[len(s.starts)-1]+st.Size())
		c.Files = append(c.Files, name)
	}
	c.VirtualSize = s.starts[len(s.starts)-1]
	return s, c, nil
}

// closeRest closes the segments after the first, which the caller owns
// until the open succeeds.
func (s *splitRaw) closeRest() {
	for _, f := range s.files[1:] {
		f.Close()
	}
}

func (s *splitRaw) Close() error {
	for _, f := range s.files {
		f.Close()
	}
	return nil
}

func (s *splitRaw) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		at := off + int64(done)
		i := sort.Search(len(s.files), func(i int) bool { return s.starts[i+1] > at })
		if i == len(s.files) {
			return done, errnof(unix.EIO, "split raw: byte %d is past the last segment", at)
		}
		n := int(min(int64(len(p)-done), s.starts[i+1]-at))
		if err := readPart(s.files[i], s.files[i].Name(), "split raw segment data", p[done:done+n], at-s.starts[i]); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

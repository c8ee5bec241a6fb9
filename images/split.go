package images

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Split raw: a raw image cut into IMAGE.001, IMAGE.002, ... (as dd | split
// or forensic tools make them). The set has no header; naming IMAGE.001
// when IMAGE.002 exists beside it names the whole set, which ends at the
// first missing number.

const maxSegments = 999

func openSplit(first *os.File, path string, size int64) (vdisk, *Container, error) {
	base := strings.TrimSuffix(path, ".001")
	s := &concat{}
	s.add(piece{r: first, closer: first, name: path, size: size})
	c := &Container{Format: "split raw", Path: path, Files: []string{path}}
	for i := 2; i <= maxSegments; i++ {
		name := fmt.Sprintf("%s.%03d", base, i)
		if _, err := os.Stat(name); err != nil {
			break
		}
		f, err := OpenHostFile(name, false)
		if err != nil {
			s.pieces[0].closer = nil // the caller's until success
			s.Close()
			return nil, nil, err
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			s.pieces[0].closer = nil
			s.Close()
			return nil, nil, errnof(unix.EIO, "%s: segment of a split raw image is not a regular file", name)
		}
		s.add(piece{r: f, closer: f, name: name, size: st.Size()})
		c.Files = append(c.Files, name)
	}
	c.VirtualSize = s.size()
	return s, c, nil
}

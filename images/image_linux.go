package images

import (
	"os"

	"golang.org/x/sys/unix"
)

// deviceSectorSize asks a Linux block device for its logical sector size
// (BLKSSZGET); 0 if it will not say.
func deviceSectorSize(f *os.File) int {
	n, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
	if err != nil || n < 512 || n > 65536 || n&(n-1) != 0 {
		return 0
	}
	return n
}

//go:build !linux

package images

import "os"

// deviceSectorSize: outside Linux, devices are taken as 512-byte sectored.
func deviceSectorSize(f *os.File) int { return 0 }

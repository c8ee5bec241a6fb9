package images

import "github.com/rumpfs/rumpfs/internal/testimg"

// Table builders for bad-input tests and fuzz seeds, shared with the
// commands' tests (internal/testimg). They write what the format says,
// independently of the parsers (the good-input tests check the parsers
// against sfdisk, sgdisk and mmls instead).

type (
	mbrPart = testimg.MBRPart
	gptPart = testimg.GPTPart
)

var (
	mbrSector   = testimg.MBR
	gptImageN   = testimg.GPT
	linuxFSType = testimg.LinuxFSType
	espType     = testimg.ESPType
)

// gptImage is a GPT image with 128 entries.
func gptImage(sectors uint64, parts ...gptPart) []byte {
	return gptImageN(sectors, 128, parts...)
}

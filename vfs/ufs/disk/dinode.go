package disk

// Address counts in a dinode (UFS_NDADDR, UFS_NIADDR, UFS_NXADDR).
const (
	NDAddr = 12
	NIAddr = 3
	NXAddr = 2
)

// On-disk dinode sizes (DINODE1_SIZE, DINODE2_SIZE).
const (
	Dinode1Size = 128
	Dinode2Size = 256
)

// Longest symlink kept in the inode's block-pointer area
// (UFS1_MAXSYMLINKLEN, UFS2_MAXSYMLINKLEN).
const (
	MaxSymlinkLen1 = (NDAddr + NIAddr) * 4
	MaxSymlinkLen2 = (NDAddr + NIAddr) * 8
)

// DinodeSize is the size of one on-disk inode of UFS1 or UFS2.
func DinodeSize(ufs2 bool) int {
	if ufs2 {
		return Dinode2Size
	}
	return Dinode1Size
}

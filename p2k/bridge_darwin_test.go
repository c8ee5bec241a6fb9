package p2k

import "golang.org/x/sys/unix"

// Rename flags as the host spells them (renamex_np).
const (
	renameExchangeFlag  = unix.RENAME_SWAP
	renameNoReplaceFlag = unix.RENAME_EXCL
)

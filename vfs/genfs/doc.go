// Package genfs is the code file system drivers share (NetBSD's
// sys/miscfs/genfs): what every driver would otherwise write alike, kept
// in one place so that the drivers answer alike and a new driver writes
// only what is its own.
//
// It owns:
//
//   - The block-map read (read.go). A driver describes a file as a File:
//     its device, block size, size, and a Bmap callback that maps a
//     logical block to a Run (a device address and how many blocks follow
//     it contiguously, or Hole). File.ReadAt reads into a buffer, one
//     device read per run, holes as zeros; File.Read serves a read uio,
//     first trying to lend the device's own bytes (bio.LendTo) when the
//     driver allows it (File.Lend: a read-only mount, where no newer copy
//     can sit in a buffer) and the range lies in one run. A run whose
//     bytes on the device are not the file's (ext2fs's journal overlay)
//     names the Device to read it from instead and is never lent; so does
//     data kept outside any block (ext2fs inline data, a Device over the
//     inode's bytes). ReadUio serves a uio from any ReadAt.
//   - The write (write.go): a driver describes a file as a Writer: its
//     device and buffer cache, block (and fragment) size, a pointer to
//     its in-core size, the maximum size, and an Alloc callback that finds
//     or allocates the storage under a file offset as an Extent (a device
//     address, how many bytes follow contiguously, whether it is fresh).
//     Writer.Write serves a write uio extent by extent, one device write
//     each, and drops stale buffers of fresh extents from the cache;
//     Writer.Zero writes zeros the same way, ZeroBytes zeroes a device
//     range. The data reaches the device before Write returns, so the
//     driver's inode update comes after it (see write.go for journaling).
//   - The unaligned read (ReadBytes): devices take sector-aligned
//     requests; the aligned middle goes straight into the caller's
//     buffer, a ragged head or tail through a one-sector bounce buffer.
//   - Extended attribute copy-out (xattr.go): a value or a list of names
//     into a uio, the size alone for a nil uio, ERANGE when it is short.
//   - VOP_READ's answer by vnode type (Readable).
//   - The lookup of "." and ".." (lookup.go): "." is the directory, ".."
//     comes from the driver's Parent callback, any other name from its
//     Search callback, then Mount.Vget.
//
// How a driver uses it, in its vnops.go:
//
//	func (ops) Read(l *kernel.LWP, vp *vfs.Vnode, uio *kernel.Uio, ioflag int) unix.Errno {
//		if e := genfs.Readable(vp); e != 0 {
//			return e
//		}
//		ip := vip(vp)
//		f := genfs.File{Dev: dev, BSize: bsize, Size: ip.size, Bmap: ip.run, Lend: readOnly}
//		return f.Read(l, uio)
//	}
//
// where ip.run turns the driver's block map into a Run (a device byte
// address, or Hole). Write is alike:
//
//	w := genfs.Writer{Dev: dev, Cache: bdev, BSize: bsize, Size: &ip.size,
//		MaxSize: maxSize, Alloc: ip.alloc}
//	e := w.Write(l, uio, ioflag)
//
// then the driver trims what Alloc allocated past the size when Write
// failed, sets the times and writes the inode (also after an error: the
// size covers what reached the device). Getextattr ends in
// CopyOutXattr(value, uio), Listextattr in an XattrNames filled with the
// names the caller may see, and Lookup, after its own checks, in a
// DirLookup's Lookup.
//
// A driver keeps its own checks (directory type, name length, who may
// see an attribute), its own on-disk formats and its corruption reports:
// genfs returns plain errnos (EIO for a device that reads short) and
// logs nothing; a failed device request goes through File.IOError or
// Writer.IOError, where the driver logs it.
//
// genfs imports vfs, vfs/bio and kernel; vfs never imports it, so what
// still lives inside package vfs (the in-memory root, the ACL xattr
// layer) keeps its own copy-out until it moves to a package of its own.
//
// Lock order: genfs holds no locks. Its callers hold the vnode locks the
// VOP they serve lists (the VOP* wrappers in vfs take them); the callbacks
// run under those locks and take the driver's own.
package genfs

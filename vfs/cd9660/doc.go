// Package cd9660 reads ISO 9660 images (CD, DVD and install media):
// the primary and Joliet supplementary volume descriptors, directory
// records (never spanning a sector; multi-extent files), and the Rock
// Ridge extensions over SUSP (PX, PN, NM, SL, TF, with CE continuation
// areas). Names come from Rock Ridge when the image has it, else from
// Joliet, else from the ISO 9660 identifiers with their version (";1")
// dropped and lower-cased, as NetBSD's cd9660 does by default; mount
// options norrip and nojoliet skip a layer. The VFS driver registers the
// type "cd9660" (alias iso9660), always read-only.
//
// Inode numbers are positions in the image, stable across mounts: a
// directory's is the byte address of its extent (where its "." record
// is), any other file's the byte address of its directory record. Files
// Rock Ridge says are hard-linked (PX link count above 1 with a serial
// number) take the serial number with bit 62 set, so that their links
// share one; the mount remembers where each such number was seen.
//
// Owns: the FS value (the chosen tree and the hard-link table, under its
// mutex); a vnode's Data is a *node, immutable but for a directory's name
// index, built on its first lookup under the node's mutex (taken before
// the FS's, held across the directory's reads). Metadata is read
// a sector at a time through vfs/bio (attached at mount, detached at
// unmount); file data goes from the device through genfs.File.
package cd9660

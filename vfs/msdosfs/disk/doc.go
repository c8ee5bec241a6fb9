// Package disk is the FAT on-disk format: the boot sector's BIOS
// parameter block (FAT12, FAT16, FAT32), FAT entries, 32-byte directory
// entries with VFAT long names, and FAT's date and time fields. It is
// pure: no I/O; every parser takes bytes and returns an error on damage,
// never panics.
package disk

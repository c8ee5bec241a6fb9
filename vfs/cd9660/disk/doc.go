// Package disk declares the on-disk structures of ISO 9660 (ECMA-119)
// with its Joliet and Rock Ridge (RRIP over SUSP) extensions, and parses
// them from byte slices: volume descriptors, directory records, system
// use entries. It is pure: no I/O; every parser bounds-checks and
// returns an error on damage, never panics.
package disk

// Package ondisk declares the fields of on-disk structures once, for
// every driver's disk/ package: a Field is an integer's byte offset and
// width, and a structure's layout is a list of them that its decoder and
// its encoder both read, so no offset is written twice. Byte order is a
// parameter: FFS images come in both, ext2 is little-endian. It is pure:
// no I/O, no imports from the module.
package ondisk

import "encoding/binary"

// Field is one integer field of an on-disk structure: its byte offset and
// its width (1, 2, 4 or 8).
type Field struct{ Off, Size int }

// A Field of size 0 is absent (a member one version of a structure
// lacks): Get and Uint read it as 0, Put ignores it.

// Get reads the field from b in byte order bo. Fields of 4 bytes or less
// read as signed (int32 and friends, the C types), wider as int64;
// callers convert to the unsigned type when the field is one.
func (f Field) Get(bo binary.ByteOrder, b []byte) int64 {
	switch f.Size {
	case 0:
		return 0
	case 1:
		return int64(b[f.Off])
	case 2:
		return int64(int16(bo.Uint16(b[f.Off:])))
	case 4:
		return int64(int32(bo.Uint32(b[f.Off:])))
	case 8:
		return int64(bo.Uint64(b[f.Off:]))
	}
	panic("ondisk: field width")
}

// Uint reads the field from b in byte order bo, zero-extended: the C
// unsigned types.
func (f Field) Uint(bo binary.ByteOrder, b []byte) uint64 {
	switch f.Size {
	case 0:
		return 0
	case 1:
		return uint64(b[f.Off])
	case 2:
		return uint64(bo.Uint16(b[f.Off:]))
	case 4:
		return uint64(bo.Uint32(b[f.Off:]))
	case 8:
		return bo.Uint64(b[f.Off:])
	}
	panic("ondisk: field width")
}

// UintLE is Uint in little-endian order without the interface call,
// for a decoder on a hot path (ext2's inode, read on every lookup).
func (f Field) UintLE(b []byte) uint64 {
	switch f.Size {
	case 0:
		return 0
	case 1:
		return uint64(b[f.Off])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b[f.Off:]))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b[f.Off:]))
	case 8:
		return binary.LittleEndian.Uint64(b[f.Off:])
	}
	panic("ondisk: field width")
}

// Put writes v into the field in b, truncated to its width.
func (f Field) Put(bo binary.ByteOrder, b []byte, v int64) {
	switch f.Size {
	case 0:
	case 1:
		b[f.Off] = byte(v)
	case 2:
		bo.PutUint16(b[f.Off:], uint16(v))
	case 4:
		bo.PutUint32(b[f.Off:], uint32(v))
	case 8:
		bo.PutUint64(b[f.Off:], uint64(v))
	default:
		panic("ondisk: field width")
	}
}

// At is the field's n-th neighbour in an array of such fields.
func (f Field) At(n int) Field { return Field{f.Off + n*f.Size, f.Size} }

// End is the offset just past the field.
func (f Field) End() int { return f.Off + f.Size }

// Split is an integer stored in two fields: its low bits in Lo and the
// bits above Lo's width in Hi, the way a format that grew keeps old
// readers working (ext4's _hi halves). A Hi of size 0 is absent: the
// value is Lo's alone and Put stores only Lo.
type Split struct{ Lo, Hi Field }

// Uint reads the value from b in byte order bo, zero-extended.
func (s Split) Uint(bo binary.ByteOrder, b []byte) uint64 {
	return s.Lo.Uint(bo, b) | s.Hi.Uint(bo, b)<<(8*s.Lo.Size)
}

// UintLE is Uint in little-endian order without the interface call.
func (s Split) UintLE(b []byte) uint64 {
	return s.Lo.UintLE(b) | s.Hi.UintLE(b)<<(8*s.Lo.Size)
}

// Put writes v into both halves in b.
func (s Split) Put(bo binary.ByteOrder, b []byte, v uint64) {
	s.Lo.Put(bo, b, int64(v))
	s.Hi.Put(bo, b, int64(v>>(8*s.Lo.Size)))
}

// LoOnly is s without its high half.
func (s Split) LoOnly() Split { return Split{Lo: s.Lo} }

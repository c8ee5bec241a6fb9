package disk

import (
	"fmt"
	"math/bits"
)

// DirHash computes the htree hash and minor hash of name with hash
// version v (the _unsigned variants treat name bytes as unsigned chars)
// and the superblock's s_hash_seed. Siphash (casefolded, encrypted
// directories only) is not supported.
func DirHash(v uint8, seed [4]uint32, name []byte) (hash, minor uint32, err error) {
	buf := [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}
	if seed != [4]uint32{} {
		buf = seed
	}
	switch v {
	case HashLegacy, HashLegacyUnsigned:
		hash = dxHackHash(name, v == HashLegacy)
	case HashHalfMD4, HashHalfMD4Unsigned:
		var in [8]uint32
		for p := name; len(p) > 0; p = p[min(32, len(p)):] {
			strToHashBuf(p, in[:], v == HashHalfMD4)
			halfMD4Transform(&buf, &in)
		}
		hash, minor = buf[1], buf[2]
	case HashTea, HashTeaUnsigned:
		var in [4]uint32
		for p := name; len(p) > 0; p = p[min(16, len(p)):] {
			strToHashBuf(p, in[:], v == HashTea)
			teaTransform(&buf, &in)
		}
		hash, minor = buf[0], buf[1]
	default:
		return 0, 0, fmt.Errorf("directory hash version %d unsupported", v)
	}
	hash &^= 1
	if hash == 0x7fffffff<<1 { // reserved for end of directory
		hash = (0x7fffffff - 1) << 1
	}
	return hash, minor, nil
}

// char reads a name byte as C's char: signed or unsigned.
func char(c byte, signed bool) uint32 {
	if signed {
		return uint32(int32(int8(c)))
	}
	return uint32(c)
}

func dxHackHash(name []byte, signed bool) uint32 {
	h0, h1 := uint32(0x12a3fe2d), uint32(0x37abe8f9)
	for _, c := range name {
		h := h1 + (h0 ^ char(c, signed)*7152373)
		if h&0x80000000 != 0 {
			h -= 0x7fffffff
		}
		h1, h0 = h0, h
	}
	return h0 << 1
}

// strToHashBuf packs up to 4*len(out) bytes of msg into out, big-end
// first within each word, padding with a word made of the length.
func strToHashBuf(msg []byte, out []uint32, signed bool) {
	pad := uint32(len(msg)) | uint32(len(msg))<<8
	pad |= pad << 16
	val := pad
	n := min(len(msg), 4*len(out))
	j := 0
	for i := 0; i < n; i++ {
		val = char(msg[i], signed) + val<<8
		if i%4 == 3 {
			out[j] = val
			j++
			val = pad
		}
	}
	if j < len(out) {
		out[j] = val
		j++
	}
	for ; j < len(out); j++ {
		out[j] = pad
	}
}

func halfMD4Transform(buf *[4]uint32, in *[8]uint32) {
	a, b, c, d := buf[0], buf[1], buf[2], buf[3]
	f := func(x, y, z uint32) uint32 { return z ^ (x & (y ^ z)) }
	g := func(x, y, z uint32) uint32 { return (x & y) + ((x ^ y) & z) }
	h := func(x, y, z uint32) uint32 { return x ^ y ^ z }
	const k2, k3 = 0x5a827999, 0x6ed9eba1
	r := func(fn func(x, y, z uint32) uint32, a *uint32, b, c, d, x uint32, s int) {
		*a = bits.RotateLeft32(*a+fn(b, c, d)+x, s)
	}
	r(f, &a, b, c, d, in[0], 3)
	r(f, &d, a, b, c, in[1], 7)
	r(f, &c, d, a, b, in[2], 11)
	r(f, &b, c, d, a, in[3], 19)
	r(f, &a, b, c, d, in[4], 3)
	r(f, &d, a, b, c, in[5], 7)
	r(f, &c, d, a, b, in[6], 11)
	r(f, &b, c, d, a, in[7], 19)

	r(g, &a, b, c, d, in[1]+k2, 3)
	r(g, &d, a, b, c, in[3]+k2, 5)
	r(g, &c, d, a, b, in[5]+k2, 9)
	r(g, &b, c, d, a, in[7]+k2, 13)
	r(g, &a, b, c, d, in[0]+k2, 3)
	r(g, &d, a, b, c, in[2]+k2, 5)
	r(g, &c, d, a, b, in[4]+k2, 9)
	r(g, &b, c, d, a, in[6]+k2, 13)

	r(h, &a, b, c, d, in[3]+k3, 3)
	r(h, &d, a, b, c, in[7]+k3, 9)
	r(h, &c, d, a, b, in[2]+k3, 11)
	r(h, &b, c, d, a, in[6]+k3, 15)
	r(h, &a, b, c, d, in[1]+k3, 3)
	r(h, &d, a, b, c, in[5]+k3, 9)
	r(h, &c, d, a, b, in[0]+k3, 11)
	r(h, &b, c, d, a, in[4]+k3, 15)

	buf[0] += a
	buf[1] += b
	buf[2] += c
	buf[3] += d
}

func teaTransform(buf *[4]uint32, in *[4]uint32) {
	var sum uint32
	b0, b1 := buf[0], buf[1]
	a, b, c, d := in[0], in[1], in[2], in[3]
	for range 16 {
		sum += 0x9e3779b9
		b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b)
		b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d)
	}
	buf[0] += b0
	buf[1] += b1
}

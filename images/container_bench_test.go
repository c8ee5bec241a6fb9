package images

import (
	"path/filepath"
	"testing"
)

// BenchmarkOpenContainer2TiB opens an empty 2 TiB image of each format and
// reads its layout: the cost is the tables, never the virtual size (a
// qcow2's L1 is 32 KiB here, a VHD's BAT 4 MiB, a VMDK's directory 256 KiB).
func BenchmarkOpenContainer2TiB(b *testing.B) {
	need(b, "qemu-img")
	for _, fmt := range []string{"qcow2", "vmdk", "vpc"} {
		b.Run(fmt, func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "big."+fmt)
			size := "2T"
			if fmt == "vpc" {
				size = "2000G" // VHD's limit is 2040 GiB
			}
			run(b, "", "qemu-img", "create", "-q", "-f", fmt, p, size)
			for b.Loop() {
				im, err := Open(p, false)
				if err != nil {
					b.Fatal(err)
				}
				im.Layout()
				im.Close()
			}
		})
	}
}

// BenchmarkReadContainer reads a 64 MiB virtual disk of base64 text (so
// that zlib has something to do)
// sequentially in 64 KiB pieces: raw, through qcow2, through zlib qcow2
// and through VMDK, for comparison with each other in one run.
func BenchmarkReadContainer(b *testing.B) {
	need(b, "qemu-img")
	dir := b.TempDir()
	raw := filepath.Join(dir, "src.raw")
	run(b, "", "sh", "-c", "head -c 48M /dev/urandom | base64 -w 0 | head -c 64M > "+raw)
	for _, tc := range []struct {
		name, fmt string
		args      []string
	}{
		{"raw", "raw", nil},
		{"qcow2", "qcow2", nil},
		{"qcow2-zlib", "qcow2", []string{"-c"}},
		{"vmdk", "vmdk", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := raw
			if tc.fmt != "raw" {
				p = filepath.Join(dir, tc.name)
				run(b, "", "qemu-img", append(append([]string{"convert", "-O", tc.fmt}, tc.args...), raw, p)...)
			}
			im, err := Open(p, false)
			if err != nil {
				b.Fatal(err)
			}
			defer im.Close()
			buf := make([]byte, 64<<10)
			b.SetBytes(im.Size())
			for b.Loop() {
				for off := int64(0); off < im.Size(); off += int64(len(buf)) {
					if _, err := im.ReadAt(buf, off); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Fuzz targets for the container parsers: any file is a refused open, or
// an image whose reads return data or an error, without a panic, a hang
// or an allocation in proportion to a number in the file. Seeds are the
// hand-made tiny image and, where qemu-img is installed, small images it
// made.

// fuzzContainer opens data as an image file and reads its virtual disk
// at a few places (a virtual disk can be terabytes, so not all of it).
func fuzzContainer(t *testing.T, dir, name string, data []byte) {
	fuzzContainerMax(t, dir, name, data, fuzzMax)
}

func fuzzContainerMax(t *testing.T, dir, name string, data []byte, max int) {
	if len(data) > max {
		t.Skip()
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	img, err := Open(p, false)
	if err != nil {
		return
	}
	defer img.Close()
	buf := make([]byte, 64<<10)
	for _, off := range []int64{0, 512, 65536 - 100, img.Size() / 2, img.Size() - 1000} {
		if off >= 0 {
			img.ReadAt(buf, off)
		}
	}
	img.Layout()
}

// qemuSeeds adds images qemu-img makes from a small raw file with data in
// a few places (or, for "create" arguments, an empty 1 MiB image), when
// qemu-img is there.
func qemuSeeds(f *testing.F, outs ...[]string) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		return
	}
	dir := f.TempDir()
	raw := filepath.Join(dir, "raw")
	b := make([]byte, 192<<10)
	for i := range 4096 {
		b[i] = byte(i)
		b[100<<10+i] = 'x'
	}
	os.WriteFile(raw, b, 0o644)
	for i, args := range outs {
		out := filepath.Join(dir, "out"+itoa(int64(i)))
		if args[0] == "create" {
			run(f, "", "qemu-img", append(args, out, "1M")...)
		} else {
			run(f, "", "qemu-img", append(append([]string{"convert", "-f", "raw"}, args...), raw, out)...)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzQcow2(f *testing.F) {
	f.Add(tinyQcow2())
	qemuSeeds(f,
		[]string{"-O", "qcow2", "-o", "cluster_size=4096"},
		[]string{"-O", "qcow2", "-c", "-o", "cluster_size=4096,compat=0.10"})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, dir, "f.qcow2", data) })
}

func FuzzVHD(f *testing.F) {
	// A dynamic VHD's blocks are 2 MiB: the seed has none written.
	qemuSeeds(f, []string{"create", "-q", "-f", "vpc"})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, dir, "f.vhd", data) })
}

func FuzzVMDK(f *testing.F) {
	qemuSeeds(f,
		[]string{"-O", "vmdk"},
		[]string{"-O", "vmdk", "-o", "subformat=streamOptimized"})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, dir, "f.vmdk", data) })
}

// FuzzVMDKDescriptor: descriptors name extent files; the fuzzer's
// directory holds a small flat one they can point at.
func FuzzVMDKDescriptor(f *testing.F) {
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "e-flat.vmdk"), make([]byte, 8192), 0o644)
	f.Add([]byte(vmdkDescMagic + "\nCID=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 16 FLAT \"e-flat.vmdk\" 0\nRW 8 ZERO\n"))
	f.Add([]byte(vmdkDescMagic + "\nRW 8 SPARSE \"e-flat.vmdk\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, dir, "f.vmdk", data) })
}

// FuzzVHDX takes larger inputs: the smallest image qemu-img makes is
// 8 MiB (its structures sit at fixed offsets up to 1 MiB and beyond).
func FuzzVHDX(f *testing.F) {
	qemuSeeds(f, []string{"create", "-q", "-f", "vhdx"})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainerMax(t, dir, "f.vhdx", data, 16<<20) })
}

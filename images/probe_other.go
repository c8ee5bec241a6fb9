package images

import (
	"encoding/binary"
	"fmt"
)

// File systems and containers named so that the user hears "XFS (no
// driver)" rather than "unknown". Each reads one or two small pieces.

func probeLUKS(w *window) *FS {
	b := w.read(0, 512)
	if b == nil || string(b[:6]) != "LUKS\xba\xbe" {
		return nil
	}
	v := binary.BigEndian.Uint16(b[6:])
	f := &FS{Type: "luks", Variant: fmt.Sprintf("LUKS%d encrypted volume", v), Size: -1, Used: -1, Free: -1,
		UUID: cstring(b[168:208])}
	if v == 2 {
		f.Label = cstring(b[24:72])
	}
	return f
}

func probeXFS(w *window) *FS {
	b := w.read(0, 512)
	if b == nil || string(b[:4]) != "XFSB" {
		return nil
	}
	be := binary.BigEndian
	bs := int64(be.Uint32(b[4:]))
	f := &FS{Type: "xfs", Variant: "XFS", BlockSize: int(bs), UUID: uuidString(b[32:48]), Label: cstring(b[108:120]),
		Size: -1, Used: -1, Free: -1}
	if isPow2(bs) && bs <= 65536 {
		f.Size = int64(be.Uint64(b[8:])) * bs
		f.Free = int64(be.Uint64(b[144:])) * bs
		f.Used = f.Size - f.Free
		if f.Used < 0 {
			f.Used, f.Free = -1, -1
		}
	}
	return f
}

func probeBtrfs(w *window) *FS {
	b := w.read(65536, 4096)
	if b == nil || string(b[64:72]) != "_BHRfS_M" {
		return nil
	}
	le := binary.LittleEndian
	f := &FS{Type: "btrfs", Variant: "Btrfs", Offset: 65536, UUID: uuidString(b[32:48]), Label: cstring(b[299:555]),
		BlockSize: int(le.Uint32(b[144:])), Size: int64(le.Uint64(b[112:])), Used: int64(le.Uint64(b[120:]))}
	f.Free = f.Size - f.Used
	if f.Size < 0 || f.Free < 0 {
		f.Size, f.Used, f.Free = -1, -1, -1
	}
	return f
}

// probeSwap: Linux swap ends its first page with SWAPSPACE2 (or the old
// SWAP-SPACE); the page size is that of the machine that made it.
func probeSwap(w *window) *FS {
	for _, page := range []int64{4096, 8192, 16384, 65536} {
		sig := w.read(page-10, 10)
		if sig == nil || (string(sig) != "SWAPSPACE2" && string(sig) != "SWAP-SPACE") {
			continue
		}
		f := &FS{Type: "swap", Variant: "Linux swap", BlockSize: int(page), Size: -1, Used: -1, Free: -1}
		if h := w.read(1024, 44); h != nil && string(sig) == "SWAPSPACE2" {
			f.Size = (int64(binary.LittleEndian.Uint32(h[4:])) + 1) * page
			f.UUID = uuidString(h[12:28])
			f.Label = cstring(h[28:44])
		}
		return f
	}
	return nil
}

// probeOthers: signatures worth a name and nothing more.
func probeOthers(w *window) *FS {
	named := func(typ, variant string) *FS {
		return &FS{Type: typ, Variant: variant, Size: -1, Used: -1, Free: -1}
	}
	if b := w.read(0, 64); b != nil {
		switch {
		case string(b[:4]) == "hsqs":
			return named("squashfs", "SquashFS")
		case string(b[32:36]) == "NXSB":
			return named("apfs", "APFS container")
		}
	}
	if b := w.read(512, 32); b != nil && string(b[:8]) == "LABELONE" && string(b[24:32]) == "LVM2 001" {
		return named("lvm2", "LVM2 physical volume")
	}
	if b := w.read(1024, 4); b != nil {
		switch {
		case string(b[:2]) == "H+" || string(b[:2]) == "HX":
			return named("hfs+", "HFS+")
		case string(b[:2]) == "BD":
			return named("hfs", "HFS")
		case binary.LittleEndian.Uint32(b) == 0xf2f52010:
			return named("f2fs", "F2FS")
		}
	}
	if b := w.read(65536+52, 10); b != nil && string(b[:6]) == "ReIsEr" {
		return named("reiserfs", "ReiserFS")
	}
	if b := w.read(4096, 4); b != nil && binary.LittleEndian.Uint32(b) == 0xa92b4efc {
		return named("linux_raid_member", "Linux md RAID member")
	}
	// UDF without ISO 9660.
	for i := int64(16); i < 20; i++ {
		if b := w.read(i*2048, 6); b != nil && (string(b[1:6]) == "NSR02" || string(b[1:6]) == "NSR03") {
			return named("udf", "UDF")
		}
	}
	return nil
}

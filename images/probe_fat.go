package images

import (
	"encoding/binary"
	"fmt"
)

// FAT: the BIOS parameter block in sector 0 (bytes per sector at 11,
// sectors per cluster 13, reserved sectors 14, FAT count 16, root entries
// 17, 16-bit total 19, media 21, 16-bit FAT size 22, 32-bit total 32;
// FAT32: 32-bit FAT size 36, FSInfo sector 48, extended boot record at 64,
// else at 36). The cluster count alone decides FAT12/16/32. The FAT32
// FSInfo sector keeps a free cluster count; FAT[1] keeps a clean-shutdown
// bit (FAT16 bit 15, FAT32 bit 27).

type bpb struct {
	bytesPerSector, sectorsPerCluster int64
	reserved, fats, rootEntries       int64
	totalSectors, fatSectors          int64
	clusters                          int64
	fatBits                           int
	ebr                               int // offset of the extended boot record
	fsInfoSector                      int64
}

// parseBPB decodes and sanity-checks a FAT boot sector.
func parseBPB(b []byte) (*bpb, bool) {
	if len(b) < 512 || !(b[0] == 0xeb && b[2] == 0x90 || b[0] == 0xe9) {
		return nil, false
	}
	le := binary.LittleEndian
	p := &bpb{bytesPerSector: int64(le.Uint16(b[11:])), sectorsPerCluster: int64(b[13]),
		reserved: int64(le.Uint16(b[14:])), fats: int64(b[16]), rootEntries: int64(le.Uint16(b[17:])),
		totalSectors: int64(le.Uint16(b[19:])), fatSectors: int64(le.Uint16(b[22:]))}
	if p.totalSectors == 0 {
		p.totalSectors = int64(le.Uint32(b[32:]))
	}
	fat32 := p.fatSectors == 0
	if fat32 {
		p.fatSectors = int64(le.Uint32(b[36:]))
		p.fsInfoSector = int64(le.Uint16(b[48:]))
	}
	media := b[21]
	if p.bytesPerSector < 512 || p.bytesPerSector > 4096 || !isPow2(p.bytesPerSector) ||
		!isPow2(p.sectorsPerCluster) || p.sectorsPerCluster > 128 || p.reserved == 0 ||
		p.fats == 0 || p.fats > 4 || (media != 0xf0 && media < 0xf8) || p.fatSectors == 0 || p.totalSectors == 0 {
		return nil, false
	}
	rootSectors := (p.rootEntries*32 + p.bytesPerSector - 1) / p.bytesPerSector
	data := p.totalSectors - p.reserved - p.fats*p.fatSectors - rootSectors
	if data <= 0 {
		return nil, false
	}
	p.clusters = data / p.sectorsPerCluster
	switch {
	case p.clusters < 4085:
		p.fatBits = 12
	case p.clusters < 65525:
		p.fatBits = 16
	default:
		p.fatBits = 32
	}
	if (p.fatBits == 32) != fat32 || (fat32 && p.rootEntries != 0) {
		return nil, false
	}
	p.ebr = 36
	if fat32 {
		p.ebr = 64
	}
	return p, true
}

func probeFAT(w *window) *FS {
	b := w.read(0, 512)
	if b == nil {
		return nil
	}
	p, ok := parseBPB(b)
	if !ok {
		return nil
	}
	le := binary.LittleEndian
	cluster := p.bytesPerSector * p.sectorsPerCluster
	f := &FS{Type: "msdos", Variant: fmt.Sprintf("FAT%d", p.fatBits), BlockSize: int(cluster),
		Size: p.clusters * cluster, Used: -1, Free: -1}
	if sig := b[p.ebr+2]; sig == 0x29 || sig == 0x28 {
		id := le.Uint32(b[p.ebr+3:])
		f.UUID = fmt.Sprintf("%04X-%04X", id>>16, id&0xffff)
	}
	if b[p.ebr+2] == 0x29 {
		if l := cstring(b[p.ebr+7 : p.ebr+18]); l != "NO NAME" {
			f.Label = l
		}
	}
	f.Span = p.totalSectors * p.bytesPerSector // Probe notes a window shorter than this
	if p.fatBits == 32 && p.fsInfoSector != 0 && p.fsInfoSector != 0xffff {
		fi := w.read(p.fsInfoSector*p.bytesPerSector, 512)
		if fi != nil && le.Uint32(fi[0:]) == 0x41615252 && le.Uint32(fi[484:]) == 0x61417272 {
			if free := int64(le.Uint32(fi[488:])); free <= p.clusters {
				f.Free = free * cluster
				f.Used = f.Size - f.Free
			}
		}
		if f.Free < 0 {
			f.Notes = append(f.Notes, "FSInfo keeps no free count; counting needs a FAT scan")
		}
	}
	// The clean-shutdown bit in FAT[1], and the dirty bit Windows NT keeps
	// in the boot sector.
	dirtyBoot := b[p.ebr+1]&0x01 != 0
	switch p.fatBits {
	case 16, 32:
		fat := w.read(p.reserved*p.bytesPerSector, 8)
		if fat == nil {
			break
		}
		clean := le.Uint16(fat[2:])&0x8000 != 0
		if p.fatBits == 32 {
			clean = le.Uint32(fat[4:])&0x08000000 != 0
		}
		if clean && !dirtyBoot {
			f.State = "clean"
		} else {
			f.State = "dirty"
		}
	default:
		if dirtyBoot {
			f.State = "dirty"
		}
	}
	return f
}

// NTFS and exFAT: named, no driver.

func probeNTFS(w *window) *FS {
	b := w.read(0, 512)
	if b == nil || string(b[3:11]) != "NTFS    " || b[510] != 0x55 || b[511] != 0xaa {
		return nil
	}
	le := binary.LittleEndian
	bps := int64(le.Uint16(b[11:]))
	spc := int64(b[13])
	f := &FS{Type: "ntfs", Variant: "NTFS", Used: -1, Free: -1,
		UUID: fmt.Sprintf("%016X", le.Uint64(b[0x48:]))}
	if isPow2(bps) && isPow2(spc) {
		f.BlockSize = int(bps * spc)
		f.Size = int64(le.Uint64(b[0x28:])) * bps
	}
	f.Notes = append(f.Notes, "the label lives in the MFT; not read")
	return f
}

func probeExFAT(w *window) *FS {
	b := w.read(0, 512)
	if b == nil || string(b[3:11]) != "EXFAT   " {
		return nil
	}
	le := binary.LittleEndian
	bpsShift, spcShift := b[108], b[109]
	f := &FS{Type: "exfat", Variant: "exFAT", Used: -1, Free: -1}
	id := le.Uint32(b[100:])
	f.UUID = fmt.Sprintf("%04X-%04X", id>>16, id&0xffff)
	if bpsShift >= 9 && bpsShift <= 12 && int(bpsShift)+int(spcShift) <= 25 {
		f.BlockSize = 1 << (bpsShift + spcShift)
		f.Size = int64(le.Uint32(b[92:])) * int64(f.BlockSize) // ClusterCount
		if pct := b[112]; pct <= 100 {
			f.Notes = append(f.Notes, fmt.Sprintf("%d%% in use", pct))
		}
	}
	if le.Uint16(b[106:])&0x2 != 0 {
		f.State = "dirty"
	} else {
		f.State = "clean"
	}
	return f
}

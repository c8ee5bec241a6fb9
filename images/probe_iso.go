package images

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// ISO 9660: 2048-byte volume descriptors from sector 16 (type, "CD001",
// version), ending with type 255. The primary (type 1) holds the volume id
// at 40, the volume space size at 80 (both-endian), the logical block size
// at 128, the root directory record at 156 and dates at 813 (creation)
// and 830 (modification). A supplementary descriptor (type 2) with escape
// sequence %/@, %/C or %/E at 88 is Joliet. Rock Ridge announces itself
// through System Use entries (SP, ER, PX, RR) in the root's "." record.

const (
	isoSector     = 2048
	isoMaxVolDesc = 32 // descriptors read before giving up on a terminator
)

func probeISO(w *window) *FS {
	var pvd []byte
	var joliet, elTorito, udf bool
	for i := int64(0); i < isoMaxVolDesc; i++ {
		d := w.read((16+i)*isoSector, isoSector)
		if d == nil {
			break
		}
		id := string(d[1:6])
		if id == "BEA01" || id == "NSR02" || id == "NSR03" {
			udf = udf || id != "BEA01"
			continue
		}
		if id != "CD001" {
			break
		}
		switch d[0] {
		case 0:
			elTorito = elTorito || strings.HasPrefix(string(d[7:39]), "EL TORITO SPECIFICATION")
		case 1:
			if pvd == nil {
				pvd = d
			}
		case 2: // UDF bridge descriptors may follow the terminator (255)
			esc := string(d[88:91])
			joliet = joliet || esc == "%/@" || esc == "%/C" || esc == "%/E"
		}
	}
	if pvd == nil {
		return nil
	}
	le := binary.LittleEndian
	blocks := int64(le.Uint32(pvd[80:]))
	bs := int64(le.Uint16(pvd[128:]))
	if !isPow2(bs) || bs < 512 || bs > isoSector {
		return nil
	}
	f := &FS{Type: "cd9660", Variant: "ISO 9660", BlockSize: int(bs), Offset: 16 * isoSector,
		Label: cstring(pvd[40:72]), Size: blocks * bs, Used: blocks * bs, Free: 0, State: "clean"}
	if c := pvd[813:830]; c[0] >= '1' && c[0] <= '9' {
		// blkid's UUID for ISO 9660 is the creation date.
		f.UUID = fmt.Sprintf("%s-%s-%s-%s-%s-%s-%s", c[0:4], c[4:6], c[6:8], c[8:10], c[10:12], c[12:14], c[14:16])
	}
	f.LastWrite = isoDate(pvd[830:847])
	if rockRidge(w, pvd, bs) {
		f.Features = append(f.Features, "Rock Ridge")
	}
	if joliet {
		f.Features = append(f.Features, "Joliet")
	}
	if elTorito {
		f.Features = append(f.Features, "El Torito boot")
	}
	if udf {
		f.Features = append(f.Features, "UDF bridge")
	}
	f.Variant = strings.Join(append([]string{f.Variant}, f.Features...), " + ")
	return f
}

// rockRidge looks for SUSP/RRIP entries in the root directory's "." record.
func rockRidge(w *window, pvd []byte, bs int64) bool {
	root := pvd[156:190]
	extent := int64(binary.LittleEndian.Uint32(root[2:]))
	rec := w.read(extent*bs, 256)
	if rec == nil || rec[0] < 34 {
		return false
	}
	n := int(rec[0])
	su := 33 + int(rec[32])
	if rec[32]%2 == 0 {
		su++
	}
	for su+4 <= n {
		sig, l := string(rec[su:su+2]), int(rec[su+2])
		switch sig {
		case "SP", "ER", "PX", "RR", "NM":
			return true
		}
		if l < 4 {
			return false
		}
		su += l
	}
	return false
}

// isoDate decodes a 17-byte volume descriptor date ("YYYYMMDDHHMMSScc" and
// a GMT offset in 15-minute units).
func isoDate(d []byte) *time.Time {
	var y, mo, da, h, mi, s int
	if _, err := fmt.Sscanf(string(d[:14]), "%4d%2d%2d%2d%2d%2d", &y, &mo, &da, &h, &mi, &s); err != nil || y == 0 {
		return nil
	}
	t := time.Date(y, time.Month(mo), da, h, mi, s, 0, time.FixedZone("", int(int8(d[16]))*15*60)).UTC()
	return &t
}

package disk

import (
	"fmt"
	"strings"
	"time"
)

// SUSP (System Use Sharing Protocol) entries: a two-letter signature, a
// length, a version, data. Rock Ridge (RRIP) entries ride on them.

// Continuation is a CE entry: more entries at Len bytes from Offset in
// logical block Block.
type Continuation struct {
	Block, Offset, Len uint32
}

// RockRidge accumulates what RRIP entries say about one file. NM and SL
// may continue over several entries (and continuation areas); Done
// tells that the last NM and SL were complete.
type RockRidge struct {
	SP         bool // an SP entry (only in a root's "." record)
	SPSkip     int  // bytes to skip at the start of every system use area
	RR         bool // any Rock Ridge entry seen
	HasPX      bool
	Mode       uint32
	Nlink      uint32
	Uid        uint32
	Gid        uint32
	Ino        uint64 // PX serial number (RRIP 1.12), 0 when absent
	HasPN      bool
	DevHigh    uint32
	DevLow     uint32
	HasNM      bool
	Name       string
	HasSL      bool
	Link       string
	Mtime      time.Time
	Atime      time.Time
	Ctime      time.Time
	Relocated  bool   // RE: a relocated directory, hidden where it sits
	HasCL      bool   // CL: this entry stands for a directory relocated to ChildLink
	ChildLink  uint32 // CL's block
	HasPL      bool   // PL: in a relocated directory's "..", the real parent
	ParentLink uint32 // PL's block
	nmMore     bool
	slMore     bool // the last SL component continues
	slComp     bool // a component is open (the next continues it)
}

// SUSPLimit bounds continuation areas followed for one record: a loop
// in a damaged image ends there.
const SUSPLimit = 16

// ParseSUSP decodes the entries of one system use area (after the SP
// skip) into rr and returns the continuation area it names, if any.
// Unknown entries are skipped; an entry that runs past the area, or a
// length below 4, is an error. A padding byte or ST ends the area.
func ParseSUSP(area []byte, rr *RockRidge) (*Continuation, error) {
	var ce *Continuation
	for len(area) >= 4 {
		sig := string(area[:2])
		n := int(area[2])
		if area[0] == 0 {
			break // padding
		}
		if n < 4 || n > len(area) {
			return nil, fmt.Errorf("SUSP entry %q of length %d (room for %d)", sig, n, len(area))
		}
		d := area[4:n]
		short := func(want int) error {
			if len(d) < want {
				return fmt.Errorf("SUSP entry %q of %d bytes, want %d", sig, n, want+4)
			}
			return nil
		}
		switch sig {
		case "ST":
			return ce, nil
		case "SP":
			if err := short(3); err != nil {
				return nil, err
			}
			if d[0] != 0xbe || d[1] != 0xef {
				return nil, fmt.Errorf("SP entry with check bytes %#x %#x", d[0], d[1])
			}
			rr.SP = true
			rr.SPSkip = int(d[2])
		case "CE":
			if err := short(24); err != nil {
				return nil, err
			}
			ce = &Continuation{Block: le.Uint32(d[0:]), Offset: le.Uint32(d[8:]), Len: le.Uint32(d[16:])}
		case "PX":
			if err := short(32); err != nil {
				return nil, err
			}
			rr.RR, rr.HasPX = true, true
			rr.Mode = le.Uint32(d[0:])
			rr.Nlink = le.Uint32(d[8:])
			rr.Uid = le.Uint32(d[16:])
			rr.Gid = le.Uint32(d[24:])
			if len(d) >= 40 {
				rr.Ino = uint64(le.Uint32(d[32:]))
			}
		case "PN":
			if err := short(16); err != nil {
				return nil, err
			}
			rr.RR, rr.HasPN = true, true
			rr.DevHigh, rr.DevLow = le.Uint32(d[0:]), le.Uint32(d[8:])
		case "NM":
			if err := short(1); err != nil {
				return nil, err
			}
			rr.RR = true
			flags := d[0]
			if !rr.HasNM || !rr.nmMore {
				rr.Name = ""
			}
			rr.HasNM = true
			switch {
			case flags&2 != 0:
				rr.Name = "."
			case flags&4 != 0:
				rr.Name = ".."
			default:
				rr.Name += string(d[1:])
			}
			rr.nmMore = flags&1 != 0
		case "SL":
			if err := short(1); err != nil {
				return nil, err
			}
			rr.RR = true
			if err := rr.addSL(d); err != nil {
				return nil, err
			}
		case "TF":
			if err := short(1); err != nil {
				return nil, err
			}
			rr.RR = true
			rr.addTF(d)
		case "PL":
			if err := short(8); err != nil {
				return nil, err
			}
			rr.RR, rr.HasPL = true, true
			rr.ParentLink = le.Uint32(d[0:])
		case "RE":
			rr.RR, rr.Relocated = true, true
		case "CL":
			if err := short(8); err != nil {
				return nil, err
			}
			rr.RR, rr.HasCL = true, true
			rr.ChildLink = le.Uint32(d[0:])
		}
		area = area[n:]
	}
	return ce, nil
}

// addSL appends an SL entry's components to the link target: component
// flags 2 ".", 4 "..", 8 the root; flag 1 continues the component in
// the next one.
func (rr *RockRidge) addSL(d []byte) error {
	if !rr.HasSL || !rr.slMore {
		rr.Link, rr.slComp = "", false
	}
	rr.HasSL = true
	rr.slMore = d[0]&1 != 0
	c := d[1:]
	for len(c) > 0 {
		if len(c) < 2 || 2+int(c[1]) > len(c) {
			return fmt.Errorf("SL component runs past its entry")
		}
		flags, body := c[0], string(c[2:2+int(c[1])])
		var part string
		switch {
		case flags&2 != 0:
			part = "."
		case flags&4 != 0:
			part = ".."
		case flags&8 != 0:
			part = "/"
		default:
			part = body
		}
		switch {
		case rr.slComp:
			rr.Link += part // continues the open component
		case rr.Link == "":
			rr.Link = part
		case strings.HasSuffix(rr.Link, "/"):
			rr.Link += part
		default:
			rr.Link += "/" + part
		}
		rr.slComp = flags&1 != 0
		c = c[2+int(c[1]):]
	}
	return nil
}

// addTF records the times of a TF entry: flag bits say which are there
// (creation, modify, access, attributes, ...), bit 7 the long form.
func (rr *RockRidge) addTF(d []byte) {
	flags := d[0]
	size := 7
	if flags&0x80 != 0 {
		size = 17
	}
	p := d[1:]
	for bit := range 7 {
		if flags&(1<<bit) == 0 {
			continue
		}
		if len(p) < size {
			return
		}
		var t time.Time
		if size == 17 {
			t = LongTime(p[:17])
		} else {
			t = ShortTime(p[:7])
		}
		switch bit {
		case 1:
			rr.Mtime = t
		case 2:
			rr.Atime = t
		case 3:
			rr.Ctime = t
		}
		p = p[size:]
	}
}

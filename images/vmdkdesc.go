package images

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"golang.org/x/sys/unix"
)

// A VMDK text descriptor (monolithicFlat, twoGbMaxExtentSparse/Flat,
// vmfs) lists extents, each a number of sectors of a flat file (from an
// offset), of a hosted sparse extent (KDMV), or of zeros; the disk is
// them end to end. Extent files are named relative to the descriptor.

const (
	vmdkDescMagic  = "# Disk DescriptorFile"
	vmdkMaxExtents = 2048
)

var vmdkExtent = regexp.MustCompile(`(?m)^[ \t]*(RW|RDONLY|NOACCESS)[ \t]+([0-9]+)[ \t]+([A-Z]+)(?:[ \t]+"([^"]*)"(?:[ \t]+([0-9]+))?)?`)

func openVMDKDescriptor(f *os.File, path string, fsize int64) (vdisk, *Container, error) {
	bad := func(format string, args ...any) (vdisk, *Container, error) {
		return nil, nil, errnof(unix.EIO, "%s: vmdk descriptor: "+format, append([]any{path}, args...)...)
	}
	desc := make([]byte, min(fsize, vmdkMaxDesc))
	if err := readPart(f, path, "vmdk descriptor", desc, 0); err != nil {
		return nil, nil, err
	}
	if i := bytes.IndexByte(desc, 0); i >= 0 {
		desc = desc[:i]
	}
	if m := vmdkParentCID.FindSubmatch(desc); m != nil && !bytes.EqualFold(m[1], []byte("ffffffff")) {
		return nil, nil, errnof(unix.EOPNOTSUPP, "%s: vmdk: a delta link to a parent disk is not supported yet", path)
	}
	c := &Container{Format: "vmdk", Subformat: "descriptor", Path: path}
	if m := vmdkCreateType.FindSubmatch(desc); m != nil {
		c.Subformat = string(m[1])
	}
	lines := vmdkExtent.FindAllSubmatch(desc, vmdkMaxExtents+1)
	if len(lines) == 0 {
		return bad("no extents")
	}
	if len(lines) > vmdkMaxExtents {
		return bad("more than %d extents", vmdkMaxExtents)
	}
	d := &concat{}
	fail := func(err error) (vdisk, *Container, error) {
		d.Close()
		return nil, nil, err
	}
	for _, m := range lines {
		sectors, err := strconv.ParseUint(string(m[2]), 10, 64)
		if err != nil || sectors > vmdkMaxBytes/512 || d.size()+int64(sectors*512) > vmdkMaxBytes {
			return fail(errnof(unix.EIO, "%s: vmdk descriptor: extent of %s sectors is too large", path, m[2]))
		}
		size := int64(sectors * 512)
		typ, name := string(m[3]), string(m[4])
		if typ == "ZERO" {
			d.add(piece{name: "zero extent", size: size})
			continue
		}
		if name == "" {
			return fail(errnof(unix.EIO, "%s: vmdk descriptor: %s extent without a file name", path, typ))
		}
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(path), name)
		}
		ef, err := OpenHostFile(name, false)
		if err != nil {
			return fail(errnof(unix.ENOENT, "%s: vmdk extent: %v", path, err))
		}
		st, err := ef.Stat()
		if err != nil {
			ef.Close()
			return fail(err)
		}
		switch typ {
		case "FLAT", "VMFS":
			off, _ := strconv.ParseUint(string(m[5]), 10, 64)
			if off > uint64(st.Size())/512 || size > st.Size()-int64(off*512) {
				ef.Close()
				return fail(errnof(unix.EIO, "%s: vmdk extent %s holds fewer bytes than the descriptor's %d sectors from sector %d", path, name, sectors, off))
			}
			d.add(piece{r: ef, closer: ef, name: name, base: int64(off * 512), size: size})
		case "SPARSE", "VMFSSPARSE":
			var magic [4]byte
			ef.ReadAt(magic[:], 0)
			if string(magic[:]) != vmdkMagic {
				ef.Close()
				return fail(errnof(unix.EIO, "%s: vmdk extent %s is not a sparse extent", path, name))
			}
			sd, sc, err := openVMDK(ef, name, st.Size())
			if err != nil {
				ef.Close()
				return fail(err)
			}
			if sc.VirtualSize < size {
				sd.Close()
				return fail(errnof(unix.EIO, "%s: vmdk extent %s holds %d bytes, the descriptor says %d", path, name, sc.VirtualSize, size))
			}
			d.add(piece{r: sd, closer: sd, name: name, size: size})
		default:
			ef.Close()
			return fail(errnof(unix.EOPNOTSUPP, "%s: vmdk: %s extents are not supported", path, typ))
		}
		c.Files = append(c.Files, name)
	}
	c.VirtualSize = d.size()
	return d, c, nil
}

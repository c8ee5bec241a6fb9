package kernel

import (
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SysctlType is a sysctl node's type (CTLTYPE_*), NetBSD's values.
type SysctlType int

// Node types.
const (
	CTLTYPE_NODE   SysctlType = 1 // an inner node: children, no value
	CTLTYPE_INT    SysctlType = 2 // int64 values
	CTLTYPE_STRING SysctlType = 3 // string values
	CTLTYPE_QUAD   SysctlType = 4 // int64 values
	CTLTYPE_STRUCT SysctlType = 5 // any Go value, read as a whole
	CTLTYPE_BOOL   SysctlType = 6 // bool values
)

var sysctlTypeNames = map[SysctlType]string{
	CTLTYPE_NODE: "node", CTLTYPE_INT: "int", CTLTYPE_STRING: "string",
	CTLTYPE_QUAD: "quad", CTLTYPE_STRUCT: "struct", CTLTYPE_BOOL: "bool",
}

func (t SysctlType) String() string {
	if n, ok := sysctlTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Top-level sysctl numbers (CTL_*).
var sysctlTop = map[string]int32{
	"kern": 1, "vm": 2, "vfs": 3, "net": 4, "debug": 5, "hw": 6,
	"machdep": 7, "user": 8, "ddb": 9, "proc": 10, "vendor": 11,
	"emul": 12, "security": 13,
}

// sysctlCreateBase is the first number given to a node created without
// one (NetBSD's CREATE_BASE).
const sysctlCreateBase = 1024

// SysctlNode is a node of the sysctl tree (struct sysctlnode). Inner nodes
// (CTLTYPE_NODE) are made as paths need them; leaves are registered by
// the kernel, drivers and subsystems with SysctlCreate.
type SysctlNode struct {
	// Num is the node's number; 0 at creation gives the next free number
	// from 1024 up (CTL_CREATE).
	Num  int32
	Type SysctlType
	// Desc is the node's description (CTL_DESCRIBE).
	Desc string
	// ReadWrite makes the node writable (CTLFLAG_READWRITE): by root, or
	// whom a kauth listener on the system scope allows.
	ReadWrite bool
	// Get returns the value: int64 for INT and QUAD, string, bool, any
	// value for STRUCT. It must not call back into sysctl.
	Get func() any
	// Set stores a value already checked to be of the node's type (and of
	// Get's type for STRUCT). It may refuse it with EINVAL.
	Set func(v any) unix.Errno

	name     string
	parent   *SysctlNode
	children []*SysctlNode // sorted by Num
	nextNum  int32
}

// Name returns the node's own name (one component).
func (n *SysctlNode) Name() string { return n.name }

func (n *SysctlNode) child(name string) *SysctlNode {
	if num, err := strconv.ParseInt(name, 10, 32); err == nil {
		for _, c := range n.children {
			if c.Num == int32(num) {
				return c
			}
		}
		return nil
	}
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *SysctlNode) path() (string, []int32) {
	var names []string
	var mib []int32
	for p := n; p.parent != nil; p = p.parent {
		names = append([]string{p.name}, names...)
		mib = append([]int32{p.Num}, mib...)
	}
	return strings.Join(names, "."), mib
}

// SysctlString, SysctlInt and SysctlBool make read-only leaves from a
// getter, the common case for statistics.
func SysctlString(desc string, get func() string) SysctlNode {
	return SysctlNode{Type: CTLTYPE_STRING, Desc: desc, Get: func() any { return get() }}
}

// SysctlInt makes a read-only int leaf; see SysctlString.
func SysctlInt(desc string, get func() int64) SysctlNode {
	return SysctlNode{Type: CTLTYPE_INT, Desc: desc, Get: func() any { return get() }}
}

// SysctlBool makes a read-only bool leaf; see SysctlString.
func SysctlBool(desc string, get func() bool) SysctlNode {
	return SysctlNode{Type: CTLTYPE_BOOL, Desc: desc, Get: func() any { return get() }}
}

// SysctlStruct makes a read-only struct leaf; see SysctlString.
func SysctlStruct(desc string, get func() any) SysctlNode {
	return SysctlNode{Type: CTLTYPE_STRUCT, Desc: desc, Get: get}
}

func (k *Kernel) initSysctl() {
	k.sysctlRoot = &SysctlNode{Type: CTLTYPE_NODE, nextNum: sysctlCreateBase}
	host := k.cfg.Hostname
	mustCreate := func(path string, n SysctlNode) {
		if _, e := k.sysctlCreate(path, n, true); e != 0 {
			panic(fmt.Sprintf("sysctl %s: %v", path, e))
		}
	}
	mustCreate("kern.ostype", SysctlNode{Num: 1, Type: CTLTYPE_STRING, Desc: "Operating system type",
		Get: func() any { return OSType }})
	mustCreate("kern.osrelease", SysctlNode{Num: 2, Type: CTLTYPE_STRING, Desc: "Operating system release",
		Get: func() any { return OSRelease }})
	mustCreate("kern.osrevision", SysctlNode{Num: 3, Type: CTLTYPE_INT, Desc: "Operating system revision",
		Get: func() any { return int64(Version) }})
	mustCreate("kern.version", SysctlNode{Num: 4, Type: CTLTYPE_STRING, Desc: "Kernel version",
		Get: func() any { return Banner() }})
	mustCreate("kern.hostname", SysctlNode{Num: 10, Type: CTLTYPE_STRING, Desc: "System hostname", ReadWrite: true,
		Get: func() any { k.sysctlM.Lock(); defer k.sysctlM.Unlock(); return host },
		Set: func(v any) unix.Errno {
			s := v.(string)
			if len(s) > 255 {
				return unix.EINVAL
			}
			k.sysctlM.Lock()
			host = s
			k.sysctlM.Unlock()
			return 0
		}})
	mustCreate("hw.machine", SysctlNode{Num: 1, Type: CTLTYPE_STRING, Desc: "Machine class",
		Get: func() any { return runtime.GOARCH }})
	mustCreate("hw.ncpu", SysctlNode{Num: 3, Type: CTLTYPE_INT, Desc: "Number of CPUs configured",
		Get: func() any { return int64(k.NCPU()) }})
	mustCreate("vfs.generic", SysctlNode{Num: 0, Type: CTLTYPE_NODE, Desc: "Non-specific vfs related information"})
}

// SysctlCreate adds the node n at path (dotted names), making the inner
// nodes the path needs (sysctl_createv). It returns the node's numeric
// name. EEXIST when the name or the number is taken, EINVAL for a bad
// path, a leaf without Get or a writable leaf without Set, ENOTDIR when a
// component of the path is a leaf.
func (k *Kernel) SysctlCreate(path string, n SysctlNode) ([]int32, unix.Errno) {
	return k.sysctlCreate(path, n, n.Num != 0)
}

func (k *Kernel) sysctlCreate(path string, n SysctlNode, fixed bool) ([]int32, unix.Errno) {
	names := strings.Split(path, ".")
	for _, c := range names {
		if c == "" || strings.IndexFunc(c, func(r rune) bool { return r <= ' ' || r == '=' }) >= 0 {
			return nil, unix.EINVAL
		}
		if _, err := strconv.Atoi(c); err == nil {
			return nil, unix.EINVAL // numbers name nodes, they are not names
		}
	}
	if _, ok := sysctlTypeNames[n.Type]; !ok {
		return nil, unix.EINVAL
	}
	if n.Type != CTLTYPE_NODE && (n.Get == nil || n.ReadWrite && n.Set == nil) {
		return nil, unix.EINVAL
	}
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	p := k.sysctlRoot
	for i, name := range names {
		c := p.child(name)
		last := i == len(names)-1
		if c != nil && !last {
			if c.Type != CTLTYPE_NODE {
				return nil, unix.ENOTDIR
			}
			p = c
			continue
		}
		if c != nil {
			return nil, unix.EEXIST
		}
		nn := &SysctlNode{Type: CTLTYPE_NODE}
		num, numFixed := int32(0), false
		if last {
			*nn = n
			num, numFixed = n.Num, fixed
		} else if p == k.sysctlRoot {
			num, numFixed = sysctlTop[name]
		}
		if numFixed {
			for _, o := range p.children {
				if o.Num == num {
					return nil, unix.EEXIST
				}
			}
		} else {
			num = p.freeNum()
		}
		nn.Num, nn.name, nn.parent, nn.children = num, name, p, nil
		nn.nextNum = sysctlCreateBase
		at := sort.Search(len(p.children), func(j int) bool { return p.children[j].Num > num })
		p.children = append(p.children, nil)
		copy(p.children[at+1:], p.children[at:])
		p.children[at] = nn
		p = nn
	}
	_, mib := p.path()
	return mib, 0
}

func (n *SysctlNode) freeNum() int32 {
	for {
		num := n.nextNum
		n.nextNum++
		taken := false
		for _, c := range n.children {
			taken = taken || c.Num == num
		}
		if !taken {
			return num
		}
	}
}

// SysctlDestroy removes the node at path with everything below it
// (sysctl_destroyv); ENOENT when there is none.
func (k *Kernel) SysctlDestroy(path string) unix.Errno {
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	n, e := k.locateLocked(path)
	if e != 0 {
		return e
	}
	if n == k.sysctlRoot {
		return unix.EINVAL
	}
	p := n.parent
	for i, c := range p.children {
		if c == n {
			p.children = append(p.children[:i], p.children[i+1:]...)
			break
		}
	}
	n.parent = nil
	return 0
}

// locateLocked finds a node by a dotted name whose components are names
// or numbers ("kern.hostname", "1.10", "kern.10").
func (k *Kernel) locateLocked(name string) (*SysctlNode, unix.Errno) {
	n := k.sysctlRoot
	if name == "" {
		return nil, unix.ENOENT
	}
	for _, c := range strings.Split(name, ".") {
		if n.Type != CTLTYPE_NODE {
			return nil, unix.ENOTDIR
		}
		if n = n.child(c); n == nil {
			return nil, unix.ENOENT
		}
	}
	return n, 0
}

// locate returns a copy of the node name and its name in names.
func (k *Kernel) locate(name string) (SysctlNode, string, unix.Errno) {
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	n, e := k.locateLocked(name)
	if e != 0 {
		return SysctlNode{}, "", e
	}
	path, _ := n.path()
	return *n, path, 0
}

// SysctlLookup converts a name to its numeric form (sysctlnametomib).
func (k *Kernel) SysctlLookup(name string) ([]int32, unix.Errno) {
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	n, e := k.locateLocked(name)
	if e != 0 {
		return nil, e
	}
	_, mib := n.path()
	return mib, 0
}

// Sysctl reads the node name (names or numbers, dotted) and, when newval
// is not nil, writes newval to it as l, returning the old value (sysctl(2)).
// ENOENT when there is no such node, EISDIR for an inner node, EPERM for a
// read-only node or a caller kauth refuses, EINVAL for a value not of the
// node's type (ints may be any Go integer type).
func (k *Kernel) Sysctl(l *LWP, name string, newval any) (old any, e unix.Errno) {
	n, path, e := k.locate(name)
	if e != 0 {
		return nil, e
	}
	if n.Type == CTLTYPE_NODE {
		return nil, unix.EISDIR
	}
	old = n.Get()
	if newval == nil {
		return old, 0
	}
	if !n.ReadWrite {
		return nil, unix.EPERM
	}
	if e := k.Authorize(l.Cred(), ActionSysctlWrite, path); e != 0 {
		return nil, e
	}
	v, ok := sysctlConvert(n.Type, newval, old)
	if !ok {
		return nil, unix.EINVAL
	}
	if e := n.Set(v); e != 0 {
		return nil, e
	}
	return old, 0
}

// sysctlConvert checks v against a node's type: ints are widened to int64,
// a struct must be of the type the node holds.
func sysctlConvert(t SysctlType, v, old any) (any, bool) {
	switch t {
	case CTLTYPE_INT, CTLTYPE_QUAD:
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return rv.Int(), true
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if rv.Uint() > 1<<63-1 {
				return nil, false
			}
			return int64(rv.Uint()), true
		}
	case CTLTYPE_STRING:
		s, ok := v.(string)
		return s, ok
	case CTLTYPE_BOOL:
		b, ok := v.(bool)
		return b, ok
	case CTLTYPE_STRUCT:
		return v, reflect.TypeOf(v) == reflect.TypeOf(old)
	}
	return nil, false
}

// SysctlGet reads a node as text, as sysctl(8) prints it: ENOENT when
// there is none, EISDIR for an inner node.
func (k *Kernel) SysctlGet(name string) (string, unix.Errno) {
	v, e := k.Sysctl(nil, name, nil)
	if e != 0 {
		return "", e
	}
	return SysctlFormat(v), 0
}

// SysctlFormat prints a value as sysctl(8) does: bools as 0 or 1, structs
// field by field.
func SysctlFormat(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "1"
		}
		return "0"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprintf("%+v", v)
}

// SysctlSet writes a node from text as l (sysctl -w): the text is parsed
// as the node's type, EINVAL when it does not parse or the node is a
// struct; otherwise as Sysctl.
func (k *Kernel) SysctlSet(l *LWP, name, value string) unix.Errno {
	n, _, e := k.locate(name)
	if e != 0 {
		return e
	}
	var v any
	switch n.Type {
	case CTLTYPE_NODE:
		return unix.EISDIR
	case CTLTYPE_INT, CTLTYPE_QUAD:
		i, err := strconv.ParseInt(strings.TrimSpace(value), 0, 64)
		if err != nil {
			return unix.EINVAL
		}
		v = i
	case CTLTYPE_BOOL:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return unix.EINVAL
		}
		v = b
	case CTLTYPE_STRING:
		v = value
	default:
		return unix.EINVAL
	}
	_, e = k.Sysctl(l, name, v)
	return e
}

// SysctlDescribe returns a node's description (CTL_DESCRIBE).
func (k *Kernel) SysctlDescribe(name string) (string, unix.Errno) {
	n, _, e := k.locate(name)
	if e != 0 {
		return "", e
	}
	return n.Desc, 0
}

// SysctlEntry describes one node, as a listing gives it.
type SysctlEntry struct {
	Name      string     `json:"name"`
	MIB       []int32    `json:"mib"`
	Type      SysctlType `json:"type"`
	ReadWrite bool       `json:"rw"`
	Desc      string     `json:"desc,omitempty"`
}

// SysctlList lists every node below prefix ("" for all), inner nodes
// included, depth first in numeric order (CTL_QUERY walked).
func (k *Kernel) SysctlList(prefix string) ([]SysctlEntry, unix.Errno) {
	k.sysctlM.Lock()
	defer k.sysctlM.Unlock()
	start := k.sysctlRoot
	if prefix != "" {
		n, e := k.locateLocked(prefix)
		if e != 0 {
			return nil, e
		}
		start = n
	}
	var out []SysctlEntry
	var walk func(n *SysctlNode)
	walk = func(n *SysctlNode) {
		if n != k.sysctlRoot {
			name, mib := n.path()
			out = append(out, SysctlEntry{Name: name, MIB: mib, Type: n.Type, ReadWrite: n.ReadWrite, Desc: n.Desc})
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(start)
	return out, 0
}

// SysctlNames lists the name of every leaf, sorted.
func (k *Kernel) SysctlNames() []string {
	all, _ := k.SysctlList("")
	var out []string
	for _, e := range all {
		if e.Type != CTLTYPE_NODE {
			out = append(out, e.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Version strings reported by kern.ostype and kern.osrelease.
const (
	OSType    = "NetBSD"
	OSRelease = "10.1"
)

package ext2fs

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestInodeSize: the snapshot of an inode lives beside every cached
// vnode (50,000 of them after a walk of as many files), so growing it
// costs memory on every mount, and a pointer in it would make the
// garbage collector scan them all. 144 bytes is a Go size class; the
// whole struct ext4_inode decoded, with the FS pointer, took 256.
func TestInodeSize(t *testing.T) {
	const limit = 144
	if n := unsafe.Sizeof(node{}); n > limit {
		t.Errorf("inode snapshot is %d bytes, more than %d: keep only what the vnode operations need", n, limit)
	}
	var pointerFree func(reflect.Type) bool
	pointerFree = func(typ reflect.Type) bool {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				if !pointerFree(typ.Field(i).Type) {
					return false
				}
			}
			return true
		case reflect.Array:
			return pointerFree(typ.Elem())
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return true
		}
		return false
	}
	if !pointerFree(reflect.TypeFor[node]()) {
		t.Error("inode snapshot holds a pointer, slice, string or interface: the garbage collector would scan every cached one")
	}
}

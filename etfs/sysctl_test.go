package etfs_test

import (
	"testing"

	"github.com/rumpfs/rumpfs/etfs"
	"github.com/rumpfs/rumpfs/vfs"
)

func TestSysctlListsRegistrations(t *testing.T) {
	x := boot(t)
	host, _ := hostFile(t, 4096)
	x.register("/data", host, etfs.REG)
	v, e := vfs.Sysctl(x.l, "vfs.etfs.keys", nil)
	keys, ok := v.([]etfs.KeyInfo)
	if e != 0 || !ok || len(keys) != 1 || keys[0].Key != "/data" || keys[0].Host != host {
		t.Fatalf("vfs.etfs.keys: %+v %v", v, e)
	}
}

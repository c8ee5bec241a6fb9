package kernel

import (
	"bytes"
	"testing"
)

// TestUioLend: a lending read takes a driver's bytes in place of a copy
// only before anything moved and within Resid; a later Uiomove puts the
// lent bytes into the buffer first; other uios never take loans, and a
// freed uio forgets its loan.
// countLender counts what comes back.
type countLender struct{ back int }

func (c *countLender) Unlend(p []byte) { c.back += len(p) }

func TestUioLend(t *testing.T) {
	img := []byte("0123456789abcdef")
	from := &countLender{}
	buf := make([]byte, 10)

	u := UioSetupLend(buf, 100)
	if !u.Lendable() {
		t.Fatal("a fresh lending read is not Lendable")
	}
	if u.Lend(img[:11], from) {
		t.Fatal("lent more than Resid")
	}
	if !u.Lend(img[:6], from) {
		t.Fatal("loan refused")
	}
	if lent, l := UioLent(u); u.Resid != 4 || u.Offset != 106 || !bytes.Equal(lent, img[:6]) || l != from {
		t.Fatalf("after a loan: resid %d off %d lent %q by %v", u.Resid, u.Offset, lent, l)
	}
	if buf[0] != 0 {
		t.Fatal("a loan copied into the buffer")
	}
	if u.Lendable() || u.Lend(img[6:8], from) {
		t.Fatal("a second loan was possible")
	}
	// More data after a loan: the loan lands in the buffer, then the rest.
	if n, e := Uiomove(img[6:10], u); n != 4 || e != 0 {
		t.Fatalf("Uiomove after a loan: %d %v", n, e)
	}
	if lent, _ := UioLent(u); lent != nil || !bytes.Equal(buf, img[:10]) || u.Resid != 0 || u.Offset != 110 || from.back != 6 {
		t.Fatalf("after moving more: lent %q buf %q resid %d off %d, %d bytes handed back", lent, buf, u.Resid, u.Offset, from.back)
	}
	if r := UioFree(u); r != 0 {
		t.Fatalf("resid %d", r)
	}

	// Nothing may be lent once something moved.
	u = UioSetupLend(make([]byte, 10), 0)
	Uiomove(img[:1], u)
	if u.Lendable() || u.Lend(img[1:3], from) {
		t.Fatal("loan after a move")
	}
	UioFree(u)

	// Plain reads and writes never take loans, and neither does a
	// pooled uio that was lending before.
	for _, u := range []*Uio{UioSetup(make([]byte, 4), 0, UioRead), UioSetup(make([]byte, 4), 0, UioWrite)} {
		if lent, _ := UioLent(u); u.Lendable() || u.Lend(img[:2], from) || lent != nil {
			t.Fatal("a uio not set up for loans took one")
		}
		UioFree(u)
	}
	u = UioSetupLend(make([]byte, 4), 0)
	u.Lend(img[:2], from)
	UioFree(u)
	u = UioSetup(make([]byte, 4), 0, UioRead)
	if lent, _ := UioLent(u); lent != nil || u.Lendable() {
		t.Fatal("a recycled uio kept its loan")
	}
	UioFree(u)
}

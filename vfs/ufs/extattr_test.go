package ufs

import "testing"

func TestExtBlockSize(t *testing.T) {
	m := &Mount{BSize: 8192, FSize: 1024}
	for _, c := range []struct{ size, i, want int }{
		{0, 0, 0}, {8, 0, 1024}, {1024, 0, 1024}, {1025, 0, 2048}, {8192, 0, 8192},
		{8192, 1, 0}, {8200, 0, 8192}, {8200, 1, 1024}, {16384, 1, 8192},
	} {
		if got := m.ExtBlockSize(c.size, c.i); got != c.want {
			t.Errorf("ExtBlockSize(%d, %d) = %d, want %d", c.size, c.i, got, c.want)
		}
	}
}

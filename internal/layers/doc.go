// Package layers holds the test that keeps the import graph as
// docs/ARCHITECTURE.md draws it: every package of the module sits on a
// layer, and a package imports only packages on lower layers (make lint
// runs it). Tests are not checked: they may import anything.
package layers

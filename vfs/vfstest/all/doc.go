// Package all is the driver table: every file system variant rumpfs
// mounts, one row each, and the test bodies that run over all of them
// (the POSIX suite and the random-operation model on the writable rows,
// the generated tree on every row). A driver whose type is registered
// but has no row fails TestEveryDriverHasARow.
//
// The package is test files only, so that its imports of every driver
// stay out of the module's import graph.
package all

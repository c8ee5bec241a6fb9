package disk

import "github.com/rumpfs/rumpfs/internal/ondisk"

// Field is one integer field of an on-disk structure (internal/ondisk),
// under the name UFS's and FFS's layouts use.
type Field = ondisk.Field

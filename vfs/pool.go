package vfs

import "sync"

// pool is a typed sync.Pool.
type pool[T any] struct{ p sync.Pool }

func newPool[T any](mk func() T) *pool[T] {
	return &pool[T]{sync.Pool{New: func() any { return mk() }}}
}

func (p *pool[T]) Get() T  { return p.p.Get().(T) }
func (p *pool[T]) Put(v T) { p.p.Put(v) }

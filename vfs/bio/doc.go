// Package bio is the buffer cache (NetBSD's vfs_bio.c) and the block device
// interface drivers read their images through.
//
// It owns the cached buffers of every attached Device: a Cache bounded in
// bytes, split into hashed shards keyed by (device, block number), and one
// Dev per attached device (per mount) holding that device's dirty list.
// Drivers use the NetBSD calls: Dev.Bread and Dev.Getblk return a busy
// (locked) Buf; Buf.Brelse, Buf.Bdwrite, Buf.Bwrite, Buf.Bawrite and
// Buf.Invalidate give it back; Dev.Discard drops a block's buffer, if
// cached, unwritten (a freed block about to be written as file data
// around the cache, see genfs.Writer). Dev.Sync writes a device's dirty
// buffers in block order, coalescing adjacent ones; a syncer goroutine
// (Cache.StartSyncer) does so periodically when the kernel runs threads.
//
// A hit takes no lock but the buffer's busy lock (one compare-and-swap of
// its owner) and writes nothing shared: each shard's index is an
// open-addressing table read without its mutex (writers hold it and
// publish rebuilt tables atomically), the CLOCK reference bit and the hit
// count live in the buffer. There is no global lock and no global LRU
// list. Over the byte bound, the LWP that misses evicts clean unbusy
// buffers and writes back dirty ones before evicting them; busy buffers
// are never evicted, so the bound can be exceeded by what is busy at that
// moment. Concurrent misses on one block issue one device read: the first
// LWP inserts the buffer busy (under the shard's mutex) and reads it, the
// others wait on its busy lock. A failed read is EIO and leaves nothing
// cached; a failed write leaves the buffer dirty. Buffer data comes from
// pools by power-of-two size class (512 B to 64 KiB), so buffers hold no
// pointers for the GC to scan and a hit allocates nothing.
//
// The "hits" event counter catches up with the per-buffer counts when
// Stats or SyncAll runs, on every syncer pass, and when a buffer leaves
// the cache.
//
// Waiting for a busy buffer releases the LWP's virtual CPU
// (LWP.BlockBegin / BlockEnd); device I/O does so inside the Device. The
// busy lock records its holder, so an LWP asking for a buffer it holds
// (a block pointer looping back on a corrupt image) panics, which the
// kernel boundary recovers, instead of hanging.
//
// For journaling writers (jbd2, WAPBL) a buffer can be held (Buf.Hold,
// counted; released by Buf.Unhold or Dev.Unhold, e.g. once the journal
// commit covering it is durable): Dev.Sync, the syncer and eviction never
// write or drop it, Bwrite refuses it (EBUSY) and Flush reports it
// (EBUSY). The byte bound covers the buffers that are not held; held ones
// come on top and show in Stats (Held, HeldBytes). A buffer can also carry
// barriers (Buf.AddBarrier): driver callbacks that make the file data it
// points at durable, run before whichever path writes it, which stop the
// write when they fail. Eviction leaves dirty buffers with barriers to
// Sync and the syncer. Remap is a Device view whose reads of some blocks
// come from elsewhere (a journal replayed in memory); writes move such
// blocks home.
//
// Buffers are keyed by their first block: two buffers that overlap on the
// device but start at different blocks are not kept coherent, so a driver
// reads each region with one start block (it may change the size; see
// Dev.Bread).
//
// Lock order (outermost first; a holder may take the ones below it):
//
//	Buf busy lock (Buf.owner)
//	  shard.mu
//	    shard.wmu (where waiters for the shard's busy buffers sleep)
//	  Dev.mu
//	Cache.syncMu
//	  Cache.devMu
//
// A barrier runs with its buffer busy and no other bio lock held (the
// busy lock is the outermost above); it may take other buffers in the
// driver's order, but never its own (Dev.Sync(wait) of its device would
// wait for it). Remap.mu is taken only inside Device calls, below all of
// these.
//
// shard.mu and Dev.mu are never held together. bio itself never sleeps on
// a busy lock while holding another busy lock or shard.mu: the evictor,
// flushHits and Sync's coalescing only try them. Drivers may hold several
// buffers busy; they must then take them in an order of their own that
// never reverses. An LWP calling Dev.Sync(wait), Dev.Flush or
// Dev.Invalidate while it holds a buffer of that device panics (see
// above); with a nil LWP it deadlocks, as in NetBSD.
package bio

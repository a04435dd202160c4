//! The heap for `alloc`: a `linked_list_allocator` over RAM after the image.

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Largest heap this L1 needs: two L2s' RAM at 16 MiB-aligned L1 addresses, their tables and
/// run buffers.
const MAX_HEAP: usize = 64 << 20;

extern "C" {
    /// End of the image, stacks included (64 KiB aligned), from `link.ld`.
    static __image_end: u8;
}

/// Gives the allocator RAM from the end of the image up to `limit` (the end of usable RAM:
/// memory size, or the device tree if it lies lower), at most 64 MiB. Returns (start, size).
pub fn init(limit: usize) -> (usize, usize) {
    let start = core::ptr::addr_of!(__image_end) as usize;
    let size = limit.saturating_sub(start).min(MAX_HEAP);
    // SAFETY: [start, start + size) is RAM (below the memory size and the device tree, from the device tree itself) that nothing else uses: the image, its `.bss` and its stacks end at `__image_end`. `init` runs once, before any allocation.
    unsafe { HEAP.lock().init(start as *mut u8, size) };
    (start, size)
}

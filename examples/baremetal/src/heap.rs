//! The heap for `alloc`: a `linked_list_allocator` (the global allocator) over RAM after the
//! image.

use crate::Error;
use core::sync::atomic::{AtomicBool, Ordering};
use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Set by the first [`init`].
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// The smallest heap [`init`] accepts.
pub const MIN_SIZE: usize = 4096;

extern "C" {
    /// End of the image, stacks included (64 KiB aligned), from `link.ld`.
    static __image_end: u8;
}

/// The end of the image (`.bss` and the stacks included, 64 KiB aligned): where the heap
/// starts.
pub fn image_end() -> usize {
    core::ptr::addr_of!(__image_end) as usize
}

/// Gives the allocator the RAM from [`image_end`] up to `limit` (an end address), at most
/// `max` bytes. Returns (start, size).
///
/// # Errors
/// [`Error::HeapInitialised`] on a second call; [`Error::HeapTooSmall`] when fewer than
/// [`MIN_SIZE`] bytes are left.
///
/// # Safety
/// `[image_end(), limit)` (as far as `max` reaches) must be RAM that nothing else uses for the
/// rest of the program: below the memory size, the device tree, its `/memreserve/` regions and
/// anything QEMU loaded there (`-kernel`, `-initrd`; `kernel-addr=` moves them).
pub unsafe fn init(limit: usize, max: usize) -> Result<(usize, usize), Error> {
    let start = image_end();
    let size = limit.saturating_sub(start).min(max);
    if size < MIN_SIZE {
        return Err(Error::HeapTooSmall {
            start,
            size,
            limit,
            max,
            min: MIN_SIZE,
        });
    }
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return Err(Error::HeapInitialised);
    }
    // SAFETY: [start, start + size) is unused RAM (the caller's contract) after the image,
    // its `.bss` and its stacks (which end at `__image_end`); it is at least MIN_SIZE bytes;
    // the flag above makes this the only initialisation.
    unsafe { HEAP.lock().init(start as *mut u8, size) };
    Ok((start, size))
}

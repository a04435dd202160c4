//! The symbols a freestanding binary must provide: `mem*` (rustc's `compiler_builtins` for a
//! `-linux-gnu` target expects libc's). Byte loops through volatile accesses, so that LLVM
//! cannot turn them back into calls to themselves.

use core::ptr::{read_volatile, write_volatile};

/// Copies `n` bytes; the regions must not overlap.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: i < n, and the caller guarantees both ranges.
        unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
    }
    dst
}

/// Copies `n` bytes between possibly overlapping regions.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) {
        // SAFETY: forwards copy is correct when dst is below src; ranges from the caller.
        unsafe { memcpy(dst, src, n) }
    } else {
        for i in (0..n).rev() {
            // SAFETY: i < n, and the caller guarantees both ranges.
            unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
        }
        dst
    }
}

/// Fills `n` bytes with `c`.
///
/// # Safety
/// `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: i < n, and the caller guarantees the range.
        unsafe { write_volatile(dst.add(i), c as u8) };
    }
    dst
}

/// Compares `n` bytes.
///
/// # Safety
/// `a` and `b` readable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: i < n, and the caller guarantees both ranges.
        let (x, y) = unsafe { (read_volatile(a.add(i)), read_volatile(b.add(i))) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// Compares `n` bytes for equality (0 = equal).
///
/// # Safety
/// `a` and `b` readable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// The personality routine the precompiled `alloc` refers to (it is built with unwinding).
/// This binary aborts on panic, so it is never called.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

//! The symbols a freestanding binary must provide: `mem*` (rustc's `compiler_builtins` for a
//! `-linux-gnu` target expects libc's). Loops through volatile accesses (doublewords where
//! alignment allows), so that LLVM cannot turn them back into calls to themselves.

use core::ptr::{read_volatile, write_volatile};

/// Copies `n` bytes; the regions must not overlap. Doublewords while both are 8-byte aligned.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    if (dst as usize | src as usize).is_multiple_of(8) {
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, both 8-byte aligned (base and i are), ranges from the caller.
            unsafe {
                let v = read_volatile(src.add(i).cast::<u64>());
                write_volatile(dst.add(i).cast::<u64>(), v);
            }
            i += 8;
        }
    }
    while i < n {
        // SAFETY: i < n, and the caller guarantees both ranges.
        unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
        i += 1;
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

/// Fills `n` bytes with `c`; doublewords when `dst` is 8-byte aligned.
///
/// # Safety
/// `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    if (dst as usize).is_multiple_of(8) {
        let v = u64::from_ne_bytes([c as u8; 8]);
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, 8-byte aligned, range from the caller.
            unsafe { write_volatile(dst.add(i).cast::<u64>(), v) };
            i += 8;
        }
    }
    while i < n {
        // SAFETY: i < n, and the caller guarantees the range.
        unsafe { write_volatile(dst.add(i), c as u8) };
        i += 1;
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

/// Unwinding's resume entry, which landing pads in the precompiled `alloc` refer to. This
/// binary aborts on panic, so no landing pad ever runs and this is never called.
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    crate::rtas::terminate("_Unwind_Resume")
}

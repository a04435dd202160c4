//! The symbols a freestanding binary must provide: `mem*` (rustc's `compiler_builtins` for a
//! `-linux-gnu` target expects libc's), `rust_eh_personality` and `_Unwind_Resume`. The copies
//! loop through volatile accesses (doublewords where alignment allows), so that LLVM cannot
//! turn them back into calls to themselves.
//!
//! In unit-test builds (host, `std`) the functions keep Rust names, so that the tests can call
//! them without replacing the C library's.

use core::ptr::{read_volatile, write_volatile};

/// Copies `n` bytes; the regions must not overlap. Doublewords while both are 8-byte aligned.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes.
#[cfg_attr(not(test), no_mangle)]
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
#[cfg_attr(not(test), no_mangle)]
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
#[cfg_attr(not(test), no_mangle)]
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
#[cfg_attr(not(test), no_mangle)]
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
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// The personality routine the precompiled `alloc` refers to (it is built with unwinding).
/// Binaries on this crate abort on panic (`panic = "abort"` in their profiles), so it is never
/// called.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// Unwinding's resume entry, which landing pads in the precompiled `alloc` refer to. Binaries
/// on this crate abort on panic, so no landing pad ever runs; if one did, the machine
/// terminates with a failure status.
#[cfg(all(target_arch = "powerpc64", not(test)))]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    crate::rtas::terminate("_Unwind_Resume")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    /// Every source and destination offset modulo 8 (aligned and not, equal and not), lengths
    /// around the doubleword size: the copy equals the slice copy, nothing outside is touched.
    #[test]
    fn memcpy_every_alignment() {
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 100] {
            for so in 0..8 {
                for d_off in 0..8 {
                    let src = pattern(n + 16);
                    let mut dst = std::vec![0xEEu8; n + 16];
                    // SAFETY: both buffers hold 16 more bytes than n, offsets are below 8.
                    let r = unsafe { memcpy(dst.as_mut_ptr().add(d_off), src.as_ptr().add(so), n) };
                    assert_eq!(r, dst.as_mut_ptr().wrapping_add(d_off));
                    assert_eq!(
                        &dst[d_off..d_off + n],
                        &src[so..so + n],
                        "n {n} src+{so} dst+{d_off}"
                    );
                    assert!(dst[..d_off].iter().all(|&b| b == 0xEE));
                    assert!(dst[d_off + n..].iter().all(|&b| b == 0xEE));
                }
            }
        }
    }

    #[test]
    fn memset_every_alignment() {
        for n in [0, 1, 7, 8, 9, 31, 64, 65] {
            for off in 0..8 {
                let mut buf = std::vec![0u8; n + 16];
                // SAFETY: the buffer holds 16 more bytes than n, off is below 8.
                unsafe { memset(buf.as_mut_ptr().add(off), 0x1A5, n) };
                assert!(buf[off..off + n].iter().all(|&b| b == 0xA5), "n {n} +{off}");
                assert!(buf[..off].iter().chain(&buf[off + n..]).all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn memmove_overlapping_both_ways() {
        for shift in [1usize, 3, 8, 13] {
            let orig = pattern(64);
            let mut up = orig.clone();
            // SAFETY: both ranges lie inside the 64-byte buffer.
            unsafe { memmove(up.as_mut_ptr().add(shift), up.as_ptr(), 64 - shift) };
            assert_eq!(&up[shift..], &orig[..64 - shift]);
            let mut down = orig.clone();
            // SAFETY: both ranges lie inside the 64-byte buffer.
            unsafe { memmove(down.as_mut_ptr(), down.as_ptr().add(shift), 64 - shift) };
            assert_eq!(&down[..64 - shift], &orig[shift..]);
        }
    }

    #[test]
    fn memcmp_and_bcmp() {
        let (a, b) = (b"abcdef", b"abcxef");
        // SAFETY: 6 readable bytes each.
        unsafe {
            assert_eq!(memcmp(a.as_ptr(), a.as_ptr(), 6), 0);
            assert!(memcmp(a.as_ptr(), b.as_ptr(), 6) < 0);
            assert!(memcmp(b.as_ptr(), a.as_ptr(), 6) > 0);
            assert_eq!(memcmp(a.as_ptr(), b.as_ptr(), 3), 0);
            assert_ne!(bcmp(a.as_ptr(), b.as_ptr(), 6), 0);
        }
    }
}

//! Machine State Register bits (Power ISA, IBM bit numbers in the docs; the constants are
//! plain `u64` masks), as an L2's MSR is read from and written to its guest state.
//!
//! ```
//! use papr_hcall::msr;
//! // QEMU's default L2 MSR in these tests: 64-bit, recoverable, little-endian, real mode.
//! let m = 0x8000_0000_0000_0003u64;
//! assert!(m & msr::SF != 0 && m & msr::LE != 0 && m & (msr::IR | msr::DR) == 0);
//! ```

/// MSR\[SF\] (IBM bit 0): 64-bit mode.
pub const SF: u64 = 1 << 63;
/// MSR\[EE\] (IBM bit 48): external interrupts enabled.
pub const EE: u64 = 1 << 15;
/// MSR\[PR\] (IBM bit 49): problem state.
pub const PR: u64 = 1 << 14;
/// MSR\[ME\] (IBM bit 51): machine checks enabled.
pub const ME: u64 = 1 << 12;
/// MSR\[IR\] (IBM bit 58): instruction relocation.
pub const IR: u64 = 1 << 5;
/// MSR\[DR\] (IBM bit 59): data relocation.
pub const DR: u64 = 1 << 4;
/// MSR\[LE\] (IBM bit 63): little-endian mode.
pub const LE: u64 = 1;

#![cfg_attr(doctest, doc = include_str!("../README.md"))]
//! Partition-scoped radix page tables for the L2 guests of a PAPR Nested APIv2 L1.
//!
//! Under Nested APIv2 the L1 owns its L2's memory map: it builds, in its own memory, the
//! partition-scoped radix tree that the L0 (PowerVM, or QEMU's `pseries`) walks on every L2
//! access, translating an **L2 guest real address** ([`GuestRealAddr`]) into an **L1 real
//! address** ([`L1RealAddr`]). The two are distinct types and never mix.
//!
//! # Layout
//! A 52-bit tree (RTS = 21) with four levels; every entry is 8 bytes, **big-endian**:
//!
//! | level | index bits of the gpa | entries | table size = alignment | a leaf maps |
//! |---|---|---|---|---|
//! | 0 root | 51..39 | 8192 | 64 KiB | (never a leaf) |
//! | 1 | 38..30 | 512 | 4 KiB | 1 GiB |
//! | 2 | 29..21 | 512 | 4 KiB | 2 MiB |
//! | 3 | 20..12 | 512 | 4 KiB | 4 KiB |
//!
//! - [`Pde`]: V (bit 63) | next-table base (59..8) | NLS = 9 (4..0).
//! - [`Pte`]: V | L (62) | RPN (52..12 written, 56..12 read) | R (8) | C (7) | ATT (5..4) |
//!   read (2) | read/write (1) | execute (0).
//! - [`Pate`]: dw0 = HR | RTS | root | 13 = `0xC000_0000_0000_00AD | root`; dw1 = GR | process
//!   table | PRTS. Under Nested APIv2 the L1 sends [`PagetableValue`] (GSID 0x0005:
//!   root, 52, 65536 — QEMU aborts on any other bit count) and [`ProcessTableValue`]
//!   (GSID 0x0006) instead. [`Prte`] is the L2's own process-table entry.
//!
//! # Use
//! [`RadixTable`] does `map` (largest leaves alignment allows), `unmap`, `protect`,
//! `translate`, `harvest_dirty` and `set_rc`, frees directory pages that become empty, and
//! checks before it writes so that an error leaves the tree unchanged. It reaches the world
//! through three seams, each mockable with the `mock` feature (`MockTableMemory`,
//! `MockTableAlloc`, `MockInvalidate`):
//! - [`TableMemory`] — read/write a big-endian doubleword at an L1 real address. Backends:
//!   [`SliceMemory`] (safe) here; the L1 memories (`IdentityMemory` for bare metal,
//!   `VmRealMemory` over vm-memory) live in `papr-hcall`, which implements this trait for
//!   them. [`MemoryError`] and [`L1RealAddr`] are the one memory vocabulary of the papr
//!   crates: `papr-hcall` re-exports them.
//! - [`TableAlloc`] — 64 KiB root and 4 KiB table pages. Backend: [`PoolAlloc`], a heap-free
//!   bitmap allocator over an L1 range.
//! - [`Invalidate`] — told which guest real ranges became stale (and when to drop the
//!   page-walk cache). [`NoInvalidate`] suits QEMU, which has nothing to invalidate.
//!
//! ```
//! use papr_mmu_radix::*;
//! let mut pool_mem = vec![0u8; 1 << 20];
//! let mem = SliceMemory::new(L1RealAddr(0x100_0000), &mut pool_mem);
//! let alloc = PoolAlloc::<4>::new(L1RealAddr(0x100_0000), 1 << 20).unwrap();
//! let mut tree = RadixTable::new(mem, alloc).unwrap();
//! tree.map(GuestRealAddr(0), L1RealAddr(0x4000_0000), 1 << 30, Perms::RWX).unwrap();
//! let t = tree.translate(GuestRealAddr(0x1234)).unwrap().unwrap();
//! assert_eq!((t.l1_ra, t.size), (L1RealAddr(0x4000_1234), PageSize::Size1G));
//! assert_eq!(t.pte.raw(), 0xC000_0000_4000_0187);
//! // Register with H_GUEST_SET_STATE, GSID 0x0005:
//! assert_eq!(tree.pagetable_value().to_u64s(), [0x100_0000, 52, 65536]);
//! ```
//!
//! # R and C on QEMU
//! QEMU never sets R or C; it raises an HDSI (0x0004_0000) instead, and lets a store to a
//! C = 0 page through without an exit when the page was loaded earlier in the same run. So
//! [`RadixTable::map`] sets R always and C on writable leaves, and dirty tracking should
//! write-protect pages ([`RadixTable::protect`]); [`RadixTable::harvest_dirty`] is an
//! optimisation for L0s that keep C.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "mock"))]
extern crate std;

mod addr;
mod alloc;
pub mod backends;
mod error;
mod invalidate;
mod memory;
mod pate;
mod pde;
mod pte;
mod table;
mod walk;

pub use addr::{GuestRealAddr, L1RealAddr, GPA_BITS, GPA_LIMIT, L1_RA_LIMIT};
#[cfg(any(test, feature = "mock"))]
pub use alloc::MockTableAlloc;
pub use alloc::{PoolAlloc, TableAlloc, TableSize};
pub use backends::slice::SliceMemory;
pub use error::RadixError;
#[cfg(any(test, feature = "mock"))]
pub use invalidate::MockInvalidate;
pub use invalidate::{Invalidate, NoInvalidate};
#[cfg(any(test, feature = "mock"))]
pub use memory::MockTableMemory;
pub use memory::{exchange_unshared, MemoryError, TableMemory};
pub use pate::{PagetableValue, Pate, ProcessTableValue, Prte};
pub use pde::{entry_span, level_index, Pde, LEVELS, LEVEL_NLS, LEVEL_SHIFT};
pub use pte::{Attr, PageSize, Perms, Pte};
pub use table::{translate_at, RadixTable, Translation};

/// Raw bit masks and field constants of the encodings, for code that decodes entries itself.
pub mod bits {
    pub use crate::pate::{
        PATE0_HR, PATE1_GR, PRTB_MASK, PRTS_MASK, PRTS_MAX, ROOT_BYTES, ROOT_RPDS, RPDB_MASK,
        RPDS_MASK, RTS1_MASK, RTS2_MASK, RTS_52, RTS_52_BITS,
    };
    pub use crate::pde::{PDE_BAD_BITS, PDE_NLB_MASK, PDE_NLS_MASK};
    pub use crate::pte::{
        PTE_ATT_MASK, PTE_C, PTE_EAA_EXEC, PTE_EAA_PRIV, PTE_EAA_READ, PTE_EAA_RW, PTE_LEAF,
        PTE_PERM_MASK, PTE_R, PTE_RPN_MASK, PTE_RPN_WRITE_MASK, PTE_SW0, PTE_SW123, PTE_VALID,
    };
}

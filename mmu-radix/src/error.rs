//! The crate's one error type.

use crate::memory::MemoryError;

/// Everything that can go wrong in this crate. Every operation that returns one leaves the
/// tree as it was (see each method for the one exception: a failing [`crate::TableMemory`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RadixError {
    /// An address or length is not a multiple of the alignment it needs.
    #[error("{what} {value:#x} is not aligned to {align:#x}")]
    Misaligned {
        /// Which argument: "gpa", "l1_ra", "len", "root table", "table page", "pool base".
        what: &'static str,
        /// Its value.
        value: u64,
        /// The alignment required.
        align: u64,
    },
    /// A guest real range reaches past the 52-bit space (or wraps).
    #[error("guest real range {gpa:#x} + {len:#x} is outside the 52-bit address space")]
    GpaOutOfRange {
        /// Start of the range.
        gpa: u64,
        /// Its length.
        len: u64,
    },
    /// An L1 real range reaches past what a leaf may point at (2^53).
    #[error("L1 real range {l1_ra:#x} + {len:#x} is beyond the 53-bit RPN limit")]
    L1OutOfRange {
        /// Start of the range.
        l1_ra: u64,
        /// Its length.
        len: u64,
    },
    /// `map` would cover a guest real address that is already mapped.
    #[error("guest real address {gpa:#x} is already mapped ({size:#x} bytes at {mapped_at:#x})")]
    Overlap {
        /// First address of the new mapping that collides.
        gpa: u64,
        /// Start of the existing leaf, or of the region whose table already exists.
        mapped_at: u64,
        /// Bytes that leaf or region covers.
        size: u64,
    },
    /// The range starts or ends inside a larger leaf, which this crate does not split.
    #[error("range boundary {gpa:#x} falls inside the {size:#x}-byte leaf at {leaf:#x}")]
    SplitsLeaf {
        /// The boundary address.
        gpa: u64,
        /// Start of the leaf it cuts.
        leaf: u64,
        /// Size of that leaf.
        size: u64,
    },
    /// The allocator cannot provide the table pages a map needs (checked before writing).
    #[error("need {needed} table pages, allocator has {available}")]
    OutOfTableMemory {
        /// Pages the operation needs.
        needed: usize,
        /// Pages the allocator reported available.
        available: usize,
    },
    /// The allocator refused a page it had reported available; the map was rolled back.
    #[error("table allocator failed to provide a {size:#x}-byte page it reported available")]
    AllocFailed {
        /// Size of the page asked for.
        size: u64,
    },
    /// A [`crate::TableMemory`] access failed.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// An entry in the tree is not one this crate could have written.
    #[error("corrupt level-{level} entry {entry:#018x} at L1 real address {addr:#x}")]
    CorruptEntry {
        /// Level of the table holding it (0 = root).
        level: usize,
        /// Where it is.
        addr: u64,
        /// Its value.
        entry: u64,
    },
    /// The dirty bitmap is too short for the range.
    #[error("dirty bitmap has {got} words, range needs {needed}")]
    BitmapTooSmall {
        /// Words the range needs (one bit per 4 KiB page).
        needed: usize,
        /// Words given.
        got: usize,
    },
    /// A process table base/size pair the PATE cannot hold.
    #[error("process table at {base:#x} with PRTS {prts} is invalid (PRTS <= 24, base aligned)")]
    InvalidProcessTable {
        /// The base (an L2 real address).
        base: u64,
        /// The size exponent.
        prts: u32,
    },
    /// A pool larger than the allocator's bitmap can track.
    #[error("pool of {pages} pages exceeds the allocator capacity of {capacity} pages")]
    PoolTooLarge {
        /// Pages asked for.
        pages: u64,
        /// Pages the bitmap can track.
        capacity: u64,
    },
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::L1RealAddr;
    use std::string::ToString;

    #[test]
    fn messages_name_values() {
        let e = RadixError::Misaligned {
            what: "gpa",
            value: 0x1234,
            align: 0x1000,
        };
        assert_eq!(e.to_string(), "gpa 0x1234 is not aligned to 0x1000");
        let e = RadixError::Overlap {
            gpa: 0x2000,
            mapped_at: 0,
            size: 0x20_0000,
        };
        assert!(e.to_string().contains("0x2000"));
        let e: RadixError = MemoryError::OutOfRange {
            addr: L1RealAddr(0x42).raw(),
            len: 8,
        }
        .into();
        assert!(e.to_string().contains("0x42"));
        let e: RadixError = MemoryError::Misaligned {
            addr: 0x43,
            align: 8,
        }
        .into();
        assert!(e.to_string().contains("0x43"));
    }
}

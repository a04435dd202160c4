//! Typed values and their big-endian wire layouts.

use crate::id::ValueKind;
use zerocopy::big_endian::U64;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Partition table of an L2 (GSID 0x0005): where the L0 finds its partition-scoped radix tree.
///
/// ```
/// use papr_gsb::PartitionTable;
/// let pt = PartitionTable { root: 0x10_0000, ea_bits: 52, root_size: 65536 };
/// assert_eq!(PartitionTable::from_bytes(&pt.to_bytes()), Some(pt));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionTable {
    /// L1 real address of the root page directory.
    pub root: u64,
    /// Number of effective-address bits (QEMU requires 52).
    pub ea_bits: u64,
    /// Size of the root page directory in bytes.
    pub root_size: u64,
}

/// Process table of an L2 (GSID 0x0006).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessTable {
    /// Guest real address of the process table.
    pub base: u64,
    /// Size in bytes (QEMU accepts 4 KiB or 16 MiB only).
    pub size: u64,
}

/// Run buffer descriptor (GSIDs 0x0C00 input, 0x0C01 output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferDescriptor {
    /// L1 real address of the buffer.
    pub address: u64,
    /// Size in bytes (QEMU: 0x80..=16384).
    pub size: u64,
}

/// Logical PVR of a guest (GSID 0x0003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogicalPvr(pub u32);

impl LogicalPvr {
    /// ISA 3.00 (Power9 mode), `PVR_ARCH_300`.
    pub const ARCH_300: Self = Self(0x0F00_0005);
    /// ISA 3.1 (Power10 mode), `PVR_ARCH_31`.
    pub const ARCH_31: Self = Self(0x0F00_0006);
    /// ISA 3.1 on Power11 (`PVR_ARCH_31_P11`).
    pub const ARCH_31_P11: Self = Self(0x0F00_0007);
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Dw3 {
    a: U64,
    b: U64,
    c: U64,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Dw2 {
    a: U64,
    b: U64,
}

impl PartitionTable {
    /// Wire bytes (3 × be64).
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut out = [0; 24];
        let w = Dw3 {
            a: U64::new(self.root),
            b: U64::new(self.ea_bits),
            c: U64::new(self.root_size),
        };
        out.copy_from_slice(w.as_bytes());
        out
    }
    /// Decodes exactly 24 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let w = Dw3::read_from_bytes(b).ok()?;
        Some(Self {
            root: w.a.get(),
            ea_bits: w.b.get(),
            root_size: w.c.get(),
        })
    }
}

macro_rules! two_dw {
    ($t:ident, $a:ident, $b:ident) => {
        impl $t {
            /// Wire bytes (2 × be64).
            pub fn to_bytes(&self) -> [u8; 16] {
                let mut out = [0; 16];
                let w = Dw2 {
                    a: U64::new(self.$a),
                    b: U64::new(self.$b),
                };
                out.copy_from_slice(w.as_bytes());
                out
            }
            /// Decodes exactly 16 bytes.
            pub fn from_bytes(b: &[u8]) -> Option<Self> {
                let w = Dw2::read_from_bytes(b).ok()?;
                Some(Self {
                    $a: w.a.get(),
                    $b: w.b.get(),
                })
            }
        }
    };
}
two_dw!(ProcessTable, base, size);
two_dw!(BufferDescriptor, address, size);

/// A typed element value.
///
/// ```
/// use papr_gsb::{Value, ValueKind};
/// let v = Value::U32(0x0F00_0006);
/// let mut b = [0u8; 4];
/// v.encode(&mut b);
/// assert_eq!(b, [0x0F, 0, 0, 6]);
/// assert_eq!(Value::decode(ValueKind::U32, &b), Some(v));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// No value (BLANK).
    Empty,
    /// A 32-bit register.
    U32(u32),
    /// A 64-bit register.
    U64(u64),
    /// A 128-bit vector-scalar register; the high 64 bits are doubleword 0 (the FPR half).
    Vector(u128),
    /// Partition table.
    PartitionTable(PartitionTable),
    /// Process table.
    ProcessTable(ProcessTable),
    /// Run buffer descriptor.
    Buffer(BufferDescriptor),
}

impl Value {
    /// The value's shape.
    pub const fn kind(&self) -> ValueKind {
        match self {
            Value::Empty => ValueKind::Empty,
            Value::U32(_) => ValueKind::U32,
            Value::U64(_) => ValueKind::U64,
            Value::Vector(_) => ValueKind::Vector,
            Value::PartitionTable(_) => ValueKind::PartitionTable,
            Value::ProcessTable(_) => ValueKind::ProcessTable,
            Value::Buffer(_) => ValueKind::Buffer,
        }
    }

    /// Writes the big-endian encoding into the first `kind().size()` bytes of `out`.
    /// Returns the number of bytes written, or `None` (nothing written) if `out` is too short.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        // Fixed-size chunks: each arm compiles to a byte swap and one store.
        match self {
            Value::Empty => {}
            Value::U32(v) => *out.first_chunk_mut::<4>()? = v.to_be_bytes(),
            Value::U64(v) => *out.first_chunk_mut::<8>()? = v.to_be_bytes(),
            Value::Vector(v) => *out.first_chunk_mut::<16>()? = v.to_be_bytes(),
            Value::PartitionTable(p) => *out.first_chunk_mut::<24>()? = p.to_bytes(),
            Value::ProcessTable(p) => *out.first_chunk_mut::<16>()? = p.to_bytes(),
            Value::Buffer(p) => *out.first_chunk_mut::<16>()? = p.to_bytes(),
        }
        Some(usize::from(self.kind().size()))
    }

    /// Decodes `bytes` as a value of `kind`; `None` unless `bytes` is exactly the kind's size.
    pub fn decode(kind: ValueKind, bytes: &[u8]) -> Option<Value> {
        Some(match kind {
            ValueKind::Empty => {
                if !bytes.is_empty() {
                    return None;
                }
                Value::Empty
            }
            ValueKind::U32 => Value::U32(u32::from_be_bytes(*<&[u8; 4]>::try_from(bytes).ok()?)),
            ValueKind::U64 => Value::U64(u64::from_be_bytes(*<&[u8; 8]>::try_from(bytes).ok()?)),
            ValueKind::Vector => {
                Value::Vector(u128::from_be_bytes(*<&[u8; 16]>::try_from(bytes).ok()?))
            }
            ValueKind::PartitionTable => Value::PartitionTable(PartitionTable::from_bytes(bytes)?),
            ValueKind::ProcessTable => Value::ProcessTable(ProcessTable::from_bytes(bytes)?),
            ValueKind::Buffer => Value::Buffer(BufferDescriptor::from_bytes(bytes)?),
        })
    }

    /// The value as an integer register (U32 zero-extended, U64), else `None`.
    pub const fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_is_big_endian_and_sized() {
        let mut b = [0xFFu8; 24];
        assert_eq!(Value::U64(0x0102_0304_0506_0708).encode(&mut b), Some(8));
        assert_eq!(b[..8], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Value::Vector(1).encode(&mut b[..15]), None);
        let pt = Value::PartitionTable(PartitionTable {
            root: 1,
            ea_bits: 52,
            root_size: 3,
        });
        assert_eq!(pt.encode(&mut b), Some(24));
        assert_eq!(b[15], 52);
        assert_eq!(Value::decode(ValueKind::PartitionTable, &b), Some(pt));
        assert_eq!(Value::decode(ValueKind::U32, &b[..3]), None);
        assert_eq!(Value::decode(ValueKind::Empty, &b[..1]), None);
        assert_eq!(Value::Empty.encode(&mut []), Some(0));
    }
}

//! `TableMemory` backends: a safe byte slice, identity-mapped bare metal (unsafe), and
//! vm-memory (feature `vm-memory`). The table allocator lives in [`crate::PoolAlloc`].

pub mod identity;
pub mod slice;
#[cfg(feature = "vm-memory")]
pub mod vm_memory;

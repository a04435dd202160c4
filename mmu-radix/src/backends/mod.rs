//! The one `TableMemory` backend of this crate: a safe byte slice ([`slice::SliceMemory`]),
//! for tests, docs and software L0s. The L1 memories of a real L1 (`IdentityMemory`,
//! `VmRealMemory`) live in `papr-hcall`, which implements `TableMemory` for them. The table
//! allocator lives in [`crate::PoolAlloc`].

pub mod slice;

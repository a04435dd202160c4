#![cfg_attr(doctest, doc = include_str!("../README.md"))]
//! PAPR Nested APIv2 **guest state buffers** (GSBs): the wire format through which an L1
//! hypervisor reads and writes an L2's state in the L0 (`H_GUEST_GET_STATE`,
//! `H_GUEST_SET_STATE`, and the run input/output buffers of `H_GUEST_RUN_VCPU`).
//!
//! A GSB is a be32 element count followed by packed elements `{be16 id, be16 len, value}`,
//! all big-endian, with no padding. This crate holds:
//!
//! * [`table`](crate::TABLE) — every guest state id (GSID) of current Linux and QEMU, one
//!   declarative row each (name, value kind and size, scope, read-only, processor-mode
//!   restriction), from which everything else is derived;
//! * [`GuestStateId`] — the id newtype, with a constant per register and the dense bit index;
//! * [`Value`] and the structured values ([`PartitionTable`], [`ProcessTable`],
//!   [`BufferDescriptor`], [`LogicalPvr`], [`HostCounters`]);
//! * [`GsbBuilder`] — writes elements into a caller's `&mut [u8]`, allocation-free;
//! * [`Gsb`] — a zero-copy validating parser with a [`Policy`] for each side (an L1 reading
//!   the L0's answers, an L0 reading an L1's requests);
//! * [`GsidSet`] — a `const`-friendly id bitmap for valid/dirty tracking;
//! * [`GsbLayout`] — the precomputed wire layout of a fixed id set, for bulk build and
//!   parse of whole buffers (full-state GET/SET) with the per-element parser as fallback.
//!
//! `#![no_std]` and needs no `alloc`. Fixed-layout big-endian values go through `zerocopy`'s
//! alignment-1 `big_endian` types (no `unsafe` here, and no alignment assumptions about where
//! an element lands); the TLV walk itself is a short hand-written loop over `&[u8]` that
//! returns a typed [`GsbError`] for every malformed input and never panics.
//!
//! ```
//! use papr_gsb::{GsbBuilder, Gsb, GuestStateId, Policy, Scope, Value, PartitionTable};
//! let mut buf = [0u8; 128];
//! let mut b = GsbBuilder::new(&mut buf)?;
//! b.put(GuestStateId::PARTITION_TABLE, Value::PartitionTable(PartitionTable {
//!     root: 0x20_0000, ea_bits: 52, root_size: 65536 }))?;
//! b.put_u32(GuestStateId::LOGICAL_PVR, 0x0F00_0006)?;
//! let len = b.len();
//! // The L0 side checks it as a guest-wide SET:
//! let gsb = Gsb::parse(&buf[..len], &Policy::l0_request(papr_gsb::Request::Set, Scope::Guest))?;
//! assert_eq!(gsb.len(), 2);
//! # Ok::<(), papr_gsb::GsbError>(())
//! ```
#![no_std]

mod builder;
mod counters;
mod error;
mod id;
mod layout;
mod layout_build;
mod layout_gsb;
mod layout_parse;
mod parser;
mod set;
mod table;
mod value;

pub use builder::{GsbBuilder, ELEMENT_HEADER_SIZE, HEADER_SIZE};
pub use counters::HostCounters;
pub use error::GsbError;
pub use id::{Access, GsidInfo, GuestStateId, Restriction, Scope, ValueKind};
pub use layout::{GsbLayout, LayoutEntry};
pub use layout_gsb::{LayoutGsb, LayoutValues, Parsed};
pub use parser::{Element, Elements, Gsb, Policy, Request};
pub use set::{GsidSet, Indices as GsidSetIndices, Iter as GsidSetIter};
pub use table::{GSID_COUNT, TABLE};
pub use value::{BufferDescriptor, LogicalPvr, PartitionTable, ProcessTable, Value};

//! The crate's one error type.

use crate::id::{GuestStateId, Scope, ValueKind};

/// What was wrong with a guest state buffer, or with an element a builder was asked to write.
///
/// Every variant names the element (its index in the buffer and its byte offset) and the id
/// involved, so a log line says exactly which byte of which buffer was bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GsbError {
    /// The buffer cannot hold the 4-byte element count.
    #[error("guest state buffer of {len} bytes has no room for the 4-byte header")]
    TruncatedHeader {
        /// Length of the buffer given.
        len: usize,
    },
    /// The header counts more elements than the buffer holds (it ended cleanly before them).
    #[error(
        "header counts {count} elements but the buffer ends after {found} (at offset {offset})"
    )]
    CountExceedsBuffer {
        /// Element count from the header.
        count: u32,
        /// Elements that were present.
        found: u32,
        /// Offset where the buffer ended.
        offset: usize,
    },
    /// Fewer than 4 bytes remain where an element header should start.
    #[error("element {index} at offset {offset}: 4-byte element header truncated ({available} bytes left)")]
    TruncatedElementHeader {
        /// Index of the element.
        index: u32,
        /// Offset of its header.
        offset: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// The element's value runs past the end of the buffer.
    #[error("element {index} ({id}) at offset {offset}: value of {len} bytes truncated ({available} bytes left)")]
    TruncatedValue {
        /// Index of the element.
        index: u32,
        /// Offset of its header.
        offset: usize,
        /// The element's id.
        id: GuestStateId,
        /// Length the header claims.
        len: u16,
        /// Bytes left after the header.
        available: usize,
    },
    /// The id is not in the GSID table.
    #[error("element {index} at offset {offset}: unknown guest state id {id:#06x}")]
    UnknownId {
        /// Index of the element.
        index: u32,
        /// Offset of its header.
        offset: usize,
        /// The raw id.
        id: u16,
    },
    /// The length does not match the id's value size.
    #[error("element {index} ({id}) at offset {offset}: length {found}, but the id's value is {expected} bytes")]
    SizeMismatch {
        /// Index of the element.
        index: u32,
        /// Offset of its header.
        offset: usize,
        /// The element's id.
        id: GuestStateId,
        /// Size the table gives.
        expected: u16,
        /// Length found (or given to a builder).
        found: u16,
    },
    /// Bytes follow the last counted element in a buffer parsed as exact.
    #[error("{len} trailing bytes after the last element, at offset {offset}")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
        /// Number of trailing bytes.
        len: usize,
    },
    /// The element belongs to another scope than the request.
    #[error("element {index} ({id}): a {found:?}-wide id in a {expected:?}-wide request")]
    ScopeMismatch {
        /// Index of the element.
        index: u32,
        /// The element's id.
        id: GuestStateId,
        /// Scope of the request.
        expected: Scope,
        /// Scope of the id.
        found: Scope,
    },
    /// A read-only id in a request that writes state.
    #[error("element {index} ({id}) is read-only and cannot be set")]
    ReadOnly {
        /// Index of the element.
        index: u32,
        /// The element's id.
        id: GuestStateId,
    },
    /// An id occurs a second time where each id may occur once.
    #[error("element {index} ({id}) repeats an earlier element")]
    Duplicate {
        /// Index of the repeated element.
        index: u32,
        /// The element's id.
        id: GuestStateId,
    },
    /// The builder's buffer cannot take the element; nothing was written.
    #[error("{id}: element needs {needed} bytes, {available} of the {capacity}-byte buffer left")]
    BufferFull {
        /// The element's id.
        id: GuestStateId,
        /// Bytes the element needs (header included).
        needed: usize,
        /// Bytes left.
        available: usize,
        /// Buffer capacity.
        capacity: usize,
    },
    /// A typed value of another shape than the id takes.
    #[error("{id}: given a {given:?} value, the id takes {expected:?}")]
    WrongKind {
        /// The element's id.
        id: GuestStateId,
        /// Kind the table gives.
        expected: ValueKind,
        /// Kind given.
        given: ValueKind,
    },
    /// A register value too wide for a 32-bit id.
    #[error("{id}: value {value:#x} does not fit the id's 32 bits")]
    ValueTooWide {
        /// The element's id.
        id: GuestStateId,
        /// Value given.
        value: u64,
    },
    /// The element count would overflow its 32 bits.
    #[error("element count would exceed u32::MAX")]
    TooManyElements,
}

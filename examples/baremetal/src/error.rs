//! The crate's one error type.

use papr_hcall::HcallError;

/// Everything `papr-baremetal` can fail with; each variant names what was wrong and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The flattened device tree did not parse.
    #[error("device tree at {addr:#x}: {reason}")]
    DeviceTree {
        /// Where the tree was read (its address, or the slice's address).
        addr: usize,
        /// What the `fdt` crate rejected.
        reason: &'static str,
    },
    /// An RTAS call named token 0: the device tree does not offer that call.
    #[error("RTAS call without a token (the device tree names none)")]
    RtasNoToken,
    /// The RTAS argument block cannot hold the call: it needs at least one return word (the
    /// status) and at most [`MAX_WORDS`](crate::rtas::MAX_WORDS) arguments and returns.
    #[error("RTAS token {token:#x}: {nargs} arguments and {nret} returns do not fit the argument block (1 to 16 words, at least 1 return)")]
    RtasBlock {
        /// The call's token.
        token: u32,
        /// Arguments asked for.
        nargs: usize,
        /// Return words asked for.
        nret: usize,
    },
    /// `H_RTAS` itself failed (the L0 refused the call; no RTAS status was written).
    #[error("RTAS token {token:#x}: {source}")]
    RtasHcall {
        /// The call's token.
        token: u32,
        /// The hcall's error.
        source: HcallError,
    },
    /// The heap was already initialised.
    #[error("heap already initialised")]
    HeapInitialised,
    /// Too little RAM between the end of the image and the limit for a heap.
    #[error("heap: {size:#x} bytes from {start:#x} (limit {limit:#x}, maximum {max:#x}) are fewer than the {min:#x} needed")]
    HeapTooSmall {
        /// End of the image: where the heap would start.
        start: usize,
        /// Size it would have had.
        size: usize,
        /// The limit asked for (end address).
        limit: usize,
        /// The maximum size asked for.
        max: usize,
        /// The smallest heap [`heap::init`](crate::heap) accepts.
        min: usize,
    },
}

//! The crate's error: why the probe kernel could not be assembled.

/// Why [`kernel_elf`](crate::kernel_elf) (or the [`Asm`](crate::asm::Asm) under it) failed.
/// For the fixed probe program none of these happen (the tests build it); they guard edits
/// to the program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A label was used but never bound.
    #[error("label {label} is used but never bound")]
    UnboundLabel {
        /// Label index.
        label: usize,
    },
    /// A label was bound twice.
    #[error("label {label} is bound twice")]
    LabelRebound {
        /// Label index.
        label: usize,
    },
    /// A branch target is out of the instruction's reach (±32 KiB for `bc`, ±32 MiB for `b`).
    #[error("branch at offset {at:#x} cannot reach offset {target:#x}")]
    BranchRange {
        /// Offset of the branch.
        at: u64,
        /// Offset of the target.
        target: u64,
    },
    /// A base-relative address does not fit `addis`/`addi` (±2 GiB).
    #[error("offset {value:#x} does not fit addis/addi")]
    OffsetRange {
        /// The offset.
        value: i64,
    },
    /// Code or data was placed past a fixed offset (such as the end of the vector area).
    #[error("cannot pad to offset {offset:#x}: the image is already at {at:#x}")]
    Overrun {
        /// The fixed offset.
        offset: u64,
        /// Where the image was.
        at: u64,
    },
    /// The probes the program reports differ from [`PROBES`](crate::PROBES).
    #[error("probe #{index} is reported as {got:?}, the table says {want:?}")]
    ProbeOrder {
        /// Position in the table.
        index: usize,
        /// Name in the table (empty if the program reports more probes).
        want: &'static str,
        /// Name the program reports (empty if it reports fewer).
        got: &'static str,
    },
}

//! Which requests are refused client-side because the L0 would die of them.

use papr_gsb::{GsidSet, GuestStateId};

/// The requests an L0 is known to abort on, refused before the hcall is made.
///
/// [`Profile::QEMU`] (the default) holds every request that kills QEMU's `pseries` L0
/// (`qemu-pseries.md`); an L0 known to handle one may relax it explicitly:
///
/// ```
/// use papr_hcall::Profile;
/// let powervm = Profile { refuse_delete_all: false, ..Profile::QEMU };
/// assert!(Profile::default().refuse_delete_all);
/// assert!(!powervm.refuse_delete_all);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Refuse `H_GUEST_DELETE` with the delete-all flag.
    pub refuse_delete_all: bool,
    /// Refuse vCPU ids other than the next in order (0, 1, 2, …).
    pub dense_vcpu_ids: bool,
    /// Refuse thread-wide GET/SET/RUN on a vCPU not created through this API.
    pub known_vcpus_only: bool,
    /// Ids that may be set but never read back.
    pub set_only_ids: GsidSet,
    /// Required partition-table EA bits, if any.
    pub partition_ea_bits: Option<u64>,
    /// Accepted process-table sizes, if restricted.
    pub process_table_sizes: Option<[u64; 2]>,
    /// Accepted run buffer sizes (inclusive), and a non-zero address, if restricted.
    pub run_buffer_sizes: Option<(u64, u64)>,
    /// Largest GET/SET buffer, in bytes.
    pub max_state_buffer: u64,
}

impl Profile {
    /// QEMU's `pseries` L0 (`hw/ppc/spapr_nested.c`): every known abort refused.
    pub const QEMU: Profile = Profile {
        refuse_delete_all: true,
        dense_vcpu_ids: true,
        known_vcpus_only: true,
        set_only_ids: GsidSet::new()
            .with(GuestStateId::PARTITION_TABLE)
            .with(GuestStateId::PROCESS_TABLE)
            .with(GuestStateId::RUN_INPUT)
            .with(GuestStateId::RUN_OUTPUT),
        partition_ea_bits: Some(52),
        process_table_sizes: Some([4096, 16 << 20]),
        run_buffer_sizes: Some((0x80, 16384)),
        max_state_buffer: 1 << 20,
    };

    /// Nothing refused beyond what the ABI itself forbids (for an L0 that validates
    /// everything and answers with error codes).
    pub const PERMISSIVE: Profile = Profile {
        refuse_delete_all: false,
        dense_vcpu_ids: false,
        known_vcpus_only: false,
        set_only_ids: GsidSet::EMPTY,
        partition_ea_bits: None,
        process_table_sizes: None,
        run_buffer_sizes: None,
        max_state_buffer: u64::MAX,
    };
}

impl Default for Profile {
    fn default() -> Self {
        Profile::QEMU
    }
}

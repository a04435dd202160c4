//! The L0's host-wide counters (GSIDs 0x0800–0x0804).

use crate::error::GsbError;
use crate::id::GuestStateId;
use crate::parser::Gsb;
use crate::set::GsidSet;

/// The host-wide counters an L0 reports (`H_GUEST_GET_STATE` with the host-wide flag).
///
/// ```
/// use papr_gsb::{GsbBuilder, Gsb, HostCounters, GsidSet, Policy, Scope};
/// let mut buf = [0u8; 64];
/// let mut b = GsbBuilder::new(&mut buf)?;
/// b.put_requests(&HostCounters::IDS)?; // the request; an L0 fills in the values
/// let n = b.len();
/// let answer = Gsb::parse(&buf[..n], &Policy::l1_answer(Scope::Host))?;
/// assert_eq!(HostCounters::from_gsb(&answer)?, HostCounters::default());
/// # Ok::<(), papr_gsb::GsbError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostCounters {
    /// 0x0800: bytes in use in the L0's guest-management space for this L1.
    pub guest_heap: u64,
    /// 0x0801: maximum of that space.
    pub guest_heap_max: u64,
    /// 0x0802: bytes in use for the L0's guest page tables.
    pub guest_pgtable_size: u64,
    /// 0x0803: maximum of that space.
    pub guest_pgtable_size_max: u64,
    /// 0x0804: bytes reclaimed from that space so far.
    pub guest_pgtable_reclaim: u64,
}

impl HostCounters {
    /// The five counter ids.
    pub const IDS: GsidSet = GsidSet::HOST_WIDE;

    /// Reads the counters present in a parsed answer; absent ones stay 0.
    pub fn from_gsb(gsb: &Gsb<'_>) -> Result<Self, GsbError> {
        let mut c = Self::default();
        for e in gsb {
            let v = e.value().as_u64().unwrap_or(0);
            match e.id {
                GuestStateId::L0_GUEST_HEAP => c.guest_heap = v,
                GuestStateId::L0_GUEST_HEAP_MAX => c.guest_heap_max = v,
                GuestStateId::L0_GUEST_PGTABLE_SIZE => c.guest_pgtable_size = v,
                GuestStateId::L0_GUEST_PGTABLE_SIZE_MAX => c.guest_pgtable_size_max = v,
                GuestStateId::L0_GUEST_PGTABLE_RECLAIM => c.guest_pgtable_reclaim = v,
                GuestStateId::BLANK => {}
                id => {
                    return Err(GsbError::ScopeMismatch {
                        index: e.index,
                        id,
                        expected: crate::Scope::Host,
                        found: id.info().map(|i| i.scope).unwrap_or(crate::Scope::Thread),
                    })
                }
            }
        }
        Ok(c)
    }
}

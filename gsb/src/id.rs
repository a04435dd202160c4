//! Guest state ids (GSIDs) and what the table says about each.

use crate::table::{GSID_COUNT, TABLE};
use core::fmt;

/// A guest state id (GSID): the be16 tag of a guest state buffer element.
///
/// Any `u16` can be held (an L0 may send ids this crate does not know); [`info`](Self::info)
/// tells whether the id is defined. Constants name every defined id (`GuestStateId::NIA`).
///
/// ```
/// use papr_gsb::{GuestStateId, Scope};
/// let nia = GuestStateId::NIA;
/// assert_eq!(nia.raw(), 0x1021);
/// assert_eq!(nia.size(), Some(8));
/// assert_eq!(nia.info().map(|i| i.scope), Some(Scope::Thread));
/// assert_eq!(GuestStateId::gpr(3), Some(GuestStateId::GPR3));
/// assert!(GuestStateId(0x0007).info().is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GuestStateId(pub u16);

/// Where an id lives: which GET/SET request scope it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Host-wide (L0 counters): `H_GUEST_GET_STATE` with the host-wide flag (bit 1).
    Host,
    /// Guest-wide (one value per L2): requests with the guest-wide flag (bit 0).
    Guest,
    /// Thread-wide (one value per vCPU): requests without a scope flag, and the run input.
    Thread,
}

/// Whether the L1 may write an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Readable and writable.
    ReadWrite,
    /// Only the L0 writes it (exit registers, sizes, host counters): a SET of it is refused.
    ReadOnly,
}

/// Capability (processor mode) restriction of an id.
///
/// No L0 or L1 examined gates ids on the negotiated mode (QEMU accepts every id in every
/// mode, Linux sends them all); this records where the register architecturally exists so
/// that a caller can avoid sending registers its L2 mode lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Restriction {
    /// Exists in every mode the API supports (Power9 and later).
    None,
    /// ISA 3.1 (Power10 and later) only: DAWR1/DAWRX1, MMCR3, SIER2/3, DEXCR, HDEXCR, HASHKEYR, HASHPKEYR.
    Isa31,
    /// Before ISA 3.1 only (WORT, a Power8/9 register).
    PreIsa31,
}

/// The shape of an id's value on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// No value (`BLANK`, length 0).
    Empty,
    /// be32.
    U32,
    /// be64.
    U64,
    /// A 128-bit vector-scalar register, most-significant byte first.
    Vector,
    /// Partition table: 3 × be64 {root address, EA bits, root size}.
    PartitionTable,
    /// Process table: 2 × be64 {base, size}.
    ProcessTable,
    /// Run buffer descriptor: 2 × be64 {L1 real address, size}.
    Buffer,
}

impl ValueKind {
    /// The value length in bytes.
    pub const fn size(self) -> u16 {
        match self {
            ValueKind::Empty => 0,
            ValueKind::U32 => 4,
            ValueKind::U64 => 8,
            ValueKind::Vector | ValueKind::ProcessTable | ValueKind::Buffer => 16,
            ValueKind::PartitionTable => 24,
        }
    }
}

/// One row of the GSID table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsidInfo {
    /// The id.
    pub id: GuestStateId,
    /// Linux's name without the `KVMPPC_GSID_` prefix (`"NIA"`).
    pub name: &'static str,
    /// Value shape (and so its size).
    pub kind: ValueKind,
    /// Request scope the id belongs to.
    pub scope: Scope,
    /// Read-only or read-write.
    pub access: Access,
    /// Processor-mode restriction (informational; see [`Restriction`]).
    pub restriction: Restriction,
    /// One line on what the value is.
    pub description: &'static str,
}

impl GsidInfo {
    /// Value length in bytes.
    pub const fn size(&self) -> u16 {
        self.kind.size()
    }
    /// True for ids of the meta class (0x0C00–0x0C02: run buffers, VPA).
    pub const fn is_meta(&self) -> bool {
        self.id.0 >= 0x0C00 && self.id.0 <= 0x0C02
    }
}

/// The classes of ids in ascending order: (first id, last id, bit index of the first id).
/// `GuestStateId::index` hard-codes the same figures; the tests keep them equal.
#[cfg(test)]
const CLASSES: [(u16, u16, u16); 7] = [
    (0x0000, 0x0006, 0),
    (0x0800, 0x0804, 7),
    (0x0C00, 0x0C02, 12),
    (0x1000, 0x1053, 15),
    (0x2000, 0x200E, 99),
    (0x3000, 0x303F, 114),
    (0xF000, 0xF003, 178),
];

// `index()` only yields values < GSID_COUNT and loops are bounded by the array lengths;
// `const fn` cannot use `get()`.
#[allow(clippy::indexing_slicing)]
impl GuestStateId {
    /// The raw 16-bit id.
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// Dense bit index of a defined id (Linux's latest "flatten" layout, 0..182), or `None`
    /// for an undefined id (Linux aliases those to 0; we do not).
    #[inline]
    pub const fn index(self) -> Option<usize> {
        let id = self.0;
        // (first id, count, bit of the first id) of the class selected by the high byte:
        // one compare per lookup, on the hot path of every parse. Kept equal to `CLASSES`
        // by the `class_edges` test.
        let (first, count, base) = match id >> 8 {
            0x00 => (0x0000, 7, 0),
            0x08 => (0x0800, 5, 7),
            0x0C => (0x0C00, 3, 12),
            0x10 => (0x1000, 84, 15),
            0x20 => (0x2000, 15, 99),
            0x30 => (0x3000, 64, 114),
            0xF0 => (0xF000, 4, 178),
            _ => return None,
        };
        let off = id.wrapping_sub(first);
        if off < count {
            Some((base + off) as usize)
        } else {
            None
        }
    }

    /// The id with dense bit index `index`, or `None` when `index >= GSID_COUNT`.
    ///
    /// Computed from the classes (as [`index`](Self::index) is), without reading the
    /// table: set iteration on the exit path touches no table page.
    #[inline]
    pub const fn from_index(index: usize) -> Option<Self> {
        let (first, base) = match index {
            0..7 => (0x0000, 0),
            7..12 => (0x0800, 7),
            12..15 => (0x0C00, 12),
            15..99 => (0x1000, 15),
            99..114 => (0x2000, 99),
            114..178 => (0x3000, 114),
            178..GSID_COUNT => (0xF000, 178),
            _ => return None,
        };
        Some(Self(first + (index - base) as u16))
    }

    /// The table row of a defined id.
    #[inline]
    pub const fn info(self) -> Option<&'static GsidInfo> {
        match self.index() {
            Some(i) => Some(&TABLE[i]),
            None => None,
        }
    }

    /// Value size in bytes of a defined id.
    #[inline]
    pub const fn size(self) -> Option<u16> {
        match self.info() {
            Some(i) => Some(i.size()),
            None => None,
        }
    }

    /// Linux's name of a defined id (`"GPR3"`).
    pub const fn name(self) -> Option<&'static str> {
        match self.info() {
            Some(i) => Some(i.name),
            None => None,
        }
    }

    /// `GPR<n>` for n in 0..32.
    pub const fn gpr(n: u8) -> Option<Self> {
        if n < 32 {
            Some(Self(0x1000 + n as u16))
        } else {
            None
        }
    }

    /// `VSR<n>` for n in 0..64 (VSR0–31 overlay FPR0–31, VSR32–63 are VR0–31).
    pub const fn vsr(n: u8) -> Option<Self> {
        if n < 64 {
            Some(Self(0x3000 + n as u16))
        } else {
            None
        }
    }

    /// `PMC<n>` for n in 1..=6.
    pub const fn pmc(n: u8) -> Option<Self> {
        if n >= 1 && n <= 6 {
            Some(Self(0x2007 + (n as u16 - 1)))
        } else {
            None
        }
    }

    /// Linux's settable-bit mask for the id (`kvmppc_gsid_mask`): LPCR and MSR have
    /// reserved/hypervisor bits the L1 must not set; every other id is all ones.
    /// Nothing in this crate applies it silently: callers choose to.
    pub const fn settable_mask(self) -> u64 {
        match self.0 {
            0x102C => 0x0070_0000_0382_0C00,
            0x1022 => 0xEFFF_FFFF_FFBF_EFFF,
            _ => u64::MAX,
        }
    }

    /// Whether a value of `len` bytes is accepted for this id when parsing what an L0 sent.
    /// Equal to the table size, except that HEIR (0xF002) may also come as 8 bytes (Linux
    /// declares it be64; PAPR and QEMU send be32).
    #[inline]
    pub const fn accepts_len(self, len: u16) -> bool {
        match self.size() {
            Some(s) => s == len || (self.0 == 0xF002 && len == 8),
            None => false,
        }
    }
}

impl fmt::Debug for GuestStateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({:#06x})", self.0),
            None => write!(f, "GuestStateId({:#06x})", self.0),
        }
    }
}

impl fmt::Display for GuestStateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({:#06x})", self.0),
            None => write!(f, "unknown id {:#06x}", self.0),
        }
    }
}

impl From<u16> for GuestStateId {
    fn from(v: u16) -> Self {
        Self(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips_for_every_row() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.id.index(), Some(i));
            assert_eq!(GuestStateId::from_index(i), Some(row.id));
        }
    }

    #[test]
    fn class_edges() {
        for (first, last, _) in CLASSES {
            assert!(GuestStateId(first).index().is_some());
            assert!(GuestStateId(last).index().is_some());
            assert!(GuestStateId(last + 1).index().is_none());
            if first > 0 {
                assert!(GuestStateId(first - 1).index().is_none());
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(GuestStateId::gpr(32), None);
        assert_eq!(GuestStateId::vsr(63), Some(GuestStateId::VSR63));
        assert_eq!(GuestStateId::pmc(1), Some(GuestStateId::PMC1));
        assert_eq!(GuestStateId::pmc(7), None);
        assert_eq!(GuestStateId::LPCR.settable_mask(), 0x0070_0000_0382_0C00);
        assert!(GuestStateId::HEIR.accepts_len(4) && GuestStateId::HEIR.accepts_len(8));
        assert!(!GuestStateId::HDSISR.accepts_len(8));
        assert_eq!(
            GuestStateId::DPDES.info().map(|i| i.restriction),
            Some(Restriction::None)
        );
        assert_eq!(
            GuestStateId::DEXCR.info().map(|i| i.restriction),
            Some(Restriction::Isa31)
        );
        assert_eq!(
            GuestStateId::WORT.info().map(|i| i.restriction),
            Some(Restriction::PreIsa31)
        );
    }
}

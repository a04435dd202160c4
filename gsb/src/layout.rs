//! Precomputed element layouts of fixed id sets: bulk build of a whole buffer (Linux's
//! "guest state message" filled from a bitmap, `kvmppc_gsm_fill_info`) without a table
//! lookup per element.

use crate::builder::{ELEMENT_HEADER_SIZE, HEADER_SIZE};
use crate::id::{Access, GuestStateId, Scope, ValueKind};
use crate::set::GsidSet;
use crate::table::{GSID_COUNT, TABLE};
use core::ops::Range;

/// Marks a dense bit index that is not a member of the layout in [`GsbLayout`]'s position map.
const ABSENT: u8 = u8::MAX;

/// One element of a [`GsbLayout`]: its id, where its header and value sit in the buffer and
/// how long the value is.
///
/// ```
/// use papr_gsb::{GsbLayout, GsidSet, GuestStateId};
/// static NIA_MSR: GsbLayout =
///     GsbLayout::new(GsidSet::new().with(GuestStateId::NIA).with(GuestStateId::MSR));
/// let e = NIA_MSR.entry(1).unwrap();
/// assert_eq!(e.id(), GuestStateId::MSR);
/// assert_eq!((e.offset(), e.value_offset(), e.len()), (16, 20, 8));
/// assert_eq!(e.header(), [0x10, 0x22, 0, 8]);
/// assert_eq!(e.bit(), GuestStateId::MSR.index().unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutEntry {
    header: [u8; ELEMENT_HEADER_SIZE],
    offset: u16,
    bit: u8,
    len: u8,
}

impl LayoutEntry {
    const ZERO: Self = Self {
        header: [0; ELEMENT_HEADER_SIZE],
        offset: 0,
        bit: 0,
        len: 0,
    };

    /// The element's id.
    #[inline]
    pub const fn id(&self) -> GuestStateId {
        GuestStateId(u16::from_be_bytes([self.header[0], self.header[1]]))
    }

    /// The id's dense bit index ([`GuestStateId::index`]), for caches indexed by it.
    #[inline]
    pub const fn bit(&self) -> usize {
        self.bit as usize
    }

    /// Byte offset of the element header in the buffer.
    #[inline]
    pub const fn offset(&self) -> usize {
        self.offset as usize
    }

    /// Byte offset of the value in the buffer (the header's offset + 4).
    #[inline]
    pub const fn value_offset(&self) -> usize {
        self.offset as usize + ELEMENT_HEADER_SIZE
    }

    /// Value length in bytes (the id's size in [`TABLE`]).
    #[inline]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the value is empty (only BLANK's is).
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The 4 wire bytes of the element header: be16 id, be16 length.
    #[inline]
    pub const fn header(&self) -> [u8; ELEMENT_HEADER_SIZE] {
        self.header
    }
}

/// The wire layout of a buffer holding one element per member of a [`GsidSet`], in
/// ascending id order with each id's [`TABLE`] size — what [`GsbBuilder::put_requests`]
/// writes and what an L0 answers to it. Computed once (in `const` context for a fixed set)
/// so that a whole buffer is built ([`build`](Self::build)) and checked
/// ([`parse`](Self::parse)) without a table lookup or size check per element.
///
/// No allocation: a layout is a fixed-size value (about 3 KiB), best kept in a `static`
/// (building one at run time walks the whole table: about a microsecond).
///
/// ```
/// use papr_gsb::{Gsb, GsbLayout, GsidSet, Policy};
/// static GPRS: GsbLayout = GsbLayout::new(GsidSet::GPRS);
/// assert_eq!(GPRS.len(), 32);
/// assert_eq!(GPRS.size(), 4 + 32 * (4 + 8));
/// let mut buf = [0u8; 512];
/// let n = GPRS.build_registers(&mut buf, |e| e.bit() as u128)?;
/// assert_eq!(Gsb::parse(&buf[..n], &Policy::EXACT)?.ids(), GsidSet::GPRS);
/// # Ok::<(), papr_gsb::GsbError>(())
/// ```
///
/// [`GsbBuilder::put_requests`]: crate::GsbBuilder::put_requests
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GsbLayout {
    ids: GsidSet,
    count: u32,
    size: usize,
    /// Some member is read-only.
    read_only: bool,
    /// Scopes of the members other than BLANK, one bit per [`scope_bit`].
    scopes: u8,
    /// Every member is BLANK or a register (u32, u64, vector).
    registers: bool,
    entries: [LayoutEntry; GSID_COUNT],
    /// Position in `entries` by dense bit index, [`ABSENT`] for a non-member.
    position: [u8; GSID_COUNT],
    /// Maximal runs of entries with consecutive bit indices, the same value length and
    /// register-ness: the bulk loops walk each with a fixed element stride, alongside a
    /// slice of a register file indexed by bit.
    runs: [Run; GSID_COUNT],
    run_count: u8,
}

/// Entries of a [`GsbLayout`] with consecutive bit indices and the same value length, all
/// registers or all not: a stretch of the buffer with a fixed element stride.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Position of the first entry.
    first: u8,
    /// Bit index of the first entry.
    bit: u8,
    /// Number of entries.
    count: u8,
    /// Value length of each.
    len: u8,
    /// Whether they are registers ([`is_register`]).
    register: bool,
    /// Offset of the first element header.
    offset: u16,
}

impl Run {
    const ZERO: Self = Self {
        first: 0,
        bit: 0,
        count: 0,
        len: 0,
        register: false,
        offset: 0,
    };

    /// Positions of its entries in [`GsbLayout::entries`].
    pub(crate) fn positions(&self) -> Range<usize> {
        usize::from(self.first)..usize::from(self.first) + usize::from(self.count)
    }

    /// Bit indices of its entries.
    pub(crate) fn bits(&self) -> Range<usize> {
        usize::from(self.bit)..usize::from(self.bit) + usize::from(self.count)
    }

    /// Bytes of its elements in the buffer.
    pub(crate) fn bytes(&self) -> Range<usize> {
        let start = usize::from(self.offset);
        start..start + usize::from(self.count) * self.stride()
    }

    /// Bytes of one element (header and value).
    pub(crate) fn stride(&self) -> usize {
        ELEMENT_HEADER_SIZE + usize::from(self.len)
    }

    /// Value length of each element.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the entries are registers (or BLANK).
    pub(crate) fn is_register(&self) -> bool {
        self.register
    }
}

/// One bit per scope, for [`GsbLayout`]'s policy check.
pub(crate) const fn scope_bit(scope: Scope) -> u8 {
    match scope {
        Scope::Guest => 1,
        Scope::Host => 2,
        Scope::Thread => 4,
    }
}

/// Whether a value of `kind` is a register [`GsbLayout::build_registers`] can write (or
/// BLANK's empty value).
const fn is_register(kind: ValueKind) -> bool {
    matches!(
        kind,
        ValueKind::Empty | ValueKind::U32 | ValueKind::U64 | ValueKind::Vector
    )
}

// `i < GSID_COUNT == TABLE.len()` and `n <= i`; `const fn` cannot use `get()`.
#[allow(clippy::indexing_slicing)]
impl GsbLayout {
    /// The layout of `ids`: one element per member in ascending id order, each with its
    /// table size, after the 4-byte count.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, GuestStateId};
    /// const L: GsbLayout = GsbLayout::new(GsidSet::new().with(GuestStateId::CR));
    /// assert_eq!((L.len(), L.size()), (1, 4 + 4 + 4));
    /// ```
    pub const fn new(ids: GsidSet) -> Self {
        let mut entries = [LayoutEntry::ZERO; GSID_COUNT];
        let mut position = [ABSENT; GSID_COUNT];
        let mut runs = [Run::ZERO; GSID_COUNT];
        let mut run_count = 0;
        let mut read_only = false;
        let mut scopes = 0;
        let mut registers = true;
        let mut at = HEADER_SIZE;
        let mut n = 0;
        let mut i = 0;
        while i < GSID_COUNT {
            let row = &TABLE[i];
            if ids.contains(row.id) {
                let len = row.kind.size();
                let [i0, i1] = row.id.0.to_be_bytes();
                let [l0, l1] = len.to_be_bytes();
                // The casts keep every value: the whole table is < 4 KiB on the wire (offsets
                // fit u16), bit indices and positions are < GSID_COUNT = 182 and value sizes
                // are <= 24 (u8).
                entries[n] = LayoutEntry {
                    header: [i0, i1, l0, l1],
                    offset: at as u16,
                    bit: i as u8,
                    len: len as u8,
                };
                position[i] = n as u8;
                read_only |= matches!(row.access, Access::ReadOnly);
                if row.id.0 != GuestStateId::BLANK.0 {
                    scopes |= scope_bit(row.scope);
                }
                let register = is_register(row.kind);
                registers &= register;
                if run_count > 0
                    && runs[run_count - 1].len as u16 == len
                    && runs[run_count - 1].register == register
                    && runs[run_count - 1].bit as usize + runs[run_count - 1].count as usize == i
                {
                    runs[run_count - 1].count += 1;
                } else {
                    runs[run_count] = Run {
                        first: n as u8,
                        bit: i as u8,
                        count: 1,
                        len: len as u8,
                        register,
                        offset: at as u16,
                    };
                    run_count += 1;
                }
                at += ELEMENT_HEADER_SIZE + len as usize;
                n += 1;
            }
            i += 1;
        }
        Self {
            ids,
            count: n as u32,
            size: at,
            read_only,
            scopes,
            registers,
            entries,
            position,
            runs,
            run_count: run_count as u8,
        }
    }

    /// The runs of entries with a fixed element stride, in buffer order.
    pub(crate) fn runs(&self) -> &[Run] {
        self.runs.get(..usize::from(self.run_count)).unwrap_or(&[])
    }

    /// The entries of `run`.
    pub(crate) fn run_entries(&self, run: &Run) -> &[LayoutEntry] {
        self.entries.get(run.positions()).unwrap_or(&[])
    }

    /// The id set this layout was made for.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet};
    /// assert_eq!(GsbLayout::new(GsidSet::VSRS).ids(), GsidSet::VSRS);
    /// ```
    pub const fn ids(&self) -> GsidSet {
        self.ids
    }

    /// Number of elements.
    ///
    /// ```
    /// assert_eq!(papr_gsb::GsbLayout::new(papr_gsb::GsidSet::VSRS).len(), 64);
    /// ```
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the layout has no element (a buffer of the count 0 alone).
    ///
    /// ```
    /// assert!(papr_gsb::GsbLayout::new(papr_gsb::GsidSet::EMPTY).is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of the whole buffer: the 4-byte count and every element.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet};
    /// assert_eq!(GsbLayout::new(GsidSet::VSRS).size(), 4 + 64 * (4 + 16));
    /// assert_eq!(GsbLayout::new(GsidSet::VSRS).size(), 4 + GsidSet::VSRS.wire_size());
    /// ```
    pub const fn size(&self) -> usize {
        self.size
    }

    /// Whether every member is BLANK or a register (u32, u64 or vector value): what
    /// [`build_registers`](Self::build_registers) needs.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet};
    /// assert!(GsbLayout::new(GsidSet::RUN_INPUT).is_registers());
    /// assert!(!GsbLayout::new(GsidSet::GUEST_WIDE).is_registers());
    /// ```
    pub const fn is_registers(&self) -> bool {
        self.registers
    }

    /// The elements in buffer order.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, GuestStateId};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// assert_eq!(L.entries()[3].id(), GuestStateId::gpr(3).unwrap());
    /// ```
    pub fn entries(&self) -> &[LayoutEntry] {
        self.entries.get(..self.len()).unwrap_or(&[])
    }

    /// The element at `position` (0-based, buffer order).
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// assert!(L.entry(31).is_some() && L.entry(32).is_none());
    /// ```
    pub fn entry(&self, position: usize) -> Option<LayoutEntry> {
        self.entries().get(position).copied()
    }

    /// Position of `id` in buffer order, or `None` if it is not a member.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, GuestStateId};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// assert_eq!(L.position(GuestStateId::gpr(5).unwrap()), Some(5));
    /// assert_eq!(L.position(GuestStateId::NIA), None);
    /// ```
    pub fn position(&self, id: GuestStateId) -> Option<usize> {
        let bit = id.index()?;
        match self.position.get(bit) {
            Some(&p) if p != ABSENT => Some(usize::from(p)),
            _ => None,
        }
    }

    /// Whether a parse under a policy of `scope` and `reject_read_only` would accept
    /// every member (ids, sizes and duplicates need no check: they are right by
    /// construction).
    pub(crate) fn admits(&self, scope: Option<Scope>, reject_read_only: bool) -> bool {
        if reject_read_only && self.read_only {
            return false;
        }
        match scope {
            Some(s) => self.scopes & !scope_bit(s) == 0,
            None => true,
        }
    }
}

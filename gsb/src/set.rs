//! A set of guest state ids as a 182-bit bitmap (GSID ⇄ dense bit index).

use crate::id::{Access, GuestStateId, Scope};
use crate::table::{GSID_COUNT, TABLE};
use core::fmt;

const WORDS: usize = GSID_COUNT.div_ceil(64);

/// A set of defined guest state ids, stored as a bitmap over their dense bit index
/// ([`GuestStateId::index`]). Iteration yields ids in ascending order. Usable in `const`
/// context, so predefined sets cost nothing at run time.
///
/// Undefined ids are never members: [`insert`](Self::insert) returns `false` for them (as for
/// an id already present) and
/// [`with`](Self::with) leaves the set unchanged.
///
/// ```
/// use papr_gsb::{GsidSet, GuestStateId};
/// const EXIT_REGS: GsidSet = GsidSet::new().with(GuestStateId::NIA).with(GuestStateId::MSR);
/// let mut s = EXIT_REGS;
/// assert!(s.insert(GuestStateId::GPR3));
/// assert!(!s.insert(GuestStateId(0x0007)));
/// let ids: Vec<_> = s.iter().collect();
/// assert_eq!(ids, [GuestStateId::GPR3, GuestStateId::NIA, GuestStateId::MSR]);
/// assert_eq!(GsidSet::GPRS.len(), 32);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GsidSet {
    bits: [u64; WORDS],
}

// Bit positions come from `GuestStateId::index` (< GSID_COUNT) or loops bounded by
// GSID_COUNT / WORDS, so `i / 64 < WORDS`; `const fn` cannot use `get()`.
#[allow(clippy::indexing_slicing)]
impl GsidSet {
    /// The empty set.
    pub const EMPTY: Self = Self { bits: [0; WORDS] };
    /// GPR0–GPR31.
    pub const GPRS: Self = Self::range(GuestStateId::GPR0, GuestStateId::GPR31);
    /// VSR0–VSR63 (FPRs and VRs).
    pub const VSRS: Self = Self::range(GuestStateId::VSR0, GuestStateId::VSR63);
    /// Every defined id except BLANK (Linux `kvmppc_gsbm_fill`).
    pub const ALL: Self = Self::range(GuestStateId(0x0001), GuestStateId(0xF003));
    /// Guest-wide ids except BLANK.
    pub const GUEST_WIDE: Self = Self::ALL.filter_scope(Scope::Guest);
    /// Host-wide counters 0x0800–0x0804.
    pub const HOST_WIDE: Self = Self::ALL.filter_scope(Scope::Host);
    /// Thread-wide ids (meta, registers, exit registers).
    pub const THREAD_WIDE: Self = Self::ALL.filter_scope(Scope::Thread);
    /// Thread-wide registers the L1 may write: what a run input buffer may carry
    /// (meta ids and the read-only exit registers excluded).
    pub const RUN_INPUT: Self = Self::THREAD_WIDE
        .filter_writable()
        .difference(Self::range(GuestStateId::RUN_INPUT, GuestStateId::VPA));

    /// The empty set.
    pub const fn new() -> Self {
        Self::EMPTY
    }

    /// Every defined id in `first..=last`.
    pub const fn range(first: GuestStateId, last: GuestStateId) -> Self {
        let mut s = Self::EMPTY;
        let mut i = 0;
        while i < GSID_COUNT {
            let id = TABLE[i].id;
            if id.0 >= first.0 && id.0 <= last.0 {
                s.bits[i / 64] |= 1 << (i % 64);
            }
            i += 1;
        }
        s
    }

    const fn filter_scope(self, scope: Scope) -> Self {
        let mut s = self;
        let mut i = 0;
        while i < GSID_COUNT {
            let keep = matches!(
                (TABLE[i].scope, scope),
                (Scope::Host, Scope::Host)
                    | (Scope::Guest, Scope::Guest)
                    | (Scope::Thread, Scope::Thread)
            );
            if !keep {
                s.bits[i / 64] &= !(1 << (i % 64));
            }
            i += 1;
        }
        s
    }

    const fn filter_writable(self) -> Self {
        let mut s = self;
        let mut i = 0;
        while i < GSID_COUNT {
            if matches!(TABLE[i].access, Access::ReadOnly) {
                s.bits[i / 64] &= !(1 << (i % 64));
            }
            i += 1;
        }
        s
    }

    /// This set plus `id` (unchanged if `id` is undefined). For building `const` sets.
    #[inline]
    pub const fn with(mut self, id: GuestStateId) -> Self {
        if let Some(i) = id.index() {
            self.bits[i / 64] |= 1 << (i % 64);
        }
        self
    }

    /// Adds `id`; returns whether it was newly added (`false` if already a member, or if
    /// `id` is undefined and so cannot be a member).
    #[inline]
    pub fn insert(&mut self, id: GuestStateId) -> bool {
        match id.index() {
            Some(bit) => self.insert_index(bit),
            None => false,
        }
    }

    /// Adds the id with dense bit index `bit` (already known to be < GSID_COUNT); returns
    /// whether it was newly added.
    #[inline]
    pub(crate) fn insert_index(&mut self, bit: usize) -> bool {
        match self.bits.get_mut(bit / 64) {
            Some(w) => {
                let mask = 1u64 << (bit % 64);
                let new = *w & mask == 0;
                *w |= mask;
                new
            }
            None => false,
        }
    }

    /// Removes `id`; returns whether it was a member.
    #[inline]
    pub fn remove(&mut self, id: GuestStateId) -> bool {
        let Some(bit) = id.index() else {
            return false;
        };
        match self.bits.get_mut(bit / 64) {
            Some(w) => {
                let mask = 1u64 << (bit % 64);
                let was = *w & mask != 0;
                *w &= !mask;
                was
            }
            None => false,
        }
    }

    /// Whether `id` is a member.
    #[inline]
    pub const fn contains(&self, id: GuestStateId) -> bool {
        match id.index() {
            Some(i) => self.bits[i / 64] & (1 << (i % 64)) != 0,
            None => false,
        }
    }

    /// Members of either set.
    #[inline]
    pub const fn union(mut self, other: Self) -> Self {
        let mut w = 0;
        while w < WORDS {
            self.bits[w] |= other.bits[w];
            w += 1;
        }
        self
    }

    /// Members of both sets.
    #[inline]
    pub const fn intersection(mut self, other: Self) -> Self {
        let mut w = 0;
        while w < WORDS {
            self.bits[w] &= other.bits[w];
            w += 1;
        }
        self
    }

    /// Members of `self` not in `other`.
    #[inline]
    pub const fn difference(mut self, other: Self) -> Self {
        let mut w = 0;
        while w < WORDS {
            self.bits[w] &= !other.bits[w];
            w += 1;
        }
        self
    }

    /// Whether every member of `self` is in `other`.
    #[inline]
    pub const fn is_subset(&self, other: &Self) -> bool {
        let mut w = 0;
        while w < WORDS {
            if self.bits[w] & !other.bits[w] != 0 {
                return false;
            }
            w += 1;
        }
        true
    }

    /// Number of members.
    #[inline]
    pub const fn len(&self) -> usize {
        let mut n = 0;
        let mut w = 0;
        while w < WORDS {
            n += self.bits[w].count_ones() as usize;
            w += 1;
        }
        n
    }

    /// Whether the set is empty.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        // The words or-ed together: no population count (a software routine on targets
        // without one, and a dozen instructions per word under QEMU's TCG).
        let mut any = 0;
        let mut w = 0;
        while w < WORDS {
            any |= self.bits[w];
            w += 1;
        }
        any == 0
    }

    /// Calls `f` with each member's dense bit index ([`GuestStateId::index`]), ascending:
    /// what [`indices`](Self::indices) yields, as one loop per bitmap word (no iterator
    /// state kept between members: the hot paths that write a run input use it).
    ///
    /// ```
    /// use papr_gsb::{GsidSet, GuestStateId};
    /// let s = GsidSet::new().with(GuestStateId::GPR3).with(GuestStateId::DEC_EXPIRY_TB);
    /// let mut seen = Vec::new();
    /// s.for_each_index(|i| seen.push(i));
    /// assert_eq!(seen, s.indices().collect::<Vec<_>>());
    /// ```
    #[inline(always)]
    pub fn for_each_index(&self, mut f: impl FnMut(usize)) {
        for (word, &bits) in self.bits.iter().enumerate() {
            let mut w = bits;
            while w != 0 {
                f(word * 64 + w.trailing_zeros() as usize);
                w &= w - 1;
            }
        }
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.bits = [0; WORDS];
    }

    /// Members in ascending id order.
    pub fn iter(&self) -> Iter {
        Iter(self.indices())
    }

    /// The dense bit indices ([`GuestStateId::index`]) of the members, ascending: for
    /// code that keeps per-index tables and needs no id.
    ///
    /// ```
    /// use papr_gsb::{GsidSet, GuestStateId};
    /// let s = GsidSet::EMPTY.with(GuestStateId::GPR3).with(GuestStateId::NIA);
    /// let i: Vec<usize> = s.indices().collect();
    /// assert_eq!(i, [GuestStateId::GPR3.index().unwrap(), GuestStateId::NIA.index().unwrap()]);
    /// ```
    pub fn indices(&self) -> Indices {
        Indices {
            bits: self.bits,
            word: 0,
        }
    }

    /// Total wire bytes (4-byte headers plus values) of one element per member: the buffer
    /// space a GET or SET of this set needs after the 4-byte buffer header.
    pub fn wire_size(&self) -> usize {
        self.iter()
            .map(|id| 4 + usize::from(id.size().unwrap_or(0)))
            .sum()
    }
}

/// Iterator over a [`GsidSet`] in ascending id order.
#[derive(Debug, Clone)]
pub struct Iter(Indices);

impl Iterator for Iter {
    type Item = GuestStateId;
    #[inline]
    fn next(&mut self) -> Option<GuestStateId> {
        self.0.next().and_then(GuestStateId::from_index)
    }
}

/// Iterator over the dense bit indices of a [`GsidSet`], ascending ([`GsidSet::indices`]).
#[derive(Debug, Clone)]
pub struct Indices {
    bits: [u64; WORDS],
    word: usize,
}

impl Iterator for Indices {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        while let Some(w) = self.bits.get_mut(self.word) {
            if *w != 0 {
                let b = w.trailing_zeros() as usize;
                *w &= *w - 1;
                return Some(self.word * 64 + b);
            }
            self.word += 1;
        }
        None
    }
}

impl IntoIterator for &GsidSet {
    type Item = GuestStateId;
    type IntoIter = Iter;
    fn into_iter(self) -> Iter {
        self.iter()
    }
}

impl FromIterator<GuestStateId> for GsidSet {
    fn from_iter<T: IntoIterator<Item = GuestStateId>>(iter: T) -> Self {
        let mut s = Self::EMPTY;
        for id in iter {
            s.insert(id);
        }
        s
    }
}

impl fmt::Debug for GsidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

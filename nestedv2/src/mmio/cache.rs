//! A one-entry cache of the instruction page's partition-scoped translation, so that an L2
//! that keeps faulting on MMIO from the same code page (a driver's polling loop) is not
//! walked through the L1's radix tree on every exit.
//!
//! What is cached is only the L1's own side: L2 real page → L1 real page, from the
//! partition-scoped tree the L1 owns. It is keyed by the tree's root and validated by the
//! tree's [`generation`](papr_mmu_radix::RadixTable::generation), which every map, unmap,
//! protect, dirty-log harvest and R/C update bumps: a translation read under generation `g`
//! is used only while the generation is still `g`. The L2's own process-scoped walk (MSR\[IR\]
//! = 1) is never cached: its tables are L2 memory, which the L2 may rewrite at any time
//! without the L1 seeing it. A prefixed instruction takes the uncached path (its suffix may
//! lie in another page).

use super::decode::{is_prefix, Insn};
use super::fetch::{
    fetch, read_gpa, translate_fetch, FetchError, Fetched, GuestMmu, REAL_MODE_MASK,
};
use super::{MSR_IR, MSR_LE};
use papr_hcall::RealMemory;
use papr_mmu_radix::{GuestRealAddr, L1RealAddr, TableMemory};

/// The 4 KiB granule a cached translation covers (leaves are at least this large and
/// aligned to it).
const GRANULE: u64 = 0x1000;

/// The cached translation: the key (tree root, generation, L2 real page) and its L1 page.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Entry {
    root: u64,
    generation: u64,
    gpa_page: u64,
    l1_page: u64,
}

/// A one-entry instruction-fetch cache: [`fetch`] with the partition-scoped translation of
/// the instruction's page remembered while the tree's generation is unchanged. It gives
/// exactly what [`fetch`] gives — the same instruction, addresses and errors — for any
/// tree changes, as long as `generation` is the tree's current
/// [`generation`](papr_mmu_radix::RadixTable::generation) read before the fetch.
///
/// The cache is per vCPU (`Vcpu::run` keeps one); `tests/mmio_fetch_cache.rs` checks it
/// against [`fetch`] over arbitrary changes of the tree and of L2 memory.
///
/// ```
/// use papr_nestedv2::mmio::FetchCache;
/// let mut cache = FetchCache::new();
/// assert!(!cache.is_filled());
/// cache.clear();
/// assert_eq!(cache, FetchCache::default());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FetchCache {
    entry: Option<Entry>,
}

impl FetchCache {
    /// An empty cache.
    #[must_use]
    pub const fn new() -> Self {
        Self { entry: None }
    }

    /// Forgets the cached translation.
    pub fn clear(&mut self) {
        self.entry = None;
    }

    /// Whether a translation is cached.
    #[must_use]
    pub const fn is_filled(&self) -> bool {
        self.entry.is_some()
    }

    /// [`fetch`] through the cache: the L2's own translation ([`translate_fetch`]) as
    /// always, then the partition-scoped translation of the instruction's 4 KiB page from
    /// the cache when it holds that page of the tree at `mmu.partition_root` under
    /// `generation`, else walked and remembered.
    ///
    /// # Errors
    /// Exactly those of [`fetch`] for the same arguments.
    #[inline]
    pub fn fetch<M: RealMemory + TableMemory + ?Sized>(
        &mut self,
        mem: &M,
        mmu: &GuestMmu,
        generation: u64,
        msr: u64,
        nia: u64,
        pidr: u32,
    ) -> Result<Fetched, FetchError> {
        let ea = nia & !3;
        // Real mode inline ([`translate_fetch`]'s first case), the walk out of line.
        let gpa = if msr & MSR_IR == 0 {
            GuestRealAddr(ea & REAL_MODE_MASK)
        } else {
            translate_fetch(mem, mmu, msr, ea, pidr)?
        };
        let key = Entry {
            root: mmu.partition_root.0,
            generation,
            gpa_page: gpa.0 / GRANULE,
            l1_page: 0,
        };
        let mut b = [0u8; 4];
        let l1_ra = match self.entry {
            Some(e) if Entry { l1_page: 0, ..e } == key => {
                let ra = L1RealAddr(e.l1_page | (gpa.0 % GRANULE));
                mem.read(ra, &mut b).map_err(|_| FetchError::Memory {
                    addr: ra.0,
                    len: b.len() as u64,
                })?;
                ra
            }
            _ => self.miss(mem, mmu, key, gpa, &mut b, ea)?,
        };
        let word = if msr & MSR_LE != 0 {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        };
        if is_prefix(word) {
            // The suffix may be in another page: the uncached path does it all.
            return fetch(mem, mmu, msr, nia, pidr);
        }
        Ok(Fetched {
            insn: Insn::word(word),
            gpa,
            l1_ra,
        })
    }

    /// The 4 bytes at L2 real address `gpa` through the cached translation alone, when it
    /// holds `gpa`'s page of the tree at `root` under `generation` and the read succeeds;
    /// `None` otherwise (then [`fetch`](Self::fetch) decides, and reports any error).
    /// Changes nothing: what [`fetch`](Self::fetch) reads on a hit.
    #[inline(always)]
    pub(super) fn read_hit<M: RealMemory + ?Sized>(
        &self,
        mem: &M,
        root: u64,
        generation: u64,
        gpa: u64,
    ) -> Option<[u8; 4]> {
        let e = self.entry?;
        if e.root != root || e.generation != generation || e.gpa_page != gpa / GRANULE {
            return None;
        }
        let mut b = [0u8; 4];
        mem.read(L1RealAddr(e.l1_page | (gpa % GRANULE)), &mut b)
            .ok()?;
        Some(b)
    }

    /// A miss: the partition-scoped walk of `gpa` (the read into `b`), remembered under
    /// `key` when it succeeds; the cache is empty when it fails.
    #[cold]
    #[inline(never)]
    fn miss<M: RealMemory + TableMemory + ?Sized>(
        &mut self,
        mem: &M,
        mmu: &GuestMmu,
        key: Entry,
        gpa: GuestRealAddr,
        b: &mut [u8; 4],
        ea: u64,
    ) -> Result<L1RealAddr, FetchError> {
        self.entry = None;
        let ra = read_gpa(mem, mmu, gpa.0, b, ea, false)?;
        self.entry = Some(Entry {
            l1_page: ra.0 & !(GRANULE - 1),
            ..key
        });
        Ok(ra)
    }
}

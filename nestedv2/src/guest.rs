//! `Guest`: one L2 partition in the L0, its partition-scoped table and its RAM.

use crate::error::Error;
use crate::host::{Backend, NestedHost};
use crate::mmio::GuestMmu;
use alloc::vec::Vec;
use core::fmt;
use papr_gsb::{GsbBuilder, GuestStateId, PartitionTable, ProcessTable, Value};
use papr_hcall::{GuestId, L1RealAddr, MemoryError, RealMemory, Target};
use papr_mmu_radix::{
    GuestRealAddr, Perms, ProcessTableValue, RadixError, RadixTable, TableAlloc, GPA_LIMIT,
};
use spin::Mutex;

mod published;
mod table;
use published::TableCell;
pub use table::GuestTable;

/// 4 KiB.
pub(crate) const PAGE: u64 = 0x1000;

/// A range of L2 RAM: guest real addresses `gpa..gpa+len` backed by L1 real addresses
/// `l1..l1+len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamRegion {
    /// First guest real address.
    pub gpa: GuestRealAddr,
    /// The L1 real address backing it.
    pub l1: L1RealAddr,
    /// Length in bytes (a multiple of 4 KiB).
    pub len: u64,
}

impl RamRegion {
    /// Whether `gpa` is inside the region.
    pub const fn contains(&self, gpa: GuestRealAddr) -> bool {
        gpa.0 >= self.gpa.0 && gpa.0 - self.gpa.0 < self.len
    }
    /// The L1 real address backing `gpa`, if inside.
    pub const fn l1_of(&self, gpa: GuestRealAddr) -> Option<L1RealAddr> {
        if self.contains(gpa) {
            Some(L1RealAddr(self.l1.0 + (gpa.0 - self.gpa.0)))
        } else {
            None
        }
    }
}

/// The logical PVR a guest is created with ([`Guest::create_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogicalPvr {
    /// The architected PVR of the negotiated mode (what [`Guest::create`] sets).
    Negotiated,
    /// This value.
    Value(u32),
    /// None: the L0's default (QEMU: the host PVR, PCR = 0, "raw" mode).
    Unset,
}

/// A guest's partition-scoped table: it lives in the host's L1 memory, written through the
/// same backend (and the same atomic accesses) the L0 reads it with.
pub type GuestRadixTable<P, A> = RadixTable<<P as Backend>::Memory, A>;

/// One L2 guest: created in the L0 with `H_GUEST_CREATE`, given a logical PVR for the
/// negotiated mode and a partition-scoped radix table (registered with one guest-wide
/// `H_GUEST_SET_STATE` of 0x0005 PARTITION_TABLE and 0x0003 LOGICAL_PVR), and RAM regions.
///
/// Deleted in the L0 (`H_GUEST_DELETE`, one guest, never delete-all) when dropped; a
/// creation that fails part-way deletes what it created (each with a second attempt if the
/// first delete fails). [`Guest::delete`] reports the
/// outcome instead. vCPUs borrow their guest, so it cannot go while they exist.
///
/// RAM is mapped lazily: the first access to a page faults (HDSI/HISI) and the run loop
/// maps it ([`Guest::fault_in`]); [`Guest::map_all_ram`] maps everything at once.
pub struct Guest<'h, P: Backend, A: TableAlloc> {
    pub(crate) host: &'h NestedHost<P>,
    id: GuestId,
    pub(crate) table: TableCell<P, A>,
    process_table: Mutex<Option<ProcessTableValue>>,
    /// Held while a vCPU id is picked and created ([`Guest::create_vcpu`]).
    pub(crate) creating: Mutex<()>,
    ram: Vec<RamRegion>,
    deleted: bool,
}

impl<P: Backend, A: TableAlloc> fmt::Debug for Guest<'_, P, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guest")
            .field("id", &self.id)
            .field("ram", &self.ram)
            .finish_non_exhaustive()
    }
}

impl<'h, P: Backend, A: TableAlloc> Guest<'h, P, A> {
    /// Creates a guest: `H_GUEST_CREATE`, a radix table with pages from `tables`, then one
    /// guest-wide `H_GUEST_SET_STATE` of PARTITION_TABLE {root, 52, 64 KiB} and the logical
    /// PVR of the negotiated mode (2 hcalls after the create). On any failure the guest is
    /// deleted again before the error is returned.
    ///
    /// # Errors
    /// [`Error::Hcall`], [`Error::Radix`] (no root page), [`Error::OutOfPages`] (no scratch
    /// page for the SET).
    pub fn create(host: &'h NestedHost<P>, tables: A) -> Result<Self, Error> {
        Self::create_with(host, tables, LogicalPvr::Negotiated)
    }

    /// [`Guest::create`] with the guest's logical PVR chosen by `pvr`:
    /// [`LogicalPvr::Unset`] leaves the L0's default (the host PVR, raw mode), which is what
    /// a pseries platform that advertises the raw PVR in its device tree wants.
    ///
    /// # Errors
    /// As [`Guest::create`].
    pub fn create_with(host: &'h NestedHost<P>, tables: A, pvr: LogicalPvr) -> Result<Self, Error> {
        let id = host.hv.create_guest()?;
        match Self::setup(host, id, tables, pvr) {
            Ok(table) => Ok(Self {
                host,
                id,
                table: TableCell::new(table),
                process_table: Mutex::new(None),
                creating: Mutex::new(()),
                ram: Vec::new(),
                deleted: false,
            }),
            Err(e) => {
                // Best effort, two attempts: the creation error is the one to report.
                let hv = &host.hv;
                if hv.delete_guest(id).is_err() {
                    let _ = hv.delete_guest(id);
                }
                Err(e)
            }
        }
    }

    fn setup(
        host: &NestedHost<P>,
        id: GuestId,
        tables: A,
        pvr: LogicalPvr,
    ) -> Result<GuestRadixTable<P, A>, Error> {
        let table = RadixTable::new(host.mem.clone(), tables)?;
        let [root, ea_bits, root_size] = table.pagetable_value().to_u64s();
        let mut buf = [0u8; 64];
        let mut b = GsbBuilder::new(&mut buf)?;
        b.put(
            GuestStateId::PARTITION_TABLE,
            Value::PartitionTable(PartitionTable {
                root,
                ea_bits,
                root_size,
            }),
        )?;
        match pvr {
            LogicalPvr::Negotiated => {
                b.put_u32(GuestStateId::LOGICAL_PVR, host.mode().logical_pvr().0)?
            }
            LogicalPvr::Value(v) => b.put_u32(GuestStateId::LOGICAL_PVR, v)?,
            LogicalPvr::Unset => {}
        }
        let len = b.finish();
        let scratch = host.alloc_page("guest setup scratch")?;
        let r = host
            .hv
            .set_state(Target::guest(id), buf.get(..len).unwrap_or(&[]), scratch);
        host.free_page(scratch);
        r?;
        Ok(table)
    }

    /// Registers the L2's process table (GSID 0x0006, one guest-wide
    /// `H_GUEST_SET_STATE`): what the L0 walks once the L2 turns its MMU on, and what the
    /// MMIO instruction fetch walks ([`mmio`](crate::mmio)). QEMU accepts 4 KiB or 16 MiB
    /// only; other sizes are refused before the hcall.
    ///
    /// # Errors
    /// [`Error::Hcall`] (a refused size comes back as `HcallError::Refused`),
    /// [`Error::OutOfPages`] (no scratch page).
    pub fn set_process_table(&self, base: GuestRealAddr, size: u64) -> Result<(), Error> {
        let mut buf = [0u8; 32];
        let mut b = GsbBuilder::new(&mut buf)?;
        b.put(
            GuestStateId::PROCESS_TABLE,
            Value::ProcessTable(ProcessTable { base: base.0, size }),
        )?;
        let len = b.finish();
        let scratch = self.host.alloc_page("process table scratch")?;
        let r = self.host.hv.set_state(
            Target::guest(self.id),
            buf.get(..len).unwrap_or(&[]),
            scratch,
        );
        self.host.free_page(scratch);
        r?;
        *self.process_table.lock() = Some(ProcessTableValue { base, size });
        Ok(())
    }

    /// What an instruction fetch from the L2 walks: the partition-scoped root and the
    /// process table registered with [`set_process_table`](Self::set_process_table).
    pub fn mmu(&self) -> GuestMmu {
        GuestMmu {
            partition_root: self.table.root(),
            process_table: *self.process_table.lock(),
        }
    }

    /// The partition-scoped tree's [`generation`](papr_mmu_radix::RadixTable::generation)
    /// as of the last change made through its lock (no lock taken), then [`mmu`](Self::mmu)
    /// — without the process table (and its lock) unless `relocated` (MSR\[IR\] = 1, or
    /// not known): real-mode fetches never read it. What a vCPU's instruction-fetch cache
    /// is checked against.
    pub(crate) fn fetch_view(&self, relocated: bool) -> (GuestMmu, u64) {
        let generation = self.table.generation();
        let mmu = GuestMmu {
            partition_root: self.table.root(),
            process_table: if relocated {
                *self.process_table.lock()
            } else {
                None
            },
        };
        (mmu, generation)
    }

    /// The L0's id of the guest.
    pub fn id(&self) -> GuestId {
        self.id
    }

    /// The host.
    pub fn host(&self) -> &'h NestedHost<P> {
        self.host
    }

    /// The RAM regions.
    pub fn ram(&self) -> &[RamRegion] {
        &self.ram
    }

    /// Adds L2 RAM: `len` bytes at guest real `gpa`, backed by L1 real memory at `l1`.
    /// Nothing is mapped yet (see [`Guest::fault_in`], [`Guest::map_all_ram`]).
    ///
    /// # Errors
    /// [`Error::BadRamRegion`] when empty, not 4 KiB aligned, beyond 2^52, overlapping, or
    /// when `l1..l1 + len` is not all in the host's L1 memory (`RealMemory::check_range`):
    /// the L2 writes its RAM, so only memory the L0 may write can back it.
    pub fn add_ram(&mut self, gpa: GuestRealAddr, l1: L1RealAddr, len: u64) -> Result<(), Error> {
        let bad = |why| Error::BadRamRegion {
            gpa: gpa.0,
            len,
            why,
        };
        if len == 0 {
            return Err(bad("empty"));
        }
        if !gpa.0.is_multiple_of(PAGE) || !l1.0.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err(bad("not 4 KiB aligned"));
        }
        let end = gpa.0.checked_add(len).ok_or(bad("wraps"))?;
        if end > GPA_LIMIT || l1.0.checked_add(len).is_none() {
            return Err(bad("beyond the 52-bit guest real space"));
        }
        // The L2 (through the L0) writes its RAM: only L1 memory of the host's backend may
        // back it, as for every other range handed to the L0.
        if self.host.mem.check_range(l1, len).is_err() {
            return Err(bad(
                "backed by L1 real addresses outside the host's L1 memory",
            ));
        }
        if self
            .ram
            .iter()
            .any(|r| gpa.0 < r.gpa.0.saturating_add(r.len) && r.gpa.0 < end)
        {
            return Err(bad("overlaps another region"));
        }
        self.ram.push(RamRegion { gpa, l1, len });
        Ok(())
    }

    /// The RAM region holding `gpa`.
    pub fn region_of(&self, gpa: GuestRealAddr) -> Option<&RamRegion> {
        self.ram.iter().find(|r| r.contains(gpa))
    }

    /// Whether `gpa` is L2 RAM (else an HDSI on it is MMIO).
    pub fn is_ram(&self, gpa: GuestRealAddr) -> bool {
        self.region_of(gpa).is_some()
    }

    /// Maps the 4 KiB page of RAM holding `gpa` (read/write/execute, R and C set). Returns
    /// `false` if `gpa` is not RAM; a page already mapped (by another vCPU) is success.
    ///
    /// # Errors
    /// [`Error::Radix`] (out of table pages, memory errors).
    pub fn fault_in(&self, gpa: GuestRealAddr) -> Result<bool, Error> {
        let Some(region) = self.region_of(gpa) else {
            return Ok(false);
        };
        let page = gpa.align_down(PAGE);
        let Some(l1) = region.l1_of(page) else {
            return Ok(false);
        };
        match self.table.lock().map(page, l1, PAGE, Perms::RWX) {
            Ok(()) | Err(RadixError::Overlap { .. }) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// Maps every RAM region now, with the largest leaves alignment allows (no faults later).
    ///
    /// # Errors
    /// [`Error::Radix`], e.g. `Overlap` when a page was already faulted in.
    pub fn map_all_ram(&self) -> Result<(), Error> {
        let mut t = self.table.lock();
        for r in &self.ram {
            t.map(r.gpa, r.l1, r.len, Perms::RWX)?;
        }
        Ok(())
    }

    /// Maps `len` bytes of RAM at `gpa` with `perms` (the largest leaves alignment allows),
    /// to the L1 memory backing them: the range must lie inside one RAM region.
    ///
    /// # Errors
    /// [`Error::NotRam`]; [`Error::Radix`] (e.g. `Overlap`, misaligned, out of table pages).
    pub fn map_ram(&self, gpa: GuestRealAddr, len: u64, perms: Perms) -> Result<(), Error> {
        let l1 = self.ram_l1(gpa, len)?;
        self.table.lock().map(gpa, l1, len, perms)?;
        Ok(())
    }

    /// Runs `f` on the guest's radix table (locked), through a [`GuestTable`]: translate,
    /// protect pages for dirty logging, harvest, unmap — but not map, which goes through
    /// [`Guest::map_ram`], [`Guest::fault_in`] or [`Guest::map_all_ram`] so that every entry
    /// points at this guest's RAM.
    pub fn with_table<R>(&self, f: impl FnOnce(&mut GuestTable<'_, P, A>) -> R) -> R {
        let mut t = self.table.lock();
        f(&mut GuestTable::new(&mut t))
    }

    /// Runs `f` on the raw radix table (locked), `map` included.
    ///
    /// ```compile_fail,E0133
    /// # use papr_mmu_radix::TableAlloc;
    /// # use papr_nestedv2::{Backend, Guest};
    /// fn raw<P: Backend, A: TableAlloc>(g: &Guest<'_, P, A>) -> usize {
    ///     g.with_table_mut(|t| t.dir_pages()) // error[E0133]: call to unsafe function
    /// }
    /// ```
    ///
    /// # Safety
    /// Every entry `f` makes or changes must point at L1 memory the L0 may let this L2 read
    /// and write (and execute): RAM of this guest, or memory set aside for it that holds no
    /// Rust object and nothing of the L1's own. The L0 (and through it the L2) accesses
    /// whatever the table points at.
    pub unsafe fn with_table_mut<R>(&self, f: impl FnOnce(&mut GuestRadixTable<P, A>) -> R) -> R {
        f(&mut self.table.lock())
    }

    /// Reads L2 guest real memory at `gpa` through the guest's table (the L0's view).
    /// Returns `Ok(false)` when the page is not mapped.
    ///
    /// # Errors
    /// [`Error::Radix`] (walk), [`Error::Memory`] (the bytes cross a page or are not L1 memory).
    pub fn read_guest(&self, gpa: GuestRealAddr, buf: &mut [u8]) -> Result<bool, Error> {
        let Some(t) = self.table.lock().translate(gpa)? else {
            return Ok(false);
        };
        let room = t.size.bytes() - (gpa.0 - t.page.0);
        if buf.len() as u64 > room {
            return Err(Error::Memory(MemoryError::OutOfRange {
                addr: t.l1_ra.0,
                len: buf.len() as u64,
            }));
        }
        self.host.mem.read(t.l1_ra, buf)?;
        Ok(true)
    }

    /// The L1 real address backing `[gpa, gpa + len)`, when that range lies inside one
    /// RAM region (no table walk: the VMM's own view of the L2's RAM).
    ///
    /// # Errors
    /// [`Error::NotRam`].
    pub fn ram_l1(&self, gpa: GuestRealAddr, len: u64) -> Result<L1RealAddr, Error> {
        let not_ram = Error::NotRam { gpa: gpa.0, len };
        let region = self.region_of(gpa).ok_or(not_ram)?;
        let offset = gpa.0 - region.gpa.0;
        if len > region.len - offset {
            return Err(not_ram);
        }
        Ok(L1RealAddr(region.l1.0 + offset))
    }

    /// Reads L2 RAM at `gpa` through the RAM regions (mapped or not).
    ///
    /// # Errors
    /// [`Error::NotRam`] when `[gpa, gpa + buf.len())` is not inside one region,
    /// [`Error::Memory`].
    pub fn read_ram(&self, gpa: GuestRealAddr, buf: &mut [u8]) -> Result<(), Error> {
        let l1 = self.ram_l1(gpa, buf.len() as u64)?;
        self.host.mem.read(l1, buf)?;
        Ok(())
    }

    /// Writes L2 RAM at `gpa` through the RAM regions (mapped or not).
    ///
    /// # Errors
    /// [`Error::NotRam`], [`Error::Memory`].
    pub fn write_ram(&self, gpa: GuestRealAddr, data: &[u8]) -> Result<(), Error> {
        let l1 = self.ram_l1(gpa, data.len() as u64)?;
        self.host.mem.write(l1, data)?;
        Ok(())
    }

    /// Deletes the guest in the L0 now and reports the outcome (dropping does the same,
    /// silently).
    ///
    /// # Errors
    /// [`Error::Hcall`] from `H_GUEST_DELETE`.
    pub fn delete(mut self) -> Result<(), Error> {
        // On failure `deleted` stays false and the drop below tries once more.
        self.host.hv.delete_guest(self.id)?;
        self.deleted = true;
        Ok(())
    }
}

impl<P: Backend, A: TableAlloc> Drop for Guest<'_, P, A> {
    fn drop(&mut self) {
        if !self.deleted {
            // Two attempts: a transient failure must not leak the guest in the L0.
            let hv = &self.host.hv;
            if hv.delete_guest(self.id).is_err() {
                let _ = hv.delete_guest(self.id);
            }
        }
    }
}

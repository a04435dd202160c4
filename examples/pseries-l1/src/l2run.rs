//! Driving one L2 guest through the L0 (until the `nestedv2` crate takes this over).
//!
//! [`L2::create`] makes a guest with vCPU 0, backs its RAM (GPA `0..ram_size`) with L1 memory
//! that is mapped on request through `papr-mmu-radix`, sets the partition table (guest-wide)
//! and the run buffers (thread-wide). [`L2::set`] queues register values for the next run
//! input; [`L2::run`] adds an HDEC expiry in the future, makes one `H_GUEST_RUN_VCPU` and
//! decodes the exit from r4 and the run output buffer into an [`Exit`], timing the round trip
//! into [`Stats`]. Exit *policy* (emulation, paging) belongs to the caller.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::fmt;
use papr_gsb::{
    BufferDescriptor, Gsb, GsbBuilder, GsbError, GuestStateId as Id, PartitionTable, Policy, Value,
};
use papr_hcall::{
    CountingHcall, GuestId, HcallError, IdentityMemory, L1RealAddr, NestedHv, Sc1, Target,
    TimebaseSpin, VcpuId,
};
use papr_mmu_radix::{self as radix, GuestRealAddr, Perms, PoolAlloc, RadixError, RadixTable};

/// The hcall API the L2s run through.
pub type Hv = NestedHv<CountingHcall<Sc1>, IdentityMemory, TimebaseSpin>;
type Tree = RadixTable<radix::IdentityMemory, PoolAlloc>;

/// L1 pages per guest for state buffers: GET/SET scratch, run input, run output.
pub const IO_PAGES: u64 = 3;
const PAGE: u64 = 4096;
/// Radix table pool per guest (root + directories).
const POOL: u64 = 256 << 10;
/// Queued input elements per run, at most.
const MAX_PENDING: usize = 16;

/// Why an L2 operation failed.
#[derive(Debug)]
pub enum L2Error {
    /// An hcall failed or was refused.
    Hcall(HcallError),
    /// The partition-scoped tree refused a change.
    Radix(RadixError),
    /// A state buffer could not be built or parsed.
    Gsb(GsbError),
    /// No L1 memory for the guest.
    NoMemory,
    /// The L0's answer lacked an element.
    Missing(Id),
}

impl fmt::Display for L2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            L2Error::Hcall(e) => write!(f, "{e}"),
            L2Error::Radix(e) => write!(f, "radix: {e}"),
            L2Error::Gsb(e) => write!(f, "GSB: {e}"),
            L2Error::NoMemory => f.write_str("out of L1 memory"),
            L2Error::Missing(id) => write!(f, "{id:?} missing from the L0's answer"),
        }
    }
}

impl From<HcallError> for L2Error {
    fn from(e: HcallError) -> Self {
        L2Error::Hcall(e)
    }
}
impl From<RadixError> for L2Error {
    fn from(e: RadixError) -> Self {
        L2Error::Radix(e)
    }
}
impl From<GsbError> for L2Error {
    fn from(e: GsbError) -> Self {
        L2Error::Gsb(e)
    }
}

/// A decoded L2 exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0xC00: `sc 1`; GPR3…GPR12. NIA is already past the `sc`.
    Hcall([u64; 10]),
    /// 0xE00: partition-scoped data fault at `nia`.
    Hdsi {
        /// Effective address of the access.
        hdar: u64,
        /// Cause (0x40000000 no translation, | 0x02000000 store).
        hdsisr: u32,
        /// Guest real address.
        asdr: u64,
        /// The faulting instruction.
        nia: u64,
    },
    /// 0xE20: partition-scoped instruction fault.
    Hisi {
        /// Guest real address of the fetch.
        asdr: u64,
        /// The fetch address.
        nia: u64,
    },
    /// 0xE40: emulation assist.
    Heai {
        /// The instruction word.
        heir: u32,
        /// Its address.
        nia: u64,
        /// The L2's MSR.
        msr: u64,
    },
    /// 0x980: the HDEC expired.
    Hdec,
    /// Any other trap.
    Other(u64),
}

/// Exit kinds, in [`Stats`] order.
pub const KINDS: [&str; 6] = [
    "0xC00 hcall",
    "0xE00 HDSI",
    "0xE20 HISI",
    "0xE40 HEAI",
    "0x980 HDEC",
    "other",
];

impl Exit {
    /// Index into [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Exit::Hcall(_) => 0,
            Exit::Hdsi { .. } => 1,
            Exit::Hisi { .. } => 2,
            Exit::Heai { .. } => 3,
            Exit::Hdec => 4,
            Exit::Other(_) => 5,
        }
    }
}

/// Per-kind exit statistics, in timebase ticks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Exits per kind.
    pub count: [u64; 6],
    /// Sum of RUN round trips per kind (hcall entry to return).
    pub total: [u64; 6],
    /// Longest RUN round trip per kind.
    pub max: [u64; 6],
    /// L1 time between a RUN's return and the next RUN (exit handling), summed.
    pub l1_ticks: u64,
    /// Hcalls made between two RUNs, summed (the RUN itself included).
    pub hcalls: u64,
    /// Exits handled (each followed by a RUN in the same series, see [`L2::idle`]).
    pub handled: u64,
}

/// L1 memory from the heap, never touched through references (the L0 and the L2 use it).
#[derive(Debug)]
struct Region {
    base: u64,
    layout: Layout,
}

impl Region {
    fn new(len: u64, align: u64) -> Result<Self, L2Error> {
        let layout =
            Layout::from_size_align(len as usize, align as usize).map_err(|_| L2Error::NoMemory)?;
        // SAFETY: the layout's size is non-zero (every caller asks for pages).
        let p = unsafe { alloc_zeroed(layout) };
        if p.is_null() {
            return Err(L2Error::NoMemory);
        }
        Ok(Self {
            base: p as u64,
            layout,
        })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; dropped once, after the guest using it
        // was deleted (see `L2::delete`) or never created.
        unsafe { dealloc(self.base as *mut u8, self.layout) };
    }
}

/// One L2 guest with vCPU 0.
#[derive(Debug)]
pub struct L2 {
    /// The L0's id for it.
    pub guest: GuestId,
    io: u64,
    ram: Region,
    ram_size: u64,
    tree: Tree,
    _pool: Region,
    pending: [(Id, u64); MAX_PENDING],
    npending: usize,
    last_return: Option<u64>,
    hcalls_at_return: u64,
    stats: Stats,
}

/// A GSB of up to 4 elements of `puts`, on `buf`.
fn build(buf: &mut [u8], puts: &[(Id, Value)]) -> Result<usize, L2Error> {
    let mut b = GsbBuilder::new(buf)?;
    for (id, v) in puts {
        b.put(*id, *v)?;
    }
    Ok(b.finish())
}

impl L2 {
    /// Creates a guest and vCPU 0 with `ram_size` bytes of RAM (nothing mapped yet). `io`:
    /// [`IO_PAGES`] pages inside `hv`'s memory window, owned by this guest from now on.
    pub fn create(hv: &mut Hv, io: L1RealAddr, ram_size: u64) -> Result<Self, L2Error> {
        let ram = Region::new(ram_size, 1 << 16)?;
        let pool = Region::new(POOL, 1 << 16)?;
        // SAFETY: the pool is heap memory owned by this value until the guest is deleted;
        // only the tree (and the L0, walking it) touch it, through raw pointers.
        let mem = unsafe { radix::IdentityMemory::new(radix::L1RealAddr(pool.base), POOL) };
        let tree = RadixTable::new(mem, PoolAlloc::new(radix::L1RealAddr(pool.base), POOL)?)?;
        let guest = hv.create_guest()?;
        let l2 = Self {
            guest,
            io: io.0,
            ram,
            ram_size,
            tree,
            _pool: pool,
            pending: [(Id::BLANK, 0); MAX_PENDING],
            npending: 0,
            last_return: None,
            hcalls_at_return: 0,
            stats: Stats::default(),
        };
        match l2.setup(hv) {
            Ok(()) => Ok(l2),
            Err(e) => {
                // Best effort: the guest is unusable, so the L0 may as well forget it.
                let _ = hv.delete_guest(guest);
                Err(e)
            }
        }
    }

    /// vCPU 0, partition table, run buffers.
    fn setup(&self, hv: &mut Hv) -> Result<(), L2Error> {
        let guest = self.guest;
        hv.create_vcpu(guest, VcpuId(0))?;
        let [root, ea_bits, root_size] = self.tree.pagetable_value().to_u64s();
        let pt = PartitionTable {
            root,
            ea_bits,
            root_size,
        };
        let mut buf = [0u8; 128];
        let len = build(
            &mut buf,
            &[(Id::PARTITION_TABLE, Value::PartitionTable(pt))],
        )?;
        hv.set_state(Target::guest(guest), &buf[..len], self.scratch())?;
        let desc = |address| {
            Value::Buffer(BufferDescriptor {
                address,
                size: PAGE,
            })
        };
        let len = build(
            &mut buf,
            &[
                (Id::RUN_INPUT, desc(self.io + PAGE)),
                (Id::RUN_OUTPUT, desc(self.io + 2 * PAGE)),
            ],
        )?;
        hv.set_state(self.thread(), &buf[..len], self.scratch())?;
        Ok(())
    }

    fn scratch(&self) -> L1RealAddr {
        L1RealAddr(self.io)
    }
    fn thread(&self) -> Target {
        Target::thread(self.guest, VcpuId(0))
    }

    /// Whether `gpa` is guest RAM (else it is MMIO).
    pub fn is_ram(&self, gpa: u64) -> bool {
        gpa < self.ram_size
    }

    /// L1 pointer to `len` bytes of RAM at `gpa`, if inside RAM.
    fn ptr(&self, gpa: u64, len: u64) -> Option<*mut u8> {
        let end = gpa.checked_add(len)?;
        (end <= self.ram_size).then(|| (self.ram.base + gpa) as *mut u8)
    }

    /// Copies `data` into RAM at `gpa` (mapped or not). False if outside RAM.
    pub fn load(&mut self, gpa: u64, data: &[u8]) -> bool {
        let Some(p) = self.ptr(gpa, data.len() as u64) else {
            return false;
        };
        // SAFETY: `ptr` checked the range lies in this guest's RAM region, which no Rust
        // reference covers; the vCPU is not running (we are in the L1).
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        true
    }

    /// Reads `N` bytes of RAM at `gpa` (as the L2 stored them).
    pub fn read<const N: usize>(&self, gpa: u64) -> Option<[u8; N]> {
        let p = self.ptr(gpa, N as u64)?;
        let mut out = [0u8; N];
        // SAFETY: `ptr` checked the range lies in this guest's RAM region; the vCPU is not
        // running, and no reference covers the region.
        unsafe { core::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), N) };
        Some(out)
    }

    /// Maps RAM `[gpa, gpa + len)` (4 KiB aligned) read/write/execute.
    pub fn map(&mut self, gpa: u64, len: u64) -> Result<(), L2Error> {
        if self.ptr(gpa, len).is_none() {
            return Err(L2Error::Radix(RadixError::GpaOutOfRange { gpa, len }));
        }
        let l1 = radix::L1RealAddr(self.ram.base + gpa);
        self.tree.map(GuestRealAddr(gpa), l1, len, Perms::RWX)?;
        Ok(())
    }

    /// Starts a new series of runs: the L1 time until the next RUN is not counted as exit
    /// handling in [`Stats`].
    pub fn idle(&mut self) {
        self.last_return = None;
    }

    /// Queues `id` = `value` for the next run input (a later value for the same id wins).
    pub fn set(&mut self, id: Id, value: u64) {
        if self.npending < MAX_PENDING {
            self.pending[self.npending] = (id, value);
            self.npending += 1;
        }
    }

    /// Reads one thread-wide register with GET_STATE.
    pub fn get(&mut self, hv: &mut Hv, id: Id) -> Result<u64, L2Error> {
        let mut buf = [0u8; 32];
        let mut b = GsbBuilder::new(&mut buf)?;
        b.put_request(id)?;
        let len = b.finish();
        let gsb = hv.get_state(self.thread(), &mut buf[..len], self.scratch())?;
        let e = gsb.get(id).ok_or(L2Error::Missing(id))?;
        e.value().as_u64().ok_or(L2Error::Missing(id))
    }

    /// The run input (`out` = false) or output page as a byte slice.
    ///
    /// # Safety
    /// No RUN of this vCPU may be in progress while the slice lives (the L0 touches the
    /// pages only during `H_GUEST_RUN_VCPU`), and only one slice per page may exist.
    unsafe fn page(&self, out: bool) -> &'static mut [u8] {
        let at = self.io + PAGE * (1 + u64::from(out));
        // SAFETY: the page lies in this guest's `io` pages (owned since `create`, identity
        // mapped, never freed); exclusivity is the caller's contract.
        unsafe { core::slice::from_raw_parts_mut(at as *mut u8, PAGE as usize) }
    }

    /// Runs vCPU 0 once with the queued input plus HDEC expiry = now + `slice` ticks.
    /// The input is built and the output parsed in place, in the registered pages.
    pub fn run(&mut self, hv: &mut Hv, slice: u64) -> Result<Exit, L2Error> {
        // SAFETY: no RUN is in progress; the slice is dropped (by `finish`) before the RUN.
        let mut b = GsbBuilder::new(unsafe { self.page(false) })?;
        for &(id, v) in &self.pending[..self.npending] {
            b.put_reg(id, v)?;
        }
        self.npending = 0;
        b.put_u64(Id::HDEC_EXPIRY_TB, crate::boot::timebase() + slice)?;
        b.finish();
        let t0 = crate::boot::timebase();
        if let Some(prev) = self.last_return {
            self.stats.l1_ticks += t0.wrapping_sub(prev);
            self.stats.hcalls += hv.hcall().total() - self.hcalls_at_return + 1;
            self.stats.handled += 1;
        }
        let trap = hv.run_vcpu(self.guest, VcpuId(0));
        let t1 = crate::boot::timebase();
        let trap = trap?;
        self.last_return = Some(t1);
        self.hcalls_at_return = hv.hcall().total();
        // SAFETY: the RUN has returned; the slice is dropped before this function returns.
        let out = unsafe { self.page(true) };
        let exit = decode(trap, &Gsb::parse(out, &Policy::L1_RUN_OUTPUT)?)?;
        let k = exit.kind();
        let dt = t1.wrapping_sub(t0);
        self.stats.count[k] += 1;
        self.stats.total[k] += dt;
        self.stats.max[k] = self.stats.max[k].max(dt);
        Ok(exit)
    }

    /// Exit statistics so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Deletes the guest; its memory returns to the heap.
    /// If the L0 refuses, the guest's memory is leaked: the L0 may still use it.
    pub fn delete(self, hv: &mut Hv) -> Result<Stats, L2Error> {
        match hv.delete_guest(self.guest) {
            Ok(()) => Ok(self.stats),
            Err(e) => {
                core::mem::forget(self);
                Err(e.into())
            }
        }
    }
}

/// The exit from the trap and one pass over the output elements.
fn decode(trap: u64, out: &Gsb<'_>) -> Result<Exit, L2Error> {
    let (mut gpr, mut seen) = ([0u64; 10], 0u32);
    let [mut hdar, mut hdsisr, mut asdr, mut heir, mut nia, mut msr] = [None; 6];
    for e in out {
        let v = e.value().as_u64();
        match e.id {
            Id::HDAR => hdar = v,
            Id::HDSISR => hdsisr = v,
            Id::ASDR => asdr = v,
            Id::HEIR => heir = v,
            Id::NIA => nia = v,
            Id::MSR => msr = v,
            id => {
                let n = usize::from(id.raw().wrapping_sub(Id::GPR3.raw()));
                if let (Some(g), Some(v)) = (gpr.get_mut(n), v) {
                    *g = v;
                    seen |= 1 << n;
                }
            }
        }
    }
    let need = |v: Option<u64>, id| v.ok_or(L2Error::Missing(id));
    Ok(match trap {
        0xC00 if seen == 0x3FF => Exit::Hcall(gpr),
        0xC00 => return Err(L2Error::Missing(Id::GPR3)),
        0xE00 => Exit::Hdsi {
            hdar: need(hdar, Id::HDAR)?,
            hdsisr: need(hdsisr, Id::HDSISR)? as u32,
            asdr: need(asdr, Id::ASDR)?,
            nia: need(nia, Id::NIA)?,
        },
        0xE20 => Exit::Hisi {
            asdr: need(asdr, Id::ASDR)?,
            nia: need(nia, Id::NIA)?,
        },
        0xE40 => Exit::Heai {
            heir: need(heir, Id::HEIR)? as u32,
            nia: need(nia, Id::NIA)?,
            msr: need(msr, Id::MSR)?,
        },
        0x980 => Exit::Hdec,
        t => Exit::Other(t),
    })
}

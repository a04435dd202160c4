//! An L1 VMM as an ordinary Linux process, on the software L0.
//!
//! * **L1 memory** is a `vm-memory` [`GuestMemoryMmap`] whose addresses are L1 real
//!   addresses; the L0 ([`SoftL0`]) and the L1 crates reach it through
//!   [`VmRealMemory`] (no `unsafe`).
//! * **The L0** is `papr_hcall::sim::SoftL0`, a model of QEMU's Nested APIv2 L0; every
//!   hcall to it is counted ([`CountingHcall`]).
//! * **Host, guest, vCPU** come from `papr-nestedv2`: [`NestedHost::negotiate`],
//!   [`Guest::create`] + [`Guest::add_ram`], `create_vcpu`, and [`Vcpu::run_loop`](papr_nestedv2::Vcpu::run_loop) with the
//!   VMM's [`vmm::Vmm`] exit handler on a vCPU thread.
//! * **The event loop** is an `event-manager` `EventManager` on the main thread, woken by
//!   `vmm-sys-util` `EventFd`s ([`event_loop`]): console output, the L2's exit, stop.
//! * **The L2** is a script ([`script`]): it prints through `H_PUT_TERM_CHAR`, faults RAM
//!   pages in, probes an MMIO device, idles through timer exits, tries an instruction the
//!   VMM does not emulate, and exits with a status through the example's exit hcall.
//!
//! [`run`] does it all and returns the [`Outcome`]; `main` prints it and exits with the
//! L2's status.
//!
//! ```no_run
//! let script = hosted::script::default_script(hosted::DEV_GPA, 0)?;
//! let outcome = hosted::run(&script, std::io::stdout())?;
//! assert_eq!(outcome.status, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod event_loop;
pub mod report;
pub mod script;
pub mod vmm;

use event_loop::Printer;
use event_manager::{EventManager, SubscriberOps};
use papr_hcall::sim::SoftL0;
use papr_hcall::{
    opcode, Capabilities, CountingHcall, NestedHv, RealMemory, StdSleep, VmRealMemory,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::{Clock, Guest, GuestRealAddr, L1RealAddr, NestedHost};
use report::{HcallCounts, Report};
use script::Script;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use vm_memory::{GuestAddress, GuestMemoryMmap};

/// L1 memory as the L0 and the L1 crates see it.
pub type Mem = VmRealMemory<GuestMemoryMmap<()>>;
/// The software L0 over it.
pub type L0 = SoftL0<Mem>;

/// L1 memory size (one mapping at L1 real address 0).
pub const L1_MEM: u64 = 0x80_0000;
/// L1 pages for vCPU run buffers: 1 MiB at 1 MiB.
pub const RUN_PAGES: u64 = 0x10_0000;
/// L1 pages for the L2's partition-scoped radix table: 2 MiB at 2 MiB.
pub const TABLE_PAGES: u64 = 0x20_0000;
/// Where the L2's RAM lives in L1 memory.
pub const RAM_L1: u64 = 0x40_0000;
/// L2 RAM size (at guest real address 0).
pub const RAM_LEN: u64 = 0x40_0000;
/// Guest real address of the MMIO device (outside RAM: accesses exit as MMIO).
pub const DEV_GPA: u64 = 0x1000_0000;
/// The L2's MSR at start: 64-bit, recoverable, little-endian, real mode.
pub const L2_MSR: u64 = 0x8000_0000_0000_0003;

/// The L1's timebase is the software L0's (deterministic: it moves only on timer exits).
#[derive(Debug, Clone, Copy)]
pub struct SimClock<'a>(pub &'a L0);

impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

/// The host's backends: counted hcalls to the software L0, vm-memory, sleeping on busy, the
/// L0's timebase, a pool of run-buffer pages.
pub type Backends<'a> = (
    CountingHcall<&'a L0>,
    Mem,
    StdSleep,
    SimClock<'a>,
    PoolAlloc<4>,
);
/// The L1's handle on the software L0.
pub type Host<'a> = NestedHost<Backends<'a>>;
/// The L2, its radix table in a pool of L1 table pages.
pub type L2Guest<'h, 'a> = Guest<'h, Backends<'a>, PoolAlloc<8>>;

/// Why the VMM failed (the L2's own exit status is in [`Outcome`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostedError {
    /// L1 memory could not be mapped.
    #[error("L1 memory: {0}")]
    Memory(#[from] vm_memory::mmap::FromRangesError),
    /// An L1 page pool could not be set up.
    #[error("L1 page pool: {0}")]
    Pool(#[from] papr_mmu_radix::RadixError),
    /// `papr-nestedv2` failed.
    #[error(transparent)]
    Nested(#[from] papr_nestedv2::Error),
    /// The script could not be loaded into L2 RAM or the L0.
    #[error("loading the L2: {0}")]
    Load(String),
    /// The event loop failed.
    #[error("event loop: {0}")]
    EventLoop(String),
    /// An eventfd could not be made.
    #[error("eventfd: {0}")]
    Io(#[from] std::io::Error),
    /// The vCPU thread failed.
    #[error("vCPU: {0}")]
    Vcpu(String),
    /// The vCPU stopped without the L2 exiting.
    #[error("the L2 stopped without exiting")]
    NoExit,
    /// The L0 still holds guests after the VMM deleted its own.
    #[error("the L0 still holds guests {0:?}")]
    Leaked(Vec<u64>),
}

/// What a run of the VMM produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The L2's exit status.
    pub status: u64,
    /// The exit report (statistics, hcalls).
    pub report: Report,
    /// What the L2 wrote to its console.
    pub console: String,
    /// Everything the VMM printed.
    pub transcript: String,
}

impl Outcome {
    /// The process exit code for the L2's status (255 for statuses that do not fit).
    pub fn exit_code(&self) -> u8 {
        u8::try_from(self.status).unwrap_or(u8::MAX)
    }
}

/// Makes L1 memory, the software L0 over it, and negotiates.
fn host(l0: &L0) -> Result<Host<'_>, HostedError> {
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(RUN_PAGES), 0x10_0000)?;
    Ok(NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(l0), l0.memory().clone(), StdSleep),
        SimClock(l0),
        pages,
        Capabilities::MODES,
    )?)
}

/// The vCPU thread: creates vCPU 0, loads its program, runs it to the exit hcall, reports.
fn vcpu_thread(
    l0: &L0,
    guest: &L2Guest<'_, '_>,
    script: &Script,
    link: &event_loop::VcpuLink,
) -> Result<(), HostedError> {
    let mut vcpu = guest.create_vcpu(script.entry, L2_MSR)?;
    // The report prints the exit statistics (off by default).
    vcpu.set_stats_enabled(true);
    l0.set_program(guest.id().0, vcpu.id().0, script.actions.clone())
        .map_err(|e| HostedError::Load(e.to_string()))?;
    let mut vmm = vmm::Vmm::new(link, DEV_GPA);
    let last = vcpu.run_loop(&mut vmm)?;
    let hcalls = guest.host().with_hv(|hv| {
        let c = hv.hcall();
        HcallCounts {
            run_vcpu: c.count(opcode::H_GUEST_RUN_VCPU),
            get_state: c.count(opcode::H_GUEST_GET_STATE),
            set_state: c.count(opcode::H_GUEST_SET_STATE),
            total: c.total(),
        }
    });
    let Some(status) = vmm.status else {
        return Err(HostedError::Vcpu(format!("stopped on {last:?}")));
    };
    link.exit(Report {
        status,
        stats: *vcpu.stats(),
        hcalls,
        scratch: vmm.device.scratch,
    });
    Ok(())
}

/// Locks the printer (a poisoned one still holds what it printed).
fn lock<W: Write>(p: &Mutex<Printer<W>>) -> MutexGuard<'_, Printer<W>> {
    p.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the VMM with the L2 `script`, printing to `out` as the event loop receives output.
///
/// # Errors
/// [`HostedError`] when the VMM (not the L2) fails.
pub fn run<W: Write>(script: &Script, out: W) -> Result<Outcome, HostedError> {
    let memory = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), L1_MEM as usize)])?;
    let l0 = SoftL0::new(VmRealMemory(memory));
    let host = host(&l0)?;
    let mut guest = Guest::create(
        &host,
        PoolAlloc::<8>::new(papr_mmu_radix::L1RealAddr(TABLE_PAGES), 0x20_0000)?,
    )?;
    guest.add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)?;
    for w in &script.code {
        l0.memory()
            .write(L1RealAddr(RAM_L1 + w.gpa), &w.bytes())
            .map_err(|e| HostedError::Load(e.to_string()))?;
    }

    let (link, printer) = event_loop::link(out)?;
    let printer = Arc::new(Mutex::new(printer));
    let mut events = EventManager::<Arc<Mutex<Printer<W>>>>::new()
        .map_err(|e| HostedError::EventLoop(e.to_string()))?;
    events.add_subscriber(printer.clone());
    lock(&printer).line(&format!(
        "hosted: L1 VMM on the software L0 ({:?} mode), L2 RAM {} MiB at GPA 0, device at {DEV_GPA:#x}",
        host.mode(),
        RAM_LEN >> 20
    ));
    lock(&printer).line("---- L2 console and VMM log ----");

    let loop_result = std::thread::scope(|s| {
        let vcpu = s.spawn(|| {
            let r = vcpu_thread(&l0, &guest, script, &link);
            link.stop(r.as_ref().err().map(ToString::to_string));
            drop(link);
            r
        });
        let mut result = Ok(());
        while !lock(&printer).stopped {
            if let Err(e) = events.run_with_timeout(100) {
                result = Err(HostedError::EventLoop(e.to_string()));
                break;
            }
            if vcpu.is_finished() {
                // Everything it sent is in the channel: one last pass, then stop.
                let _ = events.run_with_timeout(0);
                break;
            }
        }
        let vcpu = vcpu
            .join()
            .map_err(|_| HostedError::Vcpu("the vCPU thread panicked".into()))?;
        result.and(vcpu)
    });
    // The guest goes away in the L0 (nothing left behind), whatever happened above.
    let deleted = guest.delete();
    loop_result?;
    deleted?;
    let left = l0.guests();
    if !left.is_empty() {
        return Err(HostedError::Leaked(left));
    }
    let mut p = lock(&printer);
    p.line("[vmm] guest deleted, the L0 holds no guests");
    let report = p.report.ok_or(HostedError::NoExit)?;
    Ok(Outcome {
        status: report.status,
        report,
        console: String::from_utf8_lossy(&p.console).into_owned(),
        transcript: p.transcript.clone(),
    })
}

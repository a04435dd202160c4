//! Kicking a vCPU's L1 CPU out of `H_GUEST_RUN_VCPU`: an L1 IPI through the L0's XICS.
//!
//! With a vCPU per L1 CPU ([`percpu`](crate::percpu)), vCPU j's handler may give vCPU k
//! work (an `H_IPI` its ICP now presents, `H_PROD`, RTAS `start-cpu`: the platform calls
//! [`Environment::kick`](papr_platform::Environment::kick)) while L1 CPU k is inside
//! `H_GUEST_RUN_VCPU` with vCPU k, for up to its HDEC slice (`vmm.slice_ms`, 100 ms).
//! [`kick`] ends that run at once:
//! * it sets vCPU k's `kicked` flag (a CPU waiting for its vCPU looks at it, [`pause`]),
//!   and
//! * while CPU k has its vCPU dispatched, sends it an IPI: `H_IPI(server of CPU k, 0)`.
//!   The L0 (QEMU) raises the L1 external interrupt; CPU k is in the L2, so the run ends
//!   with an external exit (trap 0x500 or 0xEA0, `Exit::External`). The L1 keeps
//!   MSR\[EE\] = 0, so the interrupt never interrupts the L1 itself: CPU k acknowledges it
//!   after the exit ([`ack`]: `H_XIRR`, MFRR back to 0xFF, `H_EOI`). An IPI that arrives
//!   while CPU k handles an exit stays pending and ends its next run at once (one extra
//!   exit, harmless). Each CPU sets its CPPR to 0xFF once ([`init_cpu`]), or the L0's ICP
//!   never presents the IPI.
//!
//! **Why an IPI, not short HDEC slices.** Without the IPI, a running vCPU would see the
//! interrupt only at its next exit: to bound that delay every run would need a short
//! slice (1–2 ms) whether or not an interrupt comes — an HDEC exit each time, each of
//! which flushes QEMU's TLB, for the whole boot — and an IPI (e.g. `smp_call_function`,
//! whose sender spins until the target answers) would still wait half a slice on average.
//! The IPI costs three hcalls on the target (plus one on the sender) only when there is
//! something to deliver, and the target sees it within the L0's interrupt latency.
//! Measured on QEMU 10.0 TCG (`VMM-STAT vcpu_kick_latency`, kick to the external
//! interrupt's delivery into the L2, ~400-600 kicks per vCPU in a boot): 0.2-0.3 ms mean on
//! a quiet host, an IPI into a running L2 ending its run in ~0.2 ms; 2-4 ms when the host's
//! cores are busy with other work (the target's QEMU thread waits for a core). The
//! short-slice alternative was not measured.
//!
//! **Idle.** A CPU waiting for its vCPU ([`pause`]) cedes to the L0 (`H_CEDE`) until the
//! next time it must look at the board, with `dispatched` set, so that a kick's IPI wakes
//! it: under TCG its host thread sleeps instead of polling (on a host with as many cores as
//! the L1 has CPUs, a polling CPU takes a core from the running ones).
//!
//! **No lost kick.** vCPU k's CPU sets `dispatched` (SeqCst) before it asks the board
//! whether its vCPU may run (`Board::dispatch`, locked), and the kick runs with the board
//! locked, after the change it announces: either the CPU's look at the board comes after
//! the change (and sees it), or the kick comes after the CPU's store (and sees
//! `dispatched`, so sends the IPI). A waiting CPU resets `kicked` before each look.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use papr_baremetal::dt::MAX_CPUS;
use papr_hcall::{Hcall, Sc1};
use papr_platform::hcall::{H_CPPR, H_EOI, H_IPI, H_XIRR};

/// The MFRR of an IPI (any priority below the CPPR 0xFF is presented).
const IPI_PRIORITY: u64 = 0;
/// MFRR "no IPI".
const MFRR_NONE: u64 = 0xFF;

/// One vCPU's L1 CPU, as the other CPUs see it.
#[derive(Debug)]
struct Slot {
    /// The L1 CPU's interrupt server (its thread id).
    server: AtomicU32,
    /// Kicks send IPIs: the vCPU is dispatched on its own L1 CPU.
    dispatched: AtomicBool,
    /// Set by a kick; reset by the CPU when it looks at the board.
    kicked: AtomicBool,
    /// IPIs sent to this CPU.
    ipis_sent: AtomicU64,
    /// `H_CEDE`s of this CPU while it waited for its vCPU ([`pause`]).
    cedes: AtomicU64,
    /// Cedes an IPI ended.
    ipi_wakes: AtomicU64,
    /// Timebase of the first kick not yet followed by an interrupt delivery (0: none).
    kicked_at: AtomicU64,
    /// Kick-to-delivery latencies: count, sum and maximum (ticks).
    latency: [AtomicU64; 3],
    /// Kick-to-noticed latencies (count, sum): by a cede an IPI ended, by an external exit.
    noticed: [AtomicU64; 4],
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    server: AtomicU32::new(0),
    dispatched: AtomicBool::new(false),
    kicked: AtomicBool::new(false),
    ipis_sent: AtomicU64::new(0),
    cedes: AtomicU64::new(0),
    ipi_wakes: AtomicU64::new(0),
    kicked_at: AtomicU64::new(0),
    latency: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
    noticed: [
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ],
};

static SLOTS: [Slot; MAX_CPUS] = [SLOT; MAX_CPUS];

/// An hcall backend for the address-free XICS hcalls.
fn hv() -> Sc1 {
    // SAFETY: this `Sc1` makes only H_CPPR, H_IPI, H_XIRR and H_EOI calls (below), whose
    // arguments are a priority, a server number and an XIRR: no L1 address is passed, so
    // the L0 writes no L1 memory.
    unsafe { Sc1::new() }
}

/// Makes vCPU `vcpu`'s kicks reach L1 CPU thread `server` (call before it runs).
pub fn assign(vcpu: usize, server: u32) {
    if let Some(s) = SLOTS.get(vcpu) {
        s.server.store(server, Ordering::Relaxed);
    }
}

/// Sets this L1 CPU's CPPR to 0xFF so that the L0's ICP presents IPIs to it. The status
/// of the hcall (0 = H_SUCCESS).
pub fn init_cpu() -> i64 {
    hv().hcall(H_CPPR, [0xFF, 0, 0, 0, 0, 0, 0, 0, 0]).rc
}

/// Whether vCPU `vcpu` is dispatched on its L1 CPU (kicks send IPIs); `SeqCst`, see the
/// module.
pub fn set_dispatched(vcpu: usize, on: bool) {
    if let Some(s) = SLOTS.get(vcpu) {
        s.dispatched.store(on, Ordering::SeqCst);
    }
}

/// `H_CEDE`s of vCPU `vcpu`'s L1 CPU while it waited, and how many of them an IPI ended.
pub fn cedes(vcpu: usize) -> (u64, u64) {
    SLOTS.get(vcpu).map_or((0, 0), |s| {
        (
            s.cedes.load(Ordering::Relaxed),
            s.ipi_wakes.load(Ordering::Relaxed),
        )
    })
}

/// Waits for a kick of vCPU `vcpu` until timebase `until` at most, on its own L1 CPU
/// (thread `my_server`), and returns whether it was kicked (the flag is taken): the
/// `pause` of [`Board::idle`](papr_platform::Board::idle). For more than `min_ticks` the
/// CPU cedes to the L0 (`papr_baremetal::boot::cede`: its host thread sleeps under TCG)
/// with `dispatched` set, so a kick's IPI ends the cede, which is then acknowledged;
/// shorter waits spin.
pub fn pause(vcpu: usize, my_server: u32, until: u64, min_ticks: u64) -> bool {
    let Some(s) = SLOTS.get(vcpu) else {
        return false;
    };
    if s.kicked.swap(false, Ordering::SeqCst) {
        return true;
    }
    let ahead = until.wrapping_sub(papr_baremetal::boot::timebase()) as i64;
    if ahead <= min_ticks as i64 {
        core::hint::spin_loop();
        return s.kicked.swap(false, Ordering::SeqCst);
    }
    // Kicks send IPIs from here on; one that came before is seen now.
    s.dispatched.store(true, Ordering::SeqCst);
    if s.kicked.swap(false, Ordering::SeqCst) {
        s.dispatched.store(false, Ordering::SeqCst);
        return true;
    }
    papr_baremetal::boot::cede(ahead as u64);
    s.dispatched.store(false, Ordering::SeqCst);
    s.cedes.fetch_add(1, Ordering::Relaxed);
    if ack(my_server) & 0x00FF_FFFF != 0 {
        s.ipi_wakes.fetch_add(1, Ordering::Relaxed);
        noticed(vcpu, 0);
    }
    s.kicked.swap(false, Ordering::SeqCst)
}

/// vCPU `vcpu` was given an external interrupt: the time since the first kick before it
/// counts as its kick latency.
pub fn delivered(vcpu: usize) {
    let Some(s) = SLOTS.get(vcpu) else { return };
    let at = s.kicked_at.swap(0, Ordering::Relaxed);
    if at != 0 {
        let d = papr_baremetal::boot::timebase().wrapping_sub(at);
        let [n, sum, max] = &s.latency;
        n.fetch_add(1, Ordering::Relaxed);
        sum.fetch_add(d, Ordering::Relaxed);
        max.fetch_max(d, Ordering::Relaxed);
    }
}

/// vCPU `vcpu`'s CPU noticed a kick: `how` 0 = an IPI ended its cede, 1 = an external
/// exit ended its run.
pub fn noticed(vcpu: usize, how: usize) {
    let Some(s) = SLOTS.get(vcpu) else { return };
    let at = s.kicked_at.load(Ordering::Relaxed);
    if let (true, Some(n), Some(sum)) =
        (at != 0, s.noticed.get(2 * how), s.noticed.get(2 * how + 1))
    {
        n.fetch_add(1, Ordering::Relaxed);
        sum.fetch_add(
            papr_baremetal::boot::timebase().wrapping_sub(at),
            Ordering::Relaxed,
        );
    }
}

/// vCPU `vcpu`'s kick-to-noticed latencies: (count, sum) by cede, then by external exit.
pub fn noticed_latency(vcpu: usize) -> [u64; 4] {
    SLOTS.get(vcpu).map_or([0; 4], |s| {
        let [a, b, c, d] = &s.noticed;
        [a, b, c, d].map(|x| x.load(Ordering::Relaxed))
    })
}

/// vCPU `vcpu`'s kick-to-delivery latencies: (count, sum, maximum) in ticks.
pub fn latency(vcpu: usize) -> (u64, u64, u64) {
    SLOTS.get(vcpu).map_or((0, 0, 0), |s| {
        let [n, sum, max] = &s.latency;
        (
            n.load(Ordering::Relaxed),
            sum.load(Ordering::Relaxed),
            max.load(Ordering::Relaxed),
        )
    })
}

/// IPIs sent to vCPU `vcpu`'s L1 CPU so far.
pub fn ipis_sent(vcpu: usize) -> u64 {
    SLOTS
        .get(vcpu)
        .map_or(0, |s| s.ipis_sent.load(Ordering::Relaxed))
}

/// vCPU `vcpu` has new work: flags it, and sends its L1 CPU an IPI while the vCPU is
/// dispatched there.
pub fn kick(vcpu: usize) {
    let Some(s) = SLOTS.get(vcpu) else { return };
    let _ = s.kicked_at.compare_exchange(
        0,
        papr_baremetal::boot::timebase().max(1),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    s.kicked.store(true, Ordering::SeqCst);
    if s.dispatched.load(Ordering::SeqCst) {
        let server = u64::from(s.server.load(Ordering::Relaxed));
        hv().hcall(H_IPI, [server, IPI_PRIORITY, 0, 0, 0, 0, 0, 0, 0]);
        s.ipis_sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends every dispatched vCPU's L1 CPU an IPI (the L2 ended: end their runs).
pub fn kick_all(vcpus: usize) {
    for k in 0..vcpus {
        kick(k);
    }
}

/// Acknowledges this CPU's pending IPI after an external exit: `H_XIRR` (accept), MFRR
/// back to 0xFF (`H_IPI` to itself), `H_EOI`. Returns the XIRR (0: nothing was pending).
pub fn ack(my_server: u32) -> u32 {
    let h = hv();
    let xirr = h.hcall(H_XIRR, [0; 9]).ret[0] as u32;
    if xirr & 0x00FF_FFFF != 0 {
        h.hcall(
            H_IPI,
            [u64::from(my_server), MFRR_NONE, 0, 0, 0, 0, 0, 0, 0],
        );
        h.hcall(H_EOI, [u64::from(xirr), 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    xirr
}

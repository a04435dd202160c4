//! Issue 10, phase 1: real L2 guests on the L0. One guest with vCPU 0 and 4 MiB of RAM runs
//! each payload of [`crate::l2payload`]; one check line per behaviour, then the exit
//! statistics (count, mean and max RUN round trip per exit kind).

use crate::checks::Tally;
use crate::l2emu::{Access, Env, Outcome, DEVICE_ID, SLICE};
use crate::l2payload::{self as payload, Entry, FAR_GPA, PROGRAM_VECTOR};
use crate::l2run::{Exit, Hv, L2Error, Stats, IO_PAGES, KINDS, L2};
use crate::println;
use alloc::alloc::{alloc_zeroed, Layout};
use papr_gsb::GuestStateId as Id;
use papr_hcall::{CountingHcall, IdentityMemory, L1RealAddr, NestedHv, Sc1, TimebaseSpin};

/// L2 RAM.
const RAM: u64 = 4 << 20;
/// SRR1 bit of a program interrupt for an illegal instruction.
const SRR1_ILLEGAL: u64 = 0x0008_0000;

fn show(o: &Result<Outcome, L2Error>) -> alloc::string::String {
    match o {
        Ok(Outcome::Report(g)) => alloc::format!("report r4..r9 = {:x?}", &g[1..7]),
        Ok(other) => alloc::format!("{other:?}"),
        Err(e) => alloc::format!("{e}"),
    }
}

/// Runs the L2 checks; returns (ok, FAIL).
pub fn run(ticks_per_us: u64) -> (u32, u32) {
    let mut t = Tally::default();
    let io_len = IO_PAGES * 4096;
    let io = Layout::from_size_align(io_len as usize, 4096).map_or(core::ptr::null_mut(), |l| {
        // SAFETY: the layout has a non-zero size.
        unsafe { alloc_zeroed(l) }
    });
    if io.is_null() {
        t.check(false, format_args!("L2: allocate the state-buffer pages"));
        return (t.ok, t.fail);
    }
    let io = io as u64;
    // SAFETY: the pages are heap memory owned here for the rest of the program (never freed),
    // identity-mapped, and only raw pointers (the L0 and `IdentityMemory`) reach them.
    let mem = unsafe { IdentityMemory::new(io, io + io_len) };
    let mut hv = NestedHv::new(CountingHcall::new(Sc1), mem, TimebaseSpin { ticks_per_us });
    let mut l2 = match L2::create(&mut hv, L1RealAddr(io), RAM) {
        Ok(l2) => l2,
        Err(e) => {
            t.check(
                false,
                format_args!("L2: create guest + vCPU 0, partition table, run buffers -> {e}"),
            );
            return (t.ok, t.fail);
        }
    };
    let blob = payload::blob();
    let code_len = (blob.len() as u64 + 0xFFF) & !0xFFF;
    let loaded = l2.load(0, blob) && l2.load(FAR_GPA, payload::far());
    let mapped = l2.map(0, code_len);
    t.check(
        loaded && mapped.is_ok(),
        format_args!(
            "L2 guest {}: vCPU 0, {} MiB RAM, partition table + run buffers set, code {:#x} bytes mapped at GPA 0 -> {}",
            l2.guest.0,
            RAM >> 20,
            blob.len(),
            mapped.as_ref().map_or_else(|e| alloc::format!("{e}"), |()| "ok".into())
        ),
    );
    payloads(&mut t, &mut hv, &mut l2, ticks_per_us);
    let guest = l2.guest;
    match l2.delete(&mut hv) {
        Ok(stats) => {
            t.check(
                true,
                format_args!("L2 DELETE(guest {}) -> H_SUCCESS", guest.0),
            );
            print_stats(&stats, ticks_per_us);
        }
        Err(e) => {
            t.check(false, format_args!("L2 DELETE(guest {}) -> {e}", guest.0));
        }
    }
    (t.ok, t.fail)
}

fn payloads(t: &mut Tally, hv: &mut Hv, l2: &mut L2, ticks_per_us: u64) {
    // Console.
    let mut env = Env::default();
    let r = env.drive(l2, hv, Some(Entry::Hello.gpa()), 20);
    t.check(
        env.console() == b"hello from L2" && matches!(r, Ok(Outcome::Report(g)) if g[1] == 0),
        format_args!(
            "L2 hcall console: {:?} via sc 1 (0xC00), L2 got H_SUCCESS -> {}",
            core::str::from_utf8(env.console()).unwrap_or("?"),
            show(&r)
        ),
    );

    // MMIO.
    let mut env = Env::default();
    let r = env.drive(l2, hv, Some(Entry::Mmio.gpa()), 40);
    let want = [0x5a, 0x1234, 0x789a_bcde, 0x1122_3344_5566_7788, DEVICE_ID];
    let sizes: [u8; 9] = [1, 2, 4, 8, 1, 2, 4, 8, 8];
    let log_ok = env.mmio == 9
        && env.direction_mismatch == 0
        && env.log.iter().zip(sizes).enumerate().all(|(i, (a, s))| {
            matches!(a, Some(Access { store, size, .. }) if *size == s && *store == (i < 4))
        });
    t.check(
        log_ok && matches!(r, Ok(Outcome::Report(g)) if g[2..7] == want),
        format_args!("L2 MMIO: {} HDSI exits (0xE00) at GPA {:#x} emulated, st/ld 1/2/4/8 bytes + id, values back in the L2 -> {}", env.mmio, payload::MMIO_BASE, show(&r)),
    );

    // Demand paging.
    let mut env = Env::default();
    let r = env.drive(l2, hv, Some(Entry::Paging.gpa()), 40);
    let backing = l2.read::<8>(0x20_0000).map(u64::from_le_bytes);
    t.check(
        env.paged == (4, 0) && backing == Some(0x11) && matches!(r, Ok(Outcome::Report(g)) if g[2..6] == [0x11, 0x22, 0x33, 0]),
        format_args!("L2 demand paging: {} first touches -> HDSI -> mmu-radix map -> retry ok, L1 reads {:#x} -> {}", env.paged.0, backing.unwrap_or(0), show(&r)),
    );

    // Instruction fetch from an unmapped page.
    let mut env = Env::default();
    let r = env.drive(l2, hv, Some(Entry::Hisi.gpa()), 20);
    t.check(
        env.paged == (0, 1) && matches!(r, Ok(Outcome::Report(g)) if g[1] == 0x1515 && g[2] == FAR_GPA + 8),
        format_args!("L2 HISI: branch to unmapped GPA {FAR_GPA:#x} -> 0xE20 -> mapped -> code there ran -> {}", show(&r)),
    );

    heai(t, hv, l2);
    hdec(t, hv, l2, ticks_per_us);
    bench(t, hv, l2, ticks_per_us);
}

/// Steady state: 1000 `sc 1` exits resumed with nothing but the HDEC expiry.
fn bench(t: &mut Tally, hv: &mut Hv, l2: &mut L2, ticks_per_us: u64) {
    const N: u32 = 1000;
    let before = l2.stats();
    let r = Env::default().drive(l2, hv, Some(Entry::Bench.gpa()), N);
    let after = l2.stats();
    let exits = after.count[0] - before.count[0];
    let handled = (after.handled - before.handled).max(1);
    let hcalls = after.hcalls - before.hcalls;
    let rt = (after.total[0] - before.total[0]) / exits.max(1);
    let l1 = (after.l1_ticks - before.l1_ticks) / handled;
    let us = |x: u64| x as f64 / ticks_per_us as f64;
    t.check(
        matches!(r, Ok(Outcome::Runaway)) && exits == u64::from(N) && hcalls == handled,
        format_args!(
            "L2 steady state: {exits} hcall exits, {:.2} hcalls per exit, RUN round trip mean {:.1} us, L1 time per exit {:.2} us ({:.1} % of the round trip)",
            hcalls as f64 / handled as f64,
            us(rt),
            us(l1),
            100.0 * l1 as f64 / rt.max(1) as f64
        ),
    );
}

fn heai(t: &mut Tally, hv: &mut Hv, l2: &mut L2) {
    let mut env = Env::default();
    let r = env.drive(l2, hv, Some(Entry::Heai.gpa()), 20);
    let at = Entry::Heai.gpa() + 4;
    let Ok(Outcome::Unhandled(Exit::Heai { heir, nia, msr })) = r else {
        t.check(
            false,
            format_args!("L2 HEAI: illegal instruction -> {}", show(&r)),
        );
        return;
    };
    t.check(
        heir == 0x1234 && nia == at,
        format_args!(
            "L2 HEAI: illegal word -> 0xE40, HEIR {heir:#010x} at NIA {nia:#x}, MSR {msr:#x}"
        ),
    );
    // Inject a program interrupt (illegal instruction) at the L2's vector.
    l2.set(Id::SRR0, nia);
    l2.set(Id::SRR1, msr | SRR1_ILLEGAL);
    let r = env.drive(l2, hv, Some(PROGRAM_VECTOR), 20);
    t.check(
        matches!(r, Ok(Outcome::Report(g)) if g[1] == nia && g[2] == msr | SRR1_ILLEGAL),
        format_args!("L2 program interrupt injected (SRR0/SRR1, NIA {PROGRAM_VECTOR:#x}): handler saw SRR0 = NIA, SRR1 = MSR | {SRR1_ILLEGAL:#x} -> {}", show(&r)),
    );
}

fn hdec(t: &mut Tally, hv: &mut Hv, l2: &mut L2, ticks_per_us: u64) {
    let mut env = Env {
        stop_on_hdec: true,
        ..Env::default()
    };
    let t0 = crate::boot::timebase();
    let r = env.drive(l2, hv, Some(Entry::Spin.gpa()), 3);
    let ticks = crate::boot::timebase().wrapping_sub(t0);
    let nia = l2.get(hv, Id::NIA);
    t.check(
        matches!(r, Ok(Outcome::Unhandled(Exit::Hdec)))
            && nia.as_ref().ok() == Some(&Entry::Spin.gpa()),
        format_args!(
            "L2 HDEC: `b .` with expiry now + {} ms -> 0x980 after {} us, NIA {:#x} -> {}",
            SLICE / (ticks_per_us * 1000),
            ticks / ticks_per_us,
            nia.unwrap_or(u64::MAX),
            show(&r)
        ),
    );
}

fn print_stats(s: &Stats, ticks_per_us: u64) {
    let us = |ticks: u64| ticks as f64 / ticks_per_us as f64;
    println!("  L2 exits          count   mean RUN us   max RUN us");
    for (k, name) in KINDS.iter().enumerate() {
        if s.count[k] > 0 {
            println!(
                "  {name:<16} {:>6} {:>13.1} {:>12.1}",
                s.count[k],
                us(s.total[k] / s.count[k]),
                us(s.max[k])
            );
        }
    }
    // HDEC exits last a whole slice by design: left out of the mean.
    let n: u64 = s.count.iter().sum::<u64>() - s.count[4];
    let rt: u64 = s.total.iter().sum::<u64>() - s.total[4];
    let handled = s.handled.max(1);
    println!(
        "  {n} exits besides HDEC: RUN round trip mean {:.1} us; L1 time per handled exit {:.2} us; {:.3} hcalls per handled exit",
        us(rt / n.max(1)),
        us(s.l1_ticks / handled),
        s.hcalls as f64 / handled as f64
    );
}

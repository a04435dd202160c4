//! Issue 10: real L2 guests on the L0 through `papr-nestedv2`. Guest A (vCPU 0, 4 MiB)
//! runs each payload of [`crate::l2payload`]; guest B (vCPUs 0 and 1, 2 MiB) runs beside
//! it; isolation is probed both ways; B is deleted and A runs on; then the timed part
//! ([`crate::l2timing`]) and A's delete. One check line per behaviour of the L0 or an L2;
//! what the L1 only counted or measured itself is a `figure` line.

use crate::checks::{figure, Tally};
use crate::l2emu::{Access, Env, DEVICE_ID, MSR, UNASSIGNED};
use crate::l2host::{l1_memory, pool, Host, L2Guest, L2Vcpu};
use crate::l2payload::{
    self as payload, Entry, FAR_GPA, MMIO_BASE, PROCESS_PMD, PROCESS_PUD, PROCESS_ROOT,
    PROCESS_TABLE, PROGRAM_VECTOR,
};
use crate::l2timing;
use alloc::format;
use alloc::string::String;
use papr_gsb::GuestStateId as Id;
use papr_hcall::{L1RealAddr, RealMemory};
use papr_nestedv2::{lpcr, msr, program, Error, Exit, ExitKind, GuestRealAddr};

/// Guest A's RAM.
const RAM_A: u64 = 4 << 20;
/// Guest B's RAM.
const RAM_B: u64 = 2 << 20;
/// L2 RAM is aligned to 16 MiB in the L1, so its L1 real addresses lie outside both
/// guests' guest-real RAM ranges (the isolation probes use them as GPAs).
const RAM_ALIGN: u64 = 16 << 20;
/// Each guest's partition-scoped table pool.
const TABLE_POOL: u64 = 256 << 10;
/// HDEC slice for the payloads: 10 ms of the 512 MHz timebase.
pub(crate) const SLICE: u64 = 5_120_000;
/// No payload run may take longer than this (then the run is refused: a check fails, the
/// boot goes on).
pub(crate) const DEADLINE: u64 = 1_024_000_000;
/// Where guest B's vCPUs store their words.
const B_WORDS: u64 = 0x10_0000;

/// A run's outcome as text: the payload's report, the exit it stopped on, or the error.
pub(crate) fn show(r: &Result<Exit, Error>, env: &Env) -> String {
    match (r, env.report) {
        (Ok(_), Some(g)) => format!("report r4..r9 = {:x?}", &g[1..7]),
        (Ok(e), None) => format!("stopped on {e:?}"),
        (Err(e), _) => format!("{e}"),
    }
}

/// The timebase.
pub(crate) fn now() -> u64 {
    papr_baremetal::boot::timebase()
}

/// Runs `vcpu` (from `start` in real mode, when given) until `env` stops it.
pub(crate) fn drive(
    vcpu: &mut L2Vcpu<'_, '_>,
    env: &mut Env,
    start: Option<u64>,
) -> Result<Exit, Error> {
    if let Some(nia) = start {
        let s = vcpu.state_mut();
        s.set_nia(nia);
        s.set_msr(MSR);
    }
    vcpu.set_deadline(Some(now() + DEADLINE));
    vcpu.run_loop(env)
}

/// The payload's report (r3…r12), all ones when it made none.
pub(crate) fn report(env: &Env) -> [u64; 10] {
    env.report.unwrap_or([u64::MAX; 10])
}

/// Creates a guest with `ram` bytes of RAM at GPA 0 (L1 memory aligned to [`RAM_ALIGN`]),
/// the payload blob at GPA 0 (its pages mapped) and [`payload::far`] at [`FAR_GPA`] (not
/// mapped). Returns the guest and the L1 real address of its RAM.
fn new_guest(host: &Host, ram: u64) -> Result<(L2Guest<'_>, u64), String> {
    let tables = pool(TABLE_POOL).ok_or("no L1 memory for the table pool")?;
    let base = l1_memory(ram, RAM_ALIGN).ok_or("no L1 memory for RAM")?;
    let mut g = L2Guest::create(host, tables).map_err(|e| format!("create: {e}"))?;
    g.add_ram(GuestRealAddr(0), L1RealAddr(base), ram)
        .map_err(|e| format!("{e}"))?;
    let mem = host.memory();
    let blob = payload::blob();
    mem.write(L1RealAddr(base), blob)
        .and_then(|()| mem.write(L1RealAddr(base + FAR_GPA), payload::far()))
        .map_err(|e| format!("{e}"))?;
    for page in (0..blob.len() as u64).step_by(4096) {
        g.fault_in(GuestRealAddr(page))
            .map_err(|e| format!("map code: {e}"))?;
    }
    Ok((g, base))
}

/// A vCPU with LPCR\[ILE\] (the payloads' interrupt handlers are little-endian) and the
/// payload slice.
fn new_vcpu<'g, 'h>(g: &'g L2Guest<'h>) -> Result<L2Vcpu<'g, 'h>, Error> {
    let mut v = g.create_vcpu(Entry::Spin.gpa(), MSR)?;
    // The checks count exits by kind in nestedv2's statistics (off by default).
    v.set_stats_enabled(true);
    v.set_lpcr(lpcr::DEFAULT | lpcr::ILE);
    v.set_time_slice(SLICE);
    Ok(v)
}

/// Runs the L2 checks; returns (ok, FAIL).
pub fn run(host: &Host, ticks_per_us: u64) -> (u32, u32) {
    let mut t = Tally::default();
    // SAFETY: only the wrapper's timer is reset; no hcall is made through the backend.
    host.with_hv(|hv| unsafe { hv.hcall_unchecked() }.inner().reset());
    // H_SUCCESS from the L0 for CREATE, CREATE_VCPU and the SET_STATEs of the partition
    // table and run buffers (what creating the guest and its vCPU sends).
    let (ga, ram_a) = match new_guest(host, RAM_A) {
        Ok(g) => g,
        Err(e) => {
            t.check(false, "L2 guest A", format_args!("create -> {e}"));
            return (t.ok, t.fail);
        }
    };
    let a = new_vcpu(&ga);
    t.check(
        a.is_ok(),
        "L2 guest A",
        format_args!(
            "guest {}, vCPU 0 -> {}, {} MiB RAM at L1 {ram_a:#x}, partition table + run buffers set, code {:#x} bytes mapped at GPA 0",
            ga.id().0,
            a.as_ref().map_or_else(|e| format!("{e}"), |_| "H_SUCCESS".into()),
            RAM_A >> 20,
            payload::blob().len(),
        ),
    );
    let Some(mut a) = a.ok() else {
        return (t.ok, t.fail);
    };
    // The L0 gives the second guest its own id while the first exists, and takes two vCPUs.
    let (gb, ram_b) = match new_guest(host, RAM_B) {
        Ok(g) => g,
        Err(e) => {
            t.check(false, "L2 guest B", format_args!("create -> {e}"));
            return (t.ok, t.fail);
        }
    };
    let b = new_vcpu(&gb).and_then(|b0| Ok((b0, new_vcpu(&gb)?)));
    t.check(
        b.is_ok() && gb.id() != ga.id(),
        "L2 guest B",
        format_args!(
            "guest {} beside guest {}, vCPUs 0 and 1 -> {}, {} MiB RAM at L1 {ram_b:#x}",
            gb.id().0,
            ga.id().0,
            b.as_ref()
                .map_or_else(|e| format!("{e}"), |_| "H_SUCCESS".into()),
            RAM_B >> 20,
        ),
    );
    let Some((mut b0, mut b1)) = b.ok() else {
        return (t.ok, t.fail);
    };

    let mut totals = l2timing::Totals::default();
    payloads(&mut t, &mut a);
    two_vcpus(&mut t, &mut b0, &mut b1, &mut a);
    isolation(&mut t, (&ga, ram_a, &mut a), (&gb, ram_b, &mut b1));
    mmu_on(&mut t, host, &mut a, ram_a);
    l2timing::timer(&mut t, &mut a, ticks_per_us);

    // Delete B, then A runs on.
    totals.add(b0.stats());
    totals.add(b1.stats());
    drop((b0, b1));
    let b_id = gb.id().0;
    let del = gb.delete();
    let mut env = Env::default();
    let r = drive(&mut a, &mut env, Some(Entry::Hello.gpa()));
    t.check(
        del.is_ok() && env.console() == b"hello from L2" && report(&env)[1] == 0,
        "L2 delete one of two",
        format_args!(
            "DELETE(guest {b_id}) -> {}, then guest {} still runs: {:?} -> {}",
            del.as_ref()
                .map_or_else(|e| format!("{e}"), |()| "H_SUCCESS".into()),
            ga.id().0,
            core::str::from_utf8(env.console()).unwrap_or("?"),
            show(&r, &env)
        ),
    );
    l2timing::hdec(&mut t, &mut a, ticks_per_us);
    l2timing::bench(&mut t, host, &mut a, ticks_per_us);

    totals.add(a.stats());
    // SAFETY: only the wrapper's timings are read; no hcall is made through the backend.
    let runs = host.with_hv(|hv| unsafe { hv.hcall_unchecked() }.inner().times());
    l2timing::print_stats(&totals, &runs, ticks_per_us);
    let exits = totals.exits();
    figure(
        "L2 exit statistics",
        format_args!(
            "{exits} exits in nestedv2's ExitStats, {} H_GUEST_RUN_VCPU timed by the L1",
            runs.runs()
        ),
    );
    drop(a);
    let a_id = ga.id().0;
    let del = ga.delete();
    t.check(
        del.is_ok(),
        "L2 delete guest A",
        format_args!(
            "DELETE(guest {a_id}) -> {}",
            del.map_or_else(|e| format!("{e}"), |()| "H_SUCCESS".into())
        ),
    );
    (t.ok, t.fail)
}

/// Phase 1's payloads on guest A.
fn payloads(t: &mut Tally, a: &mut L2Vcpu<'_, '_>) {
    // Console.
    let mut env = Env::default();
    let r = drive(a, &mut env, Some(Entry::Hello.gpa()));
    t.check(
        env.console() == b"hello from L2" && env.report.is_some_and(|g| g[1] == 0),
        "L2 hcall console",
        format_args!(
            "{:?} via sc 1 (0xC00), L2 got H_SUCCESS -> {}",
            core::str::from_utf8(env.console()).unwrap_or("?"),
            show(&r, &env)
        ),
    );

    // MMIO.
    let mut env = Env::default();
    let r = drive(a, &mut env, Some(Entry::Mmio.gpa()));
    let want = [0x5a, 0x1234, 0x789a_bcde, 0x1122_3344_5566_7788, DEVICE_ID];
    let sizes: [u8; 9] = [1, 2, 4, 8, 1, 2, 4, 8, 8];
    let log_ok = env.mmio == 9
        && env.direction_mismatch == 0
        && env.log.iter().zip(sizes).enumerate().all(|(i, (a, s))| {
            matches!(a, Some(Access { store, size, .. }) if *size == s && *store == (i < 4))
        });
    t.check(
        log_ok && env.report.is_some_and(|g| g[2..7] == want),
        "L2 MMIO",
        format_args!("{} HDSI exits (0xE00) at GPA {MMIO_BASE:#x} decoded by nestedv2, emulated, st/ld 1/2/4/8 bytes + id, values back in the L2 -> {}", env.mmio, show(&r, &env)),
    );

    // Demand paging: nestedv2's run loop maps the pages; the handler never sees them.
    let before = a.stats().count(ExitKind::PageFault);
    let mut env = Env::default();
    let r = drive(a, &mut env, Some(Entry::Paging.gpa()));
    let faults = a.stats().count(ExitKind::PageFault) - before;
    let mut backing = [0u8; 8];
    let read = a.guest().read_guest(GuestRealAddr(0x20_0000), &mut backing);
    let backing = u64::from_le_bytes(backing);
    t.check(
        faults == 4 && read == Ok(true) && backing == 0x11 && env.report.is_some_and(|g| g[2..6] == [0x11, 0x22, 0x33, 0]),
        "L2 demand paging",
        format_args!("{faults} first touches -> HDSI -> nestedv2 fault_in (mmu-radix map) -> retried, L1 reads {backing:#x} -> {}", show(&r, &env)),
    );

    // Instruction fetch from an unmapped page.
    let before = a.stats().count(ExitKind::InstructionFault);
    let mut env = Env::default();
    let r = drive(a, &mut env, Some(Entry::Hisi.gpa()));
    let hisi = a.stats().count(ExitKind::InstructionFault) - before;
    t.check(
        hisi == 1 && env.report.is_some_and(|g| g[1] == 0x1515 && g[2] == FAR_GPA + 8),
        "L2 HISI",
        format_args!("branch to unmapped GPA {FAR_GPA:#x} -> 0xE20 -> mapped by the run loop -> code there ran -> {}", show(&r, &env)),
    );

    heai(t, a);
}

fn heai(t: &mut Tally, a: &mut L2Vcpu<'_, '_>) {
    let mut env = Env::default();
    let r = drive(a, &mut env, Some(Entry::Heai.gpa()));
    let at = Entry::Heai.gpa() + 4;
    let Ok(Exit::EmulationAssist { heir, nia }) = r else {
        t.check(
            false,
            "L2 HEAI",
            format_args!("illegal instruction -> {}", show(&r, &env)),
        );
        return;
    };
    let m = a.state().cached(Id::MSR).unwrap_or(0) as u64;
    t.check(
        heir == 0x1234 && nia == at,
        "L2 HEAI",
        format_args!("illegal word -> 0xE40, HEIR {heir:#010x} at NIA {nia:#x}, MSR {m:#x}"),
    );
    // The L1's response: a program interrupt (illegal instruction) in the L2.
    let inj = a.inject_program(program::ILLEGAL);
    let mut env = Env::default();
    let r = drive(a, &mut env, None);
    let srr1 = m | program::ILLEGAL;
    t.check(
        inj.is_ok() && env.report.is_some_and(|g| g[1] == nia && g[2] == srr1),
        "L2 program interrupt injected",
        format_args!("(nestedv2 inject_program, vector {PROGRAM_VECTOR:#x}, LPCR[ILE]): handler saw SRR0 = NIA, SRR1 = MSR | {:#x} -> {}", program::ILLEGAL, show(&r, &env)),
    );
}

/// Guest B's two vCPUs each store a word in B's RAM, with a guest-A run between them.
fn two_vcpus<'g, 'h>(
    t: &mut Tally,
    b0: &mut L2Vcpu<'g, 'h>,
    b1: &mut L2Vcpu<'g, 'h>,
    a: &mut L2Vcpu<'_, '_>,
) {
    let mut results = [None; 2];
    let mut a_ok = true;
    for (i, v) in [b0, b1].into_iter().enumerate() {
        let word = 0xB0B0_0000 + i as u64;
        let at = B_WORDS + 8 * i as u64;
        let s = v.state_mut();
        let _ = s.set_gpr(4, word);
        let _ = s.set_gpr(5, at);
        let mut env = Env::default();
        let r = drive(v, &mut env, Some(Entry::Store.gpa()));
        let mut back = [0u8; 8];
        let mapped = v.guest().read_guest(GuestRealAddr(at), &mut back);
        let ok = r.is_ok()
            && env.report.is_some_and(|g| g[3] == word)
            && mapped == Ok(true)
            && u64::from_le_bytes(back) == word;
        results[i] = Some((ok, u64::from_le_bytes(back)));
        // Guest A in between: both guests live, runs alternate.
        let mut env = Env::default();
        let _ = drive(a, &mut env, Some(Entry::Hello.gpa()));
        a_ok &= env.report.is_some();
    }
    let [Some((ok0, w0)), Some((ok1, w1))] = results else {
        return;
    };
    let stored = |ok| if ok { "stored" } else { "did NOT store" };
    t.check(
        ok0 && ok1 && a_ok,
        "L2 two vCPUs",
        format_args!("guest B vCPU 0 {} its word, vCPU 1 {} its word (L1 reads {w0:#x}, {w1:#x} at GPA {B_WORDS:#x}), guest A {} between them", stored(ok0), stored(ok1), if a_ok { "reported" } else { "did NOT report" }),
    );
}

/// One guest loads and stores at a GPA that is the other guest's RAM in the L1: B → A's
/// word at GPA 0x200000 (0x11 from the paging payload), A → B's first word.
fn isolation(
    t: &mut Tally,
    (ga, ram_a, a): (&L2Guest<'_>, u64, &mut L2Vcpu<'_, '_>),
    (gb, ram_b, b): (&L2Guest<'_>, u64, &mut L2Vcpu<'_, '_>),
) {
    probe(t, "L2 isolation B to A", b, ga, 0x20_0000, ram_a);
    probe(t, "L2 isolation A to B", a, gb, B_WORDS, ram_b);
}

/// `v` loads and stores at the L1 real address of `other_gpa` in guest `og` (RAM at L1
/// `other_ram`); the check is called `name`.
fn probe(
    t: &mut Tally,
    name: &str,
    v: &mut L2Vcpu<'_, '_>,
    og: &L2Guest<'_>,
    other_gpa: u64,
    other_ram: u64,
) {
    let target = other_ram + other_gpa;
    let mut before = [0u8; 8];
    let _ = og.read_guest(GuestRealAddr(other_gpa), &mut before);
    let own = v.guest().is_ram(GuestRealAddr(target));
    let mmio_before = v.stats().count(ExitKind::Mmio);
    let _ = v.state_mut().set_gpr(4, target);
    let mut env = Env::default();
    let r = drive(v, &mut env, Some(Entry::Probe.gpa()));
    let mmio = v.stats().count(ExitKind::Mmio) - mmio_before;
    let mut after = [0u8; 8];
    let _ = og.read_guest(GuestRealAddr(other_gpa), &mut after);
    let stray = env.log[..2]
        .iter()
        .all(|l| matches!(l, Some(x) if x.gpa == target));
    let loaded = report(&env)[2];
    t.check(
        !own && mmio == 2
            && stray
            && loaded == u64::from_le_bytes([UNASSIGNED; 8])
            && before == after
            && u64::from_le_bytes(after) != 0x5a5a,
        name,
        format_args!(
            "guest {} ld/std at GPA {target:#x} (= guest {}'s RAM in the L1) -> {mmio} MMIO exits to the L1 (unassigned), L2 loaded {loaded:#x}, the other guest's word stays {:#x} -> {}",
            v.guest().id().0,
            og.id().0,
            u64::from_le_bytes(after),
            show(&r, &env)
        ),
    );
}

/// Writes a big-endian table entry into guest RAM (`ram` = its L1 base).
fn put_be(host: &Host, ram: u64, gpa: u64, value: u64) -> bool {
    host.memory()
        .write(L1RealAddr(ram + gpa), &value.to_be_bytes())
        .is_ok()
}

/// The L1 builds a process-scoped tree in guest A's RAM (PID 0: EA = GPA with 2 MiB
/// leaves for RAM and the device), sets the process table, and the L2 turns IR/DR on.
fn mmu_on(t: &mut Tally, host: &Host, a: &mut L2Vcpu<'_, '_>, ram: u64) {
    use papr_mmu_radix::{Attr, Pde, Perms, Prte, Pte, LEVEL_NLS};
    let pde = |next: u64| Pde::new_process(GuestRealAddr(next), LEVEL_NLS[1]).raw();
    // Kernel leaves: privileged, referenced and changed (no R/C update faults).
    let leaf = |rpn: u64, perms: Perms, attr: Attr| {
        Pte::new_process(GuestRealAddr(rpn), perms, attr)
            .with_rc(true, true)
            .with_privileged(true)
            .raw()
    };
    let prte = Prte::new(GuestRealAddr(PROCESS_ROOT));
    let ok = put_be(host, ram, PROCESS_TABLE, prte.dw0)
        && put_be(host, ram, PROCESS_TABLE + 8, prte.dw1)
        && put_be(host, ram, PROCESS_ROOT, pde(PROCESS_PUD))
        && put_be(host, ram, PROCESS_PUD, pde(PROCESS_PMD))
        && put_be(host, ram, PROCESS_PMD, leaf(0, Perms::RWX, Attr::Normal))
        && put_be(
            host,
            ram,
            PROCESS_PMD + 8,
            leaf(0x20_0000, Perms::RWX, Attr::Normal),
        )
        && put_be(
            host,
            ram,
            PROCESS_PMD + 8 * (MMIO_BASE >> 21),
            leaf(MMIO_BASE, Perms::RW, Attr::NonIdempotentIo),
        );
    let g = a.guest();
    let mapped = [PROCESS_TABLE, PROCESS_ROOT, PROCESS_PUD, PROCESS_PMD]
        .iter()
        .all(|&p| g.fault_in(GuestRealAddr(p)).unwrap_or(false));
    let set = g.set_process_table(GuestRealAddr(PROCESS_TABLE), 4096);
    let mut env = Env::default();
    let r = drive(a, &mut env, Some(Entry::Mmu.gpa()));
    let relocated = env.mmio == 1 && env.undecoded.is_none();
    let g = report(&env);
    let on = g[1] & (msr::IR | msr::DR) == msr::IR | msr::DR;
    t.check(
        ok && mapped
            && set.is_ok()
            && on
            && relocated
            && g[2] == DEVICE_ID
            && g[3] == 0x11,
        "L2 MMU on",
        format_args!(
            "L1 built PID 0's radix tree in L2 RAM, nestedv2 set_process_table({PROCESS_TABLE:#x}, 4 KiB) -> {}; L2 rfid to IR|DR (MSR {:#x}), relocated MMIO ld at EA {:#x} (nestedv2 fetched the insn through the L2's tables) = {:#x}, RAM ld = {:#x}, hcall with translation on -> {}",
            set.as_ref().map_or_else(|e| format!("{e}"), |()| "H_SUCCESS".into()),
            g[1],
            MMIO_BASE + 16,
            g[2],
            g[3],
            show(&r, &env)
        ),
    );
}

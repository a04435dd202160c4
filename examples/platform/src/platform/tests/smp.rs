//! SMP: RTAS `start-cpu`/`query-cpu-stopped-state`/`stop-self`, IPIs between the vCPUs'
//! presentation controllers, `H_CEDE`/`H_PROD`/`H_CONFER` on a [`Board`](crate::Board)
//! and alone.

use super::rtas::{rtas, success};
use super::*;
use crate::hcall::{H_CEDE, H_CONFER, H_CPPR, H_EOI, H_IPI, H_IPOLL, H_PROD, H_XIRR};
use crate::vcpu::START_MSR;
use crate::{Board, Idled};

fn cfg(vcpus: u32) -> PlatformConfig {
    let mut c = PlatformConfig::new(RAM, 0xF_0000);
    c.vcpus = vcpus;
    c
}

fn fake(id: u64) -> Fake {
    let mut v = Fake::new();
    v.id = id;
    v
}

/// Makes hcall `nr` on the board's handler; returns the action.
fn hc(b: &Board<Env>, v: &mut Fake, nr: u64, args: &[u64]) -> Action {
    let mut a = [0u64; 9];
    a[..args.len()].copy_from_slice(args);
    b.handler().handle(&Exit::Hcall { nr, args: a }, v)
}

fn ret(r: &[i64]) -> Action {
    let mut h = HcallReturn::status(r[0] as u64);
    for &x in &r[1..] {
        h = h.with(x as u64);
    }
    Action::HcallReturn(h)
}

fn gpr3(v: &Fake) -> Option<u64> {
    v.reg_of(GuestStateId::gpr(3).unwrap())
}

#[test]
fn start_cpu_and_query_cpu_stopped_state() {
    let mut p = Platform::new(Env::default(), cfg(2));
    let mut v = fake(0);
    let qcss = token::QUERY_CPU_STOPPED_STATE;
    assert_eq!(p.cpu_state(1), Some(CpuState::Stopped));
    assert_eq!(p.cpu_state(2), None);
    // Stopped = 0, the boot CPU not stopped = 2.
    assert_eq!(rtas(&mut p, &mut v, qcss, &[1], 2), (success(), vec![0, 0]));
    assert_eq!(rtas(&mut p, &mut v, qcss, &[0], 2), (success(), vec![0, 2]));
    // Unknown CPU, wrong counts: −3 and rets[1] untouched.
    let untouched = -0x1111_1112;
    assert_eq!(
        rtas(&mut p, &mut v, qcss, &[2], 2),
        (success(), vec![-3, untouched])
    );
    assert_eq!(rtas(&mut p, &mut v, qcss, &[1], 1).1, [-3]);

    let start = token::START_CPU;
    assert_eq!(rtas(&mut p, &mut v, start, &[7, 0x2000, 1], 1).1, [-3]);
    assert_eq!(rtas(&mut p, &mut v, start, &[1, 0x2000], 1).1, [-3]);
    assert_eq!(p.cpu_state(1), Some(CpuState::Stopped));
    assert_eq!(
        rtas(&mut p, &mut v, start, &[1, 0x2000, 0x55], 1),
        (success(), vec![0])
    );
    assert_eq!(p.env().kicks, [1], "the started vCPU is kicked");
    assert_eq!(
        p.cpu_state(1),
        Some(CpuState::Starting {
            entry: 0x2000,
            r3: 0x55
        })
    );
    assert_eq!(rtas(&mut p, &mut v, qcss, &[1], 2).1, [0, 2]);
    // Starting a CPU that is not stopped: −1, as QEMU (Linux prints "start-cpu failed").
    assert_eq!(rtas(&mut p, &mut v, start, &[1, 0x3000, 0], 1).1, [-1]);
    assert_eq!(rtas(&mut p, &mut v, start, &[0, 0x3000, 0], 1).1, [-1]);
    assert_eq!(p.env().kicks, [1], "failed starts kick nobody");
    assert_eq!(p.take_start(1), Some((0x2000, 0x55)));
    assert_eq!(p.take_start(1), None);
    assert_eq!(p.cpu_state(1), Some(CpuState::Running));
    let counts = p.rtas_counts();
    assert!(counts.contains(&(start, "start-cpu", 5)), "{counts:?}");
}

#[test]
fn dispatch_enters_a_started_cpu_at_its_address() {
    let b = Board::new(Env::default(), cfg(2));
    let (mut v0, mut v1) = (fake(0), fake(1));
    // LE from the boot CPU before the secondary starts.
    assert_eq!(
        hc(&b, &mut v0, crate::hcall::H_SET_MODE, &[1, 4, 0, 0]),
        ret(&[0])
    );
    assert!(!b.dispatch(&mut v1).unwrap(), "stopped: stays off the CPU");
    assert!(v1.regs.is_empty());
    b.with(|p| p.start_cpu(1, 0x2000, 0x55));
    assert!(b.runnable(1, v1.now));
    assert!(b.dispatch(&mut v1).unwrap());
    assert_eq!(v1.reg_of(GuestStateId::NIA), Some(0x2000));
    assert_eq!(v1.reg_of(GuestStateId::MSR), Some(START_MSR));
    assert_eq!(START_MSR, (1 << 63) | (1 << 12));
    assert_eq!(gpr3(&v1), Some(0x55));
    assert_eq!(v1.lpcr & lpcr::ILE, lpcr::ILE, "guest-wide LE applied");
    // Once: a second dispatch leaves the registers alone.
    v1.regs.clear();
    assert!(b.dispatch(&mut v1).unwrap());
    assert!(v1.regs.is_empty());
    assert_eq!(b.cpu_state(1), Some(CpuState::Running));
}

#[test]
fn stop_self_stops_the_caller_without_answering() {
    let b = Board::new(Env::default(), cfg(2));
    let mut v1 = fake(1);
    b.with(|p| p.start_cpu(1, 0x2000, 0));
    b.dispatch(&mut v1).unwrap();
    let mut block = Vec::new();
    for w in [token::STOP_SELF, 0, 1, 0xEEEE_EEEE] {
        block.extend_from_slice(&u32::to_be_bytes(w));
    }
    v1.put(0x8000, &block);
    let exit = Exit::Hcall {
        nr: crate::hcall::H_RTAS,
        args: [0x8000, 0, 0, 0, 0, 0, 0, 0, 0],
    };
    assert_eq!(b.handler().handle(&exit, &mut v1), Action::Stop);
    assert_eq!(
        v1.be32(0x800C),
        0xEEEE_EEEE,
        "never returns: nothing written"
    );
    assert_eq!(b.cpu_state(1), Some(CpuState::Stopped));
    assert_eq!(b.outcome(), None);
    assert!(!b.runnable(1, 0));
    // The boot CPU sees it stopped and may start it again.
    let mut v0 = fake(0);
    b.with(|p| {
        let q = rtas(p, &mut v0, token::QUERY_CPU_STOPPED_STATE, &[1], 2);
        assert_eq!(q.1, [0, 0]);
        let s = rtas(p, &mut v0, token::START_CPU, &[1, 0x4000, 9], 1);
        assert_eq!(s.1, [0]);
    });
    assert_eq!(b.take_start(1), Some((0x4000, 9)));
}

#[test]
fn ipis_between_vcpus() {
    let b = Board::new(Env::default(), cfg(2));
    let (mut v0, mut v1) = (fake(0), fake(1));
    b.with(|p| p.start_cpu(1, 0x2000, 0));
    b.dispatch(&mut v1).unwrap();
    assert_eq!(hc(&b, &mut v0, H_CPPR, &[0xFF]), ret(&[0]));
    // An IPI to a CPU whose CPPR is still 0 (reset) waits in its MFRR.
    assert_eq!(hc(&b, &mut v0, H_IPI, &[1, 4]), ret(&[0]));
    assert!(!b.with(|p| p.external_pending(1)));
    assert_eq!(hc(&b, &mut v0, H_IPOLL, &[1]), ret(&[0, 0, 4]));
    // CPPR 0xFF presents it, on the vCPU that set it.
    assert_eq!(hc(&b, &mut v1, H_CPPR, &[0xFF]), ret(&[0]));
    assert!(v1.external, "LPCR[MER] requested");
    assert!(!v0.external, "the sender is not interrupted");
    assert_eq!(hc(&b, &mut v1, H_XIRR, &[0xFF]), ret(&[0, 0xFF00_0002]));
    assert!(!v1.external, "accepted: MER withdrawn");
    // Linux's IPI handler: MFRR back to 0xFF, then EOI with the old CPPR.
    assert_eq!(hc(&b, &mut v1, H_IPI, &[1, 0xFF]), ret(&[0]));
    assert_eq!(hc(&b, &mut v1, H_EOI, &[0xFF00_0002]), ret(&[0]));
    assert_eq!(hc(&b, &mut v1, H_IPOLL, &[1]), ret(&[0, 0xFF00_0000, 0xFF]));
    // Nothing pending: XIRR says spurious (0) and an EOI of nothing changes nothing.
    assert_eq!(hc(&b, &mut v1, H_XIRR, &[0xFF]), ret(&[0, 0xFF00_0000]));
    assert_eq!(hc(&b, &mut v1, H_EOI, &[0xFF00_0000]), ret(&[0]));
    assert_eq!(hc(&b, &mut v1, H_IPOLL, &[1]), ret(&[0, 0xFF00_0000, 0xFF]));
    assert!(!v1.external);
    let kicks = || b.with(|p| p.env().kicks.clone());
    assert_eq!(
        kicks(),
        [1],
        "start-cpu only: no kick for a masked IPI or self-IPIs"
    );
    // A vCPU off the L1 CPU gets its IPI as MER when dispatched, and a kick.
    assert_eq!(hc(&b, &mut v1, H_IPI, &[0, 5]), ret(&[0]));
    assert_eq!(kicks(), [1, 0]);
    assert_eq!(hc(&b, &mut v1, H_IPI, &[0, 3]), ret(&[0]));
    assert_eq!(kicks(), [1, 0], "already presented: no second kick");
    assert!(b.with(|p| p.external_pending(0)));
    assert!(!v0.external);
    assert!(b.dispatch(&mut v0).unwrap());
    assert!(v0.external);
    // Bad servers: H_PARAMETER, nothing changed.
    assert_eq!(hc(&b, &mut v0, H_IPI, &[2, 4]), ret(&[H_PARAMETER]));
    assert_eq!(hc(&b, &mut v0, H_IPI, &[u64::MAX, 4]), ret(&[H_PARAMETER]));
    assert_eq!(hc(&b, &mut v0, H_IPOLL, &[2]), ret(&[H_PARAMETER]));
}

#[test]
fn cppr_masks_ipis_of_lower_priority() {
    let b = Board::new(Env::default(), cfg(2));
    let (mut v0, mut v1) = (fake(0), fake(1));
    b.with(|p| p.start_cpu(1, 0x2000, 0));
    b.dispatch(&mut v1).unwrap();
    assert_eq!(hc(&b, &mut v1, H_CPPR, &[4]), ret(&[0]));
    // Priority 5 is less favoured than CPPR 4: masked.
    assert_eq!(hc(&b, &mut v0, H_IPI, &[1, 5]), ret(&[0]));
    assert!(!b.with(|p| p.external_pending(1)));
    // Priority 3 gets through.
    assert_eq!(hc(&b, &mut v0, H_IPI, &[1, 3]), ret(&[0]));
    assert!(b.with(|p| p.external_pending(1)));
    // Raising CPPR above it withdraws it again.
    assert_eq!(hc(&b, &mut v1, H_CPPR, &[2]), ret(&[0]));
    assert!(!b.with(|p| p.external_pending(1)));
    assert!(!v1.external);
}

#[test]
fn cede_on_a_board_yields_until_dec_ipi_or_prod() {
    let b = Board::new(Env::default(), cfg(2));
    let (mut v0, mut v1) = (fake(0), fake(1));
    b.with(|p| p.start_cpu(1, 0x2000, 0));
    b.dispatch(&mut v1).unwrap();
    hc(&b, &mut v0, H_CPPR, &[0xFF]);
    let dec = v0.now + 1000;
    v0.dec = dec;
    // Cede with the DEC in the future: off the CPU, r3 = H_SUCCESS, MSR[EE] = 1.
    assert_eq!(hc(&b, &mut v0, H_CEDE, &[]), Action::Stop);
    assert_eq!(gpr3(&v0), Some(0));
    assert_eq!(v0.reg_of(GuestStateId::MSR), Some(msr::EE));
    assert_eq!(b.cpu_state(0), Some(CpuState::Ceded { until: Some(dec) }));
    assert!(!b.runnable(0, v0.now));
    assert!(b.runnable(0, dec), "its decrementer wakes it");
    assert!(!b.dispatch(&mut v0).unwrap());
    assert_eq!(b.next(1, v0.now), Some(1), "vCPU 1 runs meanwhile");
    // Nothing to idle while vCPU 1 may run.
    assert_eq!(idle_any(&b, v0.now), Idled::Runnable);
    // An IPI from vCPU 1 wakes it.
    assert_eq!(hc(&b, &mut v1, H_IPI, &[0, 4]), ret(&[0]));
    assert!(b.runnable(0, v0.now));
    assert!(b.dispatch(&mut v0).unwrap());
    assert!(v0.external);
    assert_eq!(b.cpu_state(0), Some(CpuState::Running));
    // Pending interrupt: the next cede returns at once.
    assert_eq!(hc(&b, &mut v0, H_CEDE, &[]), ret(&[0]));
    hc(&b, &mut v0, H_XIRR, &[0xFF]);
    hc(&b, &mut v0, H_IPI, &[0, 0xFF]);
    hc(&b, &mut v0, H_EOI, &[0xFF00_0002]);
    // H_PROD wakes a ceded vCPU; the prod is consumed by the wake-up.
    assert_eq!(hc(&b, &mut v0, H_CEDE, &[]), Action::Stop);
    assert_eq!(hc(&b, &mut v1, H_PROD, &[0]), ret(&[0]));
    assert!(b.runnable(0, v0.now));
    assert!(b.dispatch(&mut v0).unwrap());
    assert_eq!(hc(&b, &mut v0, H_CEDE, &[]), Action::Stop);
    assert!(!b.runnable(0, v0.now), "the prod was consumed");
    // Its decrementer wakes it; a prod before the next cede makes that return at once
    // (QEMU's prod flag).
    v0.now = dec;
    assert!(b.dispatch(&mut v0).unwrap());
    v0.dec = v0.now + 1000;
    assert_eq!(hc(&b, &mut v1, H_PROD, &[0]), ret(&[0]));
    assert_eq!(hc(&b, &mut v0, H_CEDE, &[]), ret(&[0]));
    assert_eq!(hc(&b, &mut v1, H_PROD, &[2]), ret(&[H_PARAMETER]));
    let kicks = b.with(|p| p.env().kicks.clone());
    assert_eq!(kicks, [1, 0, 0, 0], "start-cpu, the IPI, two prods");
    assert_eq!(hc(&b, &mut v0, H_PROD, &[0]), ret(&[0]));
    assert_eq!(
        b.with(|p| p.env().kicks.len()),
        4,
        "a self-prod kicks nobody"
    );
    // An expired DEC: return at once.
    v0.dec = v0.now - 1;
    assert_eq!(hc(&b, &mut v0, H_CEDE, &[]), ret(&[0]));
}

#[test]
fn idle_sleeps_until_the_earliest_ceded_deadline() {
    let b = Board::new(Env::default(), cfg(2));
    let (mut v0, mut v1) = (fake(0), fake(1));
    b.with(|p| p.start_cpu(1, 0x2000, 0));
    b.dispatch(&mut v1).unwrap();
    v0.dec = v0.now + 500;
    v1.dec = v1.now + 300;
    assert_eq!(hc(&b, &mut v0, H_CEDE, &[]), Action::Stop);
    assert_eq!(idle_any(&b, v0.now), Idled::Runnable, "vCPU 1 still runs");
    assert_eq!(hc(&b, &mut v1, H_CEDE, &[]), Action::Stop);
    assert_eq!(b.next(0, v0.now), None);
    // The clock moves 100 ticks per reading; the board is looked at every 1000 and when
    // the earliest deadline (vCPU 1's) passes.
    let mut t = v0.now;
    let mut clock = || {
        t += 100;
        t
    };
    assert_eq!(b.idle(None, 1000, &mut clock, &mut |_| false), Idled::Woken);
    assert!((v1.now + 300..v1.now + 400).contains(&t), "woke at {t}");
    assert!(
        b.with(|p| p.env().idles.is_empty()),
        "no Environment::idle_until"
    );
    assert_eq!(b.with(|p| p.stats().idles), 1);
    assert_eq!(b.next(0, v1.now + 300), Some(1));
    // Console input wakes every ceded vCPU (and is kept for H_GET_TERM_CHAR): read at
    // the first poll after the wait began.
    b.with(|p| p.env_mut().input = b"x".to_vec());
    let mut t = v0.now;
    let mut clock = || {
        t += 10;
        t
    };
    assert_eq!(b.idle(None, 100, &mut clock, &mut |_| false), Idled::Woken);
    assert!(t < v1.now + 300, "input, not the deadline, woke it ({t})");
    assert!(b.runnable(0, v0.now) && b.runnable(1, v0.now));
    assert_eq!(b.with(|p| p.input.len()), 1, "kept for H_GET_TERM_CHAR");
    // One vCPU waiting for a prod nobody can send: nothing to wait for.
    let b = Board::new(Env::default(), cfg(1));
    let mut v = fake(0);
    assert_eq!(hc(&b, &mut v, H_CONFER, &[0, 0]), Action::Stop);
    assert_eq!(idle_any(&b, v.now), Idled::Never);
    assert_eq!(b.with(|p| p.stats().idles), 0);
}

/// `Board::idle` for any vCPU, with a clock that stands still and no kicks.
fn idle_any(b: &Board<Env>, now: u64) -> Idled {
    b.idle(None, 1000, &mut || now, &mut |_| false)
}

#[test]
fn idle_for_one_vcpu_waits_for_its_kick_without_the_lock() {
    let b = Board::new(Env::default(), cfg(2));
    assert!(!b.ended());
    // vCPU 1 is stopped: no deadline, so only a kick (or input) makes its CPU look. The
    // clock starts vCPU 1 on its 5th reading, as another L1 CPU would: the board is not
    // locked while vCPU 1's CPU waits.
    let (mut readings, mut looks) = (0u64, 0u64);
    let kicked = core::cell::Cell::new(false);
    let mut clock = || {
        readings += 1;
        if readings == 5 {
            b.with(|p| p.start_cpu(1, 0x2000, 7));
            kicked.set(true);
        }
        readings
    };
    let mut take = |_| {
        looks += 1;
        kicked.replace(false)
    };
    assert_eq!(
        b.idle(Some(1), u64::MAX / 4, &mut clock, &mut take),
        Idled::Woken
    );
    assert_eq!(readings, 5, "woke at the kick");
    assert_eq!(
        b.cpu_state(1),
        Some(CpuState::Starting {
            entry: 0x2000,
            r3: 7
        })
    );
    assert_eq!(b.with(|p| p.env().kicks.clone()), [1]);
    // vCPU 0 runs: it does not wait.
    assert_eq!(
        b.idle(Some(0), 1, &mut || 0, &mut |_| false),
        Idled::Runnable
    );
    // Once the L2 has ended (vCPU 0 powers off through its handler), vCPU 1's CPU,
    // waiting for its cede to end, returns.
    let (mut v0, mut v1) = (fake(0), fake(1));
    b.dispatch(&mut v1).unwrap();
    v1.dec = v1.now + 1_000_000;
    assert_eq!(hc(&b, &mut v1, H_CEDE, &[]), Action::Stop);
    let mut block = Vec::new();
    for w in [token::POWER_OFF, 2, 1, u32::MAX, u32::MAX, 0xEEEE_EEEE] {
        block.extend_from_slice(&u32::to_be_bytes(w));
    }
    v0.put(0x8000, &block);
    let exit = Exit::Hcall {
        nr: crate::hcall::H_RTAS,
        args: [0x8000, 0, 0, 0, 0, 0, 0, 0, 0],
    };
    assert_eq!(b.handler().handle(&exit, &mut v0), Action::Stop);
    assert!(b.ended());
    assert_eq!(
        b.idle(Some(1), 1, &mut || v1.now, &mut |_| false),
        Idled::Ended
    );
}

#[test]
fn cede_on_a_board_keeps_the_vpa_dispatch_counter() {
    let b = Board::new(Env::default(), cfg(1));
    let mut v = fake(0);
    v.put(0x1004, &640u16.to_be_bytes());
    let reg = hc(
        &b,
        &mut v,
        crate::hcall::H_REGISTER_VPA,
        &[0x2000_0000_0000, 0, 0x1000],
    );
    assert_eq!(reg, ret(&[0]));
    v.dec = v.now + 10;
    assert_eq!(hc(&b, &mut v, H_CEDE, &[]), Action::Stop);
    assert_eq!(v.be32(0x1100), 1, "odd while ceded");
    v.now += 10;
    assert!(b.dispatch(&mut v).unwrap());
    assert_eq!(v.be32(0x1100), 2, "even when dispatched again");
}

#[test]
fn confer_yields_or_waits_for_a_prod() {
    let b = Board::new(Env::default(), cfg(2));
    let (mut v0, mut v1) = (fake(0), fake(1));
    b.with(|p| p.start_cpu(1, 0x2000, 0));
    b.dispatch(&mut v1).unwrap();
    // To everyone (−1), or to vCPU 1: off the CPU, still runnable, r3 = H_SUCCESS.
    assert_eq!(hc(&b, &mut v0, H_CONFER, &[u64::MAX, 0]), Action::Stop);
    assert_eq!(gpr3(&v0), Some(0));
    assert_eq!(b.cpu_state(0), Some(CpuState::Running));
    assert_eq!(hc(&b, &mut v0, H_CONFER, &[1, 3]), Action::Stop);
    assert_eq!(b.next(0, 0), Some(1), "round-robin: the other one first");
    assert_eq!(b.next(1, 0), Some(0));
    assert_eq!(hc(&b, &mut v0, H_CONFER, &[2, 0]), ret(&[H_PARAMETER]));
    // To itself: waits for H_PROD.
    assert_eq!(hc(&b, &mut v0, H_CONFER, &[0, 0]), Action::Stop);
    assert_eq!(b.cpu_state(0), Some(CpuState::Ceded { until: None }));
    assert!(!b.runnable(0, u64::MAX / 2));
    assert_eq!(hc(&b, &mut v1, H_PROD, &[0]), ret(&[0]));
    assert!(b.runnable(0, 0));
    // Prodded before: returns at once.
    b.dispatch(&mut v0).unwrap();
    hc(&b, &mut v1, H_PROD, &[0]);
    assert_eq!(hc(&b, &mut v0, H_CONFER, &[0, 0]), ret(&[0]));
    // Alone (no scheduler): every confer returns at once.
    let mut p = Platform::new(Env::default(), cfg(2));
    assert_eq!(call(&mut p, &mut v0, H_CONFER, &[u64::MAX, 0]), [0]);
    assert_eq!(call(&mut p, &mut v0, H_CONFER, &[0, 0]), [0]);
    assert_eq!(call(&mut p, &mut v0, H_CONFER, &[5, 0]), [H_PARAMETER]);
    assert_eq!(call(&mut p, &mut v0, H_PROD, &[1]), [0]);
}

#[test]
fn a_board_and_its_handlers_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Board<Env>>();
    send_sync::<crate::VcpuHandler<'static, Env>>();
}

#[test]
fn a_failed_entry_set_keeps_the_start_pending() {
    let b = Board::new(Env::default(), cfg(2));
    b.with(|p| p.start_cpu(1, 0x2000, 0x55));
    let mut m = papr_nestedv2::MockVcpuContext::new();
    m.expect_vcpu_id().return_const(VcpuId(1));
    m.expect_now().return_const(0u64);
    m.expect_set_reg()
        .returning(|_, _| Err(papr_nestedv2::Error::NothingToComplete("fake SET failed")));
    assert_eq!(
        b.dispatch(&mut m),
        Err(crate::Error::Vcpu(papr_nestedv2::Error::NothingToComplete(
            "fake SET failed"
        )))
    );
    assert_eq!(
        b.cpu_state(1),
        Some(CpuState::Starting {
            entry: 0x2000,
            r3: 0x55
        })
    );
}

#[test]
fn idle_on_another_thread_loses_no_kick() {
    use core::sync::atomic::Ordering::SeqCst;
    use std::time::{Duration, Instant};
    // vCPU 1's "L1 CPU" is a thread waiting in Board::idle; this thread starts vCPU 1 at
    // varying moments (RTAS start-cpu, which kicks it). The waiter's board looks happen
    // only on kicks: every 10 s otherwise, so a lost kick shows as a late wake-up.
    let poll = Duration::from_secs(10);
    let mut woken = 0;
    for round in 0..200u64 {
        let env = Env::default();
        let kicked = std::sync::Arc::clone(&env.kicked);
        let b = Board::new(env, cfg(2));
        let t0 = Instant::now();
        let ready = core::sync::atomic::AtomicBool::new(false);
        let woke = std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let mut clock = || t0.elapsed().as_nanos() as u64;
                let mut pause = |_| {
                    std::hint::spin_loop();
                    kicked.swap(false, SeqCst)
                };
                ready.store(true, SeqCst);
                let idled = b.idle(Some(1), poll.as_nanos() as u64, &mut clock, &mut pause);
                (idled, t0.elapsed())
            });
            // The waiter holds no lock: this thread takes it while it waits, for 0 to
            // 50 us after the waiter began (the kick lands before, during and after its
            // first look).
            while !ready.load(SeqCst) {
                std::hint::spin_loop();
            }
            let t1 = Instant::now();
            while t1.elapsed() < Duration::from_micros(round % 51) {
                assert!(!b.runnable(1, 0));
            }
            b.with(|p| p.start_cpu(1, 0x2000, round));
            waiter.join().unwrap()
        });
        assert!(
            matches!(woke.0, Idled::Woken | Idled::Runnable),
            "round {round}: {woke:?}"
        );
        woken += u32::from(woke.0 == Idled::Woken);
        assert!(woke.1 < poll / 2, "round {round}: woke after {:?}", woke.1);
        assert_eq!(b.take_start(1), Some((0x2000, round)));
    }
    assert!(woken > 20, "only {woken} of 200 rounds waited for the kick");
}

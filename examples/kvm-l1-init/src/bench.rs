//! The three L2 loops of `cargo xtask compare`, hand-encoded little-endian words in L2 RAM,
//! and their timing with the timebase (`mftb`) in L1 userspace.
//!
//! | loop | L2 code | what one exit costs the L1 |
//! |---|---|---|
//! | `kernel-hcall` | `H_CONFER(-1)` N times (r14 counts down, each exit timed by the L2 itself), then hcall 0x54 | KVM handles H_CONFER in the kernel: N exits inside one `KVM_RUN` |
//! | `user-hcall` | `li r3,0x54; sc 1; b .-8` | `KVM_EXIT_PAPR_HCALL` to userspace, `KVM_RUN` again |
//! | `mmio` | `lwz r6,0(0x2000000)` (outside every memslot); `b .-4` | `KVM_EXIT_MMIO` to userspace, data filled, `KVM_RUN` |
//!
//! Each sample prints one line (read by xtask):
//! `EXIT-BENCH side=linux loop=<loop> sample=<k> exits=<n> ticks=<t> run=- hcalls=- p50=<ticks> tb=<hz>`
//! `ticks` is the timebase over the whole sample (first `KVM_RUN` to the return of the last,
//! userspace work between them included); `p50` is the median of single `KVM_RUN` calls
//! (`-` for `kernel-hcall`, whose exits all happen inside one call). Linux's time inside
//! `H_GUEST_RUN_VCPU` and its L0 hcall count need tracing (see `trace`): `-` here.

use crate::kvm::{self, Failed, Machine, Res};
use crate::println;
use crate::sys::{self, timebase};

/// Exits per sample.
pub const EXITS: u64 = 2000;
/// Samples per loop (after one warm-up sample of [`WARMUP`] exits that is not reported).
pub const SAMPLES: u64 = 5;
/// Exits of the unreported warm-up.
const WARMUP: u64 = 200;

/// `H_CONFER`.
const H_CONFER: u32 = 0xE4;
/// The hcall that leaves to userspace (`H_GET_TERM_CHAR`'s number, unhandled by KVM).
pub const USER_HCALL: u64 = 0x54;
/// The MMIO address: above the 16 MiB memslot.
pub const MMIO_GPA: u64 = 0x200_0000;
/// The value each MMIO load gets.
const MMIO_VALUE: u64 = 0x1234_5678;

/// `li r3,0x54; sc 1; b .-8`.
pub const USER_LOOP: (u64, &[u32]) = (0x1000, &[0x3860_0054, 0x4400_0022, 0x4BFF_FFF8]);
/// The L2 times its own exits in this loop: `mftb r16; 1: li r3,H_CONFER; li r4,-1;
/// li r5,0; sc 1; mftb r17; subf r18,r16,r17; std r18,0(r15); addi r15,r15,8; mr r16,r17;
/// addi r14,r14,-1; cmpdi r14,0; bne 1b; li r3,0x54; sc 1; b <start>`: one doubleword per
/// exit at [`STAMPS`] (r15), the timebase from one `sc 1` to the next as the L2 saw it.
pub const KERNEL_LOOP: (u64, &[u32]) = (
    0x1100,
    &[
        0x7E0C_42A6,
        0x3860_0000 | H_CONFER,
        0x3880_FFFF,
        0x38A0_0000,
        0x4400_0022,
        0x7E2C_42A6,
        0x7E50_8850,
        0xFA4F_0000,
        0x39EF_0008,
        0x7E30_8B78,
        0x39CE_FFFF,
        0x2C2E_0000,
        0x4082_FFD4,
        0x3860_0054,
        0x4400_0022,
        0x4BFF_FFC4,
    ],
);
/// Where the kernel loop's L2 stores its per-exit timebase deltas.
pub const STAMPS: u64 = 0x1_0000;
/// `lis r5,0x200; 1: lwz r6,0(r5); b 1b`.
pub const MMIO_LOOP: (u64, &[u32]) = (0x1200, &[0x3CA0_0200, 0x80C5_0000, 0x4BFF_FFFC]);

/// One sample's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Exits in the sample.
    pub exits: u64,
    /// Timebase ticks over the sample.
    pub ticks: u64,
    /// Median ticks of one `KVM_RUN`, when each call is one exit.
    pub p50: Option<u64>,
    /// Median ticks from one `KVM_RUN`'s return to the next one's (a whole exit cycle),
    /// when each call is one exit.
    pub cycle_p50: Option<u64>,
    /// Median ticks of one exit as the L2 timed it (kernel loop only).
    pub l2_p50: Option<u64>,
}

/// An optional figure: decimal, or `-`.
#[derive(Debug, Clone, Copy)]
pub struct Opt(pub Option<u64>);

impl core::fmt::Display for Opt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("-"),
        }
    }
}

/// Prints a sample's line.
pub fn report(side: &str, name: &str, k: u64, s: &Sample, tb_hz: u64) {
    println!(
        "EXIT-BENCH side={side} loop={name} sample={k} exits={} ticks={} run=- hcalls=- p50={} tb={tb_hz} cycle_p50={} l2_p50={}",
        s.exits,
        s.ticks,
        Opt(s.p50),
        Opt(s.cycle_p50),
        Opt(s.l2_p50)
    );
}

/// A wrong exit: names the loop, the reason, and the exit's first field.
fn wrong(m: &Machine, step: &'static str, reason: u32) -> Failed {
    println!(
        "kvm-l1-init: {step}: unexpected exit_reason {reason} (field {:#x}){}",
        m.word64(kvm::MMIO_ADDR),
        if reason == kvm::EXIT_UNKNOWN {
            " = KVM_EXIT_UNKNOWN, hardware_exit_reason above"
        } else {
            ""
        }
    );
    Failed {
        step,
        errno: sys::Errno(0),
    }
}

/// Median of `v` (sorted in place).
fn median(v: &mut [u64]) -> Option<u64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// `n` H_CONFER exits handled by the kernel inside one `KVM_RUN`, then the 0x54 exit; the
/// L2's own per-exit stamps go through `per` for their median.
pub fn kernel_hcall(m: &Machine, n: u64, per: &mut [u64]) -> Res<Sample> {
    m.enter_at(KERNEL_LOOP.0, n, STAMPS)?;
    let t0 = timebase();
    let reason = m.run()?;
    let t1 = timebase();
    if reason != kvm::EXIT_PAPR_HCALL || m.word64(kvm::HCALL_NR) != USER_HCALL {
        return Err(wrong(m, "kernel-hcall loop", reason));
    }
    let left = m.regs()?.get(kvm::GPR0 + 14).copied().unwrap_or(u64::MAX);
    if left != 0 {
        println!("kvm-l1-init: kernel-hcall loop stopped with r14 = {left} of {n}");
        return Err(Failed {
            step: "kernel-hcall loop count",
            errno: sys::Errno(0),
        });
    }
    m.set_word64(kvm::HCALL_RET, 0);
    let k = (n as usize).min(per.len());
    for (i, slot) in per.iter_mut().take(k).enumerate() {
        *slot = m.read_u64(STAMPS as usize + 8 * i);
    }
    Ok(Sample {
        exits: n + 1,
        ticks: t1.wrapping_sub(t0),
        p50: None,
        cycle_p50: None,
        l2_p50: median(per.get_mut(..k).unwrap_or(&mut [])),
    })
}

/// `n` round trips L2 `sc 1` → `KVM_EXIT_PAPR_HCALL` → userspace → `KVM_RUN`.
pub fn user_hcall(m: &Machine, n: u64, per: &mut [u64]) -> Res<Sample> {
    m.enter_at(USER_LOOP.0, 0, 0)?;
    round_trips(m, n, per, "user-hcall loop", |m, reason| {
        if reason == kvm::EXIT_PAPR_HCALL && m.word64(kvm::HCALL_NR) == USER_HCALL {
            m.set_word64(kvm::HCALL_RET, 0);
            true
        } else {
            false
        }
    })
}

/// `n` round trips L2 `lwz` → `KVM_EXIT_MMIO` → userspace fills the data → `KVM_RUN`.
pub fn mmio(m: &Machine, n: u64, per: &mut [u64]) -> Res<Sample> {
    m.enter_at(MMIO_LOOP.0, 0, 0)?;
    round_trips(m, n, per, "mmio loop", |m, reason| {
        let len_write = m.word64(kvm::MMIO_LEN);
        // len (u32) then is_write (u8), little-endian.
        let ok = reason == kvm::EXIT_MMIO
            && m.word64(kvm::MMIO_ADDR) == MMIO_GPA
            && len_write & 0xFF_FFFF_FFFF == 4;
        if ok {
            m.set_word64(kvm::MMIO_DATA, MMIO_VALUE.swap_bytes() >> 32);
        }
        ok
    })
}

/// `n` single-exit `KVM_RUN` calls, each checked and completed by `exit`; per-call ticks in
/// the first half of `per` and per-cycle ticks in the second (as far as they reach) for the
/// medians.
fn round_trips(
    m: &Machine,
    n: u64,
    per: &mut [u64],
    step: &'static str,
    mut exit: impl FnMut(&Machine, u32) -> bool,
) -> Res<Sample> {
    // The first call leaves from wherever the vCPU was: not counted.
    let reason = m.run()?;
    if !exit(m, reason) {
        return Err(wrong(m, step, reason));
    }
    let (per, cycles) = per.split_at_mut(per.len() / 2);
    let t0 = timebase();
    let mut prev = t0;
    for i in 0..n {
        let a = timebase();
        let reason = m.run()?;
        let b = timebase();
        if let Some(slot) = per.get_mut(i as usize) {
            *slot = b.wrapping_sub(a);
        }
        if let Some(slot) = cycles.get_mut(i as usize) {
            *slot = b.wrapping_sub(prev);
        }
        prev = b;
        if !exit(m, reason) {
            return Err(wrong(m, step, reason));
        }
    }
    let t1 = timebase();
    let k = (n as usize).min(per.len());
    Ok(Sample {
        exits: n,
        ticks: t1.wrapping_sub(t0),
        p50: median(per.get_mut(..k).unwrap_or(&mut [])),
        cycle_p50: median(cycles.get_mut(..k).unwrap_or(&mut [])),
        l2_p50: None,
    })
}

/// Every loop: a warm-up, then [`SAMPLES`] samples of [`EXITS`] exits, one line each.
pub fn all(m: &Machine, per: &mut [u64], side: &str, tb_hz: u64) -> Res<()> {
    m.write_code(KERNEL_LOOP.0 as usize, KERNEL_LOOP.1);
    m.write_code(USER_LOOP.0 as usize, USER_LOOP.1);
    m.write_code(MMIO_LOOP.0 as usize, MMIO_LOOP.1);
    kernel_hcall(m, WARMUP, per)?;
    for k in 1..=SAMPLES {
        let s = kernel_hcall(m, EXITS, per)?;
        report(side, "kernel-hcall", k, &s, tb_hz);
    }
    user_hcall(m, WARMUP, per)?;
    for k in 1..=SAMPLES {
        let s = user_hcall(m, EXITS, per)?;
        report(side, "user-hcall", k, &s, tb_hz);
    }
    mmio(m, WARMUP, per)?;
    for k in 1..=SAMPLES {
        let s = mmio(m, EXITS, per)?;
        report(side, "mmio", k, &s, tb_hz);
    }
    Ok(())
}

/// Baselines of L1 userspace: `getppid` and a pair of timebase reads (median ticks of
/// [`EXITS`] calls), printed as `EXIT-BENCH-BASE` lines.
pub fn baselines(per: &mut [u64], tb_hz: u64) {
    let k = (EXITS as usize).min(per.len());
    for slot in per.iter_mut().take(k) {
        let a = timebase();
        sys::getppid();
        *slot = timebase().wrapping_sub(a);
    }
    let getppid = median(per.get_mut(..k).unwrap_or(&mut [])).unwrap_or(0);
    for slot in per.iter_mut().take(k) {
        let a = timebase();
        *slot = timebase().wrapping_sub(a);
    }
    let mftb = median(per.get_mut(..k).unwrap_or(&mut [])).unwrap_or(0);
    println!("EXIT-BENCH-BASE side=linux getppid_p50={getppid} mftb_pair_p50={mftb} tb={tb_hz}");
}

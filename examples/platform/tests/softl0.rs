//! End to end over the software L0: a scripted L2 makes valid and malformed hcalls and RTAS
//! calls through the real `Vcpu::run_loop` with `Platform` as the handler. After each hcall
//! the L2 loads from an unbacked address, so the test reads the r3 the L2 holds at that
//! point from the L0's copy of its registers.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::GuestStateId;
use papr_hcall::sim::{L2Action, SoftL0};
use papr_hcall::{Capabilities, CountingHcall, NestedHv, NoDelay, RealMemory, VmRealMemory};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::{
    program, Action, Clock, Exit, ExitHandler, Guest, GuestRealAddr, L1RealAddr, NestedHost,
    VcpuContext,
};
use papr_platform::hcall::*;
use papr_platform::rtas::token;
use papr_platform::{
    vcpu as defaults, Environment, Outcome, Platform, PlatformConfig, TimeOfDay, Wake,
};
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

const PAGES: u64 = 0x10_0000;
const TABLES: u64 = 0x20_0000;
const RAM_L1: u64 = 0x100_0000;
const RAM_LEN: u64 = 0x100_0000;
const MMIO: u64 = 0x1000_0000;
const VTY: u64 = 0x7100_0000;
const LWZ_R5: u32 = 0x80a4_0000;

struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

/// The VMM's environment on the software L0: idling advances its timebase.
struct SimEnv<'a> {
    l0: &'a L0,
    out: Vec<u8>,
    input: Vec<u8>,
    idles: Vec<u64>,
}

impl Environment for SimEnv<'_> {
    fn console_write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        n
    }
    fn idle_until(&mut self, timebase: u64) -> Wake {
        self.idles.push(timebase);
        let now = self.l0.timebase();
        self.l0.advance_timebase(timebase.saturating_sub(now));
        Wake::Timer
    }
    fn time_of_day(&mut self) -> Option<TimeOfDay> {
        Some(TimeOfDay {
            year: 2025,
            month: 12,
            day: 7,
            hour: 3,
            minute: 4,
            second: 5,
            nanos: 6,
        })
    }
}

/// The platform, plus the r3 the L2 holds whenever it touches the unbacked page.
struct Probe<'a> {
    platform: Platform<SimEnv<'a>>,
    l0: &'a L0,
    guest: u64,
    r3: Vec<i64>,
}

impl ExitHandler for Probe<'_> {
    fn handle(&mut self, exit: &Exit, vcpu: &mut dyn VcpuContext) -> Action {
        if let Exit::Mmio { gpa, .. } = exit {
            assert_eq!(gpa.0, MMIO);
            let r3 = self.l0.state(self.guest, 0, GuestStateId::GPR3).unwrap();
            self.r3.push(i64::from_be_bytes(r3.try_into().unwrap()));
        }
        self.platform.handle(exit, vcpu)
    }
}

fn hcall(nr: u64, a: &[u64]) -> L2Action {
    let mut args = [0u64; 9];
    args[..a.len()].copy_from_slice(a);
    L2Action::Hcall { nr, args }
}

fn rtas_block(tok: u32, args: &[u32], nret: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [tok, args.len() as u32, nret].iter().chain(args) {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend(std::iter::repeat_n(0xEE, 4 * nret as usize));
    b
}

#[test]
fn a_scripted_l2_gets_qemus_answers_and_powers_off() {
    let mem =
        VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap());
    let l0 = SoftL0::new(mem);
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host = NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(&l0), l0.memory().clone(), NoDelay),
        SimClock(&l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap();
    let tables = PoolAlloc::<8>::new(papr_mmu_radix::L1RealAddr(TABLES), 0x20_0000).unwrap();
    let mut guest = Guest::create(&host, tables).unwrap();
    let g = guest.id().0;
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    guest.map_all_ram().unwrap();
    let mut vcpu = guest.create_vcpu(0, defaults::ENTRY_MSR).unwrap();
    defaults::pseries_defaults(&mut vcpu, 0x80_0000, 512).unwrap();
    let t0 = l0.timebase();
    let put = |gpa: u64, bytes: &[u8]| l0.memory().write(L1RealAddr(RAM_L1 + gpa), bytes).unwrap();

    // RTAS blocks in L2 RAM: get-time-of-day at 0x9000, power-off with 100 args at 0x9100,
    // power-off at 0x9200, one with 2^30 − 1 args at 0x9300; a VPA at 0xA000.
    put(0x9000, &rtas_block(token::GET_TIME_OF_DAY, &[], 8));
    put(0x9100, &rtas_block(token::POWER_OFF, &[0; 2], 1)[..12]);
    put(0x9104, &100u32.to_be_bytes());
    put(0x9300, &rtas_block(token::GET_TIME_OF_DAY, &[], 8)[..12]);
    put(0x9304, &0x3FFF_FFFFu32.to_be_bytes());
    put(
        0x9200,
        &rtas_block(token::POWER_OFF, &[u32::MAX, u32::MAX], 1),
    );
    put(0xA004, &640u16.to_be_bytes());
    let (hi, lo) = (
        u64::from_be_bytes(*b"hello, L"),
        u64::from_be_bytes(*b"1\n\0\0\0\0\0\0"),
    );
    let big = 0x7FFF_FFFF_FF80;

    // (hcall, the r3 the L2 must get)
    let calls: Vec<(L2Action, i64)> = vec![
        (hcall(H_SET_MODE, &[1, 4, 0, 0]), 0),
        (hcall(H_SET_MODE, &[3, 3, 0, 0]), 0),
        (hcall(H_SET_MODE, &[0, 9, 0, 0]), -55),
        (hcall(H_SET_MODE, &[2, 3, 0, 0]), -256),
        (hcall(H_REGISTER_PROC_TBL, &[0x1D, 0x40_0000, 0, 11]), -57), // 8 MiB: QEMU would abort
        (hcall(H_REGISTER_PROC_TBL, &[0x1D, 0x40_0000, 0, 24]), -57),
        (hcall(H_REGISTER_PROC_TBL, &[0x1D, 0x40_0010, 0, 0]), -55),
        (hcall(H_REGISTER_PROC_TBL, &[0x1D, 0x40_0000, 0, 0]), 0),
        (hcall(H_PUT_TERM_CHAR, &[VTY, 17, hi, lo]), -4),
        (hcall(H_PUT_TERM_CHAR, &[VTY, 10, hi, lo]), 0),
        (hcall(H_PUT_TERM_CHAR, &[0x1234, 1, hi, lo]), -4),
        (hcall(H_GET_TERM_CHAR, &[0]), 0),
        (hcall(H_PAGE_INIT, &[1 << 15, RAM_LEN, 0]), -4),
        (hcall(H_PAGE_INIT, &[1 << 14, 0x5000, big & !0xFFF]), -4),
        (hcall(H_PAGE_INIT, &[1 << 15, 0x5000, 0]), 0),
        (hcall(H_REGISTER_VPA, &[0x2000_0000_0000, 0, big]), -4),
        (hcall(H_REGISTER_VPA, &[0x2000_0000_0000, 7, 0xA000]), -4),
        (hcall(H_REGISTER_VPA, &[0x2000_0000_0000, 0, 0xA000]), 0),
        (hcall(H_SET_SPRG0, &[0x5EED]), 0),
        (hcall(H_SET_DABR, &[0x1007]), -1),
        (hcall(H_RTAS, &[RAM_LEN - 4]), -4),
        (hcall(H_RTAS, &[u64::MAX]), -4),
        (hcall(H_RTAS, &[0x9100]), 0),  // 100 args: status −3
        (hcall(H_RTAS, &[0x9300]), -4), // 2^30 − 1 args: rets[0] past RAM
        (hcall(H_RTAS, &[0x9000]), 0),
        (hcall(H_CPPR, &[0xFF]), 0),
        (hcall(H_IPI, &[3, 0]), -4),
        (hcall(H_CEDE, &[]), 0),
        (hcall(0x4, &[]), -2),
    ];
    let mut program = Vec::new();
    for (i, (c, _)) in calls.iter().enumerate() {
        program.push(*c);
        program.push(L2Action::Load { gpa: MMIO, size: 4 });
        // The probe is action 2i+1, at NIA 4·(2i+1); the L2 runs big-endian.
        put(4 * (2 * i as u64 + 1), &LWZ_R5.to_be_bytes());
    }
    program.push(L2Action::illegal(0x7c00_07fe));
    program.push(hcall(H_RTAS, &[0x9200]));
    l0.set_program(g, 0, program).unwrap();

    let env = SimEnv {
        l0: &l0,
        out: Vec::new(),
        input: b"hi".to_vec(),
        idles: Vec::new(),
    };
    let mut probe = Probe {
        platform: Platform::new(env, PlatformConfig::new(RAM_LEN, 0x7F_0000)),
        l0: &l0,
        guest: g,
        r3: Vec::new(),
    };
    let last = vcpu.run_loop(&mut probe).unwrap();
    assert_eq!(
        last,
        Exit::Hcall {
            nr: H_RTAS,
            args: [0x9200, 0, 0, 0, 0, 0, 0, 0, 0]
        }
    );

    let want: Vec<i64> = calls.iter().map(|&(_, r3)| r3).collect();
    assert_eq!(probe.r3, want);
    assert!(l0.would_abort().is_empty(), "{:?}", l0.would_abort());
    let p = &probe.platform;
    assert_eq!(p.outcome(), Some(&Outcome::PowerOff));
    assert_eq!(p.env().out, b"hello, L1\n");

    // What the valid calls did, as the L0 holds it.
    let reg = |id| u64::from_be_bytes(l0.state(g, 0, id).unwrap()[..8].try_into().unwrap());
    let lpcr = reg(GuestStateId::LPCR);
    assert_eq!(
        lpcr & 0x0380_0000,
        0x0380_0000,
        "ILE and AIL = 3: {lpcr:#x}"
    );
    let pt = l0.guest_state(g, GuestStateId::PROCESS_TABLE).unwrap();
    assert_eq!(pt[..8], 0x40_0000u64.to_be_bytes());
    assert_eq!(pt[8..16], 0x1000u64.to_be_bytes());
    assert_eq!(reg(GuestStateId::SPRG0), 0x5EED);
    assert_eq!(reg(GuestStateId::AMOR), u64::MAX);
    assert_eq!(reg(GuestStateId::HFSCR), 0x219F);
    assert_eq!(reg(GuestStateId::SRR1) & program::ILLEGAL, program::ILLEGAL);
    // H_CEDE slept until the decrementer set by pseries_defaults (4 s at 512 MHz).
    assert_eq!(p.env().idles, [t0 + 2_048_000_000]);
    assert!(l0.timebase() >= t0 + 2_048_000_000);
    let mut rets = [0u8; 32];
    l0.memory()
        .read(L1RealAddr(RAM_L1 + 0x900C), &mut rets)
        .unwrap();
    let word = |i: usize| u32::from_be_bytes(rets[4 * i..4 * i + 4].try_into().unwrap());
    assert_eq!(
        (0..8).map(word).collect::<Vec<_>>(),
        [0, 2025, 12, 7, 3, 4, 5, 6]
    );
    let mut status = [0u8; 4];
    l0.memory()
        .read(L1RealAddr(RAM_L1 + 0x9200 + 20), &mut status)
        .unwrap();
    assert_eq!(status, [0; 4], "power-off status 0");
    // The block with 100 args got status −3 (its rets[0] is at +12+400).
    l0.memory()
        .read(L1RealAddr(RAM_L1 + 0x9100 + 412), &mut status)
        .unwrap();
    assert_eq!(i32::from_be_bytes(status), -3);
    let counts = p.hcall_counts();
    assert!(counts.contains(&(H_REGISTER_PROC_TBL, "H_REGISTER_PROC_TBL", 4)));
    assert!(counts.contains(&(H_RTAS, "H_RTAS", 6)));
    assert_eq!(p.stats().mmio_loads, calls.len() as u64);
    assert_eq!(p.stats().illegal, 1);
    drop(vcpu);
    guest.delete().unwrap();
}

#[test]
fn a_panicking_l2_ends_with_its_text() {
    let mem =
        VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap());
    let l0 = SoftL0::new(mem);
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host = NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(&l0), l0.memory().clone(), NoDelay),
        SimClock(&l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap();
    let tables = PoolAlloc::<8>::new(papr_mmu_radix::L1RealAddr(TABLES), 0x20_0000).unwrap();
    let mut guest = Guest::create(&host, tables).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    guest.map_all_ram().unwrap();
    let mut vcpu = guest.create_vcpu(0, defaults::ENTRY_MSR).unwrap();
    let put = |gpa: u64, bytes: &[u8]| l0.memory().write(L1RealAddr(RAM_L1 + gpa), bytes).unwrap();
    put(
        0x3000,
        b"Kernel panic - not syncing: Attempted to kill init!\0",
    );
    put(0x4000, &rtas_block(token::IBM_OS_TERM, &[0x3000], 1));
    l0.set_program(guest.id().0, 0, vec![hcall(H_RTAS, &[0x4000])])
        .unwrap();
    let env = SimEnv {
        l0: &l0,
        out: Vec::new(),
        input: Vec::new(),
        idles: Vec::new(),
    };
    let mut p = Platform::new(env, PlatformConfig::new(RAM_LEN, 0x7F_0000));
    vcpu.run_loop(&mut p).unwrap();
    let text = "Kernel panic - not syncing: Attempted to kill init!";
    assert_eq!(p.outcome(), Some(&Outcome::OsTerm(text.into())));
    assert_eq!(p.env().out, format!("{text}\n").as_bytes());
    assert!(l0.would_abort().is_empty());
}

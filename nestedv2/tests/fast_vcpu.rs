//! `Vcpu::run`'s MMIO exits over the software L0, whichever path builds them: the first
//! exit of a code page goes through the general path (the fetch cache is empty), the next
//! ones of a real-mode plain D-form load through the shortcut (`mmio::begin_fast`). Every
//! exit must be the `Exit::Mmio` the instruction's decoding gives, and its completion
//! must write the same register and NIA, whichever path made it.
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
use papr_nestedv2::mmio::{decode, Insn};
use papr_nestedv2::*;
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

/// The L1 timebase is the software L0's.
struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

const PAGES: u64 = 0x10_0000;
const TABLES: u64 = 0x20_0000;
const RAM_L1: u64 = 0x100_0000;
const RAM_LEN: u64 = 0x100_0000;
const MMIO: u64 = 0x1000_0000;
const MSR0: u64 = 0x8000_0000_0000_0003; // SF | RI | LE, real mode

/// D form: PO RT RA D.
fn d_form(po: u32, rt: u32, ra: u32, d: u16) -> u32 {
    po << 26 | rt << 21 | ra << 16 | u32::from(d)
}

/// The loads of the test, each twice in a row (the second from a warm fetch cache):
/// D-form plain loads (the shortcut), an update form and an X form (the general path).
fn words() -> Vec<u32> {
    let mut w = vec![
        d_form(32, 5, 4, 0),                               // lwz r5,0(r4)
        d_form(34, 9, 3, 0x10),                            // lbz r9,16(r3)
        d_form(40, 31, 0, 0x7FFE),                         // lhz r31,0x7ffe(0)
        d_form(42, 7, 8, 0xFFFE),                          // lha r7,-2(r8): sign-extended
        d_form(33, 6, 4, 4),                               // lwzu r6,4(r4): an update form
        31 << 26 | 10 << 21 | 4 << 16 | 5 << 11 | 23 << 1, // lwzx r10,r4,r5
        d_form(32, 0, 1, 8),                               // lwz r0,8(r1)
    ];
    w = w.iter().flat_map(|&x| [x, x]).collect();
    w
}

#[test]
fn every_mmio_load_exit_is_its_decoding_on_either_path() {
    let l0 = SoftL0::new(VmRealMemory(
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap(),
    ));
    let mem = l0.memory().clone();
    let pages = PoolAlloc::<4>::new(L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host = NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(&l0), mem.clone(), NoDelay),
        SimClock(&l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap();
    let tables = PoolAlloc::<8>::new(L1RealAddr(TABLES), 0x20_0000).unwrap();
    let mut guest = Guest::create(&host, tables).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    guest.map_all_ram().unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    let words = words();
    // One load per word at NIA 4*i (the L2 runs little-endian), sizes as decoded.
    let mut program = Vec::new();
    for (i, &w) in words.iter().enumerate() {
        mem.write(L1RealAddr(RAM_L1 + 4 * i as u64), &w.to_le_bytes())
            .unwrap();
        let size = decode(Insn::word(w)).unwrap().size;
        program.push(L2Action::Load { gpa: MMIO, size });
    }
    program.push(L2Action::Hcall {
        nr: 0xDEAD,
        args: [0; 9],
    });
    l0.set_program(guest.id().0, 0, program).unwrap();

    let mut shortcut_eligible = 0;
    for (i, &w) in words.iter().enumerate() {
        let access = decode(Insn::word(w)).unwrap();
        let exit = vcpu.run().unwrap();
        assert_eq!(
            exit,
            Exit::Mmio {
                gpa: GuestRealAddr(MMIO),
                size: Some(access.size),
                is_write: false,
                data: None,
                insn: Some(w),
                access: Some(access),
                nia: 4 * i as u64,
                fetch_error: None,
            },
            "exit {i}, word {w:#010x}"
        );
        if w >> 26 != 31 && access.update.is_none() && i % 2 == 1 {
            shortcut_eligible += 1;
        }
        // The device's bytes: 0x80 0x01 0x02 …, in storage order.
        let data: Vec<u8> = (0..access.size).map(|k| 0x80 | k).collect();
        vcpu.complete_mmio(&data).unwrap();
        let expect = access.load_value(&data, MSR0);
        assert_eq!(
            vcpu.state().cached(GuestStateId::gpr(access.reg).unwrap()),
            Some(u128::from(expect)),
            "exit {i}"
        );
        assert_eq!(
            vcpu.state().cached(GuestStateId::NIA),
            Some(u128::from(4 * i as u64 + 4))
        );
        if let Some(ra) = access.update {
            // Update forms take the EA from HDAR (RUN_MMIO_OPTIONS): the MMIO address.
            assert_eq!(
                vcpu.state().cached(GuestStateId::gpr(ra).unwrap()),
                Some(u128::from(MMIO))
            );
        }
    }
    assert_eq!(shortcut_eligible, 5);
    assert!(matches!(
        vcpu.run().unwrap(),
        Exit::Hcall { nr: 0xDEAD, .. }
    ));
}

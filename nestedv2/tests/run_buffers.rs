//! Where a vCPU's run buffers go: one page (input in the first 3 KiB, output in the last
//! 1 KiB) when the L0's minimum output size fits there, as QEMU's 128 bytes do; a page of
//! its own for the output otherwise. Pages come back when the vCPU goes.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use papr_gsb::{Gsb, GuestStateId, Policy};
use papr_hcall::sim::{L2Action, SoftL0};
use papr_hcall::{
    opcode, Capabilities, ContainedHcall, Hcall, HcallOutput, L1RealAddr, NestedHv, NoDelay,
    RealMemory, VmRealMemory,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::*;
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

/// The software L0, but its answer to RUN_OUTPUT_MIN_SIZE (0x0002) is `min` (when set),
/// and the run buffers the L1 registers are recorded.
struct MinL0<'a> {
    l0: &'a L0,
    min: Option<u64>,
}
impl Hcall for MinL0<'_> {
    fn hcall(&self, op: u64, args: [u64; 9]) -> HcallOutput {
        let out = self.l0.hcall(op, args);
        if let (Some(min), opcode::H_GUEST_GET_STATE, 0) = (self.min, op, out.rc) {
            // A one-element answer: 4-byte count, then id 0x0002, length, be64 value.
            let mut head = [0u8; 6];
            self.l0
                .memory()
                .read(L1RealAddr(args[3]), &mut head)
                .unwrap();
            if head[4..6] == [0x00, 0x02] {
                self.l0
                    .memory()
                    .write(L1RealAddr(args[3] + 8), &min.to_be_bytes())
                    .unwrap();
            }
        }
        out
    }
}
// SAFETY: it reaches memory only through the software L0's `VmRealMemory` (checked).
unsafe impl ContainedHcall for MinL0<'_> {}

type Parts<'a> = (MinL0<'a>, Mem, NoDelay, SimClock<'a>, PoolAlloc<4>);

const RAM_L1: u64 = 0x100_0000;
const MSR0: u64 = 0x8000_0000_0000_0003;
const PAGES: u64 = 0x10_0000;

fn l0() -> L0 {
    SoftL0::new(VmRealMemory(
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap(),
    ))
}

fn host(l0: &L0, min: Option<u64>) -> NestedHost<Parts<'_>> {
    let pages = PoolAlloc::<4>::new(L1RealAddr(PAGES), 0x10_0000).unwrap();
    NestedHost::negotiate(
        NestedHv::new(MinL0 { l0, min }, l0.memory().clone(), NoDelay),
        SimClock(l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap()
}

fn guest<'h>(host: &'h NestedHost<Parts<'h>>) -> Guest<'h, Parts<'h>, PoolAlloc<8>> {
    let tables = PoolAlloc::<8>::new(L1RealAddr(0x20_0000), 0x20_0000).unwrap();
    let mut g = Guest::create(host, tables).unwrap();
    g.add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), 0x100_0000)
        .unwrap();
    g.fault_in(GuestRealAddr(0)).unwrap();
    g
}

/// The ids of the exit the L0 wrote last into the output buffer.
fn output_ids(l0: &L0, at: L1RealAddr, len: usize) -> Vec<GuestStateId> {
    let mut buf = vec![0u8; len];
    l0.memory().read(at, &mut buf).unwrap();
    Gsb::parse(&buf, &Policy::L1_RUN_OUTPUT)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

#[test]
fn qemus_minimum_puts_both_buffers_in_one_page() {
    let l0 = l0();
    let host = host(&l0, None);
    let g = guest(&host);
    let free = host.with_pages(|p| p.free_pages());
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    let (input, output) = vcpu.buffers();
    assert_eq!(input.0 % 4096, 0, "{input:?}");
    assert_eq!(
        output.0,
        input.0 + 3072,
        "output {output:?}, input {input:?}"
    );
    assert_eq!(host.with_pages(|p| p.free_pages()), free - 1);
    // The L0 writes an exit's registers there, and the L1 reads them from there.
    l0.set_program(
        g.id().0,
        0,
        vec![L2Action::Hcall {
            nr: 0x58,
            args: [7; 9],
        }],
    )
    .unwrap();
    let exit = vcpu.run().unwrap();
    assert!(matches!(exit, Exit::Hcall { nr: 0x58, .. }), "{exit:?}");
    assert_eq!(vcpu.state().cached(GuestStateId::GPR4), Some(7));
    let ids = output_ids(&l0, output, 1024);
    assert_eq!(ids.first(), Some(&GuestStateId::GPR3), "{ids:?}");
    drop(vcpu);
    assert_eq!(host.with_pages(|p| p.free_pages()), free);
}

#[test]
fn a_larger_minimum_gets_the_output_a_page_of_its_own() {
    let l0 = l0();
    let host = host(&l0, Some(2048));
    let g = guest(&host);
    let free = host.with_pages(|p| p.free_pages());
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    let (input, output) = vcpu.buffers();
    assert_eq!(output.0 % 4096, 0, "{output:?}");
    assert_ne!(output.0 & !0xFFF, input.0 & !0xFFF, "{input:?} {output:?}");
    assert_eq!(host.with_pages(|p| p.free_pages()), free - 2);
    l0.set_program(
        g.id().0,
        0,
        vec![L2Action::Hcall {
            nr: 0x58,
            args: [9; 9],
        }],
    )
    .unwrap();
    assert!(matches!(vcpu.run().unwrap(), Exit::Hcall { nr: 0x58, .. }));
    assert_eq!(vcpu.state().cached(GuestStateId::GPR4), Some(9));
    assert_eq!(
        output_ids(&l0, output, 4096).first(),
        Some(&GuestStateId::GPR3)
    );
    drop(vcpu);
    assert_eq!(host.with_pages(|p| p.free_pages()), free);
}

#[test]
fn a_minimum_above_a_page_is_refused_and_leaks_nothing() {
    let l0 = l0();
    let host = host(&l0, Some(8192));
    let g = guest(&host);
    let free = host.with_pages(|p| p.free_pages());
    match g.create_vcpu(0, MSR0) {
        Err(Error::OutputBufferTooLarge {
            min: 8192,
            max: 4096,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(host.with_pages(|p| p.free_pages()), free);
}

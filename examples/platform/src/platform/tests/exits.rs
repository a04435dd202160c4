//! Exits other than hcalls, and vCPU failures.

use super::*;

fn mmio(insn: u32, is_write: bool, decoded: bool) -> Exit {
    let access = mmio::decode(mmio::Insn::word(insn)).ok();
    Exit::Mmio {
        gpa: GuestRealAddr(0x2000_0000),
        size: access.map(|a| a.size),
        is_write,
        data: None,
        insn: Some(insn),
        access: if decoded { access } else { None },
        nia: 0x40,
        fetch_error: None,
    }
}

#[test]
fn unbacked_mmio_reads_all_ones_and_drops_stores() {
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(
        p.handle(&mmio(0x80a4_0000, false, true), &mut v),
        Action::MmioComplete {
            data: MmioData::new(&[0xFF; 4]).unwrap()
        }
    ); // lwz
    assert_eq!(
        p.handle(&mmio(0x88a4_0000, false, true), &mut v),
        Action::MmioComplete {
            data: MmioData::new(&[0xFF]).unwrap()
        }
    ); // lbz
    assert_eq!(
        p.handle(&mmio(0xe8a4_0000, false, true), &mut v),
        Action::MmioComplete {
            data: MmioData::new(&[0xFF; 8]).unwrap()
        }
    ); // ld
    assert_eq!(
        p.handle(&mmio(0x90c4_0008, true, true), &mut v),
        Action::MmioComplete {
            data: MmioData::NONE
        }
    ); // stw
    assert_eq!((p.stats().mmio_loads, p.stats().mmio_stores), (3, 1));
    assert_eq!(p.outcome(), None);
    // An access that could not be decoded: the run stops and says where.
    assert_eq!(
        p.handle(&mmio(0x7c00_07fe, false, false), &mut v),
        Action::Stop
    );
    assert_eq!(
        p.outcome(),
        Some(&Outcome::Error(Error::UnhandledExit {
            kind: "undecodable MMIO",
            at: 0x2000_0000
        }))
    );
}

#[test]
fn illegal_instructions_become_program_interrupts() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.regs
        .insert(GuestStateId::MSR, u128::from(msr::SF | msr::LE));
    v.put(0x100, &0x7c00_07feu32.to_le_bytes());
    let heai = |nia| Exit::EmulationAssist {
        heir: 0x7c00_07fe,
        nia,
    };
    assert_eq!(p.handle(&heai(0x100), &mut v), Action::InjectProgram);
    // A prefixed instruction (primary opcode 1) in real mode: SRR1 says so.
    v.put(0x200, &0x0400_0000u32.to_le_bytes());
    assert_eq!(p.handle(&heai(0x200), &mut v), Action::Resume);
    assert_eq!(v.programs, [program::ILLEGAL | SRR1_PREFIXED]);
    // Big-endian L2: the word is read big-endian; 0xc000… addresses are real-mode GPAs.
    v.regs.insert(GuestStateId::MSR, u128::from(msr::SF));
    v.put(0x300, &0x0400_0000u32.to_be_bytes());
    assert_eq!(
        p.handle(&heai(0xc000_0000_0000_0300), &mut v),
        Action::Resume
    );
    assert_eq!(v.programs.len(), 2);
    // With relocation on, or NIA outside RAM, the plain illegal-instruction interrupt.
    v.regs
        .insert(GuestStateId::MSR, u128::from(msr::SF | msr::IR | msr::DR));
    assert_eq!(p.handle(&heai(0x300), &mut v), Action::InjectProgram);
    v.regs.insert(GuestStateId::MSR, u128::from(msr::SF));
    assert_eq!(p.handle(&heai(RAM), &mut v), Action::InjectProgram);
    assert_eq!(
        p.handle(&Exit::FacilityUnavailable { cause: 7, nia: 0 }, &mut v),
        Action::InjectProgram
    );
    assert_eq!(p.stats().illegal, 6);
}

#[test]
fn other_exits() {
    let (mut p, mut v) = (platform(), Fake::new());
    for e in [Exit::Hdec, Exit::Doorbell, Exit::External { trap: 0x500 }] {
        assert_eq!(p.handle(&e, &mut v), Action::Resume);
    }
    for (e, kind, at) in [
        (Exit::Unknown { trap: 0x1234 }, "unknown trap", 0x1234),
        (
            Exit::InstructionFault {
                gpa: GuestRealAddr(RAM),
                nia: RAM,
            },
            "instruction-fault",
            RAM,
        ),
        (
            Exit::PageFault {
                gpa: GuestRealAddr(0x10),
                hdsisr: 0x0800_0000,
                is_write: true,
            },
            "page-fault",
            0x10,
        ),
    ] {
        let mut p = platform();
        assert_eq!(p.handle(&e, &mut v), Action::Stop);
        assert_eq!(
            p.outcome(),
            Some(&Outcome::Error(Error::UnhandledExit { kind, at }))
        );
    }
    assert_eq!(p.outcome(), None);
}

#[test]
fn a_failing_vcpu_stops_the_run_with_its_error() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.fail_reg = true;
    v.dec = v.now + 10;
    let a = p.handle(
        &Exit::Hcall {
            nr: crate::hcall::H_CEDE,
            args: [0; 9],
        },
        &mut v,
    );
    assert_eq!(a, Action::Stop);
    assert_eq!(
        p.outcome(),
        Some(&Outcome::Error(Error::Vcpu(
            papr_nestedv2::Error::NothingToComplete("fake GET failed")
        )))
    );
    assert!(p.env().idles.is_empty());
}

//! Instruction fetch: the L2's process-scoped walk over tables built in test memory, the
//! L1's partition-scoped tree from mmu-radix, and a typed fault for each missing level.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod mmio_common;

use mmio_common::*;
use papr_nestedv2::mmio::{
    fetch, translate_fetch, walk_process_scoped, FetchError, GuestMmu, Insn, L2Interrupt, MSR_IR,
    MSR_LE, MSR_PR, MSR_SF,
};
use papr_nestedv2::GuestRealAddr;

const KERNEL: u64 = MSR_SF | MSR_IR | 0x10; // 64-bit, IR, DR
const KERNEL_EA: u64 = 0xC000_0000_0000_4000;
const USER_EA: u64 = 0x1000_0000;
const LWZ: u32 = 0x8064_0000; // lwz r3,0(r4)

fn kernel_world() -> World {
    let w = World::new();
    w.map_l2(ROOT_PID0, KERNEL_EA, 0x50_0000, 3, 9, PRIV | READ | EXEC);
    w.write_insns(0x50_0000, &[LWZ], false);
    w
}

#[test]
fn mmio_real_mode_is_guest_real() {
    let w = World::new();
    w.write_insns(0x7000, &[LWZ], false);
    // Top four EA bits are ignored in real mode.
    let f = fetch(w.mem, &w.mmu(), MSR_SF, 0xC000_0000_0000_7000, 0).unwrap();
    assert_eq!(f.insn, Insn::word(LWZ));
    assert_eq!(f.gpa, GuestRealAddr(0x7000));
    assert_eq!(f.l1_ra.0, RAM_L1 + 0x7000);
    // Real mode needs no process table.
    let mmu = GuestMmu {
        process_table: None,
        ..w.mmu()
    };
    assert_eq!(
        fetch(w.mem, &mmu, MSR_SF, 0x7000, 0).unwrap().insn,
        Insn::word(LWZ)
    );
}

#[test]
fn mmio_kernel_quadrant_3_uses_pid_0() {
    let w = kernel_world();
    // PIDR is irrelevant in quadrant 3.
    let f = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA, 77).unwrap();
    assert_eq!((f.insn, f.gpa), (Insn::word(LWZ), GuestRealAddr(0x50_0000)));
}

#[test]
fn mmio_user_quadrant_0_uses_pidr() {
    let w = World::new();
    w.map_l2(ROOT_USER, USER_EA, 0x60_0000, 3, 9, READ | EXEC);
    w.write_insns(0x60_0000 + 0x10, &[0x9064_0000], false);
    let msr = KERNEL | MSR_PR;
    let f = fetch(w.mem, &w.mmu(), msr, USER_EA + 0x10, USER_PID).unwrap();
    assert_eq!(f.insn, Insn::word(0x9064_0000));
    // PID 0 has no mapping there.
    let e = fetch(w.mem, &w.mmu(), msr, USER_EA + 0x10, 0).unwrap_err();
    assert!(
        matches!(e, FetchError::NotPresent { level: 0, .. }),
        "{e:?}"
    );
}

#[test]
fn mmio_large_pages_and_64k_pages() {
    let w = World::new();
    // 1 GiB leaf at level 1 mapping EA 0xC000_0000_4000_0000.. to gpa 0.
    w.map_l2(
        ROOT_PID0,
        0xC000_0000_4000_0000,
        0,
        1,
        9,
        PRIV | READ | EXEC,
    );
    w.write_insns(0x12_3450, &[LWZ], false);
    let f = fetch(w.mem, &w.mmu(), KERNEL, 0xC000_0000_4012_3450, 0).unwrap();
    assert_eq!((f.insn, f.gpa), (Insn::word(LWZ), GuestRealAddr(0x12_3450)));
    // 2 MiB leaf.
    w.map_l2(
        ROOT_PID0,
        0xC000_0000_0080_0000,
        0x40_0000,
        2,
        9,
        PRIV | READ | EXEC,
    );
    w.write_insns(0x41_0004, &[0x1111_1111], false);
    let f = fetch(w.mem, &w.mmu(), KERNEL, 0xC000_0000_0081_0004, 0).unwrap();
    assert_eq!(f.gpa, GuestRealAddr(0x41_0004));
    // 64 KiB leaf (last level NLS 5), in the user tree.
    w.map_l2(ROOT_USER, 0x2001_0000, 0x70_0000, 3, 5, READ | EXEC);
    w.write_insns(0x70_1234, &[0x2222_2222], false);
    let t = walk_process_scoped(w.mem, &w.mmu(), 0x2001_1234, USER_PID).unwrap();
    assert_eq!((t.gpa, t.page_shift), (GuestRealAddr(0x70_1234), 16));
    let f = fetch(w.mem, &w.mmu(), MSR_SF | MSR_IR, 0x2001_1234, USER_PID).unwrap();
    assert_eq!(f.insn, Insn::word(0x2222_2222));
}

#[test]
fn mmio_little_endian_and_prefixed_across_a_page() {
    let w = World::new();
    // Two adjacent EA pages mapped to non-adjacent gpas.
    w.map_l2(ROOT_PID0, KERNEL_EA, 0x50_0000, 3, 9, PRIV | READ | EXEC);
    w.map_l2(
        ROOT_PID0,
        KERNEL_EA + 0x1000,
        0x58_0000,
        3,
        9,
        PRIV | READ | EXEC,
    );
    let (p, s) = prefixed(0, false, 57, 3, 4, 0x10); // pld r3,16(r4)
    w.write_insns(0x50_0FFC, &[p], true);
    w.write_insns(0x58_0000, &[s], true);
    let f = fetch(w.mem, &w.mmu(), KERNEL | MSR_LE, KERNEL_EA + 0xFFC, 0).unwrap();
    assert_eq!(f.insn, Insn::new(p, Some(s)));
    assert_eq!(f.insn.len(), 8);
    // The same instruction inside one page, big-endian.
    w.write_insns(0x50_0100, &[p, s], false);
    let f = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA + 0x100, 0).unwrap();
    assert_eq!(f.insn, Insn::new(p, Some(s)));
    // Suffix page not mapped: the fault names the suffix's EA.
    w.write_insns(0x58_0FFC, &[p], false);
    let e = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA + 0x1FFC, 0).unwrap_err();
    assert!(
        matches!(e, FetchError::NotPresent { ea, level: 3, .. } if ea == KERNEL_EA + 0x2000),
        "{e:?}"
    );
}

#[test]
fn mmio_fault_for_each_missing_level() {
    let w = World::new();
    let ea = 0xC000_0123_4567_8000u64 & !0x3FF0_0000_0000_0000;
    let entries = w.map_l2(ROOT_PID0, ea, 0x50_0000, 3, 9, PRIV | READ | EXEC);
    assert_eq!(entries.len(), 4);
    assert!(fetch(w.mem, &w.mmu(), KERNEL, ea, 0).is_ok());
    // Invalidate each level from the bottom up; each fault names that level and entry.
    for level in (0..4u8).rev() {
        let at = entries[level as usize];
        let saved = w.read_gpa_u64(at);
        w.write_gpa_u64(at, saved & !V);
        let e = fetch(w.mem, &w.mmu(), KERNEL, ea, 0).unwrap_err();
        assert_eq!(
            e,
            FetchError::NotPresent {
                ea,
                level,
                entry_gpa: GuestRealAddr(at)
            },
            "level {level}"
        );
        assert_eq!(
            e.l2_interrupt(),
            Some(L2Interrupt::InstructionStorage { srr1: 0x4000_0000 })
        );
        w.write_gpa_u64(at, saved);
    }
    // Process table entry missing (all zero): not a 52-bit tree.
    w.write_gpa_u64(PRTB, 0);
    let e = fetch(w.mem, &w.mmu(), KERNEL, ea, 0).unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::BadConfig {
                level: 0,
                entry: 0,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.l2_interrupt(),
        Some(L2Interrupt::InstructionStorage { srr1: 0x0008_0000 })
    );
    w.set_prte(0, ROOT_PID0);
    // No process table registered.
    let mmu = GuestMmu {
        process_table: None,
        ..w.mmu()
    };
    assert_eq!(
        fetch(w.mem, &mmu, KERNEL, ea, 0).unwrap_err(),
        FetchError::NoProcessTable { ea }
    );
    // PID beyond the table (4 KiB = 256 entries).
    assert_eq!(
        fetch(w.mem, &w.mmu(), KERNEL, 0x1000, 256).unwrap_err(),
        FetchError::PidOutOfRange {
            ea: 0x1000,
            pid: 256,
            table_size: 4096
        }
    );
}

#[test]
fn mmio_bad_shapes() {
    let w = World::new();
    let entries = w.map_l2(ROOT_PID0, KERNEL_EA, 0x50_0000, 3, 9, PRIV | READ | EXEC);
    // A level-1 directory claiming 2^8 entries.
    let saved = w.read_gpa_u64(entries[0]);
    w.write_gpa_u64(entries[0], (saved & !0x1F) | 8);
    let e = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA, 0).unwrap_err();
    assert!(matches!(e, FetchError::BadConfig { level: 1, .. }), "{e:?}");
    // A leaf in the root.
    w.write_gpa_u64(entries[0], V | L | R | PRIV | READ | EXEC);
    let e = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA, 0).unwrap_err();
    assert!(matches!(e, FetchError::BadConfig { level: 0, .. }), "{e:?}");
    w.write_gpa_u64(entries[0], saved);
    // A directory entry at the last level.
    let leaf = w.read_gpa_u64(entries[3]);
    w.write_gpa_u64(entries[3], V | 0x40_0000 | 9);
    let e = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA, 0).unwrap_err();
    assert!(matches!(e, FetchError::BadConfig { level: 3, .. }), "{e:?}");
    w.write_gpa_u64(entries[3], leaf);
    assert!(fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA, 0).is_ok());
}

#[test]
fn mmio_quadrants_and_segment_faults() {
    let w = kernel_world();
    for ea in [
        0x4000_0000_0000_0000u64,
        0x8000_0000_0000_1000,
        0xC010_0000_0000_4000,
    ] {
        let e = fetch(w.mem, &w.mmu(), KERNEL, ea, 0).unwrap_err();
        assert_eq!(e, FetchError::Segment { ea });
        assert_eq!(e.l2_interrupt(), Some(L2Interrupt::InstructionSegment));
    }
}

#[test]
fn mmio_protection() {
    let w = World::new();
    w.map_l2(ROOT_PID0, KERNEL_EA, 0x50_0000, 3, 9, PRIV | READ); // no execute
    let e = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA, 0).unwrap_err();
    assert!(matches!(e, FetchError::Protection { .. }), "{e:?}");
    assert_eq!(
        e.l2_interrupt(),
        Some(L2Interrupt::InstructionStorage { srr1: 0x1000_0000 })
    );
    // A privileged page fetched in problem state.
    w.map_l2(ROOT_USER, USER_EA, 0x60_0000, 3, 9, PRIV | READ | EXEC);
    let e = fetch(w.mem, &w.mmu(), KERNEL | MSR_PR, USER_EA, USER_PID).unwrap_err();
    assert_eq!(
        e.l2_interrupt(),
        Some(L2Interrupt::InstructionStorage { srr1: 0x0800_0000 })
    );
    assert!(fetch(w.mem, &w.mmu(), KERNEL, USER_EA, USER_PID).is_ok());
}

#[test]
fn mmio_partition_scoped_faults() {
    let w = World::new();
    // The instruction's page lies in the L1's unmapped hole.
    w.map_l2(
        ROOT_PID0,
        KERNEL_EA,
        HOLE + 0x1000,
        3,
        9,
        PRIV | READ | EXEC,
    );
    let e = fetch(w.mem, &w.mmu(), KERNEL, KERNEL_EA + 8, 0).unwrap_err();
    assert_eq!(
        e,
        FetchError::PartitionFault {
            ea: KERNEL_EA + 8,
            gpa: GuestRealAddr(HOLE + 0x1008),
            table: false
        }
    );
    assert_eq!(e.l2_interrupt(), None);
    // An L2 table in the hole: a table fault naming the entry's gpa.
    let entries = w.map_l2(
        ROOT_PID0,
        0xC000_0000_1000_0000,
        0x50_0000,
        3,
        9,
        PRIV | READ | EXEC,
    );
    let l1_entry = w.read_gpa_u64(entries[0]);
    w.write_gpa_u64(entries[0], V | HOLE | 9);
    let e = fetch(w.mem, &w.mmu(), KERNEL, 0xC000_0000_1000_0000, 0).unwrap_err();
    assert!(
        matches!(e, FetchError::PartitionFault { table: true, gpa, .. } if gpa.0 >> 12 == HOLE >> 12),
        "{e:?}"
    );
    w.write_gpa_u64(entries[0], l1_entry);
    // Process table in the hole.
    let mmu = GuestMmu {
        process_table: Some(papr_mmu_radix::ProcessTableValue {
            base: GuestRealAddr(HOLE),
            size: 4096,
        }),
        ..w.mmu()
    };
    let e = translate_fetch(w.mem, &mmu, KERNEL, KERNEL_EA, 0).unwrap_err();
    assert_eq!(
        e,
        FetchError::PartitionFault {
            ea: KERNEL_EA,
            gpa: GuestRealAddr(HOLE),
            table: true
        }
    );
    // Real mode beyond the 52-bit space.
    let e = fetch(w.mem, &w.mmu(), MSR_SF, 0x0010_0000_0000_0000, 0).unwrap_err();
    assert!(
        matches!(e, FetchError::PartitionFault { table: false, .. }),
        "{e:?}"
    );
}

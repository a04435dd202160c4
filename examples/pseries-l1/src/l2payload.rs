//! The L2 payloads: one blob of little-endian powerpc64 code, assembled into this image's
//! `.rodata` by `global_asm!` and copied by the L1 to guest real address 0 of an L2. The L2
//! runs it in real mode (MSR = SF | RI | LE), so every address below is a guest real address
//! (GPA) = its offset in the blob.
//!
//! Protocol with the L1 (all through `sc 1`, emulated by the L1):
//! - `H_PUT_TERM_CHAR` (r3 = 0x58): r5 bytes (≤ 16) packed big-endian in r6, r7 → the L1 prints
//!   them and answers `H_SUCCESS` in r3;
//! - [`REPORT`] (r3 = 0x7F00): the payload is done; r4…r12 carry its results.
//!
//! | entry | does | exits the L1 sees |
//! |---|---|---|
//! | `HELLO` | prints `hello from L2`, reports the console hcall's r3 | 0xC00, 0xC00 |
//! | `MMIO` | stores 1/2/4/8 bytes to [`MMIO_BASE`], loads them back and an 8-byte id | 0xE00 × 9, 0xC00 |
//! | `PAGING` | stores to three fresh RAM pages, loads a fourth, loads them back | 0xE00 × 4, 0xC00 |
//! | `HISI` | branches to 0x300000 (in RAM, not yet mapped; the L1 placed `FAR` there) | 0xE20, 0xC00 |
//! | `HEAI` | executes the illegal word 0x00001234 | 0xE40; the L1 injects a program interrupt → 0x700 handler reports SRR0/SRR1 |
//! | `SPIN` | `b .` | 0x980 |
//! | `BENCH` | `sc 1` with r3 = [`BENCH`], forever | 0xC00 each |
//! | `STORE` | stores r4 at GPA r5, loads it back, reports it | 0xE00 (first touch), 0xC00 |
//! | `PROBE` | loads 8 bytes at GPA r4, stores 0x5a5a there, reports what it loaded | 0xE00 × 2 (not its RAM), 0xC00 |
//! | `MMU` | turns IR/DR on (`rfid`) under the process table the L1 set, reports MSR, loads the device id and a RAM word through translation, reports | 0xE00 (MMIO, relocated), 0xC00 |
//! | `TIMER` | DEC = r4, MSR\[EE\] = 1, `b .` | 0x980 until its DEC fires or the L1 injects one; the 0x900 handler reports SRR0, SRR1, DEC |
//!
//! `FAR` (copied by the L1 to 0x300000) reports 0x1515 and its own address. The L2's
//! interrupt handlers (0x700 program, 0x900 decrementer) need LPCR\[ILE\] = 1 (little-endian
//! interrupts), which the L1 sets in every vCPU's LPCR.

use core::ptr::addr_of;

/// The private hcall by which a payload reports its results and ends.
pub const REPORT: u64 = 0x7F00;
/// The private hcall the `BENCH` loop makes (the L1 just resumes it).
pub const BENCH: u64 = 0x7F04;
/// Guest real address of the L1-emulated device (no RAM there).
pub const MMIO_BASE: u64 = 0x1000_0000;
/// Guest real address the `HISI` payload jumps to.
pub const FAR_GPA: u64 = 0x30_0000;
/// The L2's program-interrupt vector (its handler reports SRR0 and SRR1).
pub const PROGRAM_VECTOR: u64 = 0x700;
/// Process-table base (GSID 0x0006, 4 KiB) in the `MMU` guest's RAM.
pub const PROCESS_TABLE: u64 = 0x10_0000;
/// Root of the L2's process-scoped tree (64 KiB, 8192 entries): PID 0's entry points here.
pub const PROCESS_ROOT: u64 = 0x11_0000;
/// Its level-1 (PUD) and level-2 (PMD) directories.
pub const PROCESS_PUD: u64 = 0x12_0000;
/// The PMD: 2 MiB leaves.
pub const PROCESS_PMD: u64 = 0x12_1000;

core::arch::global_asm!(
    r#"
    .section .rodata.l2_payload, "a"
    .p2align 12
    .globl l2_blob_start, l2_blob_end, l2_hello, l2_mmio, l2_paging, l2_hisi, l2_heai
    .globl l2_spin, l2_bench, l2_far, l2_far_end, l2_store, l2_probe, l2_mmu, l2_timer
    .globl l2_timer_spin
l2_blob_start:
    b .

l2_hello:
    li %r3, 0x58
    li %r4, 0
    li %r5, 13
    li %r9, l2_msg - l2_blob_start
    ldbrx %r6, 0, %r9
    addi %r9, %r9, 8
    ldbrx %r7, 0, %r9
    sc 1
    mr %r4, %r3
    li %r3, 0x7F00
    sc 1
    b .

l2_mmio:
    lis %r10, 0x1000
    li %r4, 0x5a
    stb %r4, 0(%r10)
    li %r4, 0x1234
    sth %r4, 2(%r10)
    lis %r4, 0x789a
    ori %r4, %r4, 0xbcde
    stw %r4, 4(%r10)
    lis %r4, 0x1122
    ori %r4, %r4, 0x3344
    sldi %r4, %r4, 32
    oris %r4, %r4, 0x5566
    ori %r4, %r4, 0x7788
    std %r4, 8(%r10)
    lbz %r5, 0(%r10)
    lhz %r6, 2(%r10)
    lwz %r7, 4(%r10)
    ld %r8, 8(%r10)
    ld %r9, 16(%r10)
    li %r3, 0x7F00
    sc 1
    b .

l2_paging:
    lis %r10, 0x20
    addi %r11, %r10, 0x1000
    lis %r12, 0x3f
    ori %r12, %r12, 0xf000
    lis %r13, 0x38
    li %r4, 0x11
    std %r4, 0(%r10)
    li %r4, 0x22
    std %r4, 8(%r11)
    li %r4, 0x33
    stw %r4, 0xff8(%r12)
    ld %r8, 0x10(%r13)
    ld %r5, 0(%r10)
    ld %r6, 8(%r11)
    lwz %r7, 0xff8(%r12)
    li %r3, 0x7F00
    sc 1
    b .

l2_hisi:
    lis %r4, 0x30
    mtctr %r4
    bctr

l2_heai:
    li %r4, 0x0707
    .long 0x00001234
    b .

l2_spin:
    b .

l2_bench:
    li %r3, 0x7F04
    sc 1
    b l2_bench

l2_store:
    std %r4, 0(%r5)
    ld %r6, 0(%r5)
    li %r3, 0x7F00
    sc 1
    b .

l2_probe:
    ld %r5, 0(%r4)
    li %r6, 0x5a5a
    std %r6, 0(%r4)
    li %r3, 0x7F00
    sc 1
    b .

l2_mmu:
    mfmsr %r11
    ori %r11, %r11, 0x30
    li %r12, l2_mmu_on - l2_blob_start
    mtsrr0 %r12
    mtsrr1 %r11
    rfid
l2_mmu_on:
    mfmsr %r4
    lis %r10, 0x1000
    ld %r5, 16(%r10)
    lis %r9, 0x20
    ld %r6, 0(%r9)
    li %r3, 0x7F00
    sc 1
    b .

l2_timer:
    mtdec %r4
    mfmsr %r11
    ori %r11, %r11, 0x8000
    mtmsrd %r11, 1
l2_timer_spin:
    b .

    .org 0x700
    mfsrr0 %r4
    mfsrr1 %r5
    li %r3, 0x7F00
    sc 1
    b .

    .org 0x900
    mfsrr0 %r4
    mfsrr1 %r5
    mfdec %r6
    li %r3, 0x7F00
    sc 1
    b .

    .org 0x1000
l2_far:
    li %r4, 0x1515
    bcl 20, 31, 1f
1:  mflr %r5
    li %r3, 0x7F00
    sc 1
    b .
l2_far_end:

    .p2align 3
l2_msg:
    .ascii "hello from L2"
    .byte 0, 0, 0
l2_blob_end:
"#
);

extern "C" {
    static l2_blob_start: u8;
    static l2_blob_end: u8;
    static l2_hello: u8;
    static l2_mmio: u8;
    static l2_paging: u8;
    static l2_hisi: u8;
    static l2_heai: u8;
    static l2_spin: u8;
    static l2_bench: u8;
    static l2_far: u8;
    static l2_far_end: u8;
    static l2_store: u8;
    static l2_probe: u8;
    static l2_mmu: u8;
    static l2_timer: u8;
    static l2_timer_spin: u8;
}

/// A payload entry point (its GPA once the blob is at GPA 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Console hello.
    Hello,
    /// MMIO loads and stores.
    Mmio,
    /// Demand paging.
    Paging,
    /// Fetch from an unmapped page.
    Hisi,
    /// Illegal instruction.
    Heai,
    /// Endless loop.
    Spin,
    /// `sc 1` ([`BENCH`]) in a loop.
    Bench,
    /// Store r4 at GPA r5 and load it back.
    Store,
    /// Load and store at GPA r4 (not this guest's RAM).
    Probe,
    /// Turn the MMU on, then MMIO, RAM and an hcall with translation on.
    Mmu,
    /// DEC = r4, EE on, spin.
    Timer,
    /// The `b .` the timer payload spins on.
    TimerSpin,
}

fn offset(sym: *const u8) -> u64 {
    (sym as u64).wrapping_sub(addr_of!(l2_blob_start) as u64)
}

impl Entry {
    /// The entry's guest real address.
    pub fn gpa(self) -> u64 {
        let sym = match self {
            Entry::Hello => addr_of!(l2_hello),
            Entry::Mmio => addr_of!(l2_mmio),
            Entry::Paging => addr_of!(l2_paging),
            Entry::Hisi => addr_of!(l2_hisi),
            Entry::Heai => addr_of!(l2_heai),
            Entry::Spin => addr_of!(l2_spin),
            Entry::Bench => addr_of!(l2_bench),
            Entry::Store => addr_of!(l2_store),
            Entry::Probe => addr_of!(l2_probe),
            Entry::Mmu => addr_of!(l2_mmu),
            Entry::Timer => addr_of!(l2_timer),
            Entry::TimerSpin => addr_of!(l2_timer_spin),
        };
        offset(sym)
    }
}

/// Bytes of `start..end` of the image's read-only data.
fn bytes(start: *const u8, end: *const u8) -> &'static [u8] {
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: both symbols bound one assembled block in `.rodata` (read-only for the program's whole life), `start` ≤ `end`.
    unsafe { core::slice::from_raw_parts(start, len) }
}

/// The whole blob, to be copied to GPA 0.
pub fn blob() -> &'static [u8] {
    bytes(addr_of!(l2_blob_start), addr_of!(l2_blob_end))
}

/// The code the L1 places at [`FAR_GPA`] (position-independent).
pub fn far() -> &'static [u8] {
    bytes(addr_of!(l2_far), addr_of!(l2_far_end))
}

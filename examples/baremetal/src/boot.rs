//! Entry from QEMU's `-bios` loader, interrupt vectors and the timebase.
//!
//! QEMU starts the CPU at real address 0x100 in big-endian, 32-bit real mode (MSR = 0x3000) with
//! r3 = the device tree. The first words are big-endian-encoded instructions (Linux's
//! `FIXUP_ENDIAN`) that flip MSR\[LE\] with `rfid`; little-endian code then switches to 64-bit
//! mode with FP, VMX and VSX on (the compiler uses vector registers freely), sets the stack (r1)
//! and TOC (r2), zeroes `.bss` and calls `l1_entry` with the device tree address: the binary
//! defines it with [`entry!`](crate::entry), which goes through [`enter`]: interrupts are
//! switched to little-endian (`H_SET_MODE`) before the binary's main function runs, so that
//! the vectors work from its first instruction on. Symbols and sections come from `link.ld`.
//!
//! Every vector the L1 can take branches to one handler that prints the vector, SRR0, SRR1,
//! DAR and DSISR and terminates the machine with a failure status
//! ([`rtas::terminate`](crate::rtas::terminate)) — but the external (0x500) and decrementer
//! (0x900) ones. Those come only while MSR\[EE\] = 1, which is only the case right after
//! the L1's own `H_CEDE` ([`cede`]: the L0 sets EE and wakes the CPU by one of them): they
//! return at once with EE = 0 and leave the interrupt pending for the code after the cede
//! (an IPI is acknowledged with `H_XIRR`/`H_EOI`, a decrementer re-armed before the next
//! cede).
//!
//! Per-CPU state: the vectors are shared by every CPU; their common code takes its stack
//! from SPRG1, which each CPU sets at entry to the top of its own interrupt stack (the boot
//! CPU: `__exception_stack_top` of `link.ld`; a secondary: its start block, see
//! [`smp`](crate::smp)). Secondary CPUs enter at `__secondary_start` through the same endian
//! flip and 64-bit set-up, with r3 = their start block (stack, interrupt stack, index), and
//! run `smp`'s loop.

use papr_hcall::{generic, HcallError, Sc1};
use spinning_top::Spinlock;

core::arch::global_asm!(
    r#"
    # Linux's FIXUP_ENDIAN, then 64-bit mode: big-endian words, read by a big-endian CPU
    # (the first word reads as `b .+12` and reaches the flip); a little-endian CPU reads
    # `tdi` (no-op) and `b 1f`. Then MSR = SF | VEC | VSX | FP | ME | RI | LE and `rfid` to
    # \target. Uses r10 and r11 only (r3 is the argument).
    .macro FIXUP_ENDIAN_TO target
    tdi 0, 0, 0x48
    b 1f
    .long 0xa600607d    # mfmsr   r11
    .long 0x01006b69    # xori    r11, r11, 1
    .long 0x00004039    # li      r10, 0
    .long 0x6401417d    # mtmsrd  r10, 1     (clear RI, EE)
    .long 0x05009f42    # bcl     20, 31, $+4
    .long 0xa602487d    # mflr    r10
    .long 0x14004a39    # addi    r10, r10, 20
    .long 0xa6035a7d    # mtsrr0  r10
    .long 0xa6037b7d    # mtsrr1  r11
    .long 0x2400004c    # rfid
1:
    li %r11, 1
    rldicr %r11, %r11, 63, 0
    oris %r11, %r11, 0x0280
    ori %r11, %r11, 0x3003
    mtsrr1 %r11
    lis %r10, \target@ha
    addi %r10, %r10, \target@l
    mtsrr0 %r10
    rfid
    .endm

    .section .text.vectors, "ax"
    .globl _start
    .org 0x100
_start:
    FIXUP_ENDIAN_TO __start64

    .macro VECTOR addr
    .org \addr
    li %r3, \addr
    b __exception_entry
    .endm

    # External (0x500) and decrementer (0x900) interrupts come only while MSR[EE] = 1,
    # which is only ever the case right after an L1 `H_CEDE` (see `cede`): return to the
    # interrupted code with EE = 0 in SRR1 (it is set: the interrupt was taken), the
    # interrupt left pending for the code to deal with. r3 is kept in SPRG2.
    .macro VECTOR_MASK addr
    .org \addr
    mtspr 274, %r3
    mfsrr1 %r3
    xori %r3, %r3, 0x8000
    mtsrr1 %r3
    mfspr %r3, 274
    rfid
    .endm
    VECTOR 0x200
    VECTOR 0x300
    VECTOR 0x380
    VECTOR 0x400
    VECTOR 0x480
    VECTOR_MASK 0x500
    VECTOR 0x600
    VECTOR 0x700
    VECTOR 0x800
    VECTOR_MASK 0x900
    VECTOR 0xa00
    VECTOR 0xb00
    VECTOR 0xc00
    VECTOR 0xd00
    VECTOR 0xe00
    VECTOR 0xe20
    VECTOR 0xe40
    VECTOR 0xe60
    VECTOR 0xe80
    VECTOR 0xea0
    VECTOR 0xf00
    VECTOR 0xf20
    VECTOR 0xf40
    VECTOR 0xf60
    VECTOR 0xf80

    .section .text.start, "ax"
__start64:
    # SPRG1 = top of this CPU's interrupt stack (the vectors' common code reads it).
    lis %r4, __exception_stack_top@ha
    addi %r4, %r4, __exception_stack_top@l
    mtspr 273, %r4
    lis %r1, __stack_top@ha
    addi %r1, %r1, __stack_top@l
    li %r0, 0
    stdu %r0, -32(%r1)
    lis %r2, .TOC.@ha
    addi %r2, %r2, .TOC.@l
    lis %r4, __bss_start@ha
    addi %r4, %r4, __bss_start@l
    lis %r5, __bss_end@ha
    addi %r5, %r5, __bss_end@l
2:  cmpld %r4, %r5
    bge 3f
    std %r0, 0(%r4)
    addi %r4, %r4, 8
    b 2b
3:  # r3 = device tree. Enter through the global entry point (r12 = its address).
    lis %r12, l1_entry@ha
    addi %r12, %r12, l1_entry@l
    mtctr %r12
    bctrl
    b .

__exception_entry:
    # r3 = vector. Interrupts clear FP/VEC/VSX: turn them back on for the Rust handler.
    mfmsr %r11
    oris %r11, %r11, 0x0280
    ori %r11, %r11, 0x2000
    mtmsrd %r11
    mfsrr0 %r4
    mfsrr1 %r5
    mfdar %r6
    mfdsisr %r7
    # This CPU's own interrupt stack (SPRG1, set at its entry).
    mfspr %r1, 273
    li %r0, 0
    stdu %r0, -32(%r1)
    lis %r2, .TOC.@ha
    addi %r2, %r2, .TOC.@l
    lis %r12, l1_exception@ha
    addi %r12, %r12, l1_exception@l
    mtctr %r12
    bctrl
    b .

    # Secondary CPUs (RTAS start-cpu, see smp.rs) enter here, in either endianness, with r3 =
    # their start block: r1 = its stack top, SPRG1 = its interrupt stack top, then
    # l1_secondary(block) with the TOC set.
    .globl __secondary_start
    .balign 4
__secondary_start:
    FIXUP_ENDIAN_TO __secondary64
__secondary64:
    ld %r1, 0(%r3)
    ld %r4, 8(%r3)
    mtspr 273, %r4
    li %r0, 0
    stdu %r0, -32(%r1)
    lis %r2, .TOC.@ha
    addi %r2, %r2, .TOC.@l
    lis %r12, l1_secondary@ha
    addi %r12, %r12, l1_secondary@l
    mtctr %r12
    bctrl
    b .
"#
);

/// The answer to the `H_SET_MODE` (little-endian interrupts) that [`enter`] made.
static LE_INTERRUPTS: Spinlock<Result<(), HcallError>> = Spinlock::new(Ok(()));

/// What [`entry!`](crate::entry)'s `l1_entry` does: switches interrupts to little-endian
/// (`H_SET_MODE` resource 4; without it the L0 delivers interrupts big-endian and the vectors
/// cannot run), keeps the answer for [`little_endian_interrupts`], then calls `main(fdt)`.
pub fn enter(fdt: usize, main: fn(usize) -> !) -> ! {
    // SAFETY: `H_SET_MODE` (LE interrupts) passes the L0 no address.
    *LE_INTERRUPTS.lock() = generic::set_interrupts_little_endian(&unsafe { Sc1::new() });
    main(fdt)
}

/// The L0's answer to the little-endian interrupts `H_SET_MODE` made by [`enter`]: an error
/// means interrupts arrive big-endian and a fault will not be reported.
pub fn little_endian_interrupts() -> Result<(), HcallError> {
    *LE_INTERRUPTS.lock()
}

/// Called by every interrupt vector, on the interrupted CPU's interrupt stack; never returns.
#[no_mangle]
extern "C" fn l1_exception(vector: u64, srr0: u64, srr1: u64, dar: u64, dsisr: u64) -> ! {
    crate::println!(
        "\nFATAL: unexpected interrupt {vector:#x} on CPU PIR {:#x}: SRR0 {srr0:#x} SRR1 {srr1:#x} DAR {dar:#x} DSISR {dsisr:#x}",
        crate::smp::pir()
    );
    crate::rtas::terminate("unexpected interrupt")
}

/// `H_CEDE` opcode.
const H_CEDE: u64 = 0xE0;

/// Idles this L1 CPU in the L0 (`H_CEDE`) until an external interrupt (an IPI through the
/// L0's XICS) arrives or `ticks` timebase ticks pass (its decrementer, at most 2³¹ − 1);
/// returns the hcall's status. Under QEMU TCG the CPU's host thread sleeps meanwhile,
/// where a polling CPU keeps one busy.
///
/// The L0 sets MSR\[EE\] for the cede; the interrupt that ends it is taken by the vector
/// stubs above, which return with EE = 0 and leave it pending: the caller acknowledges an
/// IPI (else the next cede returns at once) and calls `cede` again with a fresh
/// decrementer. EE is 0 again when `cede` returns, however it ended.
pub fn cede(ticks: u64) -> i64 {
    let dec = ticks.clamp(1, 0x7FFF_FFFF);
    // SAFETY: `mtdec` only sets this CPU's decrementer, which nothing else here uses (its
    // interrupt needs MSR[EE] = 1, and the vector stub masks it).
    unsafe { core::arch::asm!("mtdec {0}", in(reg) dec, options(nomem, nostack, preserves_flags)) };
    // SAFETY: `H_CEDE` passes the L0 no address.
    let rc = papr_hcall::Hcall::hcall(&unsafe { Sc1::new() }, H_CEDE, [0; 9]).rc;
    // SAFETY: `mtmsrd` with L = 1 sets only MSR[EE] and MSR[RI], here to EE = 0 and RI = 1
    // (as the rest of this code runs); nothing else of the machine state changes.
    unsafe {
        core::arch::asm!(
            "li {t}, 2",
            "mtmsrd {t}, 1",
            t = out(reg) _,
            options(nomem, nostack, preserves_flags)
        )
    };
    rc
}

/// Reads the timebase (512 MHz on QEMU pseries).
pub fn timebase() -> u64 {
    let tb: u64;
    // SAFETY: `mftb` only reads the timebase register into a general-purpose register.
    unsafe { core::arch::asm!("mftb {0}", out(reg) tb, options(nomem, nostack, preserves_flags)) };
    tb
}

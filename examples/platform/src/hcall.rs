//! The guest hcalls the platform answers: numbers (Linux `hvcall.h`, QEMU `spapr.h`) and
//! names. `papr-hcall` defines the L1's own calls; the ones only an L2 makes are here.

pub use papr_hcall::opcode::{H_PUT_TERM_CHAR, H_RTAS, H_SET_MODE};

/// `H_SET_SPRG0`: set SPRG0.
pub const H_SET_SPRG0: u64 = 0x24;
/// `H_SET_DABR`: set the data address breakpoint register.
pub const H_SET_DABR: u64 = 0x28;
/// `H_PAGE_INIT`: zero or copy a 4 KiB page.
pub const H_PAGE_INIT: u64 = 0x2C;
/// `H_GET_TERM_CHAR`: read up to 16 bytes from a virtual terminal.
pub const H_GET_TERM_CHAR: u64 = 0x54;
/// `H_EOI`: XICS end of interrupt.
pub const H_EOI: u64 = 0x64;
/// `H_CPPR`: XICS set the current processor priority.
pub const H_CPPR: u64 = 0x68;
/// `H_IPI`: XICS set a server's MFRR (send an IPI).
pub const H_IPI: u64 = 0x6C;
/// `H_IPOLL`: XICS read a server's XIRR and MFRR without side effects.
pub const H_IPOLL: u64 = 0x70;
/// `H_XIRR`: XICS accept the pending interrupt.
pub const H_XIRR: u64 = 0x74;
/// `H_SET_XDABR`: set DABR and DABRX.
pub const H_SET_XDABR: u64 = 0x134;
/// `H_REGISTER_VPA`: register or deregister the VPA, SLB shadow or DTL of a processor.
pub const H_REGISTER_VPA: u64 = 0xDC;
/// `H_CEDE`: give up the processor until an interrupt (enables MSR\[EE\]).
pub const H_CEDE: u64 = 0xE0;
/// `H_CONFER`: give the processor to another vCPU (−1: to any) or wait for `H_PROD`.
pub const H_CONFER: u64 = 0xE4;
/// `H_PROD`: wake a vCPU from `H_CEDE`/`H_CONFER`.
pub const H_PROD: u64 = 0xE8;
/// `H_GET_CPU_CHARACTERISTICS`: speculation-related characteristics and behaviours.
pub const H_GET_CPU_CHARACTERISTICS: u64 = 0x1C8;
/// `H_XIRR_X`: `H_XIRR` that also returns the timebase.
pub const H_XIRR_X: u64 = 0x2FC;
/// `H_REGISTER_PROC_TBL`: register the partition's process table.
pub const H_REGISTER_PROC_TBL: u64 = 0x37C;
/// `H_SIGNAL_SYS_RESET`: send a system reset to processors (answered `H_FUNCTION`).
pub const H_SIGNAL_SYS_RESET: u64 = 0x380;
/// `H_GET_PERF_COUNTER_INFO`: hypervisor performance counters (answered `H_FUNCTION`).
pub const H_GET_PERF_COUNTER_INFO: u64 = 0xF080;

/// `H_SET_MODE` resource: completed instruction address breakpoint (CIABR).
pub const H_SET_MODE_RESOURCE_SET_CIABR: u64 = 1;
/// `H_SET_MODE` resource: data address watchpoint 0 (DAWR0/DAWRX0).
pub const H_SET_MODE_RESOURCE_SET_DAWR0: u64 = 2;
/// `H_SET_MODE` resource: interrupt location (LPCR\[AIL\]).
pub const H_SET_MODE_RESOURCE_ADDR_TRANS_MODE: u64 = 3;
/// `H_SET_MODE` resource: interrupt endianness (LPCR\[ILE\]).
pub const H_SET_MODE_RESOURCE_LE: u64 = papr_hcall::opcode::H_SET_MODE_RESOURCE_LE;
/// `H_SET_MODE` resource: data address watchpoint 1 (DAWR1/DAWRX1, ISA 3.1).
pub const H_SET_MODE_RESOURCE_SET_DAWR1: u64 = 5;

/// The name of a guest hcall (or of any opcode `papr-hcall` knows), for figures.
///
/// ```
/// assert_eq!(papr_platform::hcall::name(0xE0), "H_CEDE");
/// assert_eq!(papr_platform::hcall::name(0x58), "H_PUT_TERM_CHAR");
/// assert_eq!(papr_platform::hcall::name(0x4), "unknown");
/// ```
pub fn name(nr: u64) -> &'static str {
    match nr {
        H_SET_SPRG0 => "H_SET_SPRG0",
        H_SET_DABR => "H_SET_DABR",
        H_PAGE_INIT => "H_PAGE_INIT",
        H_GET_TERM_CHAR => "H_GET_TERM_CHAR",
        H_EOI => "H_EOI",
        H_CPPR => "H_CPPR",
        H_IPI => "H_IPI",
        H_IPOLL => "H_IPOLL",
        H_XIRR => "H_XIRR",
        H_SET_XDABR => "H_SET_XDABR",
        H_REGISTER_VPA => "H_REGISTER_VPA",
        H_CEDE => "H_CEDE",
        H_CONFER => "H_CONFER",
        H_PROD => "H_PROD",
        H_GET_CPU_CHARACTERISTICS => "H_GET_CPU_CHARACTERISTICS",
        H_XIRR_X => "H_XIRR_X",
        H_REGISTER_PROC_TBL => "H_REGISTER_PROC_TBL",
        H_SIGNAL_SYS_RESET => "H_SIGNAL_SYS_RESET",
        H_GET_PERF_COUNTER_INFO => "H_GET_PERF_COUNTER_INFO",
        other => papr_hcall::opcode::name(other).unwrap_or("unknown"),
    }
}

// Generated once from ../shared/spec/guest-state-buffer.md §2 and kept by hand since.
// One row per guest state id, ascending; the row index is the id's dense bit index.

use crate::id::{Access, GsidInfo, GuestStateId, Restriction, Scope, ValueKind};

/// Number of guest state ids defined (Linux `KVMPPC_GSE_IDEN_COUNT`, latest layout).
pub const GSID_COUNT: usize = 182;

/// Every guest state id, ascending; `TABLE[i]` is the id with bit index `i`.
pub static TABLE: [GsidInfo; GSID_COUNT] = [
    GsidInfo { id: GuestStateId(0x0000), name: "BLANK", kind: ValueKind::Empty, scope: Scope::Guest, access: Access::ReadWrite, restriction: Restriction::None, description: "no-op element without a value" },
    GsidInfo { id: GuestStateId(0x0001), name: "HOST_STATE_SIZE", kind: ValueKind::U64, scope: Scope::Guest, access: Access::ReadOnly, restriction: Restriction::None, description: "bytes the L0 needs to hold a vCPU's state" },
    GsidInfo { id: GuestStateId(0x0002), name: "RUN_OUTPUT_MIN_SIZE", kind: ValueKind::U64, scope: Scope::Guest, access: Access::ReadOnly, restriction: Restriction::None, description: "minimum size of the `H_GUEST_RUN_VCPU` output buffer" },
    GsidInfo { id: GuestStateId(0x0003), name: "LOGICAL_PVR", kind: ValueKind::U32, scope: Scope::Guest, access: Access::ReadWrite, restriction: Restriction::None, description: "logical processor version register of the guest" },
    GsidInfo { id: GuestStateId(0x0004), name: "TB_OFFSET", kind: ValueKind::U64, scope: Scope::Guest, access: Access::ReadWrite, restriction: Restriction::None, description: "timebase offset added to the L1 timebase to give the L2 timebase" },
    GsidInfo { id: GuestStateId(0x0005), name: "PARTITION_TABLE", kind: ValueKind::PartitionTable, scope: Scope::Guest, access: Access::ReadWrite, restriction: Restriction::None, description: "partition-scoped radix table of the guest {root, EA bits, root size}" },
    GsidInfo { id: GuestStateId(0x0006), name: "PROCESS_TABLE", kind: ValueKind::ProcessTable, scope: Scope::Guest, access: Access::ReadWrite, restriction: Restriction::None, description: "process table of the guest {base, size}" },
    GsidInfo { id: GuestStateId(0x0800), name: "L0_GUEST_HEAP", kind: ValueKind::U64, scope: Scope::Host, access: Access::ReadOnly, restriction: Restriction::None, description: "bytes in use in the L0's guest-management space for this L1" },
    GsidInfo { id: GuestStateId(0x0801), name: "L0_GUEST_HEAP_MAX", kind: ValueKind::U64, scope: Scope::Host, access: Access::ReadOnly, restriction: Restriction::None, description: "maximum bytes of the L0's guest-management space" },
    GsidInfo { id: GuestStateId(0x0802), name: "L0_GUEST_PGTABLE_SIZE", kind: ValueKind::U64, scope: Scope::Host, access: Access::ReadOnly, restriction: Restriction::None, description: "bytes in use for the L0's guest page-table management" },
    GsidInfo { id: GuestStateId(0x0803), name: "L0_GUEST_PGTABLE_SIZE_MAX", kind: ValueKind::U64, scope: Scope::Host, access: Access::ReadOnly, restriction: Restriction::None, description: "maximum bytes of the L0's guest page-table space" },
    GsidInfo { id: GuestStateId(0x0804), name: "L0_GUEST_PGTABLE_RECLAIM", kind: ValueKind::U64, scope: Scope::Host, access: Access::ReadOnly, restriction: Restriction::None, description: "cumulative bytes reclaimed from the L0's guest page-table space" },
    GsidInfo { id: GuestStateId(0x0C00), name: "RUN_INPUT", kind: ValueKind::Buffer, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "run input buffer {L1 real address, size}" },
    GsidInfo { id: GuestStateId(0x0C01), name: "RUN_OUTPUT", kind: ValueKind::Buffer, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "run output buffer {L1 real address, size}" },
    GsidInfo { id: GuestStateId(0x0C02), name: "VPA", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "L1 real address of the vCPU's virtual processor area" },
    GsidInfo { id: GuestStateId(0x1000), name: "GPR0", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 0" },
    GsidInfo { id: GuestStateId(0x1001), name: "GPR1", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 1" },
    GsidInfo { id: GuestStateId(0x1002), name: "GPR2", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 2" },
    GsidInfo { id: GuestStateId(0x1003), name: "GPR3", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 3" },
    GsidInfo { id: GuestStateId(0x1004), name: "GPR4", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 4" },
    GsidInfo { id: GuestStateId(0x1005), name: "GPR5", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 5" },
    GsidInfo { id: GuestStateId(0x1006), name: "GPR6", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 6" },
    GsidInfo { id: GuestStateId(0x1007), name: "GPR7", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 7" },
    GsidInfo { id: GuestStateId(0x1008), name: "GPR8", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 8" },
    GsidInfo { id: GuestStateId(0x1009), name: "GPR9", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 9" },
    GsidInfo { id: GuestStateId(0x100A), name: "GPR10", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 10" },
    GsidInfo { id: GuestStateId(0x100B), name: "GPR11", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 11" },
    GsidInfo { id: GuestStateId(0x100C), name: "GPR12", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 12" },
    GsidInfo { id: GuestStateId(0x100D), name: "GPR13", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 13" },
    GsidInfo { id: GuestStateId(0x100E), name: "GPR14", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 14" },
    GsidInfo { id: GuestStateId(0x100F), name: "GPR15", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 15" },
    GsidInfo { id: GuestStateId(0x1010), name: "GPR16", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 16" },
    GsidInfo { id: GuestStateId(0x1011), name: "GPR17", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 17" },
    GsidInfo { id: GuestStateId(0x1012), name: "GPR18", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 18" },
    GsidInfo { id: GuestStateId(0x1013), name: "GPR19", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 19" },
    GsidInfo { id: GuestStateId(0x1014), name: "GPR20", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 20" },
    GsidInfo { id: GuestStateId(0x1015), name: "GPR21", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 21" },
    GsidInfo { id: GuestStateId(0x1016), name: "GPR22", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 22" },
    GsidInfo { id: GuestStateId(0x1017), name: "GPR23", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 23" },
    GsidInfo { id: GuestStateId(0x1018), name: "GPR24", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 24" },
    GsidInfo { id: GuestStateId(0x1019), name: "GPR25", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 25" },
    GsidInfo { id: GuestStateId(0x101A), name: "GPR26", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 26" },
    GsidInfo { id: GuestStateId(0x101B), name: "GPR27", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 27" },
    GsidInfo { id: GuestStateId(0x101C), name: "GPR28", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 28" },
    GsidInfo { id: GuestStateId(0x101D), name: "GPR29", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 29" },
    GsidInfo { id: GuestStateId(0x101E), name: "GPR30", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 30" },
    GsidInfo { id: GuestStateId(0x101F), name: "GPR31", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "general-purpose register 31" },
    GsidInfo { id: GuestStateId(0x1020), name: "HDEC_EXPIRY_TB", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "timebase value at which the hypervisor decrementer expires" },
    GsidInfo { id: GuestStateId(0x1021), name: "NIA", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "next instruction address" },
    GsidInfo { id: GuestStateId(0x1022), name: "MSR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "machine state register" },
    GsidInfo { id: GuestStateId(0x1023), name: "LR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "link register" },
    GsidInfo { id: GuestStateId(0x1024), name: "XER", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "fixed-point exception register" },
    GsidInfo { id: GuestStateId(0x1025), name: "CTR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "count register" },
    GsidInfo { id: GuestStateId(0x1026), name: "CFAR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "come-from address register" },
    GsidInfo { id: GuestStateId(0x1027), name: "SRR0", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "save/restore register 0" },
    GsidInfo { id: GuestStateId(0x1028), name: "SRR1", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "save/restore register 1" },
    GsidInfo { id: GuestStateId(0x1029), name: "DAR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "data address register" },
    GsidInfo { id: GuestStateId(0x102A), name: "DEC_EXPIRY_TB", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "timebase value at which the guest decrementer expires" },
    GsidInfo { id: GuestStateId(0x102B), name: "VTB", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "virtual timebase" },
    GsidInfo { id: GuestStateId(0x102C), name: "LPCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "logical partitioning control register" },
    GsidInfo { id: GuestStateId(0x102D), name: "HFSCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "hypervisor facility status and control register" },
    GsidInfo { id: GuestStateId(0x102E), name: "FSCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "facility status and control register" },
    GsidInfo { id: GuestStateId(0x102F), name: "FPSCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "floating-point status and control register" },
    GsidInfo { id: GuestStateId(0x1030), name: "DAWR0", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "data address watchpoint register 0" },
    GsidInfo { id: GuestStateId(0x1031), name: "DAWR1", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "data address watchpoint register 1" },
    GsidInfo { id: GuestStateId(0x1032), name: "CIABR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "completed instruction address breakpoint register" },
    GsidInfo { id: GuestStateId(0x1033), name: "PURR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "processor utilisation of resources register" },
    GsidInfo { id: GuestStateId(0x1034), name: "SPURR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "scaled processor utilisation of resources register" },
    GsidInfo { id: GuestStateId(0x1035), name: "IC", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "instruction counter" },
    GsidInfo { id: GuestStateId(0x1036), name: "SPRG0", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "software-use SPR 0" },
    GsidInfo { id: GuestStateId(0x1037), name: "SPRG1", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "software-use SPR 1" },
    GsidInfo { id: GuestStateId(0x1038), name: "SPRG2", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "software-use SPR 2" },
    GsidInfo { id: GuestStateId(0x1039), name: "SPRG3", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "software-use SPR 3" },
    GsidInfo { id: GuestStateId(0x103A), name: "PPR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "program priority register" },
    GsidInfo { id: GuestStateId(0x103B), name: "MMCR0", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "monitor mode control register 0" },
    GsidInfo { id: GuestStateId(0x103C), name: "MMCR1", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "monitor mode control register 1" },
    GsidInfo { id: GuestStateId(0x103D), name: "MMCR2", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "monitor mode control register 2" },
    GsidInfo { id: GuestStateId(0x103E), name: "MMCR3", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "monitor mode control register 3" },
    GsidInfo { id: GuestStateId(0x103F), name: "MMCRA", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "monitor mode control register A" },
    GsidInfo { id: GuestStateId(0x1040), name: "SIER", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "sampled instruction event register" },
    GsidInfo { id: GuestStateId(0x1041), name: "SIER2", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "sampled instruction event register 2" },
    GsidInfo { id: GuestStateId(0x1042), name: "SIER3", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "sampled instruction event register 3" },
    GsidInfo { id: GuestStateId(0x1043), name: "BESCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "branch event status and control register" },
    GsidInfo { id: GuestStateId(0x1044), name: "EBBHR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "event-based branch handler register" },
    GsidInfo { id: GuestStateId(0x1045), name: "EBBRR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "event-based branch return register" },
    GsidInfo { id: GuestStateId(0x1046), name: "AMR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "authority mask register" },
    GsidInfo { id: GuestStateId(0x1047), name: "IAMR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "instruction authority mask register" },
    GsidInfo { id: GuestStateId(0x1048), name: "AMOR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "authority mask override register" },
    GsidInfo { id: GuestStateId(0x1049), name: "UAMOR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "user authority mask override register" },
    GsidInfo { id: GuestStateId(0x104A), name: "SDAR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "sampled data address register" },
    GsidInfo { id: GuestStateId(0x104B), name: "SIAR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "sampled instruction address register" },
    GsidInfo { id: GuestStateId(0x104C), name: "DSCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "data stream control register" },
    GsidInfo { id: GuestStateId(0x104D), name: "TAR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "target address register" },
    GsidInfo { id: GuestStateId(0x104E), name: "DEXCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "dynamic execution control register" },
    GsidInfo { id: GuestStateId(0x104F), name: "HDEXCR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "hypervisor dynamic execution control register" },
    GsidInfo { id: GuestStateId(0x1050), name: "HASHKEYR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "hash key register" },
    GsidInfo { id: GuestStateId(0x1051), name: "HASHPKEYR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "hash privileged key register" },
    GsidInfo { id: GuestStateId(0x1052), name: "CTRL", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "control register" },
    GsidInfo { id: GuestStateId(0x1053), name: "DPDES", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "directed privileged doorbell exception state" },
    GsidInfo { id: GuestStateId(0x2000), name: "CR", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "condition register" },
    GsidInfo { id: GuestStateId(0x2001), name: "PIDR", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "process ID register" },
    GsidInfo { id: GuestStateId(0x2002), name: "DSISR", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "data storage interrupt status register" },
    GsidInfo { id: GuestStateId(0x2003), name: "VSCR", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector status and control register" },
    GsidInfo { id: GuestStateId(0x2004), name: "VRSAVE", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "VR save register" },
    GsidInfo { id: GuestStateId(0x2005), name: "DAWRX0", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "data address watchpoint register extension 0" },
    GsidInfo { id: GuestStateId(0x2006), name: "DAWRX1", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::Isa31, description: "data address watchpoint register extension 1" },
    GsidInfo { id: GuestStateId(0x2007), name: "PMC1", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "performance monitor counter 1" },
    GsidInfo { id: GuestStateId(0x2008), name: "PMC2", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "performance monitor counter 2" },
    GsidInfo { id: GuestStateId(0x2009), name: "PMC3", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "performance monitor counter 3" },
    GsidInfo { id: GuestStateId(0x200A), name: "PMC4", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "performance monitor counter 4" },
    GsidInfo { id: GuestStateId(0x200B), name: "PMC5", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "performance monitor counter 5" },
    GsidInfo { id: GuestStateId(0x200C), name: "PMC6", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "performance monitor counter 6" },
    GsidInfo { id: GuestStateId(0x200D), name: "WORT", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::PreIsa31, description: "workload optimisation register thread" },
    GsidInfo { id: GuestStateId(0x200E), name: "PSPB", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "problem state priority boost register" },
    GsidInfo { id: GuestStateId(0x3000), name: "VSR0", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 0 (overlays FPR0)" },
    GsidInfo { id: GuestStateId(0x3001), name: "VSR1", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 1 (overlays FPR1)" },
    GsidInfo { id: GuestStateId(0x3002), name: "VSR2", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 2 (overlays FPR2)" },
    GsidInfo { id: GuestStateId(0x3003), name: "VSR3", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 3 (overlays FPR3)" },
    GsidInfo { id: GuestStateId(0x3004), name: "VSR4", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 4 (overlays FPR4)" },
    GsidInfo { id: GuestStateId(0x3005), name: "VSR5", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 5 (overlays FPR5)" },
    GsidInfo { id: GuestStateId(0x3006), name: "VSR6", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 6 (overlays FPR6)" },
    GsidInfo { id: GuestStateId(0x3007), name: "VSR7", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 7 (overlays FPR7)" },
    GsidInfo { id: GuestStateId(0x3008), name: "VSR8", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 8 (overlays FPR8)" },
    GsidInfo { id: GuestStateId(0x3009), name: "VSR9", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 9 (overlays FPR9)" },
    GsidInfo { id: GuestStateId(0x300A), name: "VSR10", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 10 (overlays FPR10)" },
    GsidInfo { id: GuestStateId(0x300B), name: "VSR11", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 11 (overlays FPR11)" },
    GsidInfo { id: GuestStateId(0x300C), name: "VSR12", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 12 (overlays FPR12)" },
    GsidInfo { id: GuestStateId(0x300D), name: "VSR13", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 13 (overlays FPR13)" },
    GsidInfo { id: GuestStateId(0x300E), name: "VSR14", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 14 (overlays FPR14)" },
    GsidInfo { id: GuestStateId(0x300F), name: "VSR15", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 15 (overlays FPR15)" },
    GsidInfo { id: GuestStateId(0x3010), name: "VSR16", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 16 (overlays FPR16)" },
    GsidInfo { id: GuestStateId(0x3011), name: "VSR17", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 17 (overlays FPR17)" },
    GsidInfo { id: GuestStateId(0x3012), name: "VSR18", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 18 (overlays FPR18)" },
    GsidInfo { id: GuestStateId(0x3013), name: "VSR19", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 19 (overlays FPR19)" },
    GsidInfo { id: GuestStateId(0x3014), name: "VSR20", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 20 (overlays FPR20)" },
    GsidInfo { id: GuestStateId(0x3015), name: "VSR21", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 21 (overlays FPR21)" },
    GsidInfo { id: GuestStateId(0x3016), name: "VSR22", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 22 (overlays FPR22)" },
    GsidInfo { id: GuestStateId(0x3017), name: "VSR23", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 23 (overlays FPR23)" },
    GsidInfo { id: GuestStateId(0x3018), name: "VSR24", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 24 (overlays FPR24)" },
    GsidInfo { id: GuestStateId(0x3019), name: "VSR25", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 25 (overlays FPR25)" },
    GsidInfo { id: GuestStateId(0x301A), name: "VSR26", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 26 (overlays FPR26)" },
    GsidInfo { id: GuestStateId(0x301B), name: "VSR27", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 27 (overlays FPR27)" },
    GsidInfo { id: GuestStateId(0x301C), name: "VSR28", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 28 (overlays FPR28)" },
    GsidInfo { id: GuestStateId(0x301D), name: "VSR29", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 29 (overlays FPR29)" },
    GsidInfo { id: GuestStateId(0x301E), name: "VSR30", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 30 (overlays FPR30)" },
    GsidInfo { id: GuestStateId(0x301F), name: "VSR31", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 31 (overlays FPR31)" },
    GsidInfo { id: GuestStateId(0x3020), name: "VSR32", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 32 (= VR0)" },
    GsidInfo { id: GuestStateId(0x3021), name: "VSR33", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 33 (= VR1)" },
    GsidInfo { id: GuestStateId(0x3022), name: "VSR34", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 34 (= VR2)" },
    GsidInfo { id: GuestStateId(0x3023), name: "VSR35", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 35 (= VR3)" },
    GsidInfo { id: GuestStateId(0x3024), name: "VSR36", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 36 (= VR4)" },
    GsidInfo { id: GuestStateId(0x3025), name: "VSR37", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 37 (= VR5)" },
    GsidInfo { id: GuestStateId(0x3026), name: "VSR38", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 38 (= VR6)" },
    GsidInfo { id: GuestStateId(0x3027), name: "VSR39", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 39 (= VR7)" },
    GsidInfo { id: GuestStateId(0x3028), name: "VSR40", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 40 (= VR8)" },
    GsidInfo { id: GuestStateId(0x3029), name: "VSR41", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 41 (= VR9)" },
    GsidInfo { id: GuestStateId(0x302A), name: "VSR42", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 42 (= VR10)" },
    GsidInfo { id: GuestStateId(0x302B), name: "VSR43", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 43 (= VR11)" },
    GsidInfo { id: GuestStateId(0x302C), name: "VSR44", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 44 (= VR12)" },
    GsidInfo { id: GuestStateId(0x302D), name: "VSR45", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 45 (= VR13)" },
    GsidInfo { id: GuestStateId(0x302E), name: "VSR46", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 46 (= VR14)" },
    GsidInfo { id: GuestStateId(0x302F), name: "VSR47", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 47 (= VR15)" },
    GsidInfo { id: GuestStateId(0x3030), name: "VSR48", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 48 (= VR16)" },
    GsidInfo { id: GuestStateId(0x3031), name: "VSR49", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 49 (= VR17)" },
    GsidInfo { id: GuestStateId(0x3032), name: "VSR50", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 50 (= VR18)" },
    GsidInfo { id: GuestStateId(0x3033), name: "VSR51", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 51 (= VR19)" },
    GsidInfo { id: GuestStateId(0x3034), name: "VSR52", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 52 (= VR20)" },
    GsidInfo { id: GuestStateId(0x3035), name: "VSR53", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 53 (= VR21)" },
    GsidInfo { id: GuestStateId(0x3036), name: "VSR54", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 54 (= VR22)" },
    GsidInfo { id: GuestStateId(0x3037), name: "VSR55", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 55 (= VR23)" },
    GsidInfo { id: GuestStateId(0x3038), name: "VSR56", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 56 (= VR24)" },
    GsidInfo { id: GuestStateId(0x3039), name: "VSR57", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 57 (= VR25)" },
    GsidInfo { id: GuestStateId(0x303A), name: "VSR58", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 58 (= VR26)" },
    GsidInfo { id: GuestStateId(0x303B), name: "VSR59", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 59 (= VR27)" },
    GsidInfo { id: GuestStateId(0x303C), name: "VSR60", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 60 (= VR28)" },
    GsidInfo { id: GuestStateId(0x303D), name: "VSR61", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 61 (= VR29)" },
    GsidInfo { id: GuestStateId(0x303E), name: "VSR62", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 62 (= VR30)" },
    GsidInfo { id: GuestStateId(0x303F), name: "VSR63", kind: ValueKind::Vector, scope: Scope::Thread, access: Access::ReadWrite, restriction: Restriction::None, description: "vector-scalar register 63 (= VR31)" },
    GsidInfo { id: GuestStateId(0xF000), name: "HDAR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadOnly, restriction: Restriction::None, description: "hypervisor data address register (set by the L0 on an exit)" },
    GsidInfo { id: GuestStateId(0xF001), name: "HDSISR", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadOnly, restriction: Restriction::None, description: "hypervisor data storage interrupt status register (set on an exit)" },
    GsidInfo { id: GuestStateId(0xF002), name: "HEIR", kind: ValueKind::U32, scope: Scope::Thread, access: Access::ReadOnly, restriction: Restriction::None, description: "hypervisor emulation instruction register (4 bytes per PAPR and QEMU; Linux declares 8)" },
    GsidInfo { id: GuestStateId(0xF003), name: "ASDR", kind: ValueKind::U64, scope: Scope::Thread, access: Access::ReadOnly, restriction: Restriction::None, description: "access segment descriptor register (set on an exit)" },
];

impl GuestStateId {
    /// `BLANK` (0x0000): No-op element without a value.
    pub const BLANK: Self = Self(0x0000);
    /// `HOST_STATE_SIZE` (0x0001): Bytes the L0 needs to hold a vCPU's state.
    pub const HOST_STATE_SIZE: Self = Self(0x0001);
    /// `RUN_OUTPUT_MIN_SIZE` (0x0002): Minimum size of the `H_GUEST_RUN_VCPU` output buffer.
    pub const RUN_OUTPUT_MIN_SIZE: Self = Self(0x0002);
    /// `LOGICAL_PVR` (0x0003): Logical processor version register of the guest.
    pub const LOGICAL_PVR: Self = Self(0x0003);
    /// `TB_OFFSET` (0x0004): Timebase offset added to the L1 timebase to give the L2 timebase.
    pub const TB_OFFSET: Self = Self(0x0004);
    /// `PARTITION_TABLE` (0x0005): Partition-scoped radix table of the guest {root, EA bits, root size}.
    pub const PARTITION_TABLE: Self = Self(0x0005);
    /// `PROCESS_TABLE` (0x0006): Process table of the guest {base, size}.
    pub const PROCESS_TABLE: Self = Self(0x0006);
    /// `L0_GUEST_HEAP` (0x0800): Bytes in use in the L0's guest-management space for this L1.
    pub const L0_GUEST_HEAP: Self = Self(0x0800);
    /// `L0_GUEST_HEAP_MAX` (0x0801): Maximum bytes of the L0's guest-management space.
    pub const L0_GUEST_HEAP_MAX: Self = Self(0x0801);
    /// `L0_GUEST_PGTABLE_SIZE` (0x0802): Bytes in use for the L0's guest page-table management.
    pub const L0_GUEST_PGTABLE_SIZE: Self = Self(0x0802);
    /// `L0_GUEST_PGTABLE_SIZE_MAX` (0x0803): Maximum bytes of the L0's guest page-table space.
    pub const L0_GUEST_PGTABLE_SIZE_MAX: Self = Self(0x0803);
    /// `L0_GUEST_PGTABLE_RECLAIM` (0x0804): Cumulative bytes reclaimed from the L0's guest page-table space.
    pub const L0_GUEST_PGTABLE_RECLAIM: Self = Self(0x0804);
    /// `RUN_INPUT` (0x0C00): Run input buffer {L1 real address, size}.
    pub const RUN_INPUT: Self = Self(0x0C00);
    /// `RUN_OUTPUT` (0x0C01): Run output buffer {L1 real address, size}.
    pub const RUN_OUTPUT: Self = Self(0x0C01);
    /// `VPA` (0x0C02): L1 real address of the vCPU's virtual processor area.
    pub const VPA: Self = Self(0x0C02);
    /// `GPR0` (0x1000): General-purpose register 0.
    pub const GPR0: Self = Self(0x1000);
    /// `GPR1` (0x1001): General-purpose register 1.
    pub const GPR1: Self = Self(0x1001);
    /// `GPR2` (0x1002): General-purpose register 2.
    pub const GPR2: Self = Self(0x1002);
    /// `GPR3` (0x1003): General-purpose register 3.
    pub const GPR3: Self = Self(0x1003);
    /// `GPR4` (0x1004): General-purpose register 4.
    pub const GPR4: Self = Self(0x1004);
    /// `GPR5` (0x1005): General-purpose register 5.
    pub const GPR5: Self = Self(0x1005);
    /// `GPR6` (0x1006): General-purpose register 6.
    pub const GPR6: Self = Self(0x1006);
    /// `GPR7` (0x1007): General-purpose register 7.
    pub const GPR7: Self = Self(0x1007);
    /// `GPR8` (0x1008): General-purpose register 8.
    pub const GPR8: Self = Self(0x1008);
    /// `GPR9` (0x1009): General-purpose register 9.
    pub const GPR9: Self = Self(0x1009);
    /// `GPR10` (0x100A): General-purpose register 10.
    pub const GPR10: Self = Self(0x100A);
    /// `GPR11` (0x100B): General-purpose register 11.
    pub const GPR11: Self = Self(0x100B);
    /// `GPR12` (0x100C): General-purpose register 12.
    pub const GPR12: Self = Self(0x100C);
    /// `GPR13` (0x100D): General-purpose register 13.
    pub const GPR13: Self = Self(0x100D);
    /// `GPR14` (0x100E): General-purpose register 14.
    pub const GPR14: Self = Self(0x100E);
    /// `GPR15` (0x100F): General-purpose register 15.
    pub const GPR15: Self = Self(0x100F);
    /// `GPR16` (0x1010): General-purpose register 16.
    pub const GPR16: Self = Self(0x1010);
    /// `GPR17` (0x1011): General-purpose register 17.
    pub const GPR17: Self = Self(0x1011);
    /// `GPR18` (0x1012): General-purpose register 18.
    pub const GPR18: Self = Self(0x1012);
    /// `GPR19` (0x1013): General-purpose register 19.
    pub const GPR19: Self = Self(0x1013);
    /// `GPR20` (0x1014): General-purpose register 20.
    pub const GPR20: Self = Self(0x1014);
    /// `GPR21` (0x1015): General-purpose register 21.
    pub const GPR21: Self = Self(0x1015);
    /// `GPR22` (0x1016): General-purpose register 22.
    pub const GPR22: Self = Self(0x1016);
    /// `GPR23` (0x1017): General-purpose register 23.
    pub const GPR23: Self = Self(0x1017);
    /// `GPR24` (0x1018): General-purpose register 24.
    pub const GPR24: Self = Self(0x1018);
    /// `GPR25` (0x1019): General-purpose register 25.
    pub const GPR25: Self = Self(0x1019);
    /// `GPR26` (0x101A): General-purpose register 26.
    pub const GPR26: Self = Self(0x101A);
    /// `GPR27` (0x101B): General-purpose register 27.
    pub const GPR27: Self = Self(0x101B);
    /// `GPR28` (0x101C): General-purpose register 28.
    pub const GPR28: Self = Self(0x101C);
    /// `GPR29` (0x101D): General-purpose register 29.
    pub const GPR29: Self = Self(0x101D);
    /// `GPR30` (0x101E): General-purpose register 30.
    pub const GPR30: Self = Self(0x101E);
    /// `GPR31` (0x101F): General-purpose register 31.
    pub const GPR31: Self = Self(0x101F);
    /// `HDEC_EXPIRY_TB` (0x1020): Timebase value at which the hypervisor decrementer expires.
    pub const HDEC_EXPIRY_TB: Self = Self(0x1020);
    /// `NIA` (0x1021): Next instruction address.
    pub const NIA: Self = Self(0x1021);
    /// `MSR` (0x1022): Machine state register.
    pub const MSR: Self = Self(0x1022);
    /// `LR` (0x1023): Link register.
    pub const LR: Self = Self(0x1023);
    /// `XER` (0x1024): Fixed-point exception register.
    pub const XER: Self = Self(0x1024);
    /// `CTR` (0x1025): Count register.
    pub const CTR: Self = Self(0x1025);
    /// `CFAR` (0x1026): Come-from address register.
    pub const CFAR: Self = Self(0x1026);
    /// `SRR0` (0x1027): Save/restore register 0.
    pub const SRR0: Self = Self(0x1027);
    /// `SRR1` (0x1028): Save/restore register 1.
    pub const SRR1: Self = Self(0x1028);
    /// `DAR` (0x1029): Data address register.
    pub const DAR: Self = Self(0x1029);
    /// `DEC_EXPIRY_TB` (0x102A): Timebase value at which the guest decrementer expires.
    pub const DEC_EXPIRY_TB: Self = Self(0x102A);
    /// `VTB` (0x102B): Virtual timebase.
    pub const VTB: Self = Self(0x102B);
    /// `LPCR` (0x102C): Logical partitioning control register.
    pub const LPCR: Self = Self(0x102C);
    /// `HFSCR` (0x102D): Hypervisor facility status and control register.
    pub const HFSCR: Self = Self(0x102D);
    /// `FSCR` (0x102E): Facility status and control register.
    pub const FSCR: Self = Self(0x102E);
    /// `FPSCR` (0x102F): Floating-point status and control register.
    pub const FPSCR: Self = Self(0x102F);
    /// `DAWR0` (0x1030): Data address watchpoint register 0.
    pub const DAWR0: Self = Self(0x1030);
    /// `DAWR1` (0x1031): Data address watchpoint register 1.
    pub const DAWR1: Self = Self(0x1031);
    /// `CIABR` (0x1032): Completed instruction address breakpoint register.
    pub const CIABR: Self = Self(0x1032);
    /// `PURR` (0x1033): Processor utilisation of resources register.
    pub const PURR: Self = Self(0x1033);
    /// `SPURR` (0x1034): Scaled processor utilisation of resources register.
    pub const SPURR: Self = Self(0x1034);
    /// `IC` (0x1035): Instruction counter.
    pub const IC: Self = Self(0x1035);
    /// `SPRG0` (0x1036): Software-use SPR 0.
    pub const SPRG0: Self = Self(0x1036);
    /// `SPRG1` (0x1037): Software-use SPR 1.
    pub const SPRG1: Self = Self(0x1037);
    /// `SPRG2` (0x1038): Software-use SPR 2.
    pub const SPRG2: Self = Self(0x1038);
    /// `SPRG3` (0x1039): Software-use SPR 3.
    pub const SPRG3: Self = Self(0x1039);
    /// `PPR` (0x103A): Program priority register.
    pub const PPR: Self = Self(0x103A);
    /// `MMCR0` (0x103B): Monitor mode control register 0.
    pub const MMCR0: Self = Self(0x103B);
    /// `MMCR1` (0x103C): Monitor mode control register 1.
    pub const MMCR1: Self = Self(0x103C);
    /// `MMCR2` (0x103D): Monitor mode control register 2.
    pub const MMCR2: Self = Self(0x103D);
    /// `MMCR3` (0x103E): Monitor mode control register 3.
    pub const MMCR3: Self = Self(0x103E);
    /// `MMCRA` (0x103F): Monitor mode control register A.
    pub const MMCRA: Self = Self(0x103F);
    /// `SIER` (0x1040): Sampled instruction event register.
    pub const SIER: Self = Self(0x1040);
    /// `SIER2` (0x1041): Sampled instruction event register 2.
    pub const SIER2: Self = Self(0x1041);
    /// `SIER3` (0x1042): Sampled instruction event register 3.
    pub const SIER3: Self = Self(0x1042);
    /// `BESCR` (0x1043): Branch event status and control register.
    pub const BESCR: Self = Self(0x1043);
    /// `EBBHR` (0x1044): Event-based branch handler register.
    pub const EBBHR: Self = Self(0x1044);
    /// `EBBRR` (0x1045): Event-based branch return register.
    pub const EBBRR: Self = Self(0x1045);
    /// `AMR` (0x1046): Authority mask register.
    pub const AMR: Self = Self(0x1046);
    /// `IAMR` (0x1047): Instruction authority mask register.
    pub const IAMR: Self = Self(0x1047);
    /// `AMOR` (0x1048): Authority mask override register.
    pub const AMOR: Self = Self(0x1048);
    /// `UAMOR` (0x1049): User authority mask override register.
    pub const UAMOR: Self = Self(0x1049);
    /// `SDAR` (0x104A): Sampled data address register.
    pub const SDAR: Self = Self(0x104A);
    /// `SIAR` (0x104B): Sampled instruction address register.
    pub const SIAR: Self = Self(0x104B);
    /// `DSCR` (0x104C): Data stream control register.
    pub const DSCR: Self = Self(0x104C);
    /// `TAR` (0x104D): Target address register.
    pub const TAR: Self = Self(0x104D);
    /// `DEXCR` (0x104E): Dynamic execution control register.
    pub const DEXCR: Self = Self(0x104E);
    /// `HDEXCR` (0x104F): Hypervisor dynamic execution control register.
    pub const HDEXCR: Self = Self(0x104F);
    /// `HASHKEYR` (0x1050): Hash key register.
    pub const HASHKEYR: Self = Self(0x1050);
    /// `HASHPKEYR` (0x1051): Hash privileged key register.
    pub const HASHPKEYR: Self = Self(0x1051);
    /// `CTRL` (0x1052): Control register.
    pub const CTRL: Self = Self(0x1052);
    /// `DPDES` (0x1053): Directed privileged doorbell exception state.
    pub const DPDES: Self = Self(0x1053);
    /// `CR` (0x2000): Condition register.
    pub const CR: Self = Self(0x2000);
    /// `PIDR` (0x2001): Process ID register.
    pub const PIDR: Self = Self(0x2001);
    /// `DSISR` (0x2002): Data storage interrupt status register.
    pub const DSISR: Self = Self(0x2002);
    /// `VSCR` (0x2003): Vector status and control register.
    pub const VSCR: Self = Self(0x2003);
    /// `VRSAVE` (0x2004): VR save register.
    pub const VRSAVE: Self = Self(0x2004);
    /// `DAWRX0` (0x2005): Data address watchpoint register extension 0.
    pub const DAWRX0: Self = Self(0x2005);
    /// `DAWRX1` (0x2006): Data address watchpoint register extension 1.
    pub const DAWRX1: Self = Self(0x2006);
    /// `PMC1` (0x2007): Performance monitor counter 1.
    pub const PMC1: Self = Self(0x2007);
    /// `PMC2` (0x2008): Performance monitor counter 2.
    pub const PMC2: Self = Self(0x2008);
    /// `PMC3` (0x2009): Performance monitor counter 3.
    pub const PMC3: Self = Self(0x2009);
    /// `PMC4` (0x200A): Performance monitor counter 4.
    pub const PMC4: Self = Self(0x200A);
    /// `PMC5` (0x200B): Performance monitor counter 5.
    pub const PMC5: Self = Self(0x200B);
    /// `PMC6` (0x200C): Performance monitor counter 6.
    pub const PMC6: Self = Self(0x200C);
    /// `WORT` (0x200D): Workload optimisation register thread.
    pub const WORT: Self = Self(0x200D);
    /// `PSPB` (0x200E): Problem state priority boost register.
    pub const PSPB: Self = Self(0x200E);
    /// `VSR0` (0x3000): Vector-scalar register 0 (overlays FPR0).
    pub const VSR0: Self = Self(0x3000);
    /// `VSR1` (0x3001): Vector-scalar register 1 (overlays FPR1).
    pub const VSR1: Self = Self(0x3001);
    /// `VSR2` (0x3002): Vector-scalar register 2 (overlays FPR2).
    pub const VSR2: Self = Self(0x3002);
    /// `VSR3` (0x3003): Vector-scalar register 3 (overlays FPR3).
    pub const VSR3: Self = Self(0x3003);
    /// `VSR4` (0x3004): Vector-scalar register 4 (overlays FPR4).
    pub const VSR4: Self = Self(0x3004);
    /// `VSR5` (0x3005): Vector-scalar register 5 (overlays FPR5).
    pub const VSR5: Self = Self(0x3005);
    /// `VSR6` (0x3006): Vector-scalar register 6 (overlays FPR6).
    pub const VSR6: Self = Self(0x3006);
    /// `VSR7` (0x3007): Vector-scalar register 7 (overlays FPR7).
    pub const VSR7: Self = Self(0x3007);
    /// `VSR8` (0x3008): Vector-scalar register 8 (overlays FPR8).
    pub const VSR8: Self = Self(0x3008);
    /// `VSR9` (0x3009): Vector-scalar register 9 (overlays FPR9).
    pub const VSR9: Self = Self(0x3009);
    /// `VSR10` (0x300A): Vector-scalar register 10 (overlays FPR10).
    pub const VSR10: Self = Self(0x300A);
    /// `VSR11` (0x300B): Vector-scalar register 11 (overlays FPR11).
    pub const VSR11: Self = Self(0x300B);
    /// `VSR12` (0x300C): Vector-scalar register 12 (overlays FPR12).
    pub const VSR12: Self = Self(0x300C);
    /// `VSR13` (0x300D): Vector-scalar register 13 (overlays FPR13).
    pub const VSR13: Self = Self(0x300D);
    /// `VSR14` (0x300E): Vector-scalar register 14 (overlays FPR14).
    pub const VSR14: Self = Self(0x300E);
    /// `VSR15` (0x300F): Vector-scalar register 15 (overlays FPR15).
    pub const VSR15: Self = Self(0x300F);
    /// `VSR16` (0x3010): Vector-scalar register 16 (overlays FPR16).
    pub const VSR16: Self = Self(0x3010);
    /// `VSR17` (0x3011): Vector-scalar register 17 (overlays FPR17).
    pub const VSR17: Self = Self(0x3011);
    /// `VSR18` (0x3012): Vector-scalar register 18 (overlays FPR18).
    pub const VSR18: Self = Self(0x3012);
    /// `VSR19` (0x3013): Vector-scalar register 19 (overlays FPR19).
    pub const VSR19: Self = Self(0x3013);
    /// `VSR20` (0x3014): Vector-scalar register 20 (overlays FPR20).
    pub const VSR20: Self = Self(0x3014);
    /// `VSR21` (0x3015): Vector-scalar register 21 (overlays FPR21).
    pub const VSR21: Self = Self(0x3015);
    /// `VSR22` (0x3016): Vector-scalar register 22 (overlays FPR22).
    pub const VSR22: Self = Self(0x3016);
    /// `VSR23` (0x3017): Vector-scalar register 23 (overlays FPR23).
    pub const VSR23: Self = Self(0x3017);
    /// `VSR24` (0x3018): Vector-scalar register 24 (overlays FPR24).
    pub const VSR24: Self = Self(0x3018);
    /// `VSR25` (0x3019): Vector-scalar register 25 (overlays FPR25).
    pub const VSR25: Self = Self(0x3019);
    /// `VSR26` (0x301A): Vector-scalar register 26 (overlays FPR26).
    pub const VSR26: Self = Self(0x301A);
    /// `VSR27` (0x301B): Vector-scalar register 27 (overlays FPR27).
    pub const VSR27: Self = Self(0x301B);
    /// `VSR28` (0x301C): Vector-scalar register 28 (overlays FPR28).
    pub const VSR28: Self = Self(0x301C);
    /// `VSR29` (0x301D): Vector-scalar register 29 (overlays FPR29).
    pub const VSR29: Self = Self(0x301D);
    /// `VSR30` (0x301E): Vector-scalar register 30 (overlays FPR30).
    pub const VSR30: Self = Self(0x301E);
    /// `VSR31` (0x301F): Vector-scalar register 31 (overlays FPR31).
    pub const VSR31: Self = Self(0x301F);
    /// `VSR32` (0x3020): Vector-scalar register 32 (= VR0).
    pub const VSR32: Self = Self(0x3020);
    /// `VSR33` (0x3021): Vector-scalar register 33 (= VR1).
    pub const VSR33: Self = Self(0x3021);
    /// `VSR34` (0x3022): Vector-scalar register 34 (= VR2).
    pub const VSR34: Self = Self(0x3022);
    /// `VSR35` (0x3023): Vector-scalar register 35 (= VR3).
    pub const VSR35: Self = Self(0x3023);
    /// `VSR36` (0x3024): Vector-scalar register 36 (= VR4).
    pub const VSR36: Self = Self(0x3024);
    /// `VSR37` (0x3025): Vector-scalar register 37 (= VR5).
    pub const VSR37: Self = Self(0x3025);
    /// `VSR38` (0x3026): Vector-scalar register 38 (= VR6).
    pub const VSR38: Self = Self(0x3026);
    /// `VSR39` (0x3027): Vector-scalar register 39 (= VR7).
    pub const VSR39: Self = Self(0x3027);
    /// `VSR40` (0x3028): Vector-scalar register 40 (= VR8).
    pub const VSR40: Self = Self(0x3028);
    /// `VSR41` (0x3029): Vector-scalar register 41 (= VR9).
    pub const VSR41: Self = Self(0x3029);
    /// `VSR42` (0x302A): Vector-scalar register 42 (= VR10).
    pub const VSR42: Self = Self(0x302A);
    /// `VSR43` (0x302B): Vector-scalar register 43 (= VR11).
    pub const VSR43: Self = Self(0x302B);
    /// `VSR44` (0x302C): Vector-scalar register 44 (= VR12).
    pub const VSR44: Self = Self(0x302C);
    /// `VSR45` (0x302D): Vector-scalar register 45 (= VR13).
    pub const VSR45: Self = Self(0x302D);
    /// `VSR46` (0x302E): Vector-scalar register 46 (= VR14).
    pub const VSR46: Self = Self(0x302E);
    /// `VSR47` (0x302F): Vector-scalar register 47 (= VR15).
    pub const VSR47: Self = Self(0x302F);
    /// `VSR48` (0x3030): Vector-scalar register 48 (= VR16).
    pub const VSR48: Self = Self(0x3030);
    /// `VSR49` (0x3031): Vector-scalar register 49 (= VR17).
    pub const VSR49: Self = Self(0x3031);
    /// `VSR50` (0x3032): Vector-scalar register 50 (= VR18).
    pub const VSR50: Self = Self(0x3032);
    /// `VSR51` (0x3033): Vector-scalar register 51 (= VR19).
    pub const VSR51: Self = Self(0x3033);
    /// `VSR52` (0x3034): Vector-scalar register 52 (= VR20).
    pub const VSR52: Self = Self(0x3034);
    /// `VSR53` (0x3035): Vector-scalar register 53 (= VR21).
    pub const VSR53: Self = Self(0x3035);
    /// `VSR54` (0x3036): Vector-scalar register 54 (= VR22).
    pub const VSR54: Self = Self(0x3036);
    /// `VSR55` (0x3037): Vector-scalar register 55 (= VR23).
    pub const VSR55: Self = Self(0x3037);
    /// `VSR56` (0x3038): Vector-scalar register 56 (= VR24).
    pub const VSR56: Self = Self(0x3038);
    /// `VSR57` (0x3039): Vector-scalar register 57 (= VR25).
    pub const VSR57: Self = Self(0x3039);
    /// `VSR58` (0x303A): Vector-scalar register 58 (= VR26).
    pub const VSR58: Self = Self(0x303A);
    /// `VSR59` (0x303B): Vector-scalar register 59 (= VR27).
    pub const VSR59: Self = Self(0x303B);
    /// `VSR60` (0x303C): Vector-scalar register 60 (= VR28).
    pub const VSR60: Self = Self(0x303C);
    /// `VSR61` (0x303D): Vector-scalar register 61 (= VR29).
    pub const VSR61: Self = Self(0x303D);
    /// `VSR62` (0x303E): Vector-scalar register 62 (= VR30).
    pub const VSR62: Self = Self(0x303E);
    /// `VSR63` (0x303F): Vector-scalar register 63 (= VR31).
    pub const VSR63: Self = Self(0x303F);
    /// `HDAR` (0xF000): Hypervisor data address register (set by the L0 on an exit).
    pub const HDAR: Self = Self(0xF000);
    /// `HDSISR` (0xF001): Hypervisor data storage interrupt status register (set on an exit).
    pub const HDSISR: Self = Self(0xF001);
    /// `HEIR` (0xF002): Hypervisor emulation instruction register (4 bytes per PAPR and QEMU; Linux declares 8).
    pub const HEIR: Self = Self(0xF002);
    /// `ASDR` (0xF003): Access segment descriptor register (set on an exit).
    pub const ASDR: Self = Self(0xF003);
}

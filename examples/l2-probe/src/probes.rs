//! The probe table: every line the kernel prints, in order, with the value it must show.
//!
//! Each probe is one console line `probe <name> rc=<value as 16 hex digits>`. Most values
//! are an hcall's r3 after `sc 1` (a negative code shows as `ffff…`); names with a dot are
//! a second value of the call before it (an RTAS status, a register read back, elapsed
//! timebase ticks). The expectations are QEMU 10.0's pseries answers (the function that
//! decides is named in each [`Probe::source`]); where QEMU itself would abort, corrupt or
//! ignore the call, the platform's rule differs and [`Probe::on_qemu`] holds what a plain
//! QEMU guest sees instead (checked by running this kernel directly on QEMU, see the
//! README).
//!
//! Arguments: `S` is the kernel's zero-filled scratch (5 pages after the image, 4 KiB
//! aligned); `OUT` = [`OUTSIDE_RAM`]; `base` = the load address.

use crate::papr::msr;
use crate::papr::rc::*;
use crate::papr::rtas::PARAM_ERROR;

/// A guest real address outside any L2's RAM (1 TiB): the "outside RAM" argument.
pub const OUTSIDE_RAM: u64 = 1 << 40;
/// Decrementer value armed before `H_CEDE`: 5 ms at QEMU's 512 MHz timebase.
pub const DEC_DELAY_TICKS: u64 = 2_560_000;
/// Value passed to `H_SET_SPRG0` and expected back from `mfsprg0`: "SPRG0-OK".
pub const SPRG0_MAGIC: u64 = u64::from_be_bytes(*b"SPRG0-OK");
/// The image's magic at offset 8 (see [`crate::kernel`]), also what `H_PAGE_INIT` copy
/// must bring over: "PAPRL2PB".
pub const IMAGE_MAGIC: u64 = u64::from_be_bytes(*b"PAPRL2PB");
/// MSR bits that must be clear at entry: EE, PR, IR, DR, LE (big-endian real mode,
/// supervisor, interrupts off).
pub const ENTRY_MSR_CLEAR: u64 = msr::EE | msr::PR | msr::IR | msr::DR | msr::LE;
/// Flattened device tree magic, read from r3 at entry.
pub const FDT_MAGIC: u64 = 0xD00D_FEED;

/// What a probe's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// This hcall return code exactly.
    Rc(i64),
    /// This value exactly (an RTAS status is sign-extended from 32 bits).
    Eq(u64),
    /// At least this (unsigned).
    AtLeast(u64),
    /// Within `lo..=hi` (unsigned).
    Between(u64, u64),
    /// Even and at least this.
    EvenAtLeast(u64),
    /// `value & mask == 0`.
    Clear(u64),
}

impl Expect {
    /// Whether `value` satisfies the expectation.
    ///
    /// ```
    /// use papr_l2_probe::Expect;
    /// assert!(Expect::Rc(-4).holds(0xFFFF_FFFF_FFFF_FFFC));
    /// assert!(!Expect::EvenAtLeast(2).holds(3));
    /// ```
    pub const fn holds(&self, value: u64) -> bool {
        match *self {
            Expect::Rc(rc) => value == rc as u64,
            Expect::Eq(v) => value == v,
            Expect::AtLeast(v) => value >= v,
            Expect::Between(lo, hi) => lo <= value && value <= hi,
            Expect::EvenAtLeast(v) => value.is_multiple_of(2) && value >= v,
            Expect::Clear(mask) => value & mask == 0,
        }
    }

    /// A value that satisfies the expectation (the lowest one, or 0x40_0000 for
    /// [`Expect::Clear`]): what a perfect run prints, for synthetic consoles.
    ///
    /// ```
    /// use papr_l2_probe::Expect;
    /// for e in [Expect::Rc(-57), Expect::EvenAtLeast(3), Expect::Clear(0xFFF)] {
    ///     assert!(e.holds(e.sample()));
    /// }
    /// ```
    pub const fn sample(&self) -> u64 {
        match *self {
            Expect::Rc(rc) => rc as u64,
            Expect::Eq(v) | Expect::AtLeast(v) | Expect::Between(v, _) => v,
            Expect::EvenAtLeast(v) => v + v % 2,
            Expect::Clear(mask) => 0x40_0000 & !mask,
        }
    }
}

impl core::fmt::Display for Expect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Expect::Rc(rc) => match name(rc) {
                Some(n) => write!(f, "{n} ({rc})"),
                None => write!(f, "rc {rc}"),
            },
            Expect::Eq(v) => write!(f, "{v:#x}"),
            Expect::AtLeast(v) => write!(f, ">= {v}"),
            Expect::Between(lo, hi) => write!(f, "{lo}..={hi}"),
            Expect::EvenAtLeast(v) => write!(f, "even and >= {v}"),
            Expect::Clear(mask) => write!(f, "bits {mask:#x} clear"),
        }
    }
}

/// Who answers the kernel's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// The L1's platform (`papr-platform` in `pseries-vmm`) with QEMU as the L0.
    #[default]
    Platform,
    /// QEMU itself: the kernel booted as a plain pseries guest (no L1).
    QemuDirect,
}

/// One console line the kernel prints and its expected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The name in `probe <name> rc=…`.
    pub name: &'static str,
    /// The call and its arguments, in short.
    pub call: &'static str,
    /// Expected value under the platform.
    pub expect: Expect,
    /// Expected value on plain QEMU, when it differs.
    pub on_qemu: Option<Expect>,
    /// Where the expectation comes from (QEMU file and function, or the platform's rule).
    pub source: &'static str,
}

impl Probe {
    /// The expectation for `target`.
    pub const fn expect_for(&self, target: Target) -> Expect {
        match (target, self.on_qemu) {
            (Target::QemuDirect, Some(e)) => e,
            _ => self.expect,
        }
    }
}

const fn p(name: &'static str, call: &'static str, expect: Expect, source: &'static str) -> Probe {
    Probe {
        name,
        call,
        expect,
        on_qemu: None,
        source,
    }
}

const fn differs(
    name: &'static str,
    call: &'static str,
    expect: Expect,
    on_qemu: Expect,
    source: &'static str,
) -> Probe {
    Probe {
        name,
        call,
        expect,
        on_qemu: Some(on_qemu),
        source,
    }
}

const RTAS_ERR: Expect = Expect::Eq(PARAM_ERROR as i64 as u64);
const SET_MODE: &str = "spapr_hcall.c h_set_mode";
const LE: &str = "spapr_hcall.c h_set_mode_resource_le";
const AIL: &str = "spapr_hcall.c h_set_mode_resource_addr_trans_mode";
const VTY: &str = "spapr_vty.c h_put_term_char/h_get_term_char: vty_lookup fails -> H_PARAMETER, len > 16 -> H_PARAMETER";
const PRTB: &str = "spapr_hcall.c h_register_process_table";
const VPA: &str = "spapr_hcall.c h_register_vpa/register_vpa";
const PAGE: &str = "spapr_hcall.c h_page_init";
const DISPATCH: &str = "unknown opcode: spapr_hcall.c spapr_hypercall -> H_FUNCTION";
const RTAS_CALL: &str = "spapr_hcall.c h_rtas + spapr_rtas.c spapr_rtas_call";
const TOD: &str = "spapr_rtc.c rtas_get_time_of_day";

/// Every probe, in the order the kernel prints them. `probe-done <PROBES.len()>` follows,
/// then RTAS `power-off` (nargs 2, nret 1) ends the run.
pub const PROBES: &[Probe] = &[
    p("set-mode-be", "H_SET_MODE(0, LE, 0, 0): big-endian interrupts", Expect::Rc(H_SUCCESS), LE),
    p("load-base", "the load address (bcl/mflr)", Expect::Clear(0xFFF), "ELF p_align 0x1000"),
    p("entry-msr", "MSR at entry", Expect::Clear(ENTRY_MSR_CLEAR), "spec linux-l2.md 1.2: EE, PR, IR, DR, LE clear"),
    p("entry-r5", "r5 at entry", Expect::Eq(0), "spec linux-l2.md 1.1: r5 = 0 (no Open Firmware)"),
    p("entry-dtb-magic", "be32 at r3 (the device tree)", Expect::Eq(FDT_MAGIC), "devicetree spec: FDT header magic"),
    p("set-mode-le-bad-mflags", "H_SET_MODE(2, LE, 0, 0)", Expect::Rc(H_UNSUPPORTED_FLAG), LE),
    p("set-mode-le-value1", "H_SET_MODE(0, LE, 1, 0)", Expect::Rc(H_P3), LE),
    p("set-mode-unknown-resource", "H_SET_MODE(0, 99, 0, 0)", Expect::Rc(H_P2), SET_MODE),
    p("set-mode-ail-1", "H_SET_MODE(1, ADDR_TRANS_MODE, 0, 0)", Expect::Rc(H_UNSUPPORTED_FLAG), AIL),
    p("set-mode-ail-2", "H_SET_MODE(2, ADDR_TRANS_MODE, 0, 0): AIL 2 is reserved on POWER10", Expect::Rc(H_UNSUPPORTED_FLAG), AIL),
    p("set-mode-ail-value1", "H_SET_MODE(0, ADDR_TRANS_MODE, 1, 0)", Expect::Rc(H_P3), AIL),
    p("put-term-char-len-17", "H_PUT_TERM_CHAR(0, 17, ..)", Expect::Rc(H_PARAMETER), VTY),
    p("put-term-char-len-huge", "H_PUT_TERM_CHAR(0, u64::MAX, ..)", Expect::Rc(H_PARAMETER), VTY),
    p("put-term-char-bad-vterm", "H_PUT_TERM_CHAR(0x12345678, 1, ..)", Expect::Rc(H_PARAMETER), VTY),
    p("get-term-char-bad-vterm", "H_GET_TERM_CHAR(0x12345678)", Expect::Rc(H_PARAMETER), VTY),
    p("proc-tbl-reserved-flags", "H_REGISTER_PROC_TBL(0x3D, S, 0, 0)", Expect::Rc(H_PARAMETER), PRTB),
    p("proc-tbl-base-unaligned", "H_REGISTER_PROC_TBL(0x1D, S+0x800, 0, 0)", Expect::Rc(H_P2), PRTB),
    p("proc-tbl-base-high", "H_REGISTER_PROC_TBL(0x1D, 1<<60, 0, 0)", Expect::Rc(H_P2), PRTB),
    p("proc-tbl-page-size", "H_REGISTER_PROC_TBL(0x1D, S, 1, 0)", Expect::Rc(H_P3), PRTB),
    p("proc-tbl-size-25", "H_REGISTER_PROC_TBL(0x1D, S, 0, 25)", Expect::Rc(H_P4), PRTB),
    differs("proc-tbl-size-8m", "H_REGISTER_PROC_TBL(0x1D, S, 0, 11): an 8 MiB table", Expect::Rc(H_P4), Expect::Rc(H_SUCCESS),
        "platform: QEMU's nested L0 aborts on any process table but 4 KiB or 16 MiB (spapr_nested.c copy_state_proctbl); plain QEMU accepts it"),
    differs("proc-tbl-hash", "H_REGISTER_PROC_TBL(0x18, 0, 0, 0): a hash table", Expect::Rc(H_PARAMETER), Expect::Rc(H_SUCCESS),
        "platform: an L2 under nestedv2 is radix-only (spec 3.2); plain QEMU switches the guest to hash"),
    p("proc-tbl-ok", "H_REGISTER_PROC_TBL(0x1D, S, 0, 0): 4 KiB radix table", Expect::Rc(H_SUCCESS), PRTB),
    p("vpa-bad-cpu", "H_REGISTER_VPA(REGISTER, 0x1234, S+0x1000)", Expect::Rc(H_PARAMETER), VPA),
    p("vpa-bad-subfunc", "H_REGISTER_VPA(4<<45, 0, S+0x1000)", Expect::Rc(H_PARAMETER), VPA),
    p("vpa-zero", "H_REGISTER_VPA(REGISTER, 0, 0)", Expect::Rc(H_HARDWARE), "spapr_hcall.c register_vpa: vpa == 0 -> H_HARDWARE"),
    p("vpa-outside-ram", "H_REGISTER_VPA(REGISTER, 0, OUT)", Expect::Rc(H_PARAMETER), VPA),
    p("vpa-unaligned", "H_REGISTER_VPA(REGISTER, 0, S+0x1040): not 128-byte aligned", Expect::Rc(H_PARAMETER), VPA),
    p("vpa-size-small", "H_REGISTER_VPA(REGISTER, 0, S+0x1000) with size 639", Expect::Rc(H_PARAMETER), VPA),
    p("vpa-cross-4k", "H_REGISTER_VPA(REGISTER, 0, S+0x1F80) with size 640", Expect::Rc(H_PARAMETER), VPA),
    p("vpa-ok", "H_REGISTER_VPA(REGISTER, 0, S+0x1000) with size 640", Expect::Rc(H_SUCCESS), VPA),
    p("page-init-bad-flags", "H_PAGE_INIT(1, S+0x2000, 0)", Expect::Rc(H_PARAMETER), PAGE),
    p("page-init-unaligned", "H_PAGE_INIT(ZERO, S+0x2800, 0)", Expect::Rc(H_PARAMETER), PAGE),
    p("page-init-outside-ram", "H_PAGE_INIT(ZERO, OUT, 0)", Expect::Rc(H_PARAMETER), PAGE),
    p("page-init-copy-bad-src", "H_PAGE_INIT(COPY, S+0x2000, OUT)", Expect::Rc(H_PARAMETER), PAGE),
    p("page-init-zero", "H_PAGE_INIT(ZERO, S+0x2000, 0)", Expect::Rc(H_SUCCESS), PAGE),
    p("page-init-zero.word", "be64 at S+0x2800 (was non-zero)", Expect::Eq(0), PAGE),
    p("page-init-copy", "H_PAGE_INIT(COPY, S+0x2000, base)", Expect::Rc(H_SUCCESS), PAGE),
    p("page-init-copy.word", "be64 at S+0x2008 (the image magic)", Expect::Eq(IMAGE_MAGIC), PAGE),
    p("set-sprg0", "H_SET_SPRG0(\"SPRG0-OK\")", Expect::Rc(H_SUCCESS), "spapr_hcall.c h_set_sprg0"),
    p("set-sprg0.readback", "mfsprg0", Expect::Eq(SPRG0_MAGIC), "spapr_hcall.c h_set_sprg0"),
    p("set-dabr", "H_SET_DABR(0x1007)", Expect::Rc(H_HARDWARE), "spapr_hcall.c h_set_dabr: POWER9/10 have no DABR"),
    p("set-xdabr", "H_SET_XDABR(0x1007, 3)", Expect::Rc(H_HARDWARE), "spapr_hcall.c h_set_xdabr: POWER9/10 have no DABR"),
    p("hcall-unknown", "hcall 0x7FFC", Expect::Rc(H_FUNCTION), DISPATCH),
    p("hcall-unaligned-nr", "hcall 0x59 (H_PUT_TERM_CHAR + 1)", Expect::Rc(H_FUNCTION), DISPATCH),
    p("hcall-guest-create", "H_GUEST_CREATE(0, -1) from the L2", Expect::Rc(H_FUNCTION), "platform: an L2 gets no Nested API; QEMU without cap-nested-papr: unregistered"),
    p("cede", "H_CEDE with DEC = 5 ms", Expect::Rc(H_SUCCESS), "spapr_hcall.c h_cede"),
    p("cede.ticks", "mftb after - before", Expect::AtLeast(DEC_DELAY_TICKS), "h_cede halts until the decrementer interrupt is pending"),
    p("cede.dispatch", "VPA dispatch counter after - before", Expect::EvenAtLeast(2), "spapr.c vhyp cpu_exec_enter/exit; spec linux-l2.md 8.10"),
    p("rtas-args-outside-ram", "0xF000(OUT)", Expect::Rc(H_PARAMETER), "spapr_rtas_call: the block reads as token 0, unknown -> H_PARAMETER"),
    p("rtas-unknown-token", "0xF000: token 0x2FFF, 0 args, 1 ret", Expect::Rc(H_PARAMETER), RTAS_CALL),
    p("rtas-unknown-token.status", "rets[0]", RTAS_ERR, RTAS_CALL),
    p("rtas-nargs-too-large", "0xF000: get-time-of-day, 17 args, 8 rets", Expect::Rc(H_SUCCESS), TOD),
    p("rtas-nargs-too-large.status", "rets[0]", RTAS_ERR, TOD),
    p("rtas-nret-off-ram", "0xF000: get-time-of-day, 0 args, 0x3FFFFFFF rets", Expect::Rc(H_SUCCESS), TOD),
    p("rtas-nret-off-ram.status", "rets[0]", RTAS_ERR, TOD),
    differs("rtas-nargs-off-ram", "0xF000: get-time-of-day, 0x3FFFFFFF args: rets[0] 4 GiB past the block", Expect::Rc(H_PARAMETER), Expect::Rc(H_SUCCESS),
        "platform: rets[0] is not in RAM; plain QEMU writes the status to unassigned memory and answers H_SUCCESS"),
    p("rtas-power-off-bad-args", "0xF000: power-off, 0 args, 1 ret", Expect::Rc(H_SUCCESS), "spapr_rtas.c rtas_power_off"),
    p("rtas-power-off-bad-args.status", "rets[0]: the run goes on", RTAS_ERR, "spapr_rtas.c rtas_power_off: nargs != 2 -> RTAS_OUT_PARAM_ERROR"),
    p("rtas-tod", "0xF000: get-time-of-day, 0 args, 8 rets", Expect::Rc(H_SUCCESS), TOD),
    p("rtas-tod.status", "rets[0]", Expect::Eq(0), TOD),
    p("rtas-tod.year", "rets[1]", Expect::Between(2024, 2200), TOD),
    p("rtas-tod.month", "rets[2]", Expect::Between(1, 12), TOD),
];

/// The probe called `name`.
pub fn find(name: &str) -> Option<&'static Probe> {
    PROBES.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_printable() {
        for (i, a) in PROBES.iter().enumerate() {
            assert!(
                PROBES[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
            assert!(a.name.bytes().all(|c| c.is_ascii_graphic()), "{}", a.name);
            assert!(a.name.len() < 40);
            assert!(!a.source.is_empty());
        }
    }

    #[test]
    fn expectations_hold_for_their_own_values() {
        assert!(Expect::Rc(H_P4).holds(-57i64 as u64));
        assert!(!Expect::Rc(H_P4).holds(57));
        assert!(Expect::Between(2024, 2200).holds(2026));
        assert!(!Expect::Between(2024, 2200).holds(1970));
        assert!(Expect::AtLeast(10).holds(10));
        assert!(!Expect::AtLeast(10).holds(9));
        assert!(Expect::EvenAtLeast(2).holds(4));
        assert!(!Expect::EvenAtLeast(2).holds(0));
        assert!(Expect::Clear(0xFFF).holds(0x40_0000));
        assert!(!Expect::Clear(0xFFF).holds(0x40_0800));
        assert_eq!(alloc::format!("{}", Expect::Rc(H_P2)), "H_P2 (-55)");
        let hash = find("proc-tbl-hash").unwrap();
        assert_eq!(hash.expect_for(Target::Platform), Expect::Rc(H_PARAMETER));
        assert_eq!(hash.expect_for(Target::QemuDirect), Expect::Rc(H_SUCCESS));
        assert_eq!(
            find("cede").unwrap().expect_for(Target::QemuDirect),
            Expect::Rc(0)
        );
    }
}

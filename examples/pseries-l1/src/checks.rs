//! The checks of issue 9, through `papr_hcall::NestedHv` over `sc 1`: what the L0 answers to
//! a correct sequence of Nested APIv2 calls and to out-of-order and repeated ones (expected
//! values: `qemu-pseries.md`), one `ok`/`FAIL` line per check. The requests `NestedHv` must
//! refuse before they reach the L0 (they would kill QEMU) are shown as `figure` lines: the
//! L1 judging its own refusal is no check of the L0 (papr-hcall's tests judge it).

use crate::l2host::Hv;
use alloc::format;
use core::fmt;
use papr_baremetal::println;
use papr_gsb::{GsbBuilder, GuestStateId, LogicalPvr};
use papr_hcall::{
    Capabilities, GuestId, HcallError, L1RealAddr, Negotiated, Refusal, ReturnCode, Target, VcpuId,
};

/// Counts and prints check results. A check judges something the L0 or an L2 did (a return
/// code, a value the L0 answered, a register the L2 computed, a trap); what the L1 measured
/// or decided on its own is printed with [`figure`] and never counted.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) ok: u32,
    pub(crate) fail: u32,
}

impl Tally {
    /// Prints `ok   name: details` or `FAIL name: details` and counts it; returns `pass`.
    /// `name` is fixed (xtask requires each name exactly once) and holds no `": "`.
    pub(crate) fn check(&mut self, pass: bool, name: &str, details: fmt::Arguments<'_>) -> bool {
        if pass {
            self.ok += 1;
            println!("ok   {name}: {details}");
        } else {
            self.fail += 1;
            println!("FAIL {name}: {details}");
        }
        pass
    }

    /// Checks that the L0 answered `want`.
    fn expect_code<T>(&mut self, name: &str, got: Result<T, HcallError>, want: ReturnCode) {
        let code = got.as_ref().err().and_then(HcallError::return_code);
        let pass = got.is_err() && code == Some(want);
        self.check(
            pass,
            name,
            format_args!("-> {}{}", Rc(&got), Expected(pass, want)),
        );
    }
}

/// Nothing when the check passed, else `, expected {want}`.
struct Expected(bool, ReturnCode);

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected(true, _) => Ok(()),
            Expected(false, want) => write!(f, ", expected {want}"),
        }
    }
}

/// Prints `figure name: details`: something the L1 measured or decided itself, shown as
/// a figure and not counted as a check.
pub(crate) fn figure(name: &str, details: fmt::Arguments<'_>) {
    println!("figure {name}: {details}");
}

/// Shows, as a [`figure`], what `NestedHv` did with a request it must refuse before it
/// reaches the L0 (QEMU would abort or misbehave; `qemu-pseries.md`): the refusal and
/// the hcalls made meanwhile. The refusals themselves are judged by papr-hcall's tests;
/// were one let through, the L0's answer (or QEMU's death) would show here and in the boot.
fn refusal<T>(
    hv: &Hv,
    name: &str,
    f: impl FnOnce(&Hv) -> Result<T, HcallError>,
    expected: fn(&HcallError) -> bool,
) {
    let before = hv.counts().total();
    let got = f(hv);
    let calls = hv.counts().total() - before;
    match got {
        Err(e) if expected(&e) => figure(
            name,
            format_args!("refused by NestedHv, {calls} hcalls: {e}"),
        ),
        Err(e) => figure(
            name,
            format_args!("NOT the expected refusal: {e} ({calls} hcalls)"),
        ),
        Ok(_) => figure(
            name,
            format_args!("NOT refused: the L0 answered H_SUCCESS ({calls} hcalls)"),
        ),
    }
}

/// Shows a result as `0x…` or the error's message.
struct Show<'a, T>(&'a Result<T, HcallError>);

impl<T: fmt::LowerHex> fmt::Display for Show<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) => write!(f, "{v:#x}"),
            Err(e) => write!(f, "{e}"),
        }
    }
}

/// Shows a result as `H_SUCCESS` or the error's message.
struct Rc<'a, T>(&'a Result<T, HcallError>);

impl<T> fmt::Display for Rc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(_) => f.write_str("H_SUCCESS"),
            Err(e) => write!(f, "{e}"),
        }
    }
}

/// A one-element guest-wide GSB: a request for `id` (`value` = `None`) or a u32 value.
fn one(buf: &mut [u8], id: GuestStateId, value: Option<u32>) -> usize {
    GsbBuilder::new(buf)
        .and_then(|mut b| {
            match value {
                Some(v) => b.put_u32(id, v)?,
                None => b.put_request(id)?,
            }
            Ok(b.finish())
        })
        .unwrap_or(0)
}

/// Reads one guest-wide id as a big-endian number.
fn get_guest_wide(
    hv: &Hv,
    at: L1RealAddr,
    guest: GuestId,
    id: GuestStateId,
) -> Result<u64, HcallError> {
    let mut buf = [0u8; 64];
    let len = one(&mut buf, id, None);
    let gsb = hv.get_state(Target::guest(guest), &mut buf[..len], at)?;
    let bytes = gsb.get(id).map(|e| e.value_bytes()).unwrap_or(&[]);
    Ok(bytes.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The checks before capabilities are set (they must come first: `NestedHost::negotiate`
/// sets them). Prints one line each.
pub fn before_negotiate(t: &mut Tally, hv: &Hv) {
    // Capabilities, and what comes out of order before them.
    let offered = hv.get_capabilities();
    t.check(
        offered.is_ok_and(|c| c.contains(Capabilities::POWER10)),
        "GET_CAPABILITIES",
        format_args!("-> {} (POWER10 mode offered)", Show(&offered.map(|c| c.0))),
    );
    t.expect_code(
        "CREATE before SET_CAPABILITIES",
        hv.create_guest(),
        ReturnCode::State,
    );
    t.expect_code(
        "SET_CAPABILITIES(0)",
        hv.set_capabilities(Capabilities(0)),
        ReturnCode::P2,
    );
}

/// The lifecycle checks after `NestedHost::negotiate` set capabilities `n`, through the
/// host's hcall API. Prints one line each.
pub fn after_negotiate(t: &mut Tally, hv: &Hv, n: Negotiated) {
    // One page of the L0 window that the L0 reads GSBs from and writes answers to (no Rust
    // object lives there: IdentityMemory's contract).
    let Some(page) = crate::l2host::l1_memory(4096, 4096) else {
        t.check(
            false,
            "L1 setup",
            format_args!("no room in the L0 window for the GSB page"),
        );
        return;
    };
    let at = L1RealAddr(page);
    let start = hv.counts().total();
    t.expect_code(
        "SET_CAPABILITIES again",
        hv.set_capabilities(n.set),
        ReturnCode::State,
    );

    // A guest and its vCPUs.
    let created = hv.create_guest();
    t.check(
        created.is_ok(),
        "CREATE",
        format_args!(
            "-> {}",
            created
                .as_ref()
                .map_or_else(|e| format!("{e}"), |g| format!("H_SUCCESS, guest {}", g.0))
        ),
    );
    let Ok(g) = created else {
        return;
    };
    for (v, name) in [(0, "CREATE_VCPU(vCPU 0)"), (1, "CREATE_VCPU(vCPU 1)")] {
        let r = hv.create_vcpu(g, VcpuId(v));
        t.check(r.is_ok(), name, format_args!("guest {} -> {}", g.0, Rc(&r)));
    }
    t.expect_code(
        "CREATE_VCPU(vCPU 1) again",
        hv.create_vcpu(g, VcpuId(1)),
        ReturnCode::InUse,
    );
    t.expect_code(
        "CREATE_VCPU(vCPU 0) again",
        hv.create_vcpu(g, VcpuId(0)),
        ReturnCode::InUse,
    );
    refusal(
        hv,
        "CREATE_VCPU(vCPU 3) out of order",
        |hv| hv.create_vcpu(g, VcpuId(3)),
        |e| {
            matches!(
                e,
                HcallError::Refused {
                    reason: Refusal::VcpuOutOfOrder { next: 2, .. },
                    ..
                }
            )
        },
    );

    // Guest-wide state.
    let min = get_guest_wide(hv, at, g, GuestStateId::RUN_OUTPUT_MIN_SIZE);
    t.check(
        min.as_ref().is_ok_and(|v| (0x80..=16384).contains(v)),
        "GET RUN_OUTPUT_MIN_SIZE",
        format_args!("-> {} (0x80..=16384 expected)", Show(&min)),
    );
    let pvr = get_guest_wide(hv, at, g, GuestStateId::LOGICAL_PVR);
    t.check(
        pvr.as_ref().is_ok_and(|v| *v != 0),
        "GET LOGICAL_PVR (default)",
        format_args!("-> {}", Show(&pvr)),
    );
    let LogicalPvr(want) = n.mode.logical_pvr();
    let mut buf = [0u8; 64];
    let len = one(&mut buf, GuestStateId::LOGICAL_PVR, Some(want));
    let set = hv.set_state(Target::guest(g), &buf[..len], at);
    t.check(
        set.is_ok(),
        "SET LOGICAL_PVR",
        format_args!("= {want:#010x} ({:?}) -> {}", n.mode, Rc(&set)),
    );
    let back = get_guest_wide(hv, at, g, GuestStateId::LOGICAL_PVR);
    t.check(
        back == Ok(u64::from(want)),
        "GET LOGICAL_PVR read back",
        format_args!("-> {} (set {want:#x})", Show(&back)),
    );
    // One element announced, LOGICAL_PVR with a 2-byte value: QEMU would answer H_P3.
    let bad = [0, 0, 0, 1, 0x00, 0x03, 0x00, 0x02, 0x12, 0x34];
    refusal(
        hv,
        "SET_STATE of a malformed GSB",
        |hv| hv.set_state(Target::guest(g), &bad, at),
        |e| matches!(e, HcallError::Buffer { .. }),
    );
    refusal(
        hv,
        "GET_STATE of PARTITION_TABLE",
        |hv| {
            let mut buf = [0u8; 64];
            let len = GsbBuilder::new(&mut buf)
                .and_then(|mut b| {
                    b.put_request(GuestStateId::PARTITION_TABLE)
                        .map(|()| b.finish())
                })
                .unwrap_or(0);
            hv.get_state(Target::guest(g), &mut buf[..len], at)
                .map(|_| ())
        },
        |e| {
            matches!(
                e,
                HcallError::Refused {
                    reason: Refusal::GetOfSetOnlyId { .. },
                    ..
                }
            )
        },
    );

    // Running before the vCPU is set up.
    t.expect_code(
        "RUN_VCPU(flags=external interrupt)",
        hv.run_vcpu_with(g, VcpuId(0), papr_hcall::RunFlags::EXTERNAL_INTERRUPT),
        ReturnCode::Parameter,
    );
    t.expect_code(
        "RUN_VCPU before run buffers",
        hv.run_vcpu(g, VcpuId(0)),
        ReturnCode::P3,
    );
    refusal(
        hv,
        "RUN_VCPU(vCPU 2) never created",
        |hv| hv.run_vcpu(g, VcpuId(2)),
        |e| {
            matches!(
                e,
                HcallError::Refused {
                    reason: Refusal::NoSuchVcpu { .. },
                    ..
                }
            )
        },
    );

    // Delete.
    refusal(
        hv,
        "DELETE all guests",
        |hv| hv.delete_all_guests(),
        |e| {
            matches!(
                e,
                HcallError::Refused {
                    reason: Refusal::DeleteAll,
                    ..
                }
            )
        },
    );
    let r = hv.delete_guest(g);
    t.check(
        r.is_ok(),
        "DELETE",
        format_args!("guest {} -> {}", g.0, Rc(&r)),
    );
    t.expect_code("DELETE again", hv.delete_guest(g), ReturnCode::P2);
    t.expect_code(
        "SET_STATE on the deleted guest",
        hv.set_state(Target::guest(g), &buf[..len], at),
        ReturnCode::P2,
    );
    refusal(
        hv,
        "CREATE_VCPU on the deleted guest",
        |hv| hv.create_vcpu(g, VcpuId(2)),
        |e| {
            matches!(
                e,
                HcallError::Refused {
                    reason: Refusal::UnknownGuest { .. },
                    ..
                }
            )
        },
    );
    figure(
        "lifecycle hcalls",
        format_args!(
            "{} hcalls made by the lifecycle checks",
            hv.counts().total() - start
        ),
    );
}

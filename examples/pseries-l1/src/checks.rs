//! The checks of issue 9, through `papr_hcall::NestedHv` over `sc 1`: what the L0 answers to
//! a correct sequence of Nested APIv2 calls and to out-of-order and repeated ones (expected
//! values: `qemu-pseries.md`), plus the requests `NestedHv` must refuse before they reach the
//! L0 (they would kill QEMU). One line per check.

use crate::l2host::Hv;
use alloc::alloc::{alloc_zeroed, Layout};
use core::fmt;
use papr_baremetal::println;
use papr_gsb::{GsbBuilder, GuestStateId, LogicalPvr};
use papr_hcall::{
    Capabilities, GuestId, HcallError, L1RealAddr, Negotiated, Refusal, ReturnCode, Target, VcpuId,
};

/// Counts and prints check results.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) ok: u32,
    pub(crate) fail: u32,
}

impl Tally {
    /// Prints `ok   what` or `FAIL what` and counts it; returns `pass`.
    pub(crate) fn check(&mut self, pass: bool, what: fmt::Arguments<'_>) -> bool {
        if pass {
            self.ok += 1;
            println!("ok   {what}");
        } else {
            self.fail += 1;
            println!("FAIL {what}");
        }
        pass
    }

    /// Checks that the L0 answered `want`.
    fn expect_code<T>(&mut self, what: &str, got: Result<T, HcallError>, want: ReturnCode) {
        let code = got.as_ref().err().and_then(HcallError::return_code);
        match got {
            Err(_) if code == Some(want) => self.check(true, format_args!("{what} -> {want}")),
            Ok(_) => self.check(false, format_args!("{what} -> H_SUCCESS, expected {want}")),
            Err(e) => self.check(false, format_args!("{what} -> {e}, expected {want}")),
        };
    }

    /// Checks that `NestedHv` refused the request for `reason` without making an hcall.
    fn expect_refused<T>(
        &mut self,
        hv: &mut Hv,
        what: &str,
        f: impl FnOnce(&mut Hv) -> Result<T, HcallError>,
        reason: fn(&Refusal) -> bool,
    ) {
        let before = hv.counts().total();
        let got = f(hv);
        let calls = hv.counts().total() - before;
        match got {
            Err(HcallError::Refused { reason: r, .. }) if reason(&r) && calls == 0 => {
                self.check(true, format_args!("{what} refused, no hcall: {r}"))
            }
            Err(e) => self.check(false, format_args!("{what} -> {e} ({calls} hcalls)")),
            Ok(_) => self.check(
                false,
                format_args!("{what} -> H_SUCCESS, expected a refusal"),
            ),
        };
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
    hv: &mut Hv,
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
pub fn before_negotiate(t: &mut Tally, hv: &mut Hv) {
    // Capabilities, and what comes out of order before them.
    let offered = hv.get_capabilities();
    t.check(
        offered.is_ok_and(|c| c.contains(Capabilities::POWER10)),
        format_args!(
            "GET_CAPABILITIES -> {} (POWER10 mode offered)",
            Show(&offered.map(|c| c.0))
        ),
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
pub fn after_negotiate(t: &mut Tally, hv: &mut Hv, n: Negotiated) {
    // One page of L1 memory that the L0 reads GSBs from and writes answers to. Only raw
    // pointers ever point into it (IdentityMemory's contract).
    let page = Layout::from_size_align(4096, 4096).map_or(core::ptr::null_mut(), |l| {
        // SAFETY: the layout has a non-zero size.
        unsafe { alloc_zeroed(l) }
    });
    if page.is_null() {
        t.check(false, format_args!("allocate the GSB page"));
        return;
    }
    let at = L1RealAddr(page as u64);
    let start = hv.counts().total();
    t.expect_code(
        "SET_CAPABILITIES again",
        hv.set_capabilities(n.set),
        ReturnCode::State,
    );

    // A guest and its vCPUs.
    let g = match hv.create_guest() {
        Ok(g) => {
            t.check(true, format_args!("CREATE -> H_SUCCESS, guest {}", g.0));
            g
        }
        Err(e) => {
            t.check(false, format_args!("CREATE -> {e}"));
            return;
        }
    };
    for v in [0, 1] {
        let r = hv.create_vcpu(g, VcpuId(v));
        t.check(
            r.is_ok(),
            format_args!("CREATE_VCPU(guest {}, vCPU {v}) -> {}", g.0, Rc(&r)),
        );
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
    t.expect_refused(
        hv,
        "CREATE_VCPU(vCPU 3) out of order",
        |hv| hv.create_vcpu(g, VcpuId(3)),
        |r| matches!(r, Refusal::VcpuOutOfOrder { next: 2, .. }),
    );

    // Guest-wide state.
    let min = get_guest_wide(hv, at, g, GuestStateId::RUN_OUTPUT_MIN_SIZE);
    t.check(
        min.as_ref().is_ok_and(|v| (0x80..=16384).contains(v)),
        format_args!("GET RUN_OUTPUT_MIN_SIZE -> {}", Show(&min)),
    );
    let pvr = get_guest_wide(hv, at, g, GuestStateId::LOGICAL_PVR);
    t.check(
        pvr.as_ref().is_ok_and(|v| *v != 0),
        format_args!("GET LOGICAL_PVR (default) -> {}", Show(&pvr)),
    );
    let LogicalPvr(want) = n.mode.logical_pvr();
    let mut buf = [0u8; 64];
    let len = one(&mut buf, GuestStateId::LOGICAL_PVR, Some(want));
    let set = hv.set_state(Target::guest(g), &buf[..len], at);
    t.check(
        set.is_ok(),
        format_args!(
            "SET LOGICAL_PVR = {want:#010x} ({:?}) -> {}",
            n.mode,
            Rc(&set)
        ),
    );
    let back = get_guest_wide(hv, at, g, GuestStateId::LOGICAL_PVR);
    t.check(
        back == Ok(u64::from(want)),
        format_args!("GET LOGICAL_PVR read back -> {}", Show(&back)),
    );
    // One element announced, LOGICAL_PVR with a 2-byte value: QEMU would answer H_P3.
    let bad = [0, 0, 0, 1, 0x00, 0x03, 0x00, 0x02, 0x12, 0x34];
    let before = hv.counts().total();
    let r = hv.set_state(Target::guest(g), &bad, at);
    let sent = hv.counts().total() - before;
    t.check(
        matches!(r, Err(HcallError::Buffer { .. })) && sent == 0,
        format_args!(
            "SET_STATE of a malformed GSB refused, {sent} hcalls: {}",
            Rc(&r)
        ),
    );
    t.expect_refused(
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
        |r| matches!(r, Refusal::GetOfSetOnlyId { .. }),
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
    t.expect_refused(
        hv,
        "RUN_VCPU(vCPU 2) never created",
        |hv| hv.run_vcpu(g, VcpuId(2)),
        |r| matches!(r, Refusal::NoSuchVcpu { .. }),
    );

    // Delete.
    t.expect_refused(
        hv,
        "DELETE all guests",
        |hv| hv.delete_all_guests(),
        |r| matches!(r, Refusal::DeleteAll),
    );
    let r = hv.delete_guest(g);
    t.check(
        r.is_ok(),
        format_args!("DELETE(guest {}) -> {}", g.0, Rc(&r)),
    );
    t.expect_code("DELETE again", hv.delete_guest(g), ReturnCode::P2);
    t.expect_code(
        "SET_STATE on the deleted guest",
        hv.set_state(Target::guest(g), &buf[..len], at),
        ReturnCode::P2,
    );
    t.expect_refused(
        hv,
        "CREATE_VCPU on the deleted guest",
        |hv| hv.create_vcpu(g, VcpuId(2)),
        |r| matches!(r, Refusal::UnknownGuest { .. }),
    );
    println!(
        "  {} hcalls made by the lifecycle checks",
        hv.counts().total() - start
    );
}

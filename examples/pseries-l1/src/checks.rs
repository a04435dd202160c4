//! The checks of issue 9: what the L0 answers to a correct sequence of Nested APIv2 calls and
//! to out-of-order and repeated ones (expected values: `qemu-pseries.md`). One line per check.

use crate::println;
use crate::raw::{self, GUEST_WIDE};
use alloc::vec;
use core::fmt;
use papr_gsb::{Gsb, GsbBuilder, GuestStateId, Policy, Scope};

const H_PARAMETER: i64 = -4;
const H_P2: i64 = -55;
const H_P3: i64 = -56;
const H_STATE: i64 = -75;
const H_IN_USE: i64 = -77;
const H_UNSUPPORTED_FLAG: i64 = -256;
/// Capability bits: POWER9, POWER10, POWER11 modes.
const CAP_MODES: u64 = 0x7000_0000_0000_0000;
const CAP_P10: u64 = 0x2000_0000_0000_0000;
/// The logical PVR of POWER10 compatibility mode (architected, `PVR_ARCH_31`).
const PVR_ARCH_31: u32 = 0x0f00_0006;

/// Counts and prints check results.
#[derive(Debug, Default)]
struct Tally {
    ok: u32,
    fail: u32,
}

impl Tally {
    fn check(&mut self, pass: bool, what: fmt::Arguments<'_>) -> bool {
        if pass {
            self.ok += 1;
            println!("ok   {what}");
        } else {
            self.fail += 1;
            println!("FAIL {what}");
        }
        pass
    }

    /// Checks that `got` is the error `want`.
    fn expect_err(&mut self, what: &str, got: Result<u64, i64>, want: i64) {
        if got == Err(want) {
            self.check(true, format_args!("{what} -> {}", Rc(got)));
        } else {
            let want = Rc(Err(want));
            self.check(
                false,
                format_args!("{what} -> {}, expected {want}", Rc(got)),
            );
        }
    }
}

/// Shows an hcall result as its PAPR name.
struct Rc(Result<u64, i64>);

impl fmt::Display for Rc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rc = match self.0 {
            Ok(_) => return f.write_str("H_SUCCESS"),
            Err(rc) => rc,
        };
        let name = match rc {
            H_PARAMETER => "H_PARAMETER",
            H_P2 => "H_P2",
            H_P3 => "H_P3",
            H_STATE => "H_STATE",
            H_IN_USE => "H_IN_USE",
            H_UNSUPPORTED_FLAG => "H_UNSUPPORTED_FLAG",
            -2 => "H_FUNCTION",
            3 => "H_NOT_AVAILABLE",
            _ => "?",
        };
        write!(f, "{name} ({rc})")
    }
}

/// Reads one guest-wide id of the guest; `Err` is the hcall status (or 0 for a bad answer).
fn get_guest_wide(guest: u64, id: GuestStateId) -> Result<u64, i64> {
    let mut buf = vec![0u8; 64];
    let len = {
        let mut b = GsbBuilder::new(&mut buf).map_err(|_| 0i64)?;
        b.put_request(id).map_err(|_| 0i64)?;
        b.finish()
    };
    raw::get_state(GUEST_WIDE, guest, 0, &mut buf[..len])?;
    let gsb = Gsb::parse(&buf[..len], &Policy::l1_answer(Scope::Guest)).map_err(|_| 0i64)?;
    let bytes = gsb.get(id).ok_or(0i64)?.value_bytes();
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Runs every check, printing one line each; returns (ok, FAIL) counts.
pub fn run() -> (u32, u32) {
    let mut t = Tally::default();

    // Capabilities.
    t.expect_err(
        "GET_CAPABILITIES(flags=1)",
        raw::get_capabilities(1),
        H_PARAMETER,
    );
    let got = raw::get_capabilities(0);
    let caps = got.unwrap_or(0);
    t.check(
        caps & CAP_P10 != 0,
        format_args!(
            "GET_CAPABILITIES(0) -> {}, {caps:#x} (POWER10 mode offered)",
            Rc(got)
        ),
    );
    t.expect_err(
        "CREATE before SET_CAPABILITIES",
        raw::create_guest(),
        H_STATE,
    );
    t.expect_err("SET_CAPABILITIES(0)", raw::set_capabilities(0), H_P2);
    let mine = caps & CAP_MODES;
    let got = raw::set_capabilities(mine);
    t.check(
        got.is_ok(),
        format_args!("SET_CAPABILITIES({mine:#x}) -> {}", Rc(got)),
    );
    t.expect_err(
        "SET_CAPABILITIES again",
        raw::set_capabilities(mine),
        H_STATE,
    );

    // Guest and vCPUs.
    let got = raw::create_guest();
    t.check(
        got.is_ok(),
        format_args!(
            "CREATE(0, -1) -> {}, guest id {}",
            Rc(got),
            got.unwrap_or(0)
        ),
    );
    let Ok(guest) = got else {
        return (t.ok, t.fail);
    };
    for vcpu in [0, 1] {
        let got = raw::create_vcpu(guest, vcpu);
        t.check(
            got.is_ok(),
            format_args!("CREATE_VCPU(guest {guest}, vcpu {vcpu}) -> {}", Rc(got)),
        );
    }
    t.expect_err(
        "CREATE_VCPU(vcpu 1) again",
        raw::create_vcpu(guest, 1),
        H_IN_USE,
    );
    t.expect_err(
        "CREATE_VCPU(vcpu 0) again",
        raw::create_vcpu(guest, 0),
        H_IN_USE,
    );

    // Guest-wide state.
    let got = get_guest_wide(guest, GuestStateId::RUN_OUTPUT_MIN_SIZE);
    t.check(
        got.is_ok_and(|v| (0x80..=16384).contains(&v)),
        format_args!(
            "GET RUN_OUTPUT_MIN_SIZE -> {}, {:#x}",
            Rc(got),
            got.unwrap_or(0)
        ),
    );
    let before = get_guest_wide(guest, GuestStateId::LOGICAL_PVR);
    t.check(
        before.is_ok_and(|v| v != 0),
        format_args!(
            "GET LOGICAL_PVR (default) -> {}, {:#010x}",
            Rc(before),
            before.unwrap_or(0)
        ),
    );
    let mut buf = vec![0u8; 64];
    let len = GsbBuilder::new(&mut buf)
        .and_then(|mut b| {
            b.put_u32(GuestStateId::LOGICAL_PVR, PVR_ARCH_31)
                .map(|()| b.finish())
        })
        .unwrap_or(0);
    let got = raw::set_state(GUEST_WIDE, guest, 0, &buf[..len]);
    t.check(
        got.is_ok(),
        format_args!("SET LOGICAL_PVR = {PVR_ARCH_31:#010x} -> {}", Rc(got)),
    );
    let after = get_guest_wide(guest, GuestStateId::LOGICAL_PVR);
    t.check(
        after == Ok(u64::from(PVR_ARCH_31)),
        format_args!(
            "GET LOGICAL_PVR read back -> {}, {:#010x}",
            Rc(after),
            after.unwrap_or(0)
        ),
    );
    // A malformed buffer: one element announced, a LOGICAL_PVR element 2 bytes long.
    let bad = [0, 0, 0, 1, 0x00, 0x03, 0x00, 0x02, 0x12, 0x34];
    t.expect_err(
        "SET_STATE malformed GSB",
        raw::set_state(GUEST_WIDE, guest, 0, &bad),
        H_P3,
    );

    // Running before the vCPU is set up.
    t.expect_err("RUN_VCPU(flags=1)", raw::run_vcpu(1, guest, 0), H_PARAMETER);
    t.expect_err(
        "RUN_VCPU before run buffers",
        raw::run_vcpu(0, guest, 0),
        H_P3,
    );

    // Delete.
    t.expect_err(
        "DELETE(flags=0x4000000000000000)",
        raw::delete_guest(0x4000_0000_0000_0000, guest),
        H_UNSUPPORTED_FLAG,
    );
    let got = raw::delete_guest(0, guest);
    t.check(
        got.is_ok(),
        format_args!("DELETE(guest {guest}) -> {}", Rc(got)),
    );
    t.expect_err("DELETE again", raw::delete_guest(0, guest), H_P2);
    t.expect_err(
        "CREATE_VCPU on the deleted guest",
        raw::create_vcpu(guest, 2),
        H_P2,
    );
    t.expect_err(
        "SET_STATE on the deleted guest",
        raw::set_state(GUEST_WIDE, guest, 0, &buf[..len]),
        H_P2,
    );
    (t.ok, t.fail)
}

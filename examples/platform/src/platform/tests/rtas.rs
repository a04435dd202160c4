//! RTAS through hcall 0xF000: each call, its status, and argument blocks that run off RAM.

use super::*;
use crate::hcall::H_RTAS;
use alloc::format;

const BLOCK: u64 = 0x8000;

/// Writes an argument block at `at` and calls RTAS; returns (action, rets read back).
pub(super) fn rtas_at(
    p: &mut Platform<Env>,
    v: &mut Fake,
    at: u64,
    tok: u32,
    args: &[u32],
    nret: u32,
) -> (Action, Vec<i32>) {
    let mut b = Vec::new();
    for w in [tok, args.len() as u32, nret].iter().chain(args) {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend(core::iter::repeat_n(0xEEu8, 4 * nret as usize));
    v.put(at, &b);
    let a = p.handle(
        &Exit::Hcall {
            nr: H_RTAS,
            args: [at, 0, 0, 0, 0, 0, 0, 0, 0],
        },
        v,
    );
    let rets_at = at + 12 + 4 * args.len() as u64;
    let rets = (0..u64::from(nret))
        .map(|i| v.be32(rets_at + 4 * i) as i32)
        .collect();
    (a, rets)
}

pub(super) fn rtas(
    p: &mut Platform<Env>,
    v: &mut Fake,
    tok: u32,
    args: &[u32],
    nret: u32,
) -> (Action, Vec<i32>) {
    rtas_at(p, v, BLOCK, tok, args, nret)
}

pub(super) fn success() -> Action {
    Action::HcallReturn(HcallReturn::status(0))
}

const TOD: TimeOfDay = TimeOfDay {
    year: 2025,
    month: 7,
    day: 1,
    hour: 23,
    minute: 59,
    second: 59,
    nanos: 123,
};

#[test]
fn power_off_and_reboot_end_the_run() {
    let (mut p, mut v) = (platform(), Fake::new());
    // Wrong argument counts: status −3, the L2 goes on.
    assert_eq!(
        rtas(&mut p, &mut v, token::POWER_OFF, &[], 1),
        (success(), vec![-3])
    );
    assert_eq!(
        rtas(&mut p, &mut v, token::SYSTEM_REBOOT, &[1], 1),
        (success(), vec![-3])
    );
    assert_eq!(p.outcome(), None);
    assert_eq!(
        rtas(&mut p, &mut v, token::POWER_OFF, &[u32::MAX, u32::MAX], 1),
        (Action::Stop, vec![0])
    );
    assert_eq!(p.outcome(), Some(&Outcome::PowerOff));
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(
        rtas(&mut p, &mut v, token::SYSTEM_REBOOT, &[], 1),
        (Action::Stop, vec![0])
    );
    assert_eq!(p.outcome(), Some(&Outcome::Reboot));
    assert_eq!(
        p.rtas_counts(),
        [(token::SYSTEM_REBOOT, "system-reboot", 1)]
    );
}

#[test]
fn time_of_day_from_the_l0_clock_with_an_offset() {
    let (mut p, mut v) = (platform(), Fake::new());
    // No clock: hardware error.
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[], 8).1[0],
        -1
    );
    assert_eq!(
        rtas(
            &mut p,
            &mut v,
            token::SET_TIME_OF_DAY,
            &[2024, 1, 1, 0, 0, 0, 0],
            1
        )
        .1,
        [-1]
    );
    p.env_mut().tod = Some(TOD);
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[], 8),
        (success(), vec![0, 2025, 7, 1, 23, 59, 59, 123])
    );
    // Set one day and one second later: the offset is kept.
    assert_eq!(
        rtas(
            &mut p,
            &mut v,
            token::SET_TIME_OF_DAY,
            &[2025, 7, 3, 0, 0, 0, 0],
            1
        ),
        (success(), vec![0])
    );
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[], 8).1,
        [0, 2025, 7, 3, 0, 0, 0, 123]
    );
    // Bad dates and counts.
    for bad in [
        [2025, 2, 29, 0, 0, 0, 0],
        [2025, 13, 1, 0, 0, 0, 0],
        [2025, 1, 1, 24, 0, 0, 0],
        [1969, 1, 1, 0, 0, 0, 0],
    ] {
        assert_eq!(
            rtas(&mut p, &mut v, token::SET_TIME_OF_DAY, &bad, 1).1,
            [-3],
            "{bad:?}"
        );
    }
    assert_eq!(
        rtas(&mut p, &mut v, token::SET_TIME_OF_DAY, &[2025, 1, 1], 1).1,
        [-3]
    );
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[], 7).1[0],
        -3
    );
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[1], 8).1[0],
        -3
    );
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[], 8).1[3],
        3,
        "offset unchanged"
    );
    // A broken L0 clock is a hardware error, not a panic.
    p.env_mut().tod = Some(TimeOfDay { month: 0, ..TOD });
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[], 8).1[0],
        -1
    );
}

#[test]
fn os_term_prints_the_panic_and_ends() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.put(0x9000, b"Kernel panic - not syncing: no init\0garbage");
    assert_eq!(
        rtas(&mut p, &mut v, token::IBM_OS_TERM, &[0x9000], 1),
        (Action::Stop, vec![0])
    );
    let text = "Kernel panic - not syncing: no init";
    assert_eq!(p.outcome(), Some(&Outcome::OsTerm(text.into())));
    assert_eq!(p.env().out, format!("{text}\n").as_bytes());
    // Bounded: 511 bytes at most; stops at the end of RAM.
    let (mut p, mut v) = (platform(), Fake::new());
    v.put(0x9000, &[b'x'; 600]);
    rtas(&mut p, &mut v, token::IBM_OS_TERM, &[0x9000], 1);
    assert!(matches!(p.outcome(), Some(Outcome::OsTerm(t)) if t.len() == 511));
    let (mut p, mut v) = (platform(), Fake::new());
    v.put(RAM - 3, b"end");
    rtas(&mut p, &mut v, token::IBM_OS_TERM, &[(RAM - 3) as u32], 1);
    assert_eq!(p.outcome(), Some(&Outcome::OsTerm("end".into())));
    // The string outside RAM, or no argument: status −3, the run goes on.
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(
        rtas(&mut p, &mut v, token::IBM_OS_TERM, &[RAM as u32], 1),
        (success(), vec![-3])
    );
    assert_eq!(
        rtas(&mut p, &mut v, token::IBM_OS_TERM, &[], 1),
        (success(), vec![-3])
    );
    assert_eq!(p.outcome(), None);
}

#[test]
fn display_character_and_unknown_tokens() {
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(
        rtas(
            &mut p,
            &mut v,
            token::DISPLAY_CHARACTER,
            &[u32::from(b'A')],
            1
        ),
        (success(), vec![0])
    );
    assert_eq!(
        rtas(
            &mut p,
            &mut v,
            token::LEGACY_DISPLAY_CHARACTER,
            &[u32::from(b'B')],
            1
        )
        .1,
        [0]
    );
    assert_eq!(p.env().out, b"AB");
    // Unknown: status −3 and, as QEMU, H_PARAMETER.
    let param = Action::HcallReturn(HcallReturn::status(-4i64 as u64));
    assert_eq!(
        rtas(&mut p, &mut v, 0x2008, &[], 2),
        (param, vec![-3, -0x1111_1112])
    );
    assert_eq!(rtas(&mut p, &mut v, 0, &[1, 2], 1), (param, vec![-3]));
    // nret = 0: nothing written, the call still happens.
    assert_eq!(
        rtas(
            &mut p,
            &mut v,
            token::DISPLAY_CHARACTER,
            &[u32::from(b'C')],
            0
        ),
        (success(), vec![])
    );
    assert_eq!(p.env().out, b"ABC");
    let counts = p.rtas_counts();
    assert!(counts.contains(&(0x2008, "unknown", 1)));
    assert!(counts.contains(&(token::DISPLAY_CHARACTER, "display-character", 2)));
}

#[test]
fn argument_blocks_that_run_off_ram() {
    let (mut p, mut v) = (platform(), Fake::new());
    p.env_mut().tod = Some(TOD);
    let param = Action::HcallReturn(HcallReturn::status(-4i64 as u64));
    let bare = |p: &mut Platform<Env>, v: &mut Fake, at: u64| {
        p.handle(
            &Exit::Hcall {
                nr: H_RTAS,
                args: [at, 0, 0, 0, 0, 0, 0, 0, 0],
            },
            v,
        )
    };
    // The header itself is not in RAM.
    for at in [RAM, RAM - 8, u64::MAX - 4, u64::MAX] {
        assert_eq!(bare(&mut p, &mut v, at), param, "{at:#x}");
    }
    // More than 16 arguments or returns: status −3 (the status word is in RAM).
    assert_eq!(
        rtas(&mut p, &mut v, token::POWER_OFF, &[0; 17], 1),
        (success(), vec![-3])
    );
    v.put(
        BLOCK,
        &[0, 0, 0x20, 0x01, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF],
    );
    assert_eq!(bare(&mut p, &mut v, BLOCK), success(), "nret 2^32 - 1");
    assert_eq!(v.be32(BLOCK + 12) as i32, -3);
    assert_eq!(p.outcome(), None);
    // rets[0] lies past RAM (nargs 2^30 - 1): nothing can be written.
    v.put(
        BLOCK,
        &[0, 0, 0x20, 0x03, 0x3F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1],
    );
    assert_eq!(bare(&mut p, &mut v, BLOCK), param);
    // The arguments run off RAM (power-off, 2 args, no return value).
    let at = RAM - 12;
    v.put(at, &[0, 0, 0x20, 0x03, 0, 0, 0, 2, 0, 0, 0, 0]);
    assert_eq!(bare(&mut p, &mut v, at), param);
    assert_eq!(p.outcome(), None);
    // get-time-of-day's 8 return values run off RAM: refused, RAM untouched.
    let at = RAM - 12 - 4;
    v.put(at, &[0, 0, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 8]);
    assert_eq!(bare(&mut p, &mut v, at), param);
    assert_eq!(v.be32(RAM - 4), 0);
    // No side effect when the status cannot be written: set-time-of-day, os-term.
    let at = RAM - 12 - 28;
    let mut b = vec![0, 0, 0x20, 0x02, 0, 0, 0, 7, 0, 0, 0, 1];
    for w in [2030u32, 1, 1, 0, 0, 0, 0] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    v.put(at, &b);
    assert_eq!(bare(&mut p, &mut v, at), param);
    assert_eq!(
        rtas(&mut p, &mut v, token::GET_TIME_OF_DAY, &[], 8).1[1],
        2025
    );
    v.put(0x9000, b"panic\0");
    let at = RAM - 16; // token, nargs 1, nret 1, args[0] = 0x9000; rets[0] at RAM
    v.put(
        at,
        &[0, 0, 0x20, 0x1F, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0x90, 0],
    );
    assert_eq!(bare(&mut p, &mut v, at), param, "rets[0] past RAM");
    assert!(p.env().out.is_empty());
    // A call that declares more than 16 return values is refused even when it needs one.
    assert_eq!(
        rtas(
            &mut p,
            &mut v,
            token::DISPLAY_CHARACTER,
            &[u32::from(b'X')],
            17
        )
        .1[0],
        -3
    );
    assert!(p.env().out.is_empty());
    // A block right at the end of RAM is fine.
    v.put(at, &[0, 0, 0x20, 0x04, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(bare(&mut p, &mut v, at), Action::Stop);
    assert_eq!(p.outcome(), Some(&Outcome::Reboot));
}

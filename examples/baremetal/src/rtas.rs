//! RTAS calls through QEMU's `H_RTAS` hcall: any call by token ([`call`]), power off
//! ([`power_off`]: QEMU exits 0) or terminate with a failure status ([`terminate`]: RTAS
//! `ibm,os-term`, QEMU exits 1 under `-action panic=exit-failure`), or either by a status
//! ([`terminate_with_status`]).
//!
//! The argument block (`struct rtas_args`) is big-endian u32 words: token, nargs, nret, the
//! arguments, then the returns, the first of which is the RTAS status (0 ok, −1 hardware
//! error, −3 parameter error). The block lives on the caller's stack: in the L1's
//! identity-mapped real mode its address is its real address, below 4 GiB.

use crate::Error;
use core::sync::atomic::{compiler_fence, AtomicU32, Ordering};
use papr_hcall::{generic, Hcall, L1RealAddr};

/// Arguments plus returns one call can carry (Linux's `struct rtas_args` has 16 words too).
pub const MAX_WORDS: usize = 16;

/// Token of `power-off` (QEMU: 0x2003); 0 = not known.
static POWER_OFF: AtomicU32 = AtomicU32::new(0);
/// Token of `ibm,os-term`; 0 = not known.
static OS_TERM: AtomicU32 = AtomicU32::new(0);

/// Records the tokens of `power-off` and `ibm,os-term` (from the device tree's `/rtas` node,
/// see [`dt::Info::apply`](crate::dt::Info::apply)) for [`power_off`] and [`terminate`].
pub fn set_tokens(power_off: Option<u32>, os_term: Option<u32>) {
    POWER_OFF.store(power_off.unwrap_or(0), Ordering::Relaxed);
    OS_TERM.store(os_term.unwrap_or(0), Ordering::Relaxed);
}

/// Makes the RTAS call `token` with `args` through `h` (`H_RTAS` with the block's address in
/// r4) and copies the return words into `rets`: `rets.len()` is nret, `rets[0]` the RTAS
/// status as the L0 wrote it (not judged here: a VMM forwards it as it is).
///
/// # Errors
/// [`Error::RtasNoToken`] for token 0; [`Error::RtasBlock`] when `rets` is empty or `args`
/// and `rets` together exceed [`MAX_WORDS`]; [`Error::RtasHcall`] when `H_RTAS` fails.
pub fn call_with(h: &impl Hcall, token: u32, args: &[u32], rets: &mut [u32]) -> Result<(), Error> {
    let (nargs, nret) = (args.len(), rets.len());
    if token == 0 {
        return Err(Error::RtasNoToken);
    }
    if nret == 0 || nargs + nret > MAX_WORDS {
        return Err(Error::RtasBlock { token, nargs, nret });
    }
    let mut block = [0u32; 3 + MAX_WORDS];
    let words = [token, nargs as u32, nret as u32]
        .into_iter()
        .chain(args.iter().copied());
    for (slot, word) in block.iter_mut().zip(words) {
        *slot = word.to_be();
    }
    // The L0 reads and writes the block behind the compiler's back: every store is done
    // before the call, and the returns are read after it (`Sc1` also clobbers memory).
    compiler_fence(Ordering::SeqCst);
    // SAFETY: `block` is this call's own buffer of `3 + MAX_WORDS` words, at least the `12 + 4 × (nargs + nret)` bytes its header names; in the identity-mapped real mode its address is its L1 real address, and no reference to it is live until the fence after the call.
    let sent = unsafe { generic::rtas(h, L1RealAddr(block.as_mut_ptr() as u64)) };
    compiler_fence(Ordering::SeqCst);
    sent.map_err(|source| Error::RtasHcall { token, source })?;
    let returned = block.get(3 + nargs..).unwrap_or(&[]);
    for (ret, word) in rets.iter_mut().zip(returned) {
        *ret = u32::from_be(*word);
    }
    Ok(())
}

/// A message for `ibm,os-term`: NUL-terminated, truncated to 127 bytes.
#[cfg(any(target_arch = "powerpc64", test))]
struct Message {
    bytes: [u8; 128],
    len: usize,
}

#[cfg(any(target_arch = "powerpc64", test))]
impl Message {
    fn new() -> Self {
        Self {
            bytes: [0; 128],
            len: 0,
        }
    }
}

#[cfg(any(target_arch = "powerpc64", test))]
impl core::fmt::Write for Message {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            // The last byte stays NUL.
            if self.len + 1 >= self.bytes.len() {
                break;
            }
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = b;
            }
            self.len += 1;
        }
        Ok(())
    }
}

#[cfg(target_arch = "powerpc64")]
mod sc1 {
    use super::{call_with, Message, OS_TERM, POWER_OFF};
    use crate::{println, Error};
    use core::fmt::Write;
    use core::sync::atomic::Ordering;
    use papr_hcall::Sc1;

    /// Makes the RTAS call `token` with `args` and fills `rets` (`rets[0]` = the RTAS status),
    /// through `sc 1` (see [`call_with`]). E.g. `get-time-of-day`: no arguments, 8 returns
    /// (status, year, month, day, hour, minute, second, nanoseconds); `set-time-of-day`: those
    /// 7 as arguments, 1 return.
    ///
    /// # Errors
    /// As [`call_with`].
    pub fn call(token: u32, args: &[u32], rets: &mut [u32]) -> Result<(), Error> {
        // SAFETY: this `Sc1` only makes the `H_RTAS` call of `call_with`, whose block is its own stack buffer (see there).
        call_with(&unsafe { Sc1::new() }, token, args, rets)
    }

    /// Powers the machine off with RTAS `power-off`: QEMU exits with status 0. Without a
    /// token (or if the call returns) it says so on the console and spins: a runner then times
    /// out rather than mistaking this for success.
    pub fn power_off() -> ! {
        let mut status = [0u32];
        match call(POWER_OFF.load(Ordering::Relaxed), &[0, 0], &mut status) {
            Ok(()) => println!("power-off returned {}", status[0] as i32),
            Err(Error::RtasNoToken) => println!("no RTAS power-off token"),
            Err(e) => println!("power-off: {e}"),
        }
        halt()
    }

    /// Terminates with a failure status: RTAS `ibm,os-term` with `why` (QEMU prints
    /// `OS terminated: <why>` and, started with `-action panic=exit-failure`, exits with
    /// status 1). Without a token, or if the call fails, it says so and spins.
    pub fn terminate(why: &str) -> ! {
        let mut msg = Message::new();
        let _ = msg.write_str(why);
        os_term(&msg)
    }

    /// Ends the machine with `status`, as a VMM ends when its guest does: 0 →
    /// [`power_off`] (QEMU exits 0); anything else → `ibm,os-term` with
    /// `<why> (status <status>)` (QEMU exits 1 under `-action panic=exit-failure`).
    pub fn terminate_with_status(status: i64, why: &str) -> ! {
        if status == 0 {
            power_off()
        }
        let mut msg = Message::new();
        let _ = write!(msg, "{why} (status {status})");
        os_term(&msg)
    }

    fn os_term(msg: &Message) -> ! {
        // The argument is the message's 32-bit real address (identity mapping; the stack is
        // low in RAM). Were it above 4 GiB, 0 points QEMU at an empty string instead.
        let addr = u32::try_from(msg.bytes.as_ptr() as usize).unwrap_or(0);
        let mut status = [0u32];
        match call(OS_TERM.load(Ordering::Relaxed), &[addr], &mut status) {
            // QEMU acts on the panic event after the call returns: wait for it.
            Ok(()) if status[0] == 0 => halt(),
            Ok(()) => println!("ibm,os-term returned {}", status[0] as i32),
            Err(Error::RtasNoToken) => println!("no RTAS ibm,os-term token"),
            Err(e) => println!("ibm,os-term: {e}"),
        }
        // The failure is visible on the console; stop without powering off so that a runner
        // times out rather than mistaking this for success.
        halt()
    }

    /// Spins forever (MSR\[EE\] = 0: nothing interrupts it).
    fn halt() -> ! {
        loop {
            core::hint::spin_loop();
        }
    }
}
#[cfg(target_arch = "powerpc64")]
pub use sc1::{call, power_off, terminate, terminate_with_status};

#[cfg(test)]
mod tests {
    use super::*;
    use papr_hcall::{opcode, HcallOutput};
    use std::cell::RefCell;
    use std::fmt::Write;
    use std::vec::Vec;

    /// An L0 whose RTAS records each block (host order) and answers `rets` after the
    /// arguments, or fails `H_RTAS` with `rc`.
    struct FakeRtas {
        rets: Vec<u32>,
        rc: i64,
        seen: RefCell<Vec<Vec<u32>>>,
    }

    impl Hcall for FakeRtas {
        fn hcall(&self, op: u64, a: [u64; 9]) -> HcallOutput {
            assert_eq!(op, opcode::H_RTAS);
            if self.rc != 0 {
                return HcallOutput::rc(self.rc);
            }
            let block = a[0] as *mut u32;
            // SAFETY: r4 is the address of `call_with`'s block of 3 + MAX_WORDS words, alive
            // for the whole call; only words inside it are read and written.
            let words = unsafe { std::slice::from_raw_parts_mut(block, 3 + MAX_WORDS) };
            let nargs = u32::from_be(words[1]) as usize;
            let nret = u32::from_be(words[2]) as usize;
            self.seen.borrow_mut().push(
                words[..3 + nargs + nret]
                    .iter()
                    .map(|w| u32::from_be(*w))
                    .collect(),
            );
            for (slot, r) in words[3 + nargs..3 + nargs + nret]
                .iter_mut()
                .zip(&self.rets)
            {
                *slot = r.to_be();
            }
            HcallOutput::rc(0)
        }
    }

    fn fake(rets: &[u32], rc: i64) -> FakeRtas {
        FakeRtas {
            rets: rets.to_vec(),
            rc,
            seen: RefCell::new(Vec::new()),
        }
    }

    #[test]
    fn get_time_of_day_block_and_returns() {
        let l0 = fake(&[0, 2025, 12, 7, 3, 4, 5, 600], 0);
        let mut rets = [0xdead_beef; 8];
        assert_eq!(call_with(&l0, 0x2001, &[], &mut rets), Ok(()));
        assert_eq!(rets, [0, 2025, 12, 7, 3, 4, 5, 600]);
        assert_eq!(l0.seen.borrow()[0][..3], [0x2001, 0, 8]);
    }

    #[test]
    fn set_time_of_day_sends_seven_arguments_and_reads_the_status() {
        let l0 = fake(&[(-3i32) as u32], 0);
        let mut status = [0];
        let args = [2025, 12, 7, 3, 4, 5, 600];
        assert_eq!(call_with(&l0, 0x2002, &args, &mut status), Ok(()));
        assert_eq!(status[0] as i32, -3);
        assert_eq!(
            l0.seen.borrow()[0],
            [0x2002, 7, 1, 2025, 12, 7, 3, 4, 5, 600, 0]
        );
    }

    #[test]
    fn refuses_blocks_it_cannot_make() {
        let l0 = fake(&[0], 0);
        assert_eq!(call_with(&l0, 0, &[], &mut [0]), Err(Error::RtasNoToken));
        assert_eq!(
            call_with(&l0, 5, &[1], &mut []),
            Err(Error::RtasBlock {
                token: 5,
                nargs: 1,
                nret: 0
            })
        );
        assert_eq!(
            call_with(&l0, 5, &[0; 10], &mut [0; 7]),
            Err(Error::RtasBlock {
                token: 5,
                nargs: 10,
                nret: 7
            })
        );
        assert!(call_with(&l0, 5, &[0; 10], &mut [0; 6]).is_ok());
        assert_eq!(l0.seen.borrow().len(), 1);
    }

    #[test]
    fn hcall_failure_is_an_error_with_the_token() {
        let l0 = fake(&[], -2);
        let e = call_with(&l0, 0x2003, &[0, 0], &mut [0]).unwrap_err();
        assert!(matches!(e, Error::RtasHcall { token: 0x2003, .. }));
        assert!(std::format!("{e}").contains("H_RTAS"), "{e}");
    }

    #[test]
    fn message_is_truncated_and_nul_terminated() {
        let mut m = Message::new();
        let long = "x".repeat(300);
        write!(m, "{long} (status 1)").unwrap();
        assert_eq!(m.len, 127);
        assert_eq!(m.bytes[127], 0);
        let mut m = Message::new();
        let (why, status) = ("L2 os-term", -1);
        write!(m, "{why} (status {status})").unwrap();
        assert_eq!(&m.bytes[..m.len], b"L2 os-term (status -1)");
        assert_eq!(m.bytes[m.len], 0);
    }
}

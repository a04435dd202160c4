//! The console: the hypervisor virtual terminal (`hvterm1`) named by the device tree.
//! Output with `H_PUT_TERM_CHAR` ([`Console`], [`print!`](crate::print),
//! [`println!`](crate::println), [`write_bytes`]), input with `H_GET_TERM_CHAR`
//! ([`poll_input`]).

use core::sync::atomic::{AtomicU64, Ordering};
use papr_hcall::{Hcall, HcallError, ReturnCode};

/// `H_GET_TERM_CHAR` (PAPR; QEMU `h_get_term_char`): reads up to 16 bytes from a virtual
/// terminal. `papr_hcall::opcode` does not list it yet.
pub const H_GET_TERM_CHAR: u64 = 0x54;

/// The vterm unit address (`reg` of the `hvterm1` node); QEMU's first vty is 0x71000000.
static VTERM: AtomicU64 = AtomicU64::new(0x7100_0000);

/// Selects the virtual terminal that the console writes to and reads from.
pub fn set_vterm(vterm: u64) {
    VTERM.store(vterm, Ordering::Relaxed);
}

/// The virtual terminal in use (QEMU's 0x71000000 until [`set_vterm`]).
pub fn vterm() -> u64 {
    VTERM.load(Ordering::Relaxed)
}

/// What one `H_GET_TERM_CHAR` returned: 0 to 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TermChars {
    bytes: [u8; 16],
    len: usize,
}

impl TermChars {
    /// The bytes received, oldest first.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// `H_GET_TERM_CHAR` on `vterm` through `h`: r4 = the number of bytes (at most 16), r5 and r6
/// the bytes packed big-endian (QEMU `h_get_term_char`). A count above 16 is clamped.
///
/// ```
/// use papr_baremetal::console::{get_term_char, H_GET_TERM_CHAR};
/// use papr_hcall::{Hcall, HcallOutput};
/// struct Typed;
/// impl Hcall for Typed {
///     fn hcall(&self, op: u64, a: [u64; 9]) -> HcallOutput {
///         assert_eq!((op, a[0]), (H_GET_TERM_CHAR, 0x7100_0000));
///         let mut out = HcallOutput::ok(3);
///         out.ret[1] = u64::from_be_bytes(*b"ls\n\0\0\0\0\0");
///         out
///     }
/// }
/// assert_eq!(get_term_char(&Typed, 0x7100_0000).unwrap().as_slice(), b"ls\n");
/// ```
///
/// # Errors
/// [`HcallError::Failed`] with the L0's return code (`H_PARAMETER` for an unknown vterm).
pub fn get_term_char(h: &impl Hcall, vterm: u64) -> Result<TermChars, HcallError> {
    let out = h.hcall(H_GET_TERM_CHAR, [vterm, 0, 0, 0, 0, 0, 0, 0, 0]);
    match ReturnCode::from_raw(out.rc) {
        ReturnCode::Success => {}
        code => {
            return Err(HcallError::Failed {
                call: "H_GET_TERM_CHAR",
                code,
            })
        }
    }
    let [count, r5, r6, ..] = out.ret;
    let mut bytes = [0u8; 16];
    let (hi, lo) = bytes.split_at_mut(8);
    hi.copy_from_slice(&r5.to_be_bytes());
    lo.copy_from_slice(&r6.to_be_bytes());
    Ok(TermChars {
        bytes,
        len: count.min(16) as usize,
    })
}

/// Input bytes one `H_GET_TERM_CHAR` delivered that did not fit the caller's buffer: the next
/// [`poll_input`] returns them first.
#[derive(Debug)]
struct Pending {
    chars: TermChars,
    next: usize,
}

static PENDING: spinning_top::Spinlock<Pending> = spinning_top::Spinlock::new(Pending {
    chars: TermChars {
        bytes: [0; 16],
        len: 0,
    },
    next: 0,
});

/// Fills `buf` with what is waiting on `vterm` through `h`, without blocking: bytes kept from an
/// earlier call first, then `H_GET_TERM_CHAR` until the terminal has nothing more or `buf` is
/// full. Bytes that do not fit are kept for the next call, none is lost. An hcall error ends
/// the poll (input is best effort). Returns how many bytes were written to `buf`.
pub fn poll_input_with(h: &impl Hcall, vterm: u64, buf: &mut [u8]) -> usize {
    let mut pending = PENDING.lock();
    let mut n = 0;
    loop {
        let queued = pending.chars.as_slice().get(pending.next..).unwrap_or(&[]);
        let room = buf.get_mut(n..).unwrap_or(&mut []);
        let take = queued.len().min(room.len());
        if let (Some(dst), Some(src)) = (room.get_mut(..take), queued.get(..take)) {
            dst.copy_from_slice(src);
        }
        n += take;
        pending.next += take;
        if n >= buf.len() {
            return n;
        }
        match get_term_char(h, vterm) {
            Ok(chars) if !chars.as_slice().is_empty() => {
                *pending = Pending { chars, next: 0 };
            }
            _ => return n,
        }
    }
}

#[cfg(target_arch = "powerpc64")]
mod sc1 {
    use super::{poll_input_with, vterm};
    use core::fmt;
    use papr_hcall::{generic, ReturnCode, Sc1};

    /// Reads console input without blocking (`H_GET_TERM_CHAR` on the console's vterm, see
    /// [`poll_input_with`]); returns how many bytes were written to `buf` (0: nothing typed).
    pub fn poll_input(buf: &mut [u8]) -> usize {
        // SAFETY: this `Sc1` only makes `H_GET_TERM_CHAR` calls, which pass the L0 no address.
        poll_input_with(&unsafe { Sc1::new() }, vterm(), buf)
    }

    /// Sends `bytes` as they are (no `\n` translation), 16 per `H_PUT_TERM_CHAR`, retrying
    /// while the terminal is busy (up to 1000 busy answers); other errors drop the rest.
    pub fn write_bytes(mut bytes: &[u8]) {
        let vterm = vterm();
        let mut busy = 0;
        while !bytes.is_empty() && busy < 1000 {
            // SAFETY: `H_PUT_TERM_CHAR` passes the L0 the bytes in registers, no address.
            match generic::put_term_char(&unsafe { Sc1::new() }, vterm, bytes) {
                Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
                Err(e) if e.return_code().is_some_and(ReturnCode::is_busy) => busy += 1,
                Err(_) => return,
            }
        }
    }

    /// A `core::fmt::Write` sink on the hypervisor virtual terminal. `\n` is sent as `\r\n`.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Console;

    impl fmt::Write for Console {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let mut lines = s.split('\n');
            if let Some(first) = lines.next() {
                write_bytes(first.as_bytes());
            }
            for line in lines {
                write_bytes(b"\r\n");
                write_bytes(line.as_bytes());
            }
            Ok(())
        }
    }
}
#[cfg(target_arch = "powerpc64")]
pub use sc1::{poll_input, write_bytes, Console};

/// Prints to the console ([`Console`](crate::console::Console)).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($arg)*));
    }};
}

/// Prints a line to the console ([`Console`](crate::console::Console)); `\n` goes out as `\r\n`.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use papr_hcall::HcallOutput;
    use std::cell::RefCell;
    use std::vec::Vec;

    /// An L0 with typed input queued in chunks; answers `H_GET_TERM_CHAR` with up to 16
    /// bytes of the next chunk, then 0 bytes.
    struct Keyboard {
        chunks: RefCell<Vec<Vec<u8>>>,
        calls: RefCell<u32>,
    }

    impl Keyboard {
        fn new(chunks: &[&[u8]]) -> Self {
            Self {
                chunks: RefCell::new(chunks.iter().rev().map(|c| c.to_vec()).collect()),
                calls: RefCell::new(0),
            }
        }
    }

    impl Hcall for Keyboard {
        fn hcall(&self, op: u64, a: [u64; 9]) -> HcallOutput {
            assert_eq!(op, H_GET_TERM_CHAR);
            if a[0] != 0x7100_0000 {
                return HcallOutput::rc(-4); // H_PARAMETER
            }
            *self.calls.borrow_mut() += 1;
            let chunk = self.chunks.borrow_mut().pop().unwrap_or_default();
            let mut b = [0u8; 16];
            b[..chunk.len()].copy_from_slice(&chunk);
            let mut out = HcallOutput::ok(chunk.len() as u64);
            out.ret[1] = u64::from_be_bytes(b[..8].try_into().unwrap());
            out.ret[2] = u64::from_be_bytes(b[8..].try_into().unwrap());
            out
        }
    }

    // The pending bytes are global, like the console: one test drives them all in order.
    #[test]
    fn poll_input_keeps_what_does_not_fit_and_stops_when_idle() {
        let kb = Keyboard::new(&[b"0123456789abcdef", b"xyz"]);
        let mut small = [0u8; 5];
        assert_eq!(poll_input_with(&kb, 0x7100_0000, &mut small), 5);
        assert_eq!(&small, b"01234");
        assert_eq!(*kb.calls.borrow(), 1);
        let mut big = [0u8; 64];
        // The 11 kept bytes, then "xyz", then an empty answer ends the poll.
        assert_eq!(poll_input_with(&kb, 0x7100_0000, &mut big), 14);
        assert_eq!(&big[..14], b"56789abcdefxyz");
        assert_eq!(*kb.calls.borrow(), 3);
        assert_eq!(poll_input_with(&kb, 0x7100_0000, &mut big), 0);
        // An empty buffer never calls.
        assert_eq!(poll_input_with(&kb, 0x7100_0000, &mut []), 0);
        assert_eq!(*kb.calls.borrow(), 4);
        // An error answer ends the poll with nothing.
        assert_eq!(poll_input_with(&kb, 0x3000_0000, &mut big), 0);
    }

    #[test]
    fn get_term_char_unpacks_and_clamps() {
        let kb = Keyboard::new(&[b"0123456789abcdef"]);
        let c = get_term_char(&kb, 0x7100_0000).unwrap();
        assert_eq!(c.as_slice(), b"0123456789abcdef");
        struct Liar;
        impl Hcall for Liar {
            fn hcall(&self, _: u64, _: [u64; 9]) -> HcallOutput {
                HcallOutput::ok(99)
            }
        }
        assert_eq!(get_term_char(&Liar, 0).unwrap().as_slice().len(), 16);
        assert_eq!(
            get_term_char(&kb, 1),
            Err(HcallError::Failed {
                call: "H_GET_TERM_CHAR",
                code: ReturnCode::from_raw(-4)
            })
        );
    }
}

//! The console: `H_PUT_TERM_CHAR` to the virtual terminal named by the device tree.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use papr_hcall::{opcode::H_PUT_TERM_CHAR, Hcall, Sc1};

/// The vterm unit address (`reg` of the `hvterm1` node); QEMU's first vty is 0x71000000.
static VTERM: AtomicU64 = AtomicU64::new(0x7100_0000);

/// Selects the virtual terminal that [`Console`] writes to.
pub fn set_vterm(vterm: u64) {
    VTERM.store(vterm, Ordering::Relaxed);
}

/// A `core::fmt::Write` sink on the hypervisor virtual terminal. `\n` is sent as `\r\n`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Console;

impl Console {
    /// Sends up to 16 bytes in one `H_PUT_TERM_CHAR` (r6, r7 hold them big-endian).
    fn put_chunk(chunk: &[u8]) {
        let mut regs = [0u8; 16];
        let len = chunk.len().min(16);
        regs[..len].copy_from_slice(&chunk[..len]);
        let (hi, lo) = regs.split_at(8);
        let hi = u64::from_be_bytes(hi.try_into().unwrap_or([0; 8]));
        let lo = u64::from_be_bytes(lo.try_into().unwrap_or([0; 8]));
        let vterm = VTERM.load(Ordering::Relaxed);
        for _ in 0..1000 {
            // H_BUSY (1): the terminal is full for now; anything else is final.
            if Sc1
                .hcall(H_PUT_TERM_CHAR, [vterm, len as u64, hi, lo, 0, 0, 0, 0, 0])
                .rc
                != 1
            {
                break;
            }
        }
    }

    fn put_bytes(bytes: &[u8]) {
        for chunk in bytes.chunks(16) {
            Self::put_chunk(chunk);
        }
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            Self::put_bytes(first.as_bytes());
        }
        for line in lines {
            Self::put_bytes(b"\r\n");
            Self::put_bytes(line.as_bytes());
        }
        Ok(())
    }
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($arg)*));
    }};
}

/// Prints a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

//! The console: `H_PUT_TERM_CHAR` to the virtual terminal named by the device tree.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use papr_hcall::{generic, ReturnCode, Sc1};

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
    /// Sends `bytes`, 16 per `H_PUT_TERM_CHAR`, retrying while the terminal is busy.
    fn put_bytes(mut bytes: &[u8]) {
        let vterm = VTERM.load(Ordering::Relaxed);
        let mut busy = 0;
        while !bytes.is_empty() && busy < 1000 {
            match generic::put_term_char(&Sc1, vterm, bytes) {
                Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
                Err(e) if e.return_code().is_some_and(ReturnCode::is_busy) => busy += 1,
                Err(_) => return,
            }
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

//! The L2 platform's [`Environment`] on bare metal: the L1's own console (output as it
//! comes, input polled with `H_GET_TERM_CHAR`), idling on the timebase, and the L0's clock
//! through the L1's RTAS.

use alloc::string::String;
use alloc::vec::Vec;
use papr_baremetal::{boot, console, rtas};
use papr_platform::{Environment, TimeOfDay, Wake};

/// The marker the L2's `/init` prints first: the VMM notes when it passes.
const INIT_MARKER: &[u8] = b"papr-init: start";

/// The start of the line Linux prints when it panics.
const PANIC_MARKER: &[u8] = b"Kernel panic - ";

/// How often an idle L2 polls the L1's console for input (timebase ticks: 1 ms at 512 MHz).
const POLL_TICKS: u64 = 512_000;

/// The bare-metal environment.
#[derive(Debug)]
pub struct BareMetal {
    get_time_token: Option<u32>,
    matched: usize,
    /// Timebase at which the L2 printed [`INIT_MARKER`].
    pub init_seen_at: Option<u64>,
    /// Bytes the L2 printed.
    pub bytes_out: u64,
    /// Input polls made while the L2 was idle.
    pub idle_polls: u64,
    /// Timebase ticks the L2 spent ceded.
    pub idle_ticks: u64,
    /// The line being printed (up to 160 bytes).
    line: Vec<u8>,
    /// The last `Kernel panic - …` line the L2 printed.
    pub panic_line: Option<String>,
}

impl BareMetal {
    /// The environment; `get_time_token` is the L1's RTAS `get-time-of-day` token.
    pub fn new(get_time_token: Option<u32>) -> Self {
        Self {
            get_time_token,
            matched: 0,
            init_seen_at: None,
            bytes_out: 0,
            idle_polls: 0,
            idle_ticks: 0,
            line: Vec::new(),
            panic_line: None,
        }
    }

    /// Keeps the current line, and a panic line once it is complete.
    fn keep_line(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                if let Some(at) = find(&self.line, PANIC_MARKER) {
                    let text = self.line.get(at..).unwrap_or(&[]);
                    self.panic_line = Some(String::from_utf8_lossy(text).into_owned());
                }
                self.line.clear();
            } else if self.line.len() < 160 {
                self.line.push(b);
            }
        }
    }

    fn watch(&mut self, bytes: &[u8]) {
        if self.init_seen_at.is_some() {
            return;
        }
        for &b in bytes {
            let next = INIT_MARKER.get(self.matched).copied();
            if next == Some(b) {
                self.matched += 1;
                if self.matched == INIT_MARKER.len() {
                    self.init_seen_at = Some(boot::timebase());
                    return;
                }
            } else {
                self.matched = usize::from(INIT_MARKER.first() == Some(&b));
            }
        }
    }
}

impl Environment for BareMetal {
    fn console_write(&mut self, bytes: &[u8]) {
        self.bytes_out += bytes.len() as u64;
        self.watch(bytes);
        self.keep_line(bytes);
        console::write_bytes(bytes);
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        console::poll_input(buf)
    }

    fn idle_until(&mut self, timebase: u64) -> Wake {
        let start = boot::timebase();
        let mut next_poll = start;
        let mut byte = [0u8; 16];
        loop {
            let now = boot::timebase();
            if now >= timebase {
                self.idle_ticks += now.saturating_sub(start);
                return Wake::Timer;
            }
            if now >= next_poll {
                self.idle_polls += 1;
                let n = console::poll_input(&mut byte);
                if n > 0 {
                    self.idle_ticks += now.saturating_sub(start);
                    return Wake::Input(byte, n);
                }
                next_poll = now.saturating_add(POLL_TICKS);
            }
            core::hint::spin_loop();
        }
    }

    fn kick(&mut self, vcpu: u64) {
        crate::l1ipi::kick(vcpu as usize);
    }

    fn time_of_day(&mut self) -> Option<TimeOfDay> {
        let token = self.get_time_token?;
        let mut rets = [0u32; 8];
        rtas::call(token, &[], &mut rets).ok()?;
        let [status, year, month, day, hour, minute, second, nanos] = rets;
        if status != 0 {
            return None;
        }
        Some(TimeOfDay {
            year,
            month,
            day,
            hour,
            minute,
            second,
            // QEMU (10.0 `rtas_get_time_of_day`) stores its RTC clock's nanoseconds since
            // start in this word, not the fraction of the second: it passes 10^9 after a
            // second, which a valid time of day never does. Keep the fraction.
            nanos: nanos % 1_000_000_000,
        })
    }
}

/// Where `needle` starts in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

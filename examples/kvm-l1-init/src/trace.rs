//! The traced run (`compare.trace` on the command line): Linux's `powerpc:hcall_entry` and
//! `hcall_exit` tracepoints split each exit into time inside `H_GUEST_RUN_VCPU` (L0 + L2)
//! and L1 software between two RUNs, and count the L0 hcalls per exit. The timestamps have
//! 1 µs resolution and tracing itself costs time in the L1, so these figures are reported
//! apart from the untraced ones.
//!
//! [`SAMPLES`] samples of [`EXITS`] exits per loop; each line adds to the untraced format
//! `run_p50=<ticks>` (median time inside one RUN) and `l1_p50=<ticks>` (median time from a
//! RUN's return to the next RUN's call), in timebase ticks converted from µs, and the
//! medians of the same sample run untraced right before (`untraced_l2_p50`,
//! `untraced_cycle_p50`).

use crate::bench::{self, Sample};
use crate::kvm::{Failed, Machine, Res, Step};
use crate::println;
use crate::sys::{self, Errno};

/// Exits of each traced sample.
const EXITS: u64 = 500;
/// Traced samples per loop.
const SAMPLES: u64 = 5;
/// `H_GUEST_RUN_VCPU`.
const RUN_VCPU: u64 = 0x480;
/// Where tracefs is mounted.
const TRACEFS: &str = "/sys/kernel/tracing";
/// Longest run of RUNs whose inside/between times are kept for the medians.
const KEEP: usize = 1024;

/// Everything the trace of one sample said.
#[derive(Debug)]
struct Tally {
    /// hcall entries seen (all opcodes).
    hcalls: u64,
    /// RUN entries seen.
    runs: u64,
    /// µs inside RUNs.
    inside_us: u64,
    /// The last RUN entry's and exit's timestamps (µs).
    run_entry: Option<u64>,
    last_run_exit: Option<u64>,
    /// µs inside each RUN, and between a RUN's exit and the next RUN's entry.
    inside: [u64; KEEP],
    n_inside: usize,
    between: [u64; KEEP],
    n_between: usize,
}

impl Tally {
    fn new() -> Self {
        Self {
            hcalls: 0,
            runs: 0,
            inside_us: 0,
            run_entry: None,
            last_run_exit: None,
            inside: [0; KEEP],
            n_inside: 0,
            between: [0; KEEP],
            n_between: 0,
        }
    }

    /// One line of the `trace` file.
    fn line(&mut self, l: &str) {
        let (entry, at) = match (l.find(": hcall_entry: "), l.find(": hcall_exit: ")) {
            (Some(i), _) => (true, i),
            (None, Some(i)) => (false, i),
            (None, None) => return,
        };
        let Some(ts) = l.get(..at).and_then(|h| h.split_whitespace().last()) else {
            return;
        };
        let Some(us) = micros(ts) else { return };
        let op = l
            .split("opcode=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok());
        let run = op == Some(RUN_VCPU);
        if entry {
            self.hcalls += 1;
            if run {
                self.runs += 1;
                self.run_entry = Some(us);
                if let Some(prev) = self.last_run_exit {
                    push(
                        &mut self.between,
                        &mut self.n_between,
                        us.saturating_sub(prev),
                    );
                }
            }
        } else if run {
            if let Some(e) = self.run_entry.take() {
                let d = us.saturating_sub(e);
                self.inside_us += d;
                push(&mut self.inside, &mut self.n_inside, d);
            }
            self.last_run_exit = Some(us);
        }
    }
}

/// Appends `v` when there is room.
fn push(buf: &mut [u64; KEEP], n: &mut usize, v: u64) {
    if let Some(slot) = buf.get_mut(*n) {
        *slot = v;
        *n += 1;
    }
}

/// `"12.345678"` → µs.
fn micros(ts: &str) -> Option<u64> {
    let (s, frac) = ts.split_once('.')?;
    let s: u64 = s.parse().ok()?;
    let digits = frac.len().min(6);
    let mut f: u64 = frac.get(..digits)?.parse().ok()?;
    for _ in digits..6 {
        f *= 10;
    }
    Some(s * 1_000_000 + f)
}

/// Median of the first `n` of `v`.
fn median(v: &mut [u64], n: usize) -> Option<u64> {
    let s = v.get_mut(..n)?;
    s.sort_unstable();
    s.get(n / 2).copied()
}

/// `TRACEFS/<rel>` written with `text`.
fn ctl(rel: &str, text: &str, step: &'static str) -> Res<()> {
    let mut path = [0u8; 96];
    let mut n = 0;
    for b in TRACEFS
        .bytes()
        .chain(b"/".iter().copied())
        .chain(rel.bytes())
    {
        if let Some(slot) = path.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    let p = core::str::from_utf8(path.get(..n).unwrap_or(&[])).unwrap_or("");
    sys::write_file(p, text).step(step)
}

/// Reads the `trace` file through `t`, line by line.
fn read_trace(t: &mut Tally) -> Res<()> {
    let fd = sys::open("/sys/kernel/tracing/trace", sys::O_RDONLY).step("open trace")?;
    let mut buf = [0u8; 8192];
    let mut have = 0;
    loop {
        let rest = buf.get_mut(have..).unwrap_or(&mut []);
        if rest.is_empty() {
            // A line longer than the buffer: drop it.
            have = 0;
            continue;
        }
        // SAFETY: the kernel writes at most `rest.len()` bytes into `rest`.
        let r = unsafe {
            sys::syscall(
                sys::READ,
                [fd, rest.as_mut_ptr() as usize, rest.len(), 0, 0, 0],
            )
        };
        let got = match r {
            Ok(0) => break,
            Ok(k) => k,
            Err(errno) => {
                sys::close(fd);
                return Err(Failed {
                    step: "read trace",
                    errno,
                });
            }
        };
        have += got;
        let filled = buf.get(..have).unwrap_or(&[]);
        let last_nl = filled.iter().rposition(|&b| b == b'\n');
        if let Some(end) = last_nl {
            let text = core::str::from_utf8(filled.get(..end).unwrap_or(&[])).unwrap_or("");
            for l in text.lines() {
                t.line(l);
            }
            buf.copy_within(end + 1..have, 0);
            have -= end + 1;
        }
    }
    sys::close(fd);
    Ok(())
}

/// One traced sample of each loop.
pub fn all(m: &Machine, tb_hz: u64) -> Res<()> {
    sys::mount("nodev", TRACEFS, "tracefs").step("mount tracefs")?;
    ctl("buffer_size_kb", "8192", "trace buffer size")?;
    ctl(
        "events/powerpc/hcall_entry/enable",
        "1",
        "enable hcall_entry",
    )?;
    ctl("events/powerpc/hcall_exit/enable", "1", "enable hcall_exit")?;
    m.write_code(bench::KERNEL_LOOP.0 as usize, bench::KERNEL_LOOP.1);
    m.write_code(bench::USER_LOOP.0 as usize, bench::USER_LOOP.1);
    m.write_code(bench::MMIO_LOOP.0 as usize, bench::MMIO_LOOP.1);
    let mut per = [0u64; 2 * EXITS as usize];
    type Loop = fn(&Machine, u64, &mut [u64]) -> Res<Sample>;
    let loops: [(&str, Loop); 3] = [
        ("kernel-hcall", bench::kernel_hcall),
        ("user-hcall", bench::user_hcall),
        ("mmio", bench::mmio),
    ];
    let to_ticks = |us: u64| us * tb_hz / 1_000_000;
    for (name, run) in loops {
        // Warm-up, untraced.
        run(m, 100, &mut per)?;
        for k in 1..=SAMPLES {
            // The same sample untraced, right before: what the exit costs without tracing,
            // under the same conditions (same boot, same moment).
            ctl("tracing_on", "0", "tracing_on")?;
            let plain = run(m, EXITS, &mut per)?;
            let fd = sys::open("/sys/kernel/tracing/trace", sys::O_WRONLY | sys::O_TRUNC)
                .step("clear trace")?;
            sys::close(fd);
            ctl("tracing_on", "1", "tracing_on")?;
            let s = run(m, EXITS, &mut per)?;
            ctl("tracing_on", "0", "tracing_on")?;
            let mut t = Tally::new();
            read_trace(&mut t)?;
            if t.runs == 0 {
                return Err(Failed {
                    step: "traced sample saw no H_GUEST_RUN_VCPU",
                    errno: Errno(0),
                });
            }
            let (ni, nb) = (t.n_inside, t.n_between);
            let run_p50 = median(&mut t.inside, ni).map_or(0, to_ticks);
            let l1_p50 = median(&mut t.between, nb).map_or(0, to_ticks);
            println!(
                "EXIT-BENCH side=linux-traced loop={name} sample={k} exits={} ticks={} run={} hcalls={} p50={} tb={tb_hz} cycle_p50={} l2_p50={} runs={} run_p50={run_p50} l1_p50={l1_p50} untraced_l2_p50={} untraced_cycle_p50={}",
                s.exits,
                s.ticks,
                to_ticks(t.inside_us),
                t.hcalls,
                bench::Opt(s.p50),
                bench::Opt(s.cycle_p50),
                bench::Opt(s.l2_p50),
                t.runs,
                bench::Opt(plain.l2_p50),
                bench::Opt(plain.cycle_p50),
            );
        }
    }
    Ok(())
}

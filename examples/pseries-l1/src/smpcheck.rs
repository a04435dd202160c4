//! Issue 20 (groundwork): the L1 on two CPUs (`-smp 2`). CPU 1 is started through the L0's
//! RTAS (`papr_baremetal::smp`), runs a job CPU 0 hands it through its mailbox, and is
//! stopped again through RTAS `stop-self` before the timed L2 checks (a polling CPU keeps
//! a host thread busy under TCG). The check judges what QEMU did: the RTAS answers
//! (`query-cpu-stopped-state` before, after the start and after the stop; `start-cpu`'s
//! status), the PIR the other CPU read (the device tree's thread id, not CPU 0's), and the
//! job's result (computed on CPU 1 from CPU 0's input, with heap memory of both CPUs).

use crate::checks::Tally;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use papr_baremetal::dt::Info;
use papr_baremetal::{boot, smp};

/// How long a CPU may take to come online, take a job, or stop.
const TIMEOUT_US: u64 = 1_000_000;

/// What CPU 1 returns for its job.
#[derive(Debug)]
struct Answer {
    /// Its PIR.
    pir: u32,
    /// Sum of CPU 0's words times the factor.
    sum: u64,
    /// A local's address: on CPU 1's own stack.
    stack: usize,
    /// Words it allocated on the heap (and summed).
    own: u64,
}

/// Starts CPU 1, hands it a job, stops it; one check line.
pub fn run(t: &mut Tally, info: &Info) {
    let name = "L1 second CPU";
    if info.cpus.len() < 2 {
        t.check(
            false,
            name,
            format_args!(
                "the device tree lists {} CPU thread(s) (-smp 2 expected)",
                info.cpus.len()
            ),
        );
        return;
    }
    let pir0 = smp::pir();
    let started = smp::start(info, 1, TIMEOUT_US);
    let Ok(s) = started else {
        t.check(
            false,
            name,
            format_args!("start CPU index 1 -> {}", fmt_err(started.err())),
        );
        return;
    };
    let running = smp::stopped_state(info, 1);
    // CPU 0's input: words on its heap; CPU 1 sums them times a factor, and sums words of
    // its own allocation.
    let words: Vec<u64> = (1..=1000).collect();
    let factor = boot::timebase() % 1000 + 1;
    let want = 500_500 * factor;
    let input = &words;
    let answer = smp::run_on(info, 1, TIMEOUT_US, move || {
        let own: Vec<u64> = (0..256).collect();
        let local = 0u8;
        Answer {
            pir: smp::pir(),
            sum: input.iter().sum::<u64>() * factor,
            stack: core::ptr::addr_of!(local) as usize,
            own: own.iter().sum(),
        }
    });
    let stopped = smp::stop(info, 1, TIMEOUT_US);
    let ok = s.state_before == 0
        && s.status == 0
        && s.pir == s.id
        && s.pir != pir0
        && running == Ok(2)
        && stopped == Ok(0)
        && answer
            .as_ref()
            .is_ok_and(|a| a.pir == s.id && a.sum == want && a.own == 32_640);
    let answer = answer.as_ref().map_or_else(
        |e| format!("{e}"),
        |a| {
            format!(
                "PIR {:#x}, sum {} (want {want}), own heap words {}, stack at {:#x}",
                a.pir, a.sum, a.own, a.stack
            )
        },
    );
    t.check(
        ok,
        name,
        format_args!(
            "thread {:#x} (dt): query-cpu-stopped-state {} -> start-cpu status {} -> online after {} us with PIR {:#x} (CPU 0: {pir0:#x}), query {} -> job from CPU 0 (1000 words x {factor}) -> {answer} -> stop-self, query {}",
            s.id,
            s.state_before,
            s.status,
            s.ticks_to_online / info.ticks_per_us.max(1),
            s.pir,
            fmt_state(running),
            fmt_state(stopped),
        ),
    );
}

fn fmt_err(e: Option<papr_baremetal::Error>) -> String {
    e.map_or_else(String::new, |e| format!("{e}"))
}

fn fmt_state(r: Result<u32, papr_baremetal::Error>) -> String {
    r.map_or_else(|e| format!("{e}"), |s| format!("{s}"))
}

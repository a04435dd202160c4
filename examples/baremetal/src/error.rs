//! The crate's one error type.

use papr_hcall::HcallError;

/// Everything `papr-baremetal` can fail with; each variant names what was wrong and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The flattened device tree did not parse.
    #[error("device tree at {addr:#x}: {reason}")]
    DeviceTree {
        /// Where the tree was read (its address, or the slice's address).
        addr: usize,
        /// What the `fdt` crate rejected.
        reason: &'static str,
    },
    /// An RTAS call named token 0: the device tree does not offer that call.
    #[error("RTAS call without a token (the device tree names none)")]
    RtasNoToken,
    /// The RTAS argument block cannot hold the call: it needs at least one return word (the
    /// status) and at most [`MAX_WORDS`](crate::rtas::MAX_WORDS) arguments and returns.
    #[error("RTAS token {token:#x}: {nargs} arguments and {nret} returns do not fit the argument block (1 to 16 words, at least 1 return)")]
    RtasBlock {
        /// The call's token.
        token: u32,
        /// Arguments asked for.
        nargs: usize,
        /// Return words asked for.
        nret: usize,
    },
    /// `H_RTAS` itself failed (the L0 refused the call; no RTAS status was written).
    #[error("RTAS token {token:#x}: {source}")]
    RtasHcall {
        /// The call's token.
        token: u32,
        /// The hcall's error.
        source: HcallError,
    },
    /// The heap was already initialised.
    #[error("heap already initialised")]
    HeapInitialised,
    /// Too little RAM between the end of the image and the limit for a heap.
    #[error("heap: {size:#x} bytes from {start:#x} (limit {limit:#x}, maximum {max:#x}) are fewer than the {min:#x} needed")]
    HeapTooSmall {
        /// End of the image: where the heap would start.
        start: usize,
        /// Size it would have had.
        size: usize,
        /// The limit asked for (end address).
        limit: usize,
        /// The maximum size asked for.
        max: usize,
        /// The smallest heap [`heap::init`](crate::heap) accepts.
        min: usize,
    },
    /// A CPU index the device tree does not list (or the boot CPU, index 0, where a
    /// secondary is needed).
    #[error(
        "CPU index {index}: the device tree lists {count} CPU threads, and index 0 is the boot CPU"
    )]
    NoSuchCpu {
        /// The index asked for.
        index: usize,
        /// Threads the tree lists.
        count: usize,
    },
    /// An RTAS call answered a status other than 0 (success).
    #[error("RTAS {call} for CPU thread {id}: status {status}")]
    RtasStatus {
        /// The call's name (`start-cpu`, `query-cpu-stopped-state`).
        call: &'static str,
        /// The CPU thread id it named.
        id: u32,
        /// The RTAS status returned.
        status: i32,
    },
    /// `start-cpu` on a thread that `query-cpu-stopped-state` does not report stopped (0).
    #[error(
        "CPU thread {id} is not stopped (query-cpu-stopped-state: {state}), it cannot be started"
    )]
    CpuNotStopped {
        /// The CPU thread id.
        id: u32,
        /// The state the L0 reported (2: running).
        state: u32,
    },
    /// A started CPU did not reach its run loop in time.
    #[error(
        "CPU index {index} (thread {id}) did not come online within {waited_us} us of start-cpu"
    )]
    CpuNotOnline {
        /// The CPU index.
        index: usize,
        /// The CPU thread id.
        id: u32,
        /// How long the caller waited.
        waited_us: u64,
    },
    /// A job was handed to a CPU that is not idle in its run loop (not started, stopped, or
    /// running another caller's job).
    #[error("CPU index {index} is not idle in its run loop (state {state})")]
    CpuNotIdle {
        /// The CPU index.
        index: usize,
        /// Its state: 0 offline, 1 starting, 2 idle, 3 job being posted, 4 job posted, 5
        /// running a job, 6 asked to stop.
        state: u32,
    },
    /// The CPU did not take a job within the time given; the job was withdrawn unrun.
    #[error("CPU index {index} did not take the job within {waited_us} us; withdrawn, not run")]
    JobNotTaken {
        /// The CPU index.
        index: usize,
        /// How long the caller waited.
        waited_us: u64,
    },
    /// A job's CPU reported it done without a result (cannot happen unless the job was
    /// withdrawn).
    #[error("CPU index {index} ended its job without a result")]
    JobWithoutResult {
        /// The CPU index.
        index: usize,
    },
    /// No heap for a secondary CPU's stacks.
    #[error("no heap for {bytes:#x} bytes of CPU stacks")]
    NoStack {
        /// Bytes asked for.
        bytes: usize,
    },
}

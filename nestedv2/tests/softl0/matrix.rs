//! The fault matrix: every call site of `scenario` × every injection, each cell's outcome
//! asserted against the rule in `expected`.

use super::*;

/// A step of [`scenario`]: a cell's error names the step that returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Negotiate,
    CreateGuest,
    AddRam,
    CreateVcpu,
    RunLoop,
    InjectDecrementer,
    Delete,
}

/// Hcalls one scenario may make in all (the clean one makes 17; a busy storm of 150 at
/// DELETE, which the guest's drop retries, makes 167): past it, or past [`RUN_CAP`]
/// runs, [`Capped`] refuses the call and the cell fails as "did not stop by itself".
const HCALL_CAP: usize = 1_000;
/// `H_GUEST_RUN_VCPU` calls one scenario may make in all (the clean one makes 6).
const RUN_CAP: usize = 32;

/// The software L0 behind a recorder: each hcall is traced with the [`Step`] that made
/// it, and calls past [`HCALL_CAP`] / [`RUN_CAP`] are refused (`H_PARAMETER`, without
/// reaching the L0) and remembered, so that a scenario that does not stop fails its cell
/// instead of hanging the test.
struct Capped<'a> {
    l0: &'a L0,
    step: Mutex<Step>,
    trace: Mutex<Vec<(u64, Step)>>,
    refused: Mutex<Option<u64>>,
}

impl<'a> Capped<'a> {
    fn new(l0: &'a L0) -> Self {
        Self {
            l0,
            step: Mutex::new(Step::Negotiate),
            trace: Mutex::new(Vec::new()),
            refused: Mutex::new(None),
        }
    }

    fn enter(&self, step: Step) {
        *self.step.lock().unwrap() = step;
    }
}

impl Hcall for Capped<'_> {
    fn hcall(&self, op: u64, a: [u64; HCALL_ARGS]) -> HcallOutput {
        let mut trace = self.trace.lock().unwrap();
        let runs = trace
            .iter()
            .filter(|(o, _)| *o == opcode::H_GUEST_RUN_VCPU)
            .count();
        if trace.len() >= HCALL_CAP || (op == opcode::H_GUEST_RUN_VCPU && runs >= RUN_CAP) {
            self.refused.lock().unwrap().get_or_insert(op);
            return HcallOutput::rc(ReturnCode::Parameter.raw());
        }
        trace.push((op, *self.step.lock().unwrap()));
        drop(trace);
        self.l0.hcall(op, a)
    }
}

// SAFETY: `Capped` passes calls unchanged to the software L0, which reaches memory only
// through its safe `RealMemory`.
unsafe impl ContainedHcall for Capped<'_> {}

type MatrixHost<'a> = NestedHost<(
    CountingHcall<&'a Capped<'a>>,
    Mem,
    NoDelay,
    SimClock<'a>,
    PoolAlloc<4>,
)>;

/// One full scenario over `c` (the L0 behind it must be fresh); returns the first error
/// and the step it came from. `cell` names the case in a panic: a scenario that does not
/// stop by itself (an hcall refused past the caps), or a step that is not an hcall (giving
/// the L2 its program) failing, is a broken test, not an outcome.
fn scenario(c: &Capped<'_>, cell: &str) -> Result<(), (Step, Error)> {
    let r = scenario_steps(c, cell);
    if let Some(op) = *c.refused.lock().unwrap() {
        panic!("{cell} -> {r:?}: did not stop by itself (call {op:#x} past the caps)");
    }
    r
}

fn scenario_steps(c: &Capped<'_>, cell: &str) -> Result<(), (Step, Error)> {
    let l0 = c.l0;
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host: MatrixHost<'_> = NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(c), l0.memory().clone(), NoDelay),
        SimClock(l0),
        pages,
        Capabilities::MODES,
    )
    .map_err(|e| (Step::Negotiate, e))?;
    c.enter(Step::CreateGuest);
    let mut guest = Guest::create(&host, tables()).map_err(|e| (Step::CreateGuest, e))?;
    c.enter(Step::AddRam);
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .map_err(|e| (Step::AddRam, e))?;
    guest
        .fault_in(GuestRealAddr(0))
        .map_err(|e| (Step::AddRam, e))?;
    let mem = l0.memory().clone();
    put_insn(&mem, 8, 0x80a4_0000); // lwz
    put_insn(&mem, 12, 0x90c4_0008); // stw
    c.enter(Step::CreateVcpu);
    let mut vcpu = guest
        .create_vcpu(0, MSR0)
        .map_err(|e| (Step::CreateVcpu, e))?;
    let program = vec![
        L2Action::Hcall {
            nr: 0x58,
            args: [0; 9],
        },
        L2Action::Load {
            gpa: 0x5000,
            size: 8,
        },
        L2Action::Load { gpa: MMIO, size: 4 },
        L2Action::Store {
            gpa: MMIO,
            size: 4,
            value: 1,
        },
        L2Action::WaitHdec,
        L2Action::Hcall {
            nr: 0xDEAD,
            args: [0; 9],
        },
    ];
    if let Err(e) = l0.set_program(guest.id().0, 0, program) {
        panic!("{cell}: the L2's program was refused: {e}");
    }
    vcpu.state_mut().set_tb_offset(1 << 24); // a guest-wide SET before the first run
    vcpu.set_loop_limit(Some(RUN_CAP as u64));
    c.enter(Step::RunLoop);
    vcpu.run_loop(&mut Vmm::default())
        .map_err(|e| (Step::RunLoop, e))?;
    c.enter(Step::InjectDecrementer);
    vcpu.inject_decrementer() // a GET of NIA/MSR
        .map_err(|e| (Step::InjectDecrementer, e))?;
    drop(vcpu);
    c.enter(Step::Delete);
    guest.delete().map_err(|e| (Step::Delete, e))
}

/// Which layer returns an hcall's error to the scenario.
#[derive(Debug, Clone, Copy)]
enum Layer {
    /// `papr_nestedv2` calls the typed API itself: `Error::Hcall`.
    Host,
    /// The vCPU state cache makes the call (its flush, its GETs): `Error::State`.
    State,
}

/// What an output injection acts on at a call site.
#[derive(Debug, Clone, Copy)]
enum Output {
    /// The call writes no buffer: output injections change nothing.
    None,
    /// A GET_STATE answer, written in place over the request: `asked` ids, the first of
    /// them `first`, `len` bytes.
    Get {
        asked: u32,
        first: GuestStateId,
        len: usize,
    },
    /// The run output buffer (a 4 KiB page, poisoned by the L1 before the run) of an exit
    /// that carries `elements` registers.
    Run { elements: u32 },
}

/// A call site: the `nth` call of `op` in the clean scenario, made by `step`.
#[derive(Debug, Clone, Copy)]
struct Site {
    op: u64,
    nth: u64,
    step: Step,
    layer: Layer,
    output: Output,
}

impl Site {
    fn name(&self) -> String {
        let op = opcode::name(self.op).unwrap_or("hcall");
        format!("{op} #{} ({:?})", self.nth, self.step)
    }
}

const fn site(op: u64, nth: u64, step: Step, layer: Layer, output: Output) -> Site {
    Site {
        op,
        nth,
        step,
        layer,
        output,
    }
}

/// The `nth` run, whose exit (trap, for the reader) carries `elements` registers.
const fn run(nth: u64, _trap: u64, elements: u32) -> Site {
    site(
        opcode::H_GUEST_RUN_VCPU,
        nth,
        Step::RunLoop,
        Layer::Host,
        Output::Run { elements },
    )
}

/// Every hcall of the clean scenario, in order (asserted against its trace).
const SITES: [Site; 17] = {
    use opcode::*;
    use Layer::*;
    use Step::*;
    const NONE: Output = Output::None;
    [
        site(H_GUEST_GET_CAPABILITIES, 1, Negotiate, Host, NONE),
        site(H_GUEST_SET_CAPABILITIES, 1, Negotiate, Host, NONE),
        site(H_GUEST_CREATE, 1, CreateGuest, Host, NONE),
        site(H_GUEST_SET_STATE, 1, CreateGuest, Host, NONE), // partition, process table
        site(H_GUEST_CREATE_VCPU, 1, CreateVcpu, Host, NONE),
        // RUN_OUTPUT_MIN_SIZE: a 4-byte header and one 4 + 8 byte element.
        site(
            H_GUEST_GET_STATE,
            1,
            CreateVcpu,
            Host,
            Output::Get {
                asked: 1,
                first: GuestStateId::RUN_OUTPUT_MIN_SIZE,
                len: 16,
            },
        ),
        site(H_GUEST_SET_STATE, 2, CreateVcpu, Host, NONE), // the run buffers
        site(H_GUEST_SET_STATE, 3, RunLoop, State, NONE),   // the flush of the TB offset
        run(1, trap::HCALL, 10),                            // hcall 0x58: GPR3..GPR12
        run(2, trap::HDSI, 5), // HDSI in RAM at 0x5000 (the loop maps it): HDAR..MSR
        run(3, trap::HDSI, 5), // MMIO load
        run(4, trap::HDSI, 5), // MMIO store
        // A register the MMIO store needs that its exit did not carry.
        site(
            H_GUEST_GET_STATE,
            2,
            RunLoop,
            State,
            Output::Get {
                asked: 1,
                first: GuestStateId::GPR6,
                len: 16,
            },
        ),
        run(5, trap::HDEC, 0),
        run(6, trap::HCALL, 10), // hcall 0xDEAD
        // NIA and MSR: two 4 + 8 byte elements.
        site(
            H_GUEST_GET_STATE,
            3,
            InjectDecrementer,
            State,
            Output::Get {
                asked: 2,
                first: GuestStateId::NIA,
                len: 28,
            },
        ),
        site(H_GUEST_DELETE, 1, Delete, Host, NONE),
    ]
};

/// What a cell must end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The scenario completed, with `retries` more calls of the injected opcode than the
    /// clean one made.
    Recovered { retries: u64 },
    /// The scenario stopped at `step` with `error`.
    Error { step: Step, error: Error },
}

/// The rule: what `injection` at `site` must end in.
///
/// * `Fail { rc, r4 }`: the call fails with that code, typed as the spec says:
///   `H_INVALID_ELEMENT_*` (−79…−81) carry the element's position in r4
///   (`HcallError::InvalidElement`), every other code is `HcallError::Failed`; no code
///   is retried (positive non-busy ones such as 3 `H_NOT_AVAILABLE` included).
/// * `Busy { rc, count }` (`H_BUSY` = 1, `H_LONG_BUSY_ORDER_*` = 9900 + order, waiting
///   10^order ms): `H_GUEST_RUN_VCPU` is never retried (it fails with the busy code); every
///   other call is retried under `RetryBudget::default()`: its k-th busy answer ends the
///   call with `HcallError::Timeout { attempts: k, waited_us: (k − 1) · wait }` when k
///   reaches `max_attempts`, or when waiting once more would pass `max_wait_us`; a storm
///   shorter than that is recovered with `count` retries.
/// * `TruncateOutput` inside the 4-byte header, `CorruptOutput` of byte 3 (the low byte
///   of the element count): nothing to act on where the call writes no buffer. A GET
///   answer is written in place over its request, whose values went out poisoned:
///   truncated, the values read back as the poison, the L1 asks once more and the value
///   differs, so the first answer was not written: `HcallError::BadAnswer` naming the
///   first id asked; its count corrupted, `GsbError::CountExceedsBuffer`. A run output
///   is a 4 KiB page whose first read the L1 poisons (0xFF) before the run: truncated to
///   2 bytes, the count reads 0x0000FFFF; its count corrupted, it reads `elements ^ xor`;
///   both more than the registers an exit can carry: `StateError::OutputCount`, never
///   the previous exit's registers or BLANK elements from the zeroed tail.
///
/// Errors come back through the site's [`Layer`], from the site's [`Step`].
fn expected(site: &Site, injection: Injection) -> Outcome {
    let call = opcode::name(site.op).unwrap();
    let error = |e: HcallError| Outcome::Error {
        step: site.step,
        error: match site.layer {
            Layer::Host => Error::Hcall(e),
            Layer::State => Error::State(papr_vcpu_state::StateError::Hcall(e)),
        },
    };
    let never_retried = site.op == opcode::H_GUEST_RUN_VCPU;
    match injection {
        Injection::Fail { rc, r4 } => {
            let code = ReturnCode::from_raw(rc);
            assert!(!code.is_busy(), "Fail injections are not busy codes");
            if matches!(rc, -81..=-79) {
                error(HcallError::InvalidElement {
                    call,
                    code,
                    position: r4,
                })
            } else {
                error(HcallError::Failed { call, code })
            }
        }
        Injection::Busy { rc, count } => {
            let code = ReturnCode::from_raw(rc);
            if never_retried {
                return error(HcallError::Failed { call, code });
            }
            let budget = RetryBudget::default();
            let wait_us = match rc {
                1 => 0,
                9900..=9905 => 1000 * 10u64.pow((rc - 9900) as u32),
                _ => panic!("{rc} is not a busy code"),
            };
            let by_wait = budget
                .max_wait_us
                .checked_div(wait_us)
                .map_or(u64::MAX, |n| n + 1);
            let last = u64::from(budget.max_attempts).min(by_wait);
            if count < last {
                Outcome::Recovered { retries: count }
            } else {
                error(HcallError::Timeout {
                    call,
                    attempts: last as u32,
                    waited_us: (last - 1) * wait_us,
                    last: code,
                })
            }
        }
        Injection::TruncateOutput { keep } => {
            assert!(keep < 4, "the rule covers truncation inside the header");
            match site.output {
                Output::None => Outcome::Recovered { retries: 0 },
                Output::Get { first, .. } => error(HcallError::BadAnswer {
                    call,
                    what: "an answer that left unwritten (its request read back) the value of id",
                    value: u64::from(first.0),
                }),
                Output::Run { .. } => {
                    let mut count = [0xFF; 4];
                    count[..keep].fill(0); // QEMU's counts are < 2^16: high bytes 0
                    output_count(site, u32::from_be_bytes(count))
                }
            }
        }
        Injection::CorruptOutput { offset, xor } => {
            assert_eq!(offset, 3, "the rule covers the count's low byte");
            match site.output {
                Output::None => Outcome::Recovered { retries: 0 },
                Output::Run { elements, .. } => output_count(site, elements ^ u32::from(xor)),
                Output::Get { asked, len, .. } => error(HcallError::Buffer {
                    call,
                    source: papr_gsb::GsbError::CountExceedsBuffer {
                        count: asked ^ u32::from(xor),
                        found: asked,
                        offset: len,
                    },
                }),
            }
        }
    }
}

/// A run output whose element count reads `count`, more than an exit can carry.
fn output_count(site: &Site, count: u32) -> Outcome {
    let max = papr_vcpu_state::MAX_OUTPUT_ELEMENTS;
    assert!(
        count > max,
        "the rule covers counts past {max}, not {count}"
    );
    Outcome::Error {
        step: site.step,
        error: Error::State(papr_vcpu_state::StateError::OutputCount { count, max }),
    }
}

/// Every injection of the matrix.
fn injections() -> Vec<Injection> {
    let codes: [i64; 16] = [
        -1, -2, -3, -4, -9, -44, -54, -55, -56, -75, -77, -79, -80, -81, -256, 3,
    ];
    let mut injections: Vec<Injection> = codes
        .iter()
        .map(|&rc| Injection::Fail { rc, r4: 7 })
        .collect();
    injections.extend([
        Injection::Busy { rc: 1, count: 3 },
        Injection::Busy { rc: 9900, count: 2 },
        Injection::Busy { rc: 1, count: 150 }, // longer than the 100-attempt budget
        Injection::Busy { rc: 9903, count: 3 }, // 1 s each: the 2 s wait budget runs out
        Injection::TruncateOutput { keep: 2 },
        Injection::CorruptOutput {
            offset: 3,
            xor: 0xFF,
        },
    ]);
    injections
}

/// Runs one cell on a fresh L0 and checks what every cell must hold whatever its outcome:
/// no guest left in the L0, no request that would abort QEMU, the L0 still usable, the
/// scenario stopped by itself. Returns the outcome.
fn cell(site: &Site, injection: Injection, clean: &BTreeMap<u64, u64>) -> Outcome {
    let what = format!("cell {} x {injection:?}", site.name());
    let l0 = SoftL0::new(memory());
    l0.inject(site.op, site.nth, injection);
    let c = Capped::new(&l0);
    let r = scenario(&c, &what);
    let what = format!("{what} -> {r:?}");
    assert!(
        l0.guests().is_empty(),
        "{what}: guests left {:?}",
        l0.guests()
    );
    assert!(
        l0.would_abort().is_empty(),
        "{what}: {:?}",
        l0.would_abort()
    );
    // Still usable: a new guest can be created (or, if capabilities never got set, the L0
    // says so) and deleted.
    let create = raw_retry(
        &l0,
        opcode::H_GUEST_CREATE,
        [0, u64::MAX, 0, 0, 0, 0, 0, 0, 0],
        &what,
    );
    assert!(
        create.rc == 0 || create.rc == ReturnCode::State.raw(),
        "{what}: CREATE after it -> {}",
        create.rc
    );
    if create.rc == 0 {
        let args = [0, create.ret[0], 0, 0, 0, 0, 0, 0, 0];
        let delete = raw_retry(&l0, opcode::H_GUEST_DELETE, args, &what);
        assert_eq!(delete.rc, 0, "{what}: DELETE after it");
    }
    match r {
        Ok(()) => {
            // Recovered: the clean scenario's calls, plus retries of the injected opcode.
            let mut calls = BTreeMap::new();
            for (op, _) in c.trace.lock().unwrap().iter() {
                *calls.entry(*op).or_insert(0u64) += 1;
            }
            let retries = calls[&site.op].checked_sub(clean[&site.op]);
            let retries = retries.unwrap_or_else(|| panic!("{what}: fewer calls than clean"));
            calls.insert(site.op, clean[&site.op]);
            assert_eq!(
                &calls, clean,
                "{what}: other hcalls than the clean scenario's"
            );
            Outcome::Recovered { retries }
        }
        Err((step, error)) => {
            assert!(!error.to_string().is_empty(), "{what}: no message");
            Outcome::Error { step, error }
        }
    }
}

#[test]
fn fault_injection_every_call_site_every_code() {
    // The fault matrix: every hcall the scenario makes × every answer an L0 can give
    // instead of the right one (each error code, busy and long-busy storms — short, and
    // longer than the retry budget —, truncated and corrupt output buffers). Each cell must
    // end as `expected` says, leave no guest behind in the L0, never send a request that
    // would abort QEMU, and leave the L0 usable.
    let l0 = SoftL0::new(memory());
    let clean = Capped::new(&l0);
    scenario(&clean, "the clean scenario").unwrap();
    assert!(l0.guests().is_empty());
    let mut counts = BTreeMap::new();
    let trace: Vec<Site> = clean
        .trace
        .lock()
        .unwrap()
        .iter()
        .map(|&(op, step)| {
            let nth = counts.entry(op).and_modify(|n| *n += 1).or_insert(1u64);
            Site {
                op,
                nth: *nth,
                step,
                ..SITES[0]
            }
        })
        .collect();
    let key = |s: &Site| (s.op, s.nth, s.step);
    assert_eq!(
        trace.iter().map(key).collect::<Vec<_>>(),
        SITES.iter().map(key).collect::<Vec<_>>(),
        "the scenario's hcalls changed: update SITES"
    );
    let injections = injections();
    let (mut recovered, mut typed) = (0, 0);
    let mut mismatches = Vec::new();
    println!(
        "call site | one column per injection (rN: recovered after N retries, E: typed error)"
    );
    for site in &SITES {
        let mut row = String::new();
        for &injection in &injections {
            let got = cell(site, injection, &counts);
            let want = expected(site, injection);
            match got {
                Outcome::Recovered { retries } => {
                    recovered += 1;
                    row.push_str(&format!(" r{retries}"));
                }
                Outcome::Error { .. } => {
                    typed += 1;
                    row.push_str(" E");
                }
            }
            if got != want {
                row.push('!');
                mismatches.push(format!(
                    "cell {} x {injection:?}: expected {want:?}, got {got:?}",
                    site.name()
                ));
            }
        }
        println!("  {:<44}|{row}", site.name());
    }
    let cases = SITES.len() * injections.len();
    println!(
        "fault matrix: {} opcodes, {} call sites x {} injections = {cases} cases: \
         {recovered} recovered, {typed} typed errors, {} unexpected, 0 panics, \
         0 guests leaked, 0 would-abort",
        counts.len(),
        SITES.len(),
        injections.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {cases} cells differ from the rule:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

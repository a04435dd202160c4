//! `cargo xtask compare --insns`: what our L1 executes per kernel-hcall exit under QEMU,
//! counted, not timed. QEMU runs `examples/exit-bench` with `-d exec,nochain,in_asm` into a
//! FIFO; the stream gives every translated block's guest instructions (`in_asm`, once per
//! translation) and every block executed (`exec`, `nochain`: each block logged). A window is
//! one exit of the kernel-hcall loop as the L2 sees it: from one execution of the L2's
//! `sc 1` block to the next. Inside it, the blocks at the L1's addresses are the L1's work:
//! their count and their guest instructions (the L2's loop lives below [`L1_CODE`]).
//!
//! A count does not swing with the host's load, but it is not the time: under TCG an ALU
//! instruction costs ≈ 0.1 ns, a load or store ≈ 1.2 ns, and each page an exit touches
//! ≈ 80 ns (QEMU flushes its TLB on every L1↔L2 switch; measured with probes added to the
//! exit path), plus ≈ 0.5 µs inside QEMU for the DEC-quirk GET. Read it with
//! `--pages` ([`super::pages`]), which counts the pages and the loads and stores.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The L2's kernel-hcall loop block ending in `sc 1` (`li r3,H_CONFER; li r4,-1; li r5,0;
/// sc 1`), after the loop's first `mftb` at 0x1100 (`KERNEL_LOOP` in
/// `examples/exit-bench/src/loops.rs`: the same words at the same GPA as the Linux side).
pub const L2_SC_BLOCK: u64 = 0x1104;
/// Our L1's code starts here (`examples/baremetal/link.ld`: vectors below 0x1000, the entry
/// code at 0x1000); the L2's loops sit at 0x1000–0x1300 of its own address space.
pub const L1_CODE: u64 = 0x2000;
/// Windows skipped (the loop's warm-up: every block translated, caches warm).
const SKIP: usize = 3000;
/// Windows measured.
const WINDOWS: usize = 5;

/// What the trace stream gives, line by line.
#[derive(Debug, Default)]
pub struct Trace {
    /// Guest instructions of each block, by start address (the first translation: the L1's
    /// boot code and the L2's loop share low addresses, and the L1's comes first).
    lens: HashMap<u64, u32>,
    /// The `in_asm` block being read: (start, instructions so far).
    open: Option<(u64, u32)>,
    /// Executions of [`L2_SC_BLOCK`] so far.
    hits: usize,
    /// The blocks of the window being captured.
    window: Vec<u64>,
    /// The captured windows.
    pub windows: Vec<Vec<u64>>,
}

impl Trace {
    /// Takes one line of the log; returns `true` once [`WINDOWS`] windows are captured.
    pub fn line(&mut self, line: &str) -> bool {
        if let Some(pc) = exec_pc(line) {
            self.close_block();
            if pc == L2_SC_BLOCK {
                self.hits += 1;
                if self.hits > SKIP {
                    self.windows.push(std::mem::take(&mut self.window));
                }
                self.window.clear();
            } else if self.hits >= SKIP && pc >= L1_CODE {
                self.window.push(pc);
            }
            return self.windows.len() >= WINDOWS;
        }
        if line.starts_with("IN:") {
            self.close_block();
            self.open = Some((u64::MAX, 0));
            return false;
        }
        if let (Some((start, n)), Some(pc)) = (self.open, insn_pc(line)) {
            let start = if start == u64::MAX { pc } else { start };
            self.open = Some((start, n + 1));
        } else if self.open.is_some() && (line.trim().is_empty() || line.starts_with("---")) {
            self.close_block();
        }
        false
    }

    fn close_block(&mut self) {
        if let Some((start, n)) = self.open.take() {
            if start != u64::MAX {
                self.lens.entry(start).or_insert(n);
            }
        }
    }

    /// Guest instructions of the block at `pc` (0 if it was never seen translated).
    pub fn len(&self, pc: u64) -> u32 {
        self.lens.get(&pc).copied().unwrap_or(0)
    }
}

/// The block address of an `exec` line (`Trace 0: 0x7f… [00000000/0000000000001104/…]`).
fn exec_pc(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("Trace ")?;
    let fields = rest.split_once('[')?.1.split('/').nth(1)?;
    u64::from_str_radix(fields, 16).ok()
}

/// The address of an `in_asm` instruction line (`0x00001104:  386000e4  li r3, 0xe4`).
fn insn_pc(line: &str) -> Option<u64> {
    let (addr, rest) = line.strip_prefix("0x")?.split_once(':')?;
    rest.split_whitespace().next()?;
    u64::from_str_radix(addr, 16).ok()
}

/// The figures of the measured windows: (blocks, instructions) per window, and the
/// instructions per function of the median window when `symbols` are given.
#[derive(Debug, PartialEq)]
pub struct Counts {
    /// Per window: (translated blocks executed, guest instructions).
    pub per_window: Vec<(usize, u64)>,
    /// Instructions of the median window by function (largest first).
    pub by_function: Vec<(String, u64)>,
}

/// Counts the captured windows of `t`; `inlined` (block → function after inlining), else
/// `symbols` (address → name, sorted), attribute them.
pub fn counts(
    t: &Trace,
    symbols: &BTreeMap<u64, String>,
    inlined: &HashMap<u64, String>,
) -> Counts {
    let per_window: Vec<(usize, u64)> = t
        .windows
        .iter()
        .map(|w| (w.len(), w.iter().map(|&pc| u64::from(t.len(pc))).sum()))
        .collect();
    let mut order: Vec<usize> = (0..per_window.len()).collect();
    order.sort_by_key(|&i| per_window.get(i).map_or(0, |c| c.1));
    let median = order.get(order.len() / 2).and_then(|&i| t.windows.get(i));
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for &pc in median.into_iter().flatten() {
        let name = match inlined.get(&pc) {
            Some(n) => n.clone(),
            None => short(
                symbols
                    .range(..=pc)
                    .next_back()
                    .map_or("?", |(_, n)| n.as_str()),
            ),
        };
        *by.entry(name).or_default() += u64::from(t.len(pc));
    }
    let mut by_function: Vec<(String, u64)> = by.into_iter().collect();
    by_function.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Counts {
        per_window,
        by_function,
    }
}

/// A demangled name without its hash and generic arguments, for a table; a trait method
/// (`<T as Trait>::f`) is named after its type (`T::f`).
fn short(name: &str) -> String {
    let name = name.split("::h").next().unwrap_or(name);
    if let Some(inner) = name.strip_prefix('<') {
        if let Some((ty, rest)) = inner.split_once(" as ") {
            let method = rest.rsplit_once(">::").map_or("", |(_, m)| m);
            return format!("{}::{method}", short(ty));
        }
    }
    let mut out = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.replace("::::", "::")
        .trim_start_matches("::")
        .to_string()
}

/// The function symbols of `elf` (`nm -n -C`), or why not.
fn symbols(elf: &Path) -> Result<BTreeMap<u64, String>, String> {
    let out = Command::new("nm")
        .args(["-n", "-C"])
        .arg(elf)
        .output()
        .map_err(|e| format!("nm: {e}"))?;
    if !out.status.success() {
        return Err(format!("nm {} failed", elf.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ' ');
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let kind = f.next()?;
            let name = f.next()?.to_string();
            matches!(kind, "t" | "T" | "w" | "W").then_some((addr, name))
        })
        .collect())
}

/// The function each of `pcs` belongs to after inlining: of its inline chain
/// (`addr2line -i`), the innermost frame that is not the standard library's, so that a
/// block inside an inlined `VcpuState::apply_exit` counts for it and not for the loop it
/// was inlined into. `None` when `addr2line` is not there.
pub(super) fn inlined_functions(elf: &Path, pcs: &[u64]) -> Option<HashMap<u64, String>> {
    let input: String = pcs.iter().map(|pc| format!("{pc:#x}\n")).collect();
    let mut child = Command::new("addr2line")
        .args(["-a", "-i", "-f", "-C", "-e"])
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    std::io::Write::write_all(child.stdin.as_mut()?, input.as_bytes()).ok()?;
    drop(child.stdin.take());
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(parse_inlined(&text))
}

/// `addr2line -a -i -f -C` output: per address, its frames as (function, location) line
/// pairs, innermost first; the first function that is not the standard library's.
fn parse_inlined(text: &str) -> HashMap<u64, String> {
    let mut names = HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(pc) = line
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
        else {
            continue;
        };
        let mut frames = Vec::new();
        while let Some(next) = lines.peek() {
            if next.starts_with("0x") {
                break;
            }
            frames.push(lines.next().unwrap_or_default());
        }
        let own = frames.chunks(2).filter_map(|f| f.first()).find(|f| {
            let std = ["core::", "<core::", "alloc::", "<alloc::", "??"]
                .iter()
                .any(|p| f.starts_with(p));
            !std && !f.contains(" as core::") && !f.contains(" as alloc::")
        });
        if let Some(f) = own {
            names.insert(pc, short(f));
        }
    }
    names
}

/// Boots `image` under the trace and returns the report text; `elf` names its functions.
pub fn measure(cmd: Command, work: &Path, elf: &Path) -> Result<String, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let fifo = work.join("insns.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map_err(|e| format!("mkfifo: {e}"))?;
    if !made.success() {
        return Err(format!("mkfifo {} failed", fifo.display()));
    }
    let mut cmd = cmd;
    cmd.args(["-d", "exec,nochain,in_asm", "-D"])
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("starting QEMU: {e}"))?;
    let file = std::fs::File::open(&fifo).map_err(|e| format!("{}: {e}", fifo.display()))?;
    let mut t = Trace::default();
    let mut done = false;
    for line in BufReader::with_capacity(1 << 20, file).lines() {
        let Ok(line) = line else { break };
        if t.line(&line) {
            done = true;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&fifo);
    if !done {
        return Err(format!(
            "the trace ended after {} of the kernel-hcall loop's exits ({} needed): did \
             exit-bench run?",
            t.hits,
            SKIP + WINDOWS
        ));
    }
    let (syms, note) = match symbols(elf) {
        Ok(s) => (s, String::new()),
        Err(e) => (
            BTreeMap::new(),
            format!("  (no breakdown by function: {e})\n"),
        ),
    };
    let blocks: Vec<u64> = t.windows.iter().flatten().copied().collect();
    let inlined = inlined_functions(elf, &blocks).unwrap_or_default();
    Ok(render(&counts(&t, &syms, &inlined)) + &note)
}

/// The report.
pub fn render(c: &Counts) -> String {
    let mut instrs: Vec<u64> = c.per_window.iter().map(|w| w.1).collect();
    instrs.sort_unstable();
    let mut blocks: Vec<usize> = c.per_window.iter().map(|w| w.0).collect();
    blocks.sort_unstable();
    let mid = |v: &[u64]| v.get(v.len() / 2).copied().unwrap_or(0);
    let mut out = format!(
        "Our L1's work per kernel-hcall exit under QEMU (counted: -d exec,nochain,in_asm; \
         {} exits after {SKIP}): {} guest instructions in {} translated blocks (median; \
         range {}–{} instructions)\n",
        c.per_window.len(),
        mid(&instrs),
        blocks.get(blocks.len() / 2).copied().unwrap_or(0),
        instrs.first().copied().unwrap_or(0),
        instrs.last().copied().unwrap_or(0),
    );
    for (name, n) in c.by_function.iter().take(20) {
        out.push_str(&format!("  {n:>5}  {name}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pc: u64, n: u32) -> String {
        let mut s = String::from("----------------\nIN: \n");
        for i in 0..u64::from(n) {
            s.push_str(&format!("0x{:08x}:  60000000  nop\n", pc + 4 * i));
        }
        s.push('\n');
        s
    }

    fn exec(pc: u64) -> String {
        format!("Trace 0: 0x7fb2fc000100 [00000000/{pc:016x}/6c002000/ff000200] \n")
    }

    #[test]
    fn lines_parse() {
        assert_eq!(
            exec_pc("Trace 0: 0x7fb2fc000240 [00000000/0000000000000108/6c002000/ff000200] "),
            Some(0x108)
        );
        assert_eq!(exec_pc("IN: "), None);
        assert_eq!(insn_pc("0x00001104:  386000e4  li r3, 0xe4"), Some(0x1104));
        assert_eq!(insn_pc("0x00001104:"), None);
        assert_eq!(short("papr_nestedv2::vcpu::run_loop::<impl papr_nestedv2::vcpu::Vcpu<P,A>>::run_loop::h27ab8dd8c3546938"),
            "papr_nestedv2::vcpu::run_loop::run_loop");
    }

    #[test]
    fn inline_chains_name_the_innermost_own_function() {
        let text = "0x000000000000c9ec\ncore::sync::atomic::atomic_load\n/rustc/x/atomic.rs:3891\n\
            papr_hcall::nested::NestedHv<H,M,D>::call\n/work/hcall/src/nested.rs:200\n\
            papr_nestedv2::vcpu::run_loop::run_loop::h1\n/work/nestedv2/src/vcpu/run_loop.rs:9\n\
            0x000000000000ca18\n??\n??:0\n";
        let n = parse_inlined(text);
        assert_eq!(
            n.get(&0xc9ec).map(String::as_str),
            Some("papr_hcall::nested::NestedHv::call")
        );
        assert_eq!(n.get(&0xca18), None);
        assert_eq!(
            short("<papr_hcall::memory::IdentityMemory as papr_hcall::memory::RealMemory>::write"),
            "papr_hcall::memory::IdentityMemory::write"
        );
    }

    #[test]
    fn windows_count_the_l1_blocks_between_two_l2_hcalls() {
        let mut log = block(L2_SC_BLOCK, 4) + &block(0x3000, 10) + &block(0x3100, 7);
        log += &block(0x1114, 2); // the L2 after the return: not the L1's
        let mut t = Trace::default();
        let mut finished = false;
        for l in log.lines() {
            assert!(!t.line(l));
        }
        // Every exit: L2 sc, L1 0x3000, L1 0x3100 (twice after the SKIP+1st), L2 0x1114;
        // a window ends at the next L2 sc, so the windows hold exits SKIP-1 … SKIP+3.
        for k in 0..(SKIP + WINDOWS + 1) {
            let mut ex = exec(L2_SC_BLOCK) + &exec(0x3000) + &exec(0x3100);
            if k > SKIP {
                ex += &exec(0x3100);
            }
            ex += &exec(0x1114);
            for l in ex.lines() {
                if t.line(l) {
                    finished = true;
                }
            }
            if finished {
                break;
            }
        }
        assert!(finished);
        let syms = BTreeMap::from([
            (0x3000, "a::f::h1".to_string()),
            (0x3100, "b::g::h2".into()),
        ]);
        let c = counts(&t, &syms, &HashMap::new());
        assert_eq!(c.per_window.len(), WINDOWS);
        assert_eq!(c.per_window[0], (2, 17));
        assert_eq!(c.per_window[WINDOWS - 1], (3, 24));
        // The median window is a 3-block one: 10 + 7 + 7.
        assert_eq!(
            c.by_function,
            vec![("b::g".to_string(), 14), ("a::f".to_string(), 10)]
        );
        let r = render(&c);
        assert!(
            r.contains("24 guest instructions in 3 translated blocks"),
            "{r}"
        );
        assert!(r.contains("range 17–24"), "{r}");
    }
}

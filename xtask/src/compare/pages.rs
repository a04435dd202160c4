//! `cargo xtask compare --pages`: the 4 KiB pages our L1 touches per kernel-hcall exit under
//! QEMU, counted with a TCG plugin (built here from [`PLUGIN_C`] with the system's `cc`).
//!
//! Under TCG a page costs more than its instructions: QEMU flushes its TLB on every
//! L1↔L2 switch (`nested_post_load_state`), so each page an exit touches is a softmmu TLB
//! refill per exit (≈ 80 ns on the machines we measured, code or data), while an ALU
//! instruction is ≈ 0.1 ns and a load or store that hits the TLB ≈ 1.2 ns. This report is
//! the one to read before moving code or data on the exit path.
//!
//! The plugin records, from the `want`-th execution of the L2's `sc 1` instruction to the
//! next, every instruction executed (its address) and every memory access (instruction,
//! address, load or store), and writes them to a file once. The L2's own few instructions
//! (below [`L1_CODE`]) are left out of the L1's figures.

use super::insns::{inlined_functions, L1_CODE, L2_SC_BLOCK};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Exits of the kernel-hcall loop before the one recorded (every block translated).
const WANT: u64 = 3000;

/// The plugin (QEMU's plugin API, declared here so that no QEMU or GLib header is needed;
/// API version 2 and up keep these calls).
const PLUGIN_C: &str = r#"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
__attribute__((visibility("default"))) int qemu_plugin_version = 2;
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t,
    void (*)(qemu_plugin_id_t, struct qemu_plugin_tb *));
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
extern void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *,
    void (*)(unsigned int, void *), int, void *);
extern void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *,
    void (*)(unsigned int, qemu_plugin_meminfo_t, uint64_t, void *), int, int, void *);
extern bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t);

#define MAX 200000
static uint64_t trig, want, hits;
static const char *out;
static int recording, written;
static uint64_t ev_pc[MAX], ev_addr[MAX];
static char ev_kind[MAX];
static int n;

static void dump(void) {
    FILE *f = fopen(out, "w");
    if (!f) return;
    for (int i = 0; i < n; i++)
        fprintf(f, "%c %llx %llx\n", ev_kind[i], (unsigned long long)ev_pc[i],
                (unsigned long long)ev_addr[i]);
    fclose(f);
}

static void on_insn(unsigned int vcpu, void *ud) {
    uint64_t pc = (uint64_t)(uintptr_t)ud;
    if (pc == trig && !written) {
        hits++;
        if (hits == want) { recording = 1; n = 0; }
        else if (hits == want + 1) { recording = 0; written = 1; dump(); }
    }
    if (recording && n < MAX) { ev_kind[n] = 'x'; ev_pc[n] = pc; ev_addr[n] = pc; n++; }
}

static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t va, void *ud) {
    if (recording && n < MAX) {
        ev_kind[n] = qemu_plugin_mem_is_store(info) ? 's' : 'l';
        ev_pc[n] = (uint64_t)(uintptr_t)ud;
        ev_addr[n] = va;
        n++;
    }
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    size_t count = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < count; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        void *pc = (void *)(uintptr_t)qemu_plugin_insn_vaddr(insn);
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, 0, pc);
        qemu_plugin_register_vcpu_mem_cb(insn, on_mem, 0, 3, pc);
    }
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "trig=", 5)) trig = strtoull(argv[i] + 5, 0, 0);
        else if (!strncmp(argv[i], "want=", 5)) want = strtoull(argv[i] + 5, 0, 0);
        else if (!strncmp(argv[i], "out=", 4)) out = argv[i] + 4;
    }
    if (!out || !want) return 1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
    return 0;
}
"#;

/// One recorded event: an instruction executed (`x`), a load (`l`) or a store (`s`) by
/// the instruction at `pc`, of `addr` (for `x`, `addr` = `pc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    kind: char,
    pc: u64,
    addr: u64,
}

/// Parses the plugin's file; lines that are not events are skipped.
pub fn parse(text: &str) -> Vec<Event> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let kind = f.next()?.chars().next()?;
            let pc = u64::from_str_radix(f.next()?, 16).ok()?;
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            matches!(kind, 'x' | 'l' | 's').then_some(Event { kind, pc, addr })
        })
        .collect()
}

/// What the L1 touched in one exit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pages {
    /// Instructions the L1 executed.
    pub insns: u64,
    /// Code pages (page number → instructions executed on it).
    pub code: BTreeMap<u64, u64>,
    /// Data pages (page number → (loads, stores, the instructions that touched it)).
    pub data: BTreeMap<u64, (u64, u64, BTreeSet<u64>)>,
}

/// The L1's part of `events` (instructions at or above [`L1_CODE`]), by page.
pub fn count(events: &[Event]) -> Pages {
    let mut p = Pages::default();
    for e in events.iter().filter(|e| e.pc >= L1_CODE) {
        match e.kind {
            'x' => {
                p.insns += 1;
                *p.code.entry(e.pc >> 12).or_default() += 1;
            }
            kind => {
                let d = p.data.entry(e.addr >> 12).or_default();
                if kind == 's' {
                    d.1 += 1;
                } else {
                    d.0 += 1;
                }
                d.2.insert(e.pc);
            }
        }
    }
    p
}

/// The report; `names` gives the function of an instruction address.
pub fn render(p: &Pages, names: &std::collections::HashMap<u64, String>) -> String {
    let accesses: u64 = p.data.values().map(|d| d.0 + d.1).sum();
    let list = |pages: Vec<u64>| {
        pages
            .iter()
            .map(|n| format!("{:#x}", n << 12))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = format!(
        "Pages our L1 touches per kernel-hcall exit under QEMU (counted: TCG plugin, exit \
         {WANT} of the loop): {} code, {} data; {} instructions, {accesses} loads and stores\n  \
         code: {}\n",
        p.code.len(),
        p.data.len(),
        p.insns,
        list(p.code.keys().copied().collect()),
    );
    for (page, (loads, stores, pcs)) in &p.data {
        let mut who: BTreeMap<&str, usize> = BTreeMap::new();
        for pc in pcs {
            let name = names.get(pc).map_or("?", String::as_str);
            *who.entry(name).or_default() += 1;
        }
        let mut who: Vec<(&str, usize)> = who.into_iter().collect();
        who.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let who: Vec<&str> = who.iter().take(4).map(|w| w.0).collect();
        out.push_str(&format!(
            "  data {:#x}: {loads} loads, {stores} stores ({})\n",
            page << 12,
            who.join(", ")
        ));
    }
    out
}

/// Builds the plugin in `work` with `cc`; returns its path.
fn build_plugin(work: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let src = work.join("pages.c");
    let so = work.join("pages.so");
    std::fs::write(&src, PLUGIN_C).map_err(|e| format!("{}: {e}", src.display()))?;
    let st = Command::new("cc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src)
        .status()
        .map_err(|e| {
            format!("cc (the C compiler, for QEMU's plugin): {e}; install it: apt-get install gcc")
        })?;
    if !st.success() {
        return Err(format!("cc could not build {} ({st})", src.display()));
    }
    Ok(so)
}

/// Boots exit-bench (`cmd`) with the plugin and returns the report; `elf` names functions.
pub fn measure(cmd: Command, work: &Path, elf: &Path) -> Result<String, String> {
    let so = build_plugin(work)?;
    let events = work.join("pages.txt");
    let _ = std::fs::remove_file(&events);
    let mut cmd = cmd;
    cmd.arg("-plugin")
        .arg(format!(
            "{},trig={L2_SC_BLOCK:#x},want={WANT},out={}",
            so.display(),
            events.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let run = cmd.output().map_err(|e| format!("starting QEMU: {e}"))?;
    let text = std::fs::read_to_string(&events).map_err(|e| {
        format!(
            "{}: {e} (QEMU {}: {})",
            events.display(),
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        )
    })?;
    let p = count(&parse(&text));
    if p.insns == 0 {
        return Err(format!("{}: no L1 instruction recorded", events.display()));
    }
    let pcs: Vec<u64> = p.data.values().flat_map(|d| d.2.iter().copied()).collect();
    let names = inlined_functions(elf, &pcs).unwrap_or_default();
    Ok(render(&p, &names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_count_by_page_and_leave_the_l2_out() {
        let text = "x 1104 1104\n\
                    s 1108 118f8\n\
                    x 2000 2000\n\
                    l 2000 7b908\n\
                    x 2004 2004\n\
                    s 2004 7b910\n\
                    x 3000 3000\n\
                    l 3000 4100c70\n\
                    garbage\n";
        let p = count(&parse(text));
        assert_eq!(p.insns, 3, "the L2's instruction at 0x1104 is not the L1's");
        assert_eq!(p.code, BTreeMap::from([(2, 2), (3, 1)]));
        assert_eq!(p.data.len(), 2, "the L2's store to 0x118f8 is not the L1's");
        let stack = &p.data[&0x7b];
        assert_eq!((stack.0, stack.1), (1, 1));
        assert_eq!(stack.2, BTreeSet::from([0x2000, 0x2004]));
        let report = render(&p, &Default::default());
        assert!(report.contains("2 code, 2 data; 3 instructions, 3 loads and stores"));
        assert!(report.contains("data 0x4100000: 1 loads, 0 stores"));
    }
}

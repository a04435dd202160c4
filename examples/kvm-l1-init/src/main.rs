//! `/init` of the Linux L1 in `cargo xtask compare`: Debian's Linux 6.12 runs KVM (book3s HV,
//! nestedv2 on QEMU's L0) and this static program, with no C library, drives it.
//!
//! 1. Mounts `/proc`, `/sys` and devtmpfs on `/dev`; loads `/lib/kvm.ko` then
//!    `/lib/kvm-hv.ko` with `finit_module` (`.ko.xz` when xtask could not decompress them).
//! 2. Opens `/dev/kvm`, creates a `KVM_VM_PPC_HV` VM, a 16 MiB memslot, one vCPU with
//!    `KVM_CAP_PPC_PAPR` (see [`kvm`]).
//! 3. Runs the three L2 loops of [`mod@bench`], prints one `EXIT-BENCH` line per sample.
//! 4. Prints `EXIT-BENCH-END ok` (or `EXIT-BENCH-FAIL <step>: <errno>`) and powers off.
//!
//! With `compare.trace` on the kernel command line it instead runs one traced sample per
//! loop (hcall tracepoints, see [`trace`]), which perturbs the timing: xtask reports it apart.
#![no_std]
#![no_main]

mod bench;
mod kvm;
mod sys;
mod trace;

use core::panic::PanicInfo;

core::arch::global_asm!(
    r#"
    .section .text._start, "ax"
    .globl _start
_start:
    # The kernel's stack pointer points at argc: keep it, aligned, with a null back chain.
    clrrdi %r1, %r1, 4
    li %r0, 0
    stdu %r0, -64(%r1)
    lis %r2, .TOC.@ha
    addi %r2, %r2, .TOC.@l
    lis %r12, init_main@ha
    addi %r12, %r12, init_main@l
    mtctr %r12
    bctrl
    b .
"#
);

/// Prints the failure line and powers off.
fn fail(f: kvm::Failed) -> ! {
    println!("EXIT-BENCH-FAIL {}: {}", f.step, f.errno);
    finish()
}

/// Powers the machine off (never returns; spins when the kernel refuses).
fn finish() -> ! {
    let e = sys::power_off();
    println!("kvm-l1-init: reboot(POWER_OFF) failed: {e}");
    loop {
        core::hint::spin_loop();
    }
}

/// The timebase frequency from `/proc/cpuinfo` (`timebase : 512000000`), 512 MHz otherwise.
fn timebase_hz() -> u64 {
    let mut buf = [0u8; 4096];
    let n = sys::read_file("/proc/cpuinfo", &mut buf).unwrap_or(0);
    let text = core::str::from_utf8(buf.get(..n).unwrap_or(&[])).unwrap_or("");
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "timebase").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(512_000_000)
}

/// Whether the kernel command line holds `word`.
fn cmdline_has(word: &str) -> bool {
    let mut buf = [0u8; 1024];
    let n = sys::read_file("/proc/cmdline", &mut buf).unwrap_or(0);
    core::str::from_utf8(buf.get(..n).unwrap_or(&[]))
        .unwrap_or("")
        .split_whitespace()
        .any(|w| w == word)
}

/// Per-exit ticks of one sample: single `KVM_RUN` calls, then whole cycles.
static mut PER_EXIT: [u64; 2 * bench::EXITS as usize] = [0; 2 * bench::EXITS as usize];

/// The program, entered from `_start`.
#[no_mangle]
extern "C" fn init_main() -> ! {
    println!("kvm-l1-init: Linux KVM as the L1 (papr-nested cargo xtask compare)");
    for (dir, fs) in [("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs")] {
        if let Err(errno) = sys::mkdir(dir).and_then(|()| sys::mount(fs, dir, fs)) {
            fail(kvm::Failed {
                step: "mount of /proc, /sys or /dev",
                errno,
            });
        }
    }
    for (module, step) in [
        ("kvm", "finit_module(/lib/kvm.ko)"),
        ("kvm-hv", "finit_module(/lib/kvm-hv.ko)"),
    ] {
        match kvm::load_module(module, step) {
            Ok(how) => println!("kvm-l1-init: finit_module({module}.ko) = 0 ({how})"),
            Err(f) => {
                println!("kvm-l1-init: finit_module({module}.ko) failed: {}", f.errno);
                fail(f)
            }
        }
    }
    let tb_hz = timebase_hz();
    let t0 = sys::timebase();
    let m = match kvm::Machine::new() {
        Ok(m) => m,
        Err(f) => fail(f),
    };
    println!(
        "kvm-l1-init: KVM API {}, VM + memslot + vCPU (PAPR) in {} us",
        m.api_version,
        sys::timebase().wrapping_sub(t0) / (tb_hz / 1_000_000).max(1)
    );
    // SAFETY: the only reference to PER_EXIT in this single-threaded program.
    let per: &mut [u64] = unsafe { &mut *core::ptr::addr_of_mut!(PER_EXIT) };
    let traced = cmdline_has("compare.trace");
    let r = if traced {
        trace::all(&m, tb_hz)
    } else {
        bench::baselines(per, tb_hz);
        bench::all(&m, per, "linux", tb_hz)
    };
    match r {
        Ok(()) => println!("EXIT-BENCH-END ok"),
        Err(f) => fail(f),
    }
    finish()
}

/// Prints the panic and powers off.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    println!("EXIT-BENCH-FAIL panic: {info}");
    finish()
}

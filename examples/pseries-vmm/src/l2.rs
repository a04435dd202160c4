//! Builds the L2 (guest, RAM, kernel, device tree, vCPU), runs it to its end and prints the
//! figures.

use crate::config::Config;
use crate::env::BareMetal;
use crate::percpu::{self, LoopConfig, LoopFigures, Overlap};
use crate::sched::{self, Slices};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use papr_baremetal::{boot, dt::Info, println};
use papr_hcall::{Capabilities, CountingHcall, IdentityMemory, NestedHv, Sc1, TimebaseSpin};
use papr_mmu_radix::{L1RealAddr as TableAddr, PoolAlloc};
use papr_nestedv2::{
    ExitKind, Guest, GuestRealAddr, L1RealAddr, LogicalPvr, NestedHost, Quirks, TimebaseClock, Vcpu,
};
use papr_platform::{elf, fdt, layout::Layout, rtas, vcpu as defaults, Board, Outcome, Platform};

/// Start of the L1 memory the L0 is given (page tables and run buffers): nothing of the
/// Rust program lives from here on (the heap ends below it).
pub const L0_WINDOW: u64 = 0x0F00_0000;
/// Table pages: 1 MiB (a 256 MiB L2 mapped with 2 MiB leaves needs 64 KiB root + a few
/// directories).
const TABLE_POOL: (u64, u64) = (L0_WINDOW, 1 << 20);
/// Run buffer pages: 64 KiB.
const PAGE_POOL: (u64, u64) = (L0_WINDOW + (1 << 20), 64 << 10);
/// Where the L2's RAM lives in the L1: QEMU `-M pseries,kernel-addr=0x10000000` loads the
/// kernel here, so the L2's GPA 0 is the image.
pub const L2_RAM_L1: u64 = 0x1000_0000;

type Parts = (
    CountingHcall<Sc1>,
    IdentityMemory,
    TimebaseSpin,
    TimebaseClock,
    PoolAlloc<1>,
);
type L2Guest<'h> = Guest<'h, Parts, PoolAlloc<4>>;
/// A vCPU of the L2.
pub type L2Vcpu<'g, 'h> = Vcpu<'g, 'h, Parts, PoolAlloc<4>>;

/// How the L2 ended, for the L1's own exit status.
#[derive(Debug)]
pub enum End {
    /// The L2 powered off: the L1 powers off (QEMU exit 0).
    PowerOff,
    /// Anything else (panic, reboot, a handler error): the L1 terminates (QEMU exit 1).
    Failure(&'static str),
}

/// Where the kernel is: its entry GPA, the end of what it occupies, and the initrd's GPAs.
struct Kernel {
    entry: u64,
    used_end: u64,
    initrd: Option<(u64, u64)>,
}

/// L1 real address → L2 GPA, for ranges inside the L2's RAM.
fn gpa_of(l1: u64, len: u64, ram: u64) -> Option<u64> {
    let off = l1.checked_sub(L2_RAM_L1)?;
    (off.checked_add(len)? <= ram).then_some(off)
}

/// Finds the kernel: a raw ELF (`vmm.kernel=`) is loaded with the ELF loader; otherwise the
/// image QEMU's `-kernel` loaded at `kernel-addr` is used in place, entered at its start.
fn kernel(info: &Info, cfg: &Config, guest: &L2Guest<'_>) -> Result<Kernel, String> {
    let ram = cfg.ram_bytes;
    let initrd = match info.initrd {
        Some((start, end)) if end > start => Some(
            gpa_of(start, end - start, ram)
                .map(|g| (g, g + (end - start)))
                .ok_or_else(|| {
                    format!("the initrd at L1 {start:#x}..{end:#x} is not inside the L2's RAM (L1 {L2_RAM_L1:#x} + {ram:#x})")
                })?,
        ),
        _ => None,
    };
    let initrd_end = initrd.map_or(0, |(_, e)| e);
    if let Some((addr, len)) = cfg.raw_kernel {
        if addr < L2_RAM_L1 + ram && L2_RAM_L1 < addr.saturating_add(len) {
            return Err(format!(
                "vmm.kernel={addr:#x},{len:#x} overlaps the L2's RAM"
            ));
        }
        if addr.saturating_add(len) > info.memory_total as u64 {
            return Err(format!(
                "vmm.kernel={addr:#x},{len:#x} runs past the L1's RAM"
            ));
        }
        // SAFETY: the image lies in L1 RAM (checked above) that QEMU's loader filled and nothing in this program owns: it is above the heap and the L0 window and outside the L2's RAM; it is only read, while this slice lives.
        let image = unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) };
        let put = |gpa: u64, bytes: &[u8]| {
            guest
                .write_ram(GuestRealAddr(gpa), bytes)
                .map_err(|e| papr_platform::Error::Load(format!("{e}")))
        };
        let mut write = put;
        let mut zero = |gpa: u64, len: u64| {
            let page = [0u8; 4096];
            let mut at = gpa;
            let end = gpa.saturating_add(len);
            while at < end {
                let n = (end - at).min(4096);
                put(at, page.get(..n as usize).unwrap_or(&[]))?;
                at += n;
            }
            Ok(())
        };
        let k = elf::load(image, cfg.dyn_base, ram, &mut write, &mut zero)
            .map_err(|e| format!("loading the kernel ELF: {e}"))?;
        println!(
            "  kernel: raw ELF at L1 {addr:#x} ({len} bytes), {:?}, loaded {:#x}..{:#x}, entry {:#x}",
            k.kind, k.load_start, k.load_end, k.entry
        );
        return Ok(Kernel {
            entry: k.entry,
            used_end: k.load_end.max(initrd_end),
            initrd,
        });
    }
    let Some((addr, size)) = info.boot_kernel else {
        return Err(String::from(
            "no kernel: boot with QEMU -kernel (and -M pseries,kernel-addr=0x10000000) or vmm.kernel=<addr>,<len>",
        ));
    };
    let entry = gpa_of(addr, size, ram).ok_or_else(|| {
        format!("the kernel QEMU loaded at L1 {addr:#x} (+{size:#x}) is not inside the L2's RAM: use -M pseries,kernel-addr={L2_RAM_L1:#x}")
    })?;
    println!("  kernel: loaded by QEMU at L1 {addr:#x} ({size} bytes) = GPA {entry:#x}");
    Ok(Kernel {
        entry,
        used_end: (entry + size).max(initrd_end),
        initrd,
    })
}

/// The L2's CPU node: the L1's own CPU properties where its device tree has them (they
/// describe the same CPU), QEMU power10's otherwise.
fn cpu_props(info: &Info) -> fdt::CpuProps<'static> {
    let d = fdt::CpuProps::default();
    let c = &info.cpu;
    let dc = d.cache;
    fdt::CpuProps {
        timebase_hz: c.timebase_frequency.unwrap_or(d.timebase_hz),
        clock_hz: c.clock_frequency.unwrap_or(d.clock_hz),
        pa_features: c.pa_features.or(d.pa_features),
        radix_ap_encodings: c.radix_ap_encodings.or(d.radix_ap_encodings),
        cache: fdt::CacheProps {
            d_cache_size: c.d_cache_size.unwrap_or(dc.d_cache_size),
            i_cache_size: c.i_cache_size.unwrap_or(dc.i_cache_size),
            d_cache_line_size: c.d_cache_line_size.unwrap_or(dc.d_cache_line_size),
            i_cache_line_size: c.i_cache_line_size.unwrap_or(dc.i_cache_line_size),
            d_cache_block_size: c.d_cache_block_size.unwrap_or(dc.d_cache_block_size),
            i_cache_block_size: c.i_cache_block_size.unwrap_or(dc.i_cache_block_size),
        },
        ..d
    }
}

/// Sets everything up, runs the L2 to its end, prints the figures.
///
/// # Errors
/// A message naming the step that failed.
pub fn boot(info: &Info, cfg: &Config, l1_fdt: u64, t0: u64) -> Result<End, String> {
    let ram = cfg.ram_bytes;
    let ram_end = L2_RAM_L1 + ram;
    if ram_end > info.memory_total as u64 {
        return Err(format!(
            "L2 RAM L1 {L2_RAM_L1:#x}..{ram_end:#x} runs past the L1's {:#x} bytes of RAM (give QEMU more -m)",
            info.memory_total
        ));
    }
    if (L0_WINDOW..ram_end).contains(&l1_fdt) {
        return Err(format!(
            "the L1 device tree at {l1_fdt:#x} lies in the L2's memory {L0_WINDOW:#x}..{ram_end:#x}"
        ));
    }
    let tpu = info.ticks_per_us;
    // SAFETY: L0_WINDOW..ram_end is L1 RAM (checked against the device tree above) that no Rust object covers: the heap ends at L0_WINDOW, the image lies below the heap, the L1 device tree and any raw kernel lie outside it. The L0 and the L2 reach only the tables, run buffers and L2 RAM placed there; this program touches it only through `IdentityMemory`.
    let mem = unsafe { IdentityMemory::new(L0_WINDOW, ram_end) };
    let hv = NestedHv::new(
        // SAFETY: the `Sc1` goes straight into the `NestedHv` over `mem` (see above), which hands the L0 only addresses inside it; nothing else reaches it.
        CountingHcall::new(unsafe { Sc1::new() }),
        mem,
        TimebaseSpin { ticks_per_us: tpu },
    );
    let pages = PoolAlloc::<1>::new(TableAddr(PAGE_POOL.0), PAGE_POOL.1)
        .map_err(|e| format!("run buffer pool: {e}"))?;
    let tables = PoolAlloc::<4>::new(TableAddr(TABLE_POOL.0), TABLE_POOL.1)
        .map_err(|e| format!("table pool: {e}"))?;
    let host = NestedHost::negotiate(hv, TimebaseClock, pages, Capabilities::MODES)
        .map_err(|e| format!("negotiate: {e}"))?
        .with_quirks(Quirks::QEMU);
    let parallel = cfg.cpus > 1 && info.cpus.len() >= cfg.cpus as usize;
    println!(
        "  L0: mode {:?}; L2: {} MiB RAM at L1 {L2_RAM_L1:#x}, {} vCPU(s) {} (the L1 has {} CPU(s))",
        host.mode(),
        ram >> 20,
        cfg.cpus,
        if parallel {
            "each on its own L1 CPU"
        } else {
            "round-robin on L1 CPU 0"
        },
        info.cpus.len()
    );
    // No logical PVR: the L2 sees the host's (raw) PVR, as the device tree says.
    let mut guest = Guest::create_with(&host, tables, LogicalPvr::Unset)
        .map_err(|e| format!("create guest: {e}"))?;
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(L2_RAM_L1), ram)
        .map_err(|e| format!("add RAM: {e}"))?;
    let k = kernel(info, cfg, &guest)?;
    let place = Layout::place_after(ram, k.used_end, k.initrd)
        .map_err(|e| format!("placing the device tree: {e}"))?;
    let dtb = fdt::build(&fdt::DtConfig {
        ram_bytes: ram,
        bootargs: &cfg.l2_cmdline,
        initrd: place.initrd,
        rtas_base: place.rtas,
        vcpus: cfg.cpus,
        cpu: cpu_props(info),
    })
    .map_err(|e| format!("building the L2 device tree: {e}"))?;
    guest
        .write_ram(GuestRealAddr(place.fdt), &dtb)
        .and_then(|()| guest.write_ram(GuestRealAddr(place.rtas), &rtas::BLOB))
        .map_err(|e| format!("writing the device tree / RTAS blob: {e}"))?;
    println!(
        "  L2 device tree at GPA {:#x} ({} bytes), RTAS at {:#x}, initrd {:x?}, command line {:?}",
        place.fdt,
        dtb.len(),
        place.rtas,
        place.initrd,
        cfg.l2_cmdline
    );
    let tm = boot::timebase();
    guest
        .map_all_ram()
        .map_err(|e| format!("mapping L2 RAM: {e}"))?;
    let map_us = boot::timebase().wrapping_sub(tm) / tpu;
    // vCPU 0 enters the kernel; the others wait stopped for the L2's RTAS start-cpu, which
    // sets where they begin (the board's dispatch).
    let mut vcpus = Vec::new();
    for i in 0..cfg.cpus {
        let mut vcpu = guest
            .create_vcpu(k.entry, defaults::ENTRY_MSR)
            .map_err(|e| format!("create vCPU {i}: {e}"))?;
        // The VMM-STAT lines print the exit statistics (off by default).
        vcpu.set_stats_enabled(true);
        defaults::pseries_defaults(&mut vcpu, place.fdt, tpu)
            .map_err(|e| format!("vCPU {i} defaults: {e}"))?;
        vcpus.push(vcpu);
    }
    let mut pcfg = papr_platform::PlatformConfig::new(ram, place.rtas);
    pcfg.vcpus = cfg.cpus;
    let board = Board::new(BareMetal::new(info.get_time_of_day), pcfg);
    let slices = Slices {
        alone: cfg.slice_ms * tpu * 1000,
        shared: cfg.share_ms * tpu * 1000,
        ticks_per_ms: tpu * 1000,
    };
    match board.with(|p| papr_platform::Environment::time_of_day(p.env_mut())) {
        Some(t) => println!(
            "  L0 clock: {}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ),
        None => println!("  L0 clock: RTAS get-time-of-day unavailable"),
    }
    println!("  running the L2 (entry GPA {:#x})", k.entry);
    let overlap = Overlap::default();
    let t_run = boot::timebase();
    let last = if parallel {
        let lc = LoopConfig {
            board: &board,
            slice: slices.alone,
            masked_slice: tpu * cfg.masked_us,
            poll: tpu * 1000,
            min_cede: tpu * 20,
            spin: tpu * cfg.spin_us,
            vcpus: vcpus.len(),
            overlap: &overlap,
            trace: cfg.trace_s > 0,
        };
        percpu::run_parallel(info, &mut vcpus, &lc).map(Run::Parallel)
    } else {
        sched::round_robin(&mut vcpus, &board, slices, cfg.trace_s * tpu * 1_000_000)
            .map(Run::RoundRobin)
    };
    let t_end = boot::timebase();
    let end = match (&last, board.outcome()) {
        (Ok(_), Some(Outcome::PowerOff)) => End::PowerOff,
        (Ok(_), Some(Outcome::OsTerm(text))) => {
            // Linux 6.12's rtas_os_term passes NULL instead of its message (rtas_call_unlocked
            // takes no outputs pointer): fall back on the panic line it printed.
            let panic_line = board.with(|p| p.env().panic_line.clone());
            let panic_line = panic_line.as_deref().unwrap_or("");
            let text = if text.is_empty() {
                panic_line
            } else {
                text.as_str()
            };
            println!("pseries-vmm: the L2 panicked: {text}");
            End::Failure("L2 panic (ibm,os-term)")
        }
        (Ok(_), Some(other)) => {
            println!("pseries-vmm: the L2 ended: {other:?}");
            End::Failure("the L2 did not power off")
        }
        (Ok(_), None) => {
            println!("pseries-vmm: the vCPUs stopped without an outcome");
            End::Failure("run stopped")
        }
        (Err(e), _) => {
            println!("pseries-vmm: run failed: {e}");
            End::Failure("run failed")
        }
    };
    let times = Times {
        tpu,
        t0,
        t_run,
        t_end,
        map_us,
    };
    board.with(|p| figures(&vcpus, p, &times, ram));
    match &last {
        Ok(Run::RoundRobin(s)) => sched_figures(&vcpus, s, &times),
        Ok(Run::Parallel(f)) => percpu::figures(&vcpus, f, &overlap, &times),
        Err(_) => {}
    }
    drop(vcpus);
    match guest.delete() {
        Ok(()) => println!("pseries-vmm: guest deleted"),
        Err(e) => println!("pseries-vmm: H_GUEST_DELETE failed: {e}"),
    }
    Ok(end)
}

/// How the vCPUs ran, and what was counted.
enum Run {
    /// Round-robin on L1 CPU 0.
    RoundRobin(sched::Figures),
    /// vCPU k on L1 CPU k.
    Parallel(Vec<LoopFigures>),
}

/// The timebase readings and rate of a boot.
pub struct Times {
    /// Timebase ticks per µs.
    pub tpu: u64,
    /// The VMM's start.
    pub t0: u64,
    /// The L2's first run.
    pub t_run: u64,
    /// The L2's end.
    pub t_end: u64,
    /// µs spent mapping the L2's RAM.
    pub map_us: u64,
}

/// The `VMM-STAT` lines xtask collects (exit counts summed over the vCPUs).
fn figures(vcpus: &[L2Vcpu<'_, '_>], platform: &Platform<BareMetal>, t: &Times, ram: u64) {
    let tpu = t.tpu;
    let ms = |ticks: u64| ticks / (tpu * 1000);
    let env = platform.env();
    if let Some(at) = env.init_seen_at {
        println!("VMM-STAT init_ms {}", ms(at.wrapping_sub(t.t0)));
        println!(
            "VMM-STAT init_ms_from_l2_entry {}",
            ms(at.wrapping_sub(t.t_run))
        );
    }
    println!("VMM-STAT poweroff_ms {}", ms(t.t_end.wrapping_sub(t.t0)));
    println!("VMM-STAT ram_mapped_bytes {ram}");
    println!("VMM-STAT ram_map_us {}", t.map_us);
    println!("VMM-STAT vcpus {}", vcpus.len());
    let mut total = 0;
    for kind in ExitKind::ALL {
        let n: u64 = vcpus.iter().map(|v| v.stats().count(kind)).sum();
        let ticks: u64 = vcpus.iter().map(|v| v.stats().run_ticks(kind)).sum();
        total += n;
        if let Some(mean) = ticks.checked_div(n) {
            println!("VMM-STAT exit {kind:?} {n} (mean {} us in RUN)", mean / tpu);
        }
    }
    println!("VMM-STAT exits_total {total}");
    for (nr, name, n) in platform.hcall_counts() {
        println!("VMM-STAT hcall {name} {nr:#x} {n}");
    }
    for (token, name, n) in platform.rtas_counts() {
        println!("VMM-STAT rtas {name} {token:#x} {n}");
    }
    if let Some(v) = vcpus.first() {
        let l0 = v.guest().host().with_hv(|hv| hv.counts().total());
        println!("VMM-STAT l0_hcalls {l0}");
    }
    println!("VMM-STAT console_bytes {}", env.bytes_out);
    println!("VMM-STAT idle_ms {}", ms(env.idle_ticks));
}

/// Per-vCPU `VMM-STAT vcpu <k> …` lines, and the overlap of their time inside RUN.
fn sched_figures(vcpus: &[L2Vcpu<'_, '_>], s: &sched::Figures, t: &Times) {
    let ms = |ticks: u64| ticks / (t.tpu * 1000);
    let mut run_sum = 0;
    for (k, (v, f)) in vcpus.iter().zip(&s.vcpus).enumerate() {
        let run = sched::run_ticks(v);
        run_sum += run;
        println!(
            "VMM-STAT vcpu {k} exits {} run_ms {} slices {} preempted {} yielded {} shared_runs {} cedes {} max_cede_ms {} max_off_ms {} irqs {} masked {} ipi_yields {} l1_cpu 0",
            v.stats().total(),
            ms(run),
            f.slices,
            f.preempted,
            f.yielded,
            f.shared_runs,
            f.cedes,
            ms(f.max_cede_ticks),
            ms(f.max_off_ticks),
            f.irqs,
            f.masked,
            f.ipi_yields
        );
    }
    let wall = t.t_end.wrapping_sub(t.t_run);
    // One L1 CPU runs every vCPU: the sum of the RUN times stays below the wall time (no
    // overlap). With a vCPU per L1 CPU it would exceed it.
    println!("VMM-STAT run_sum_ms {}", ms(run_sum));
    println!("VMM-STAT run_wall_ms {}", ms(wall));
    println!(
        "VMM-STAT run_overlap_ms {}",
        ms(run_sum.saturating_sub(wall))
    );
    println!("VMM-STAT vcpu_switches {}", s.switches);
    println!("VMM-STAT idles {}", s.idles);
    println!("VMM-STAT max_idle_ms {}", ms(s.max_idle_ticks));
}

//! The L2's initramfs: Debian's static busybox and an `/init` script that prints marker lines,
//! runs a memory workload and powers off (or, with `--shell`, hands the console to a shell).
//!
//! Lines `/init` prints, read by [`crate::figures`] and the verdict:
//! * `papr-init: start uptime <s>`: first thing after mounting `/proc`;
//! * `papr-init: nproc <n> cpuinfo <m>` ([`NPROC`]): busybox `nproc` (online CPUs) and the
//!   processors `/proc/cpuinfo` lists (workload only);
//! * `papr-init: jobs <md5 1> <md5 2> <t0>..<t1> s` ([`JOBS`]): two checksum jobs run at the
//!   same time (one in the background), over the workload's file and its copy; both must
//!   give the file's md5 (workload only);
//! * `papr-init: RESULT ok <details>` or `papr-init: RESULT FAIL <why>`;
//! * `papr-init: end uptime <s>`: just before `poweroff -f`.

use crate::cpio;
use std::path::Path;

/// The marker of the start line (followed by ` uptime <s>`).
pub const START: &str = "papr-init: start";
/// The marker of the end line (followed by ` uptime <s>`).
pub const END: &str = "papr-init: end";
/// The prefix of the result line.
pub const RESULT: &str = "papr-init: RESULT ";
/// The prefix of the CPU count line.
pub const NPROC: &str = "papr-init: nproc ";
/// The prefix of the parallel jobs line.
pub const JOBS: &str = "papr-init: jobs ";

/// The common head of both scripts: busybox applets, `/proc`, the start marker, who we are.
const HEAD: &str = r#"#!/bin/busybox sh
# papr-nested L2 /init (written by `cargo xtask run`).
/bin/busybox mount -t proc proc /proc
read up idle < /proc/uptime
echo "papr-init: start uptime $up"
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/console
uname -a
grep -m1 '^cpu' /proc/cpuinfo
end() {
    read up idle < /proc/uptime
    echo "papr-init: end uptime $up"
    poweroff -f
    echo "papr-init: poweroff -f returned"
    exit 1
}
"#;

/// The workload: a pseudo-random file touching ~65 % of the L2's RAM (with its copy) in a
/// tmpfs on /tmp, checksummed before and after the copy and compared byte for byte.
const WORKLOAD: &str = r#"fail() { echo "papr-init: RESULT FAIL $*"; end; }
kib() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
total=$(kib MemTotal); free=$(kib MemFree)
[ -n "$total" ] && [ -n "$free" ] || fail "cannot read MemTotal/MemFree from /proc/meminfo"
# Touched in the end: what is in use now plus the file and its copy, ~65 % of MemTotal.
mib=$(( (free - total * 35 / 100) / 2 / 1024 ))
cap=$(( free * 2 / 5 / 1024 ))
[ "$mib" -gt "$cap" ] && mib=$cap
[ "$mib" -ge 4 ] || fail "too little free RAM for the workload: MemFree ${free} kB of ${total} kB"
mount -t tmpfs -o size=$(( mib * 2 + 4 ))m tmpfs /tmp || fail "mount tmpfs on /tmp"
read t0 idle < /proc/uptime
dd if=/dev/urandom of=/tmp/a bs=1048576 count=$mib 2>/dev/null || fail "dd ${mib} MiB from /dev/urandom"
[ "$(wc -c < /tmp/a)" -eq $(( mib * 1048576 )) ] || fail "/tmp/a is not ${mib} MiB"
s1=$(md5sum /tmp/a | cut -d' ' -f1)
cp /tmp/a /tmp/b || fail "cp of ${mib} MiB"
s2=$(md5sum /tmp/a | cut -d' ' -f1)
s3=$(md5sum /tmp/b | cut -d' ' -f1)
cmp /tmp/a /tmp/b || fail "copy differs from the original"
[ "$s1" = "$s2" ] || fail "original changed under the copy: md5 $s1 then $s2"
[ "$s1" = "$s3" ] || fail "copy md5 $s3, original $s1"
# Two checksum jobs at once: with 2 CPUs online each gets its own.
echo "papr-init: nproc $(nproc) cpuinfo $(grep -c '^processor' /proc/cpuinfo)"
read j0 idle < /proc/uptime
md5sum /tmp/a > /tmp/j1 &
job=$!
md5sum /tmp/b > /tmp/j2
wait $job || fail "background md5sum /tmp/a"
read j1 idle < /proc/uptime
r1=$(cut -d' ' -f1 /tmp/j1); r2=$(cut -d' ' -f1 /tmp/j2)
echo "papr-init: jobs $r1 $r2 ${j0}..${j1} s"
[ "$r1" = "$s1" ] && [ "$r2" = "$s1" ] || fail "parallel md5 $r1 and $r2, want $s1"
used=$(kib MemFree)
read t1 idle < /proc/uptime
echo "papr-init: RESULT ok memory ${mib} MiB x2 md5 $s1 MemTotal $((total / 1024)) MiB MemFree $((free / 1024)) -> $((used / 1024)) MiB, ${t0}..${t1} s"
end
"#;

/// The `--shell` tail: an interactive shell on the console, power-off when it exits.
const SHELL: &str = r#"echo "papr-init: interactive shell (exit or Ctrl-D powers off)"
setsid cttyhack sh || sh
end
"#;

/// Which `/init` the initramfs runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// The memory workload, one RESULT line, power-off.
    Workload,
    /// An interactive shell on the console.
    Shell,
}

/// The `/init` script for `init`.
pub fn script(init: Init) -> String {
    let tail = match init {
        Init::Workload => WORKLOAD,
        Init::Shell => SHELL,
    };
    format!("{HEAD}{tail}")
}

/// The newc archive: `dev/console` (char 5,1), the mount points, `bin/busybox` and `/init`.
pub fn build(busybox: &[u8], init: Init) -> Result<Vec<u8>, String> {
    let mut w = cpio::Writer::new();
    for d in [
        "dev", "proc", "sys", "tmp", "bin", "sbin", "usr", "usr/bin", "usr/sbin",
    ] {
        w.dir(d, 0o755)?;
    }
    w.char_dev("dev/console", 0o600, 5, 1)?;
    w.file("bin/busybox", 0o755, busybox)?;
    w.file("init", 0o755, script(init).as_bytes())?;
    w.finish()
}

/// Builds the archive from the busybox at `busybox` and writes it to `out`.
pub fn write(busybox: &Path, init: Init, out: &Path) -> Result<(), String> {
    let bb = std::fs::read(busybox).map_err(|e| format!("{}: {e}", busybox.display()))?;
    if bb.get(..4) != Some(b"\x7fELF") {
        return Err(format!("{} is not an ELF file", busybox.display()));
    }
    let cpio = build(&bb, init)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(out, &cpio).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "initramfs {} ({} KiB, /init: {init:?})",
        out.display(),
        cpio.len() / 1024
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_print_the_markers() {
        for init in [Init::Workload, Init::Shell] {
            let s = script(init);
            assert!(s.starts_with("#!/bin/busybox sh\n"));
            assert!(s.contains("echo \"papr-init: start uptime $up\""));
            assert!(s.contains("echo \"papr-init: end uptime $up\""));
            assert!(s.contains("poweroff -f"));
        }
        let w = script(Init::Workload);
        assert!(w.contains(&format!("echo \"{RESULT}ok ")));
        assert!(w.contains(&format!("echo \"{RESULT}FAIL $*\"")));
        assert!(w.contains(&format!("echo \"{NPROC}$(nproc) ")));
        assert!(w.contains(&format!("echo \"{JOBS}$r1 $r2 ")));
        assert!(w.contains("md5sum /tmp/a > /tmp/j1 &\n"));
        assert!(!script(Init::Shell).contains(NPROC));
        assert!(script(Init::Shell).contains("cttyhack sh"));
    }

    #[test]
    fn archive_holds_init_and_console() {
        let cpio = build(b"\x7fELF fake busybox", Init::Workload).unwrap();
        let entries = cpio::read::parse(&cpio);
        let find = |n: &str| entries.iter().find(|e| e.name == n).unwrap();
        for d in ["dev", "proc", "sys", "tmp", "bin"] {
            assert_eq!(find(d).mode, 0o040_755, "{d}");
        }
        assert_eq!(
            (find("dev/console").mode, find("dev/console").rdev),
            (0o020_600, (5, 1))
        );
        assert_eq!(find("bin/busybox").data, b"\x7fELF fake busybox");
        assert_eq!(find("bin/busybox").mode, 0o100_755);
        assert_eq!(find("init").data, script(Init::Workload).as_bytes());
        assert_eq!(find("init").mode, 0o100_755);
    }
}

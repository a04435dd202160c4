//! Debian's own ppc64el Linux kernel and static busybox for the L2, fetched with apt.
//!
//! `dpkg --add-architecture ppc64el` (once), `apt-get update` only when the ppc64el package
//! lists are missing or a download fails, the newest `linux-image-6.*-powerpc64le` meta
//! package resolved to the real image package (`apt-cache depends`; the archive drops old
//! versions, so no version is written here), `apt-get download` of that image and of
//! `busybox-static`, and `dpkg-deb -x` keeping only `/boot/vmlinux-*` (the ELF the L2 boots),
//! `/boot/config-*` and `/bin/busybox` (and, for `cargo xtask compare`, the kernel's
//! `kvm.ko.xz` and `kvm-hv.ko.xz`: [`kvm_modules`]). Everything lives in a cache outside the
//! clone (`$XDG_CACHE_HOME/papr-nested/` or `~/.cache/papr-nested/`); a rerun finds the files
//! there and touches neither apt nor the network. Delete the folder to fetch again.

use crate::qemu::{apt, is_root, os_release};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian architecture of the L2's userspace and kernel.
const ARCH: &str = "ppc64el";
/// The package holding the statically linked `/bin/busybox`.
const BUSYBOX_PKG: &str = "busybox-static";
/// The meta package preferred when several `linux-image-6.*-powerpc64le` exist (spec §4).
const PREFERRED_META: &str = "linux-image-6.12-powerpc64le";
/// The cache's file naming what was fetched (`key=value` lines).
const MANIFEST: &str = "fetched.txt";

/// What the L2 boots, from Debian's archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The kernel ELF (`/boot/vmlinux-…` of the image package).
    pub vmlinux: PathBuf,
    /// The static ppc64el busybox.
    pub busybox: PathBuf,
    /// The image package, e.g. `linux-image-6.12.118+deb12-powerpc64le`.
    pub kernel_package: String,
    /// Its version, e.g. `6.12.118-1~deb12u1`.
    pub kernel_version: String,
    /// `busybox-static`'s version.
    pub busybox_version: String,
}

impl Fetched {
    fn to_manifest(&self) -> String {
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        format!(
            "kernel_package={}\nkernel_version={}\nvmlinux={}\nbusybox_version={}\nbusybox={}\n",
            self.kernel_package,
            self.kernel_version,
            name(&self.vmlinux),
            self.busybox_version,
            name(&self.busybox)
        )
    }

    /// Reads a manifest written by [`Fetched::to_manifest`] in `dir`; `None` unless it is
    /// complete and both files it names exist.
    fn from_manifest(dir: &Path, text: &str) -> Option<Self> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let fetched = Self {
            vmlinux: dir.join(get("vmlinux")?),
            busybox: dir.join(get("busybox")?),
            kernel_package: get("kernel_package")?,
            kernel_version: get("kernel_version")?,
            busybox_version: get("busybox_version")?,
        };
        (fetched.vmlinux.is_file() && fetched.busybox.is_file()).then_some(fetched)
    }

    /// One line per file: package, version, size.
    pub fn describe(&self) -> String {
        let size = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| format!("{:.1} MiB", m.len() as f64 / (1 << 20) as f64))
                .unwrap_or_else(|_| "missing".into())
        };
        format!(
            "  kernel  {} {} -> {} ({})\n  busybox {BUSYBOX_PKG} {} -> {} ({})",
            self.kernel_package,
            self.kernel_version,
            self.vmlinux.display(),
            size(&self.vmlinux),
            self.busybox_version,
            self.busybox.display(),
            size(&self.busybox)
        )
    }
}

/// `$XDG_CACHE_HOME/papr-nested/debian-ppc64el`, or `~/.cache/papr-nested/debian-ppc64el`.
pub fn cache_dir() -> Result<PathBuf, String> {
    let base = match (std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME")) {
        (Some(x), _) if !x.is_empty() => PathBuf::from(x),
        (_, Some(h)) if !h.is_empty() => PathBuf::from(h).join(".cache"),
        _ => return Err("neither $XDG_CACHE_HOME nor $HOME is set: no cache folder".into()),
    };
    Ok(base.join("papr-nested").join(format!("debian-{ARCH}")))
}

/// The commands a human runs when xtask may not (not root, or not Debian).
fn manual_commands() -> String {
    format!(
        "as root on Debian (bookworm or later):\n  dpkg --add-architecture {ARCH}\n  \
         apt-get update\nthen run `cargo xtask run` again (it downloads with `apt-get \
         download`, which needs no root). Or bring your own files: `cargo xtask run --kernel \
         VMLINUX --initrd INITRD.cpio`"
    )
}

/// The kernel and busybox, from the cache or fetched now (see the module doc).
pub fn fetch() -> Result<Fetched, String> {
    let dir = cache_dir()?;
    if let Some(f) = std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|t| Fetched::from_manifest(&dir, &t))
    {
        println!(
            "Debian {ARCH} files (cached in {}; delete it to fetch again):\n{}",
            dir.display(),
            f.describe()
        );
        return Ok(f);
    }
    let debian = os_release("ID").as_deref() == Some("debian")
        || os_release("ID_LIKE").is_some_and(|l| l.split_whitespace().any(|w| w == "debian"));
    if !debian || which("apt-get").is_none() || which("dpkg-deb").is_none() {
        return Err(format!(
            "fetching Debian's kernel needs apt on Debian; this is not. Fetch it {}",
            manual_commands()
        ));
    }
    let root = is_root();
    ensure_arch(root)?;
    let mut updated = false;
    if candidate(&format!("{BUSYBOX_PKG}:{ARCH}"))?.is_none() {
        if !root {
            return Err(format!(
                "the {ARCH} package lists are missing (no candidate for {BUSYBOX_PKG}:{ARCH}); \
                 run {}",
                manual_commands()
            ));
        }
        apt(&["update"])?;
        updated = true;
    }
    let meta = kernel_meta()?;
    let kernel_package = image_of(&meta)?;
    let kernel_version = candidate(&format!("{kernel_package}:{ARCH}"))?
        .ok_or(format!("{kernel_package}:{ARCH} has no candidate version"))?;
    let busybox_version = candidate(&format!("{BUSYBOX_PKG}:{ARCH}"))?
        .ok_or(format!("{BUSYBOX_PKG}:{ARCH} has no candidate version"))?;
    println!("{meta} -> {kernel_package} {kernel_version}; {BUSYBOX_PKG} {busybox_version}");

    let debs = dir.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let wanted = [
        (kernel_package.as_str(), kernel_version.as_str()),
        (BUSYBOX_PKG, busybox_version.as_str()),
    ];
    if let Err(e) = download(&debs, &wanted) {
        if updated || !root {
            return Err(format!(
                "{e}; if the lists are stale, run {}",
                manual_commands()
            ));
        }
        println!("download failed ({e}); refreshing the package lists once");
        apt(&["update"])?;
        download(&debs, &wanted)?;
    }
    let kernel_deb = debs.join(deb_name(&kernel_package, &kernel_version));
    let busybox_deb = debs.join(deb_name(BUSYBOX_PKG, &busybox_version));
    for deb in [&kernel_deb, &busybox_deb] {
        let len = std::fs::metadata(deb)
            .map_err(|e| format!("{}: {e}", deb.display()))?
            .len();
        println!(
            "  {} ({:.1} MiB)",
            deb.display(),
            len as f64 / (1 << 20) as f64
        );
    }
    let vmlinux = extract(&kernel_deb, &dir, |p| {
        p.starts_with("boot/vmlinux-") || p.starts_with("boot/config-")
    })?
    .into_iter()
    .find(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("vmlinux-"))
    })
    .ok_or(format!("{} holds no /boot/vmlinux-*", kernel_deb.display()))?;
    let busybox = extract(&busybox_deb, &dir, |p| p == "bin/busybox")?
        .into_iter()
        .next()
        .ok_or(format!("{} holds no /bin/busybox", busybox_deb.display()))?;
    let fetched = Fetched {
        vmlinux,
        busybox,
        kernel_package,
        kernel_version,
        busybox_version,
    };
    let manifest = dir.join(MANIFEST);
    std::fs::write(&manifest, fetched.to_manifest())
        .map_err(|e| format!("{}: {e}", manifest.display()))?;
    println!(
        "Debian {ARCH} files fetched into {}:\n{}",
        dir.display(),
        fetched.describe()
    );
    Ok(fetched)
}

/// The KVM modules of the fetched kernel (`cargo xtask compare` boots that kernel as the L1
/// with KVM): `kvm.ko.xz` and `kvm-hv.ko.xz` from `lib/modules/*/kernel/arch/powerpc/kvm/` of
/// the same image package, kept in `<cache>/kvm-<kernel version>/`. A rerun finds them there;
/// otherwise the package is extracted again (downloaded again when its `.deb` is gone).
pub fn kvm_modules(f: &Fetched) -> Result<[PathBuf; 2], String> {
    let dir = cache_dir()?;
    let to = dir.join(format!("kvm-{}", f.kernel_version.replace([':', '/'], "_")));
    let want = KVM_MODULES.map(|m| to.join(format!("{m}.ko.xz")));
    if want.iter().all(|p| p.is_file()) {
        return Ok(want);
    }
    let debs = dir.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    download(&debs, &[(&f.kernel_package, &f.kernel_version)])?;
    let deb = debs.join(deb_name(&f.kernel_package, &f.kernel_version));
    let scratch = dir.join("extract-kvm.tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    println!("+ dpkg-deb -x {} {}", deb.display(), scratch.display());
    output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&scratch))?;
    std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
    for prefix in ["lib/modules", "usr/lib/modules"] {
        let Ok(versions) = std::fs::read_dir(scratch.join(prefix)) else {
            continue;
        };
        for v in versions.flatten() {
            let kvm = v.path().join("kernel/arch/powerpc/kvm");
            for (m, dest) in KVM_MODULES.iter().zip(&want) {
                let from = kvm.join(format!("{m}.ko.xz"));
                if from.is_file() {
                    std::fs::rename(&from, dest).map_err(|e| format!("{}: {e}", dest.display()))?;
                }
            }
        }
    }
    std::fs::remove_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    match want.iter().find(|p| !p.is_file()) {
        Some(missing) => Err(format!(
            "{} holds no lib/modules/*/kernel/arch/powerpc/kvm/{} (is KVM built as modules in \
             this kernel?)",
            deb.display(),
            missing
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )),
        None => {
            println!("KVM modules of {} in {}", f.kernel_package, to.display());
            Ok(want)
        }
    }
}

/// The KVM modules `cargo xtask compare` loads, in load order (kvm-hv depends on kvm).
pub const KVM_MODULES: [&str; 2] = ["kvm", "kvm-hv"];

/// `dpkg --add-architecture ppc64el` unless it is already a foreign architecture.
fn ensure_arch(root: bool) -> Result<(), String> {
    let foreign = output(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    if foreign.split_whitespace().any(|a| a == ARCH) {
        return Ok(());
    }
    if !root {
        return Err(format!(
            "dpkg does not know the {ARCH} architecture yet; run {}",
            manual_commands()
        ));
    }
    println!("+ dpkg --add-architecture {ARCH}");
    output(Command::new("dpkg").args(["--add-architecture", ARCH])).map(drop)
}

/// The version apt would download for `pkg` (`name:arch`), `None` without one.
fn candidate(pkg: &str) -> Result<Option<String>, String> {
    let text = output(Command::new("apt-cache").args(["policy", pkg]))?;
    Ok(parse_candidate(&text))
}

/// The `Candidate:` of `apt-cache policy` output, `None` when absent or `(none)`.
fn parse_candidate(policy: &str) -> Option<String> {
    policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "(none)")
        .map(str::to_string)
}

/// The meta package to follow: [`PREFERRED_META`] when it has a candidate, else the newest
/// `linux-image-6.<minor>-powerpc64le` that has one.
fn kernel_meta() -> Result<String, String> {
    let names = output(Command::new("apt-cache").args(["pkgnames", "linux-image-6."]))?;
    let mut metas: Vec<(u32, &str)> = names
        .lines()
        .filter_map(|n| Some((meta_minor(n)?, n)))
        .collect();
    metas.sort_by_key(|&(minor, name)| (name != PREFERRED_META, std::cmp::Reverse(minor)));
    for (_, name) in &metas {
        if candidate(&format!("{name}:{ARCH}"))?.is_some() {
            return Ok((*name).to_string());
        }
    }
    Err(format!(
        "apt knows no linux-image-6.*-powerpc64le meta package for {ARCH} (found {:?}); \
         are the {ARCH} lists current? Run {}",
        metas.iter().map(|(_, n)| n).collect::<Vec<_>>(),
        manual_commands()
    ))
}

/// `Some(minor)` for a meta package name `linux-image-6.<minor>-powerpc64le`.
fn meta_minor(name: &str) -> Option<u32> {
    let minor = name
        .strip_prefix("linux-image-6.")?
        .strip_suffix("-powerpc64le")?;
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    minor.parse().ok()
}

/// The image package `meta` depends on (`apt-cache depends`).
fn image_of(meta: &str) -> Result<String, String> {
    let text = output(Command::new("apt-cache").args(["depends", &format!("{meta}:{ARCH}")]))?;
    parse_image_dep(&text).ok_or(format!(
        "{meta}:{ARCH} depends on no linux-image-6.*-powerpc64le package:\n{text}"
    ))
}

/// The first `Depends:` on a `linux-image-6.*-powerpc64le` image (not `-dbg`, not `-64k`),
/// architecture suffix removed.
fn parse_image_dep(depends: &str) -> Option<String> {
    depends.lines().find_map(|l| {
        let dep = l.trim().strip_prefix("Depends:")?.trim();
        let name = dep.split(':').next()?.trim();
        (name.starts_with("linux-image-6.") && name.ends_with("-powerpc64le"))
            .then(|| name.to_string())
    })
}

/// The file name `apt-get download` gives `pkg` at `version` (`:` of an epoch as `%3a`).
fn deb_name(pkg: &str, version: &str) -> String {
    format!("{pkg}_{}_{ARCH}.deb", version.replace(':', "%3a"))
}

/// `apt-get download` of every (package, version) whose `.deb` is not in `debs` yet.
fn download(debs: &Path, wanted: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(p, v)| !debs.join(deb_name(p, v)).is_file())
        .map(|(p, v)| format!("{p}:{ARCH}={v}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "+ (cd {}) apt-get download {}",
        debs.display(),
        missing.join(" ")
    );
    let st = Command::new("apt-get")
        .arg("download")
        .args(&missing)
        .current_dir(debs)
        .status()
        .map_err(|e| format!("apt-get download: {e}"))?;
    if !st.success() {
        return Err(format!(
            "`apt-get download {}` failed ({st})",
            missing.join(" ")
        ));
    }
    match wanted
        .iter()
        .find(|(p, v)| !debs.join(deb_name(p, v)).is_file())
    {
        Some((p, v)) => Err(format!(
            "apt-get download left no {} in {}",
            deb_name(p, v),
            debs.display()
        )),
        None => Ok(()),
    }
}

/// `dpkg-deb -x deb` into a scratch folder, then moves the files whose path (relative, e.g.
/// `boot/vmlinux-…`) satisfies `keep` into `dir`; returns their new paths.
fn extract(deb: &Path, dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, String> {
    let scratch = dir.join("extract.tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    println!("+ dpkg-deb -x {} {}", deb.display(), scratch.display());
    output(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&scratch))?;
    let mut kept = Vec::new();
    for sub in ["boot", "bin"] {
        let Ok(entries) = std::fs::read_dir(scratch.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let rel = format!("{sub}/{}", e.file_name().to_string_lossy());
            if keep(&rel) && e.path().is_file() {
                let to = dir.join(e.file_name());
                std::fs::rename(e.path(), &to).map_err(|err| format!("{}: {err}", to.display()))?;
                kept.push(to);
            }
        }
    }
    std::fs::remove_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    Ok(kept)
}

/// Runs `cmd`, returning its stdout; `Err` with its stderr when it fails.
fn output(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("{shown}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The path of `prog` on `$PATH`, if any.
fn which(prog: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_parsing() {
        let policy = "busybox-static:ppc64el:\n  Installed: (none)\n  Candidate: \
                      1:1.35.0-4+deb12u1+b1\n  Version table:\n";
        assert_eq!(
            parse_candidate(policy).as_deref(),
            Some("1:1.35.0-4+deb12u1+b1")
        );
        assert_eq!(parse_candidate("x:\n  Candidate: (none)\n"), None);
        assert_eq!(parse_candidate(""), None);
    }

    #[test]
    fn meta_names() {
        assert_eq!(meta_minor("linux-image-6.12-powerpc64le"), Some(12));
        assert_eq!(meta_minor("linux-image-6.1-powerpc64le"), Some(1));
        assert_eq!(meta_minor("linux-image-6.12.118+deb12-powerpc64le"), None);
        assert_eq!(meta_minor("linux-image-6.12-powerpc64le-64k"), None);
        assert_eq!(meta_minor("linux-image-6.12-powerpc64le-dbg"), None);
        assert_eq!(meta_minor("linux-image-6.-powerpc64le"), None);
    }

    #[test]
    fn image_dependency() {
        let text = "linux-image-6.12-powerpc64le:ppc64el\n  Depends: \
                    linux-image-6.12.118+deb12-powerpc64le:ppc64el\n";
        assert_eq!(
            parse_image_dep(text).as_deref(),
            Some("linux-image-6.12.118+deb12-powerpc64le")
        );
        assert_eq!(parse_image_dep("x\n  Depends: libc6:ppc64el\n"), None);
    }

    #[test]
    fn deb_file_names() {
        assert_eq!(
            deb_name("busybox-static", "1:1.35.0-4+deb12u1+b1"),
            "busybox-static_1%3a1.35.0-4+deb12u1+b1_ppc64el.deb"
        );
    }

    #[test]
    fn manifest_round_trip() {
        let dir = std::env::temp_dir().join(format!("xtask-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("vmlinux-6.12.1"), b"k").unwrap();
        std::fs::write(dir.join("busybox"), b"b").unwrap();
        let f = Fetched {
            vmlinux: dir.join("vmlinux-6.12.1"),
            busybox: dir.join("busybox"),
            kernel_package: "linux-image-6.12.1+deb12-powerpc64le".into(),
            kernel_version: "6.12.1-1".into(),
            busybox_version: "1:1.35.0-4".into(),
        };
        let text = f.to_manifest();
        assert_eq!(Fetched::from_manifest(&dir, &text), Some(f));
        // A file gone: the cache is incomplete.
        std::fs::remove_file(dir.join("busybox")).unwrap();
        assert_eq!(Fetched::from_manifest(&dir, &text), None);
        assert_eq!(Fetched::from_manifest(&dir, "vmlinux=x\n"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

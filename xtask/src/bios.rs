//! The bare-metal examples QEMU boots as its `-bios` firmware (`examples/pseries-l1`,
//! `examples/pseries-vmm`): each is its own cargo workspace, built (release) for powerpc64le
//! from its own folder so that its `.cargo/config.toml` applies, and turned into the flat image
//! QEMU's pseries loader expects (every `PT_LOAD` at its physical address, entry at 0x100,
//! at most 4 MiB).

use crate::steps::{cargo, Report, PPC64LE};
use std::path::PathBuf;
use std::process::Command;

/// QEMU's pseries firmware slot is 4 MiB (`FW_MAX_SIZE`).
const MAX_IMAGE: u64 = 4 << 20;
/// The entry point QEMU jumps to in a `-bios` image.
const ENTRY: u64 = 0x100;

/// One build of a bare-metal example.
#[derive(Debug, Clone, Copy)]
pub struct Firmware<'a> {
    /// Folder under `examples/`, also its package and binary name (e.g. `pseries-vmm`).
    pub example: &'a str,
    /// Cargo features of this build (none for the default build).
    pub features: &'a [&'a str],
    /// File name of the flat image, written into the example's target folder.
    pub image: &'a str,
}

/// `examples/<example>` in this checkout.
pub fn example_dir(example: &str) -> PathBuf {
    crate::steps::root().join("examples").join(example)
}

/// `cargo <args…>` run from the example's folder (so its `.cargo/config.toml` applies), with
/// flags from the environment removed (they would replace that configuration).
pub fn example_cargo(example: &str, args: &[&str]) -> Command {
    let dir = example_dir(example);
    let mut c = cargo();
    c.current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .args(args)
        .arg("--target-dir")
        .arg(dir.join("target"));
    c
}

/// Fails naming the folder when `examples/<example>` has no `Cargo.toml` in this checkout.
pub fn require(example: &str) -> Result<PathBuf, String> {
    let dir = example_dir(example);
    if dir.join("Cargo.toml").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "{} does not exist (no Cargo.toml): the bare-metal example examples/{example} is \
             missing from this checkout",
            dir.display()
        ))
    }
}

/// Builds `fw` (release) and writes its flat `-bios` image; returns the image's path.
/// Builds with different feature sets are cached side by side (cargo keys them by feature
/// set); the ELF they leave at the same path is turned into an image at once.
pub fn build(fw: &Firmware) -> Result<PathBuf, String> {
    let dir = require(fw.example)?;
    let features = fw.features.join(",");
    let mut args = vec!["build", "--release", "--target", PPC64LE];
    if !features.is_empty() {
        args.extend(["--features", &features]);
    }
    let mut c = example_cargo(fw.example, &args);
    println!("+ (cd {}) {c:?}", dir.display());
    let st = c
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !st.success() {
        let with = if features.is_empty() {
            String::new()
        } else {
            format!(" with features {features}")
        };
        return Err(format!(
            "building examples/{}{with} failed ({st})",
            fw.example
        ));
    }
    let target_dir = dir.join("target");
    let elf_path = target_dir.join(PPC64LE).join("release").join(fw.example);
    let elf = std::fs::read(&elf_path).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let image = flat_image(&elf).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let bin = target_dir.join(fw.image);
    std::fs::write(&bin, image).map_err(|e| format!("{}: {e}", bin.display()))?;
    Ok(bin)
}

/// The `cargo xtask test` steps that lint a bare-metal example: `cargo fmt --check`, then
/// clippy `-D warnings` for powerpc64le once per feature set in `feature_sets` (`&[]` is the
/// default build). A missing folder fails each step, saying so.
pub fn lint_steps(r: &mut Report, example: &str, feature_sets: &[&[&str]]) -> bool {
    let mut ok = r.step(&format!("{example}: cargo fmt --check"), || {
        require(example)?;
        let mut fmt = cargo();
        fmt.current_dir(example_dir(example))
            .args(["fmt", "--", "--check"]);
        status(fmt)
    });
    for features in feature_sets {
        let joined = features.join(",");
        let name = if joined.is_empty() {
            format!("{example}: clippy -D warnings (ppc64le)")
        } else {
            format!("{example}: clippy -D warnings (ppc64le, {joined})")
        };
        ok &= r.step(&name, || {
            require(example)?;
            let mut clippy = example_cargo(example, &["clippy", "--release", "--target", PPC64LE]);
            if !joined.is_empty() {
                clippy.args(["--features", &joined]);
            }
            clippy.args(["--", "-D", "warnings"]);
            status(clippy)
        });
    }
    ok
}

/// Runs `cmd` to completion: `Ok` on success, its exit status otherwise.
fn status(mut cmd: Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    match cmd.status() {
        Ok(s) if s.success() => Ok(String::new()),
        Ok(s) => Err(format!("{shown} exited with {s}")),
        Err(e) => Err(format!("could not start {shown}: {e}")),
    }
}

fn le_u16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}
fn le_u32(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}
fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Turns a little-endian ELF64 for ppc64 into the flat image QEMU's `-bios` loads at real
/// address 0: every `PT_LOAD` segment's file bytes at its physical address, gaps zeroed
/// (`.bss` is zeroed by the firmware itself).
pub fn flat_image(elf: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "not a little-endian ppc64 ELF64 executable".to_string();
    if elf.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) || le_u16(elf, 0x12) != Some(21) {
        return Err(bad());
    }
    let entry = le_u64(elf, 0x18).ok_or_else(bad)?;
    if entry != ENTRY {
        return Err(format!("entry point {entry:#x}, expected {ENTRY:#x}"));
    }
    let phoff = le_u64(elf, 0x20).ok_or_else(bad)?;
    let phentsize = le_u16(elf, 0x36).ok_or_else(bad)?;
    let phnum = le_u16(elf, 0x38).ok_or_else(bad)?;
    let mut image = Vec::new();
    for i in 0..phnum {
        let ph = usize::try_from(phoff + i * phentsize).map_err(|_| bad())?;
        if le_u32(elf, ph) != Some(1) {
            continue; // not PT_LOAD
        }
        let offset = le_u64(elf, ph + 0x08).ok_or_else(bad)?;
        let paddr = le_u64(elf, ph + 0x18).ok_or_else(bad)?;
        let filesz = le_u64(elf, ph + 0x20).ok_or_else(bad)?;
        if filesz == 0 {
            continue;
        }
        let end = paddr.checked_add(filesz).filter(|&e| e <= MAX_IMAGE);
        let end = end.ok_or(format!(
            "segment {paddr:#x}+{filesz:#x} beyond the {MAX_IMAGE:#x}-byte firmware slot"
        ))?;
        let bytes = offset
            .checked_add(filesz)
            .and_then(|e| elf.get(usize::try_from(offset).ok()?..usize::try_from(e).ok()?))
            .ok_or_else(bad)?;
        if image.len() < end as usize {
            image.resize(end as usize, 0);
        }
        image[paddr as usize..end as usize].copy_from_slice(bytes);
    }
    if image.len() <= ENTRY as usize {
        return Err("no loadable code at the entry point".into());
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_image_rejects_garbage() {
        assert!(flat_image(b"not an elf").is_err());
    }

    /// A minimal ELF64 LE ppc64 with one PT_LOAD of `code` at paddr `paddr`, entry 0x100.
    fn elf(paddr: u64, code: &[u8]) -> Vec<u8> {
        let mut e = vec![0u8; 0x78];
        e[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        e[0x12..0x14].copy_from_slice(&21u16.to_le_bytes());
        e[0x18..0x20].copy_from_slice(&ENTRY.to_le_bytes());
        e[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        e[0x36..0x38].copy_from_slice(&0x38u16.to_le_bytes());
        e[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        let ph = 0x40;
        e[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
        e[ph + 8..ph + 16].copy_from_slice(&0x78u64.to_le_bytes());
        e[ph + 0x18..ph + 0x20].copy_from_slice(&paddr.to_le_bytes());
        e[ph + 0x20..ph + 0x28].copy_from_slice(&(code.len() as u64).to_le_bytes());
        e.extend_from_slice(code);
        e
    }

    #[test]
    fn flat_image_places_segments() {
        let img = flat_image(&elf(0x100, &[1, 2, 3, 4])).unwrap();
        assert_eq!(img.len(), 0x104);
        assert!(img[..0x100].iter().all(|&b| b == 0));
        assert_eq!(&img[0x100..], &[1, 2, 3, 4]);
        let err = flat_image(&elf(MAX_IMAGE - 2, &[1, 2, 3, 4])).unwrap_err();
        assert!(err.contains("firmware slot"), "{err}");
        // A segment that claims more bytes than the file holds.
        let mut short = elf(0x100, &[1, 2, 3, 4]);
        short.truncate(short.len() - 2);
        assert!(flat_image(&short).is_err());
    }
}

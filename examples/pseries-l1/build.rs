//! Links the L1 with `papr-baremetal`'s `link.ld` (the memory layout QEMU's `-bios` loader
//! expects).

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    println!("cargo:rustc-link-arg-bins=-T{dir}/../baremetal/link.ld");
    println!("cargo:rustc-link-arg-bins=--no-pie");
    println!("cargo:rerun-if-changed=../baremetal/link.ld");
}

//! Links the VMM with the shared bare-metal linker script (the layout QEMU's `-bios`
//! loader expects), from `examples/baremetal`.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    println!("cargo:rustc-link-arg-bins=-T{dir}/../baremetal/link.ld");
    println!("cargo:rustc-link-arg-bins=--no-pie");
    println!("cargo:rerun-if-changed=../baremetal/link.ld");
}

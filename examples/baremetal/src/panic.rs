//! The panic handler (feature `panic-handler`, on by default): prints where and why, then
//! terminates the machine with a failure status.

/// Prints `PANIC at <location>: <message>` and calls RTAS `ibm,os-term` ("panic").
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => crate::println!("\nPANIC at {at}: {}", info.message()),
        None => crate::println!("\nPANIC: {}", info.message()),
    }
    crate::rtas::terminate("panic")
}

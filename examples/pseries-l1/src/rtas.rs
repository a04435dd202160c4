//! RTAS calls through QEMU's `H_RTAS` hcall: power off, or terminate with a failure status.
//!
//! The argument block is big-endian: token, nargs, nret, the arguments, then the returns.

use core::sync::atomic::{AtomicU32, Ordering};
use papr_hcall::{generic, L1RealAddr, Sc1};

/// Token of `power-off` (QEMU: 0x2003); 0 = not known.
static POWER_OFF: AtomicU32 = AtomicU32::new(0);
/// Token of `ibm,os-term`; 0 = not known.
static OS_TERM: AtomicU32 = AtomicU32::new(0);

/// Records the RTAS tokens read from the device tree's `/rtas` node.
pub fn set_tokens(power_off: Option<u32>, os_term: Option<u32>) {
    POWER_OFF.store(power_off.unwrap_or(0), Ordering::Relaxed);
    OS_TERM.store(os_term.unwrap_or(0), Ordering::Relaxed);
}

/// Makes one RTAS call with `args` and one return word; returns the RTAS status (or the hcall
/// error when `H_RTAS` itself fails).
fn call(token: u32, args: &[u32]) -> i64 {
    let mut block = [0u32; 8];
    let nargs = args.len().min(4);
    block[0] = token.to_be();
    block[1] = (nargs as u32).to_be();
    block[2] = 1u32.to_be();
    for (slot, a) in block[3..].iter_mut().zip(&args[..nargs]) {
        *slot = a.to_be();
    }
    // Identity-mapped real mode: the block's address is its real address. `Sc1` clobbers
    // memory, so the block is in place before the call and re-read after it.
    if let Err(e) = generic::rtas(&Sc1, L1RealAddr(block.as_mut_ptr() as u64)) {
        return e.return_code().map_or(-1, |c| c.raw());
    }
    let status = block.get(3 + nargs).copied().unwrap_or(0);
    i64::from(u32::from_be(status) as i32)
}

/// Powers the machine off: QEMU exits with status 0.
pub fn power_off() -> ! {
    let token = POWER_OFF.load(Ordering::Relaxed);
    if token != 0 {
        let rc = call(token, &[0, 0]);
        crate::println!("power-off returned {rc}");
    } else {
        crate::println!("no RTAS power-off token");
    }
    halt()
}

/// Terminates with a failure status: RTAS `ibm,os-term` reports a guest panic, which QEMU turns
/// into exit status 1 when started with `-action panic=exit-failure` (xtask does).
pub fn terminate(why: &str) -> ! {
    let mut msg = [0u8; 64];
    let n = why.len().min(msg.len() - 1);
    msg[..n].copy_from_slice(&why.as_bytes()[..n]);
    let token = OS_TERM.load(Ordering::Relaxed);
    if token != 0 {
        // The message address is a real address (identity mapping); the argument is 32 bits.
        let rc = call(token, &[msg.as_ptr() as u32]);
        // QEMU acts on the panic event after this returns: wait for it.
        if rc == 0 {
            halt()
        }
        crate::println!("ibm,os-term returned {rc}");
    } else {
        crate::println!("no RTAS ibm,os-term token");
    }
    // Without os-term the failure is still visible on the console; stop without powering off so
    // that a runner times out rather than mistaking this for success.
    halt()
}

/// Spins forever (MSR[EE] = 0: nothing interrupts it).
fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

//! The software-L0 backend: the L2 program becomes a `SoftL0` script.

use crate::asm::Image;
use crate::driver::{Config, Driver, L2Backend, Recorder};
use crate::layout::Layout;
use crate::scenario::{L2Op, Scenario};
use crate::trace::TraceLine;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use papr_hcall::sim::{SoftL0, WouldAbort};
use papr_hcall::{RealMemory, VmRealMemory};
use vm_memory::{GuestAddress, GuestMemoryMmap};

/// [`L2Backend`] for a [`SoftL0`]: `set_program` with the actions; the software L0's
/// own timebase.
#[derive(Debug, Clone, Copy)]
pub struct SoftL0Backend<'a, M>(pub &'a SoftL0<M>);

impl<M: RealMemory> L2Backend for SoftL0Backend<'_, M> {
    fn load(&self, guest: u64, vcpu: u64, entry: u64, program: &[L2Op]) -> Result<Image, String> {
        self.0
            .set_program(guest, vcpu, program.to_vec())
            .map_err(|e| format!("{e}"))?;
        Ok(Image {
            segments: Vec::new(),
            layout: Layout::scripted(entry, program),
        })
    }
    fn timebase(&self) -> u64 {
        self.0.timebase()
    }
}

/// L1 memory of the software L0: 64 MiB at 0; the driver's pool is 16 MiB..64 MiB.
pub const MEMORY: usize = 64 << 20;
/// The driver's pool inside [`MEMORY`].
pub const POOL: Config = Config {
    base: 16 << 20,
    len: 48 << 20,
};

/// The result of a software-L0 session.
#[derive(Debug, Default)]
pub struct Session {
    /// Every trace line, in order.
    pub trace: Vec<TraceLine>,
    /// Requests that would have killed QEMU (the driver must send none).
    pub would_abort: Vec<WouldAbort>,
}

/// Runs `scenarios` in order on one fresh [`SoftL0`].
///
/// # Errors
/// When the L1 memory cannot be created.
pub fn run(scenarios: &[Scenario]) -> Result<Session, String> {
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEMORY)])
        .map_err(|e| format!("L1 memory: {e}"))?;
    let mem = VmRealMemory(mem);
    let l0 = SoftL0::new(mem.clone());
    let backend = SoftL0Backend(&l0);
    let rec = Recorder::new();
    let mut driver = Driver::new(&l0, &mem, &backend, &rec, POOL);
    let mut session = Session::default();
    for s in scenarios {
        driver.run(s, &mut |l| session.trace.push(l));
    }
    session.would_abort = l0.would_abort();
    Ok(session)
}

//! Where the L2 program comes from: scripted by the software L0, or assembled for a real one.

use crate::asm::{assemble, Image};
use crate::scenario::L2Op;
use alloc::format;
use alloc::string::String;

/// Where the L2 program comes from.
pub trait L2Backend {
    /// Gives vCPU `vcpu` of guest `guest` (L0 ids) the program `program`, starting at
    /// `entry`. Returns the code to copy into L2 RAM (none for a scripted L2) and the
    /// layout of the actions.
    ///
    /// # Errors
    /// A description of why the program cannot run on this backend.
    fn load(&self, guest: u64, vcpu: u64, entry: u64, program: &[L2Op]) -> Result<Image, String>;

    /// The L1 timebase now.
    fn timebase(&self) -> u64;
}

/// The backend of a real L0: the program is assembled and copied into L2 RAM; the
/// timebase comes from `F` (on POWER: `mftb`).
#[derive(Debug, Clone, Copy)]
pub struct AsmBackend<F>(pub F);

impl<F: Fn() -> u64> L2Backend for AsmBackend<F> {
    fn load(&self, _: u64, _: u64, entry: u64, program: &[L2Op]) -> Result<Image, String> {
        assemble(entry, program).map_err(|e| format!("{e:?}"))
    }
    fn timebase(&self) -> u64 {
        (self.0)()
    }
}

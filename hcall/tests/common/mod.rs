//! Shared test fixtures: L1 memory as a byte vector, scripted mock hcalls.
#![allow(dead_code)]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_hcall::{HcallOutput, L1RealAddr, MemoryError, MockHcall, RealMemory};
use std::sync::{Arc, Mutex};

/// L1 memory `0..len` as a shared byte vector.
#[derive(Clone, Default, Debug)]
pub struct VecMemory(pub Arc<Mutex<Vec<u8>>>);

impl VecMemory {
    pub fn new(len: usize) -> Self {
        Self(Arc::new(Mutex::new(vec![0; len])))
    }
}

impl RealMemory for VecMemory {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        let m = self.0.lock().unwrap();
        let a = addr.0 as usize;
        let src = m.get(a..a + buf.len()).ok_or(MemoryError::OutOfRange {
            addr: addr.0,
            len: buf.len() as u64,
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        let mut m = self.0.lock().unwrap();
        let a = addr.0 as usize;
        let dst = m
            .get_mut(a..a + data.len())
            .ok_or(MemoryError::OutOfRange {
                addr: addr.0,
                len: data.len() as u64,
            })?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

/// A mock expecting exactly these calls, in order, with exactly these registers.
pub fn scripted(script: Vec<(u64, [u64; 9], HcallOutput)>) -> MockHcall {
    let mut h = MockHcall::new();
    let mut seq = mockall::Sequence::new();
    for (op, args, out) in script {
        h.expect_hcall()
            .times(1)
            .in_sequence(&mut seq)
            .withf(move |&o, a| o == op && *a == args)
            .return_const(out);
    }
    h
}

/// A mock that answers every call with `out` (and never expects a specific one).
pub fn always(out: HcallOutput) -> MockHcall {
    let mut h = MockHcall::new();
    h.expect_hcall().return_const(out);
    h
}

pub fn args(a: &[u64]) -> [u64; 9] {
    let mut r = [0; 9];
    r[..a.len()].copy_from_slice(a);
    r
}

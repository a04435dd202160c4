//! MMIO emulation as the L1 does it, through `papr_nestedv2::mmio`: the access is decoded
//! ([`mmio::prepare`]: one `H_GUEST_GET_STATE` of a store's source register, none for a
//! load), the device is the driver's (it takes stores, and answers loads with
//! [`device_bytes`]), and the completion ([`MmioOp::complete_load`] /
//! [`MmioOp::complete_store`]) writes RT and moves NIA in the vCPU's cache, for the next run
//! input.
//!
//! The instruction word is the one [`crate::asm`] assembled for the action the exit's NIA
//! names (`asm::load`/`asm::store` with RT/RS = [`DATA_REG`], RA = [`ADDR_REG`]): what the
//! L2 executed on a real L0. The driver does not fetch it from L2 memory, because the
//! software L0's scripted L2 has no instruction memory.
//!
//! Traced in the `view` event: `act=mmio-load|mmio-store gpa=… size=… write=<HDSISR store
//! bit> data=<the bytes at gpa, storage order, hex>` and, for a load, `rt=…` (the value
//! written to the target register).

use super::record::{hex, kv};
use super::{err, first_word, Driver, L1Memory, L2Backend, StepResult};
use crate::asm::{self, ADDR_REG, DATA_REG};
use crate::layout::NiaKind;
use crate::scenario::L2Op;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use papr_hcall::{GuestId, Hcall, L1RealAddr, VcpuId};
use papr_mmu_radix::GuestRealAddr;
use papr_nestedv2::mmio::{self, Insn, MmioOp, MmioOptions};
use papr_vcpu_state::HvSource;

/// What the driver's device answers to a load of `size` bytes: `0xA0, 0xA1, …` (storage
/// order), so that every byte lane is told apart.
pub fn device_bytes(size: usize) -> Vec<u8> {
    (0..size.min(8)).map(|i| 0xA0 | i as u8).collect()
}

fn bytes_hex(b: &[u8]) -> String {
    let mut s = String::from("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
    /// The `Exit::Mmio` at `gpa` (store bit `is_write` from HDSISR) whose instruction is at
    /// `nia`: emulated, or `act=none` with the reason.
    pub(super) fn mmio(
        &mut self,
        slot: u8,
        vcpu: u64,
        gpa: GuestRealAddr,
        is_write: bool,
        nia: u64,
        f: &mut Vec<(String, String)>,
    ) -> StepResult {
        let gid = self.guest(slot)?.id;
        let v = self.vcpu(slot, vcpu)?;
        let op = v
            .layout
            .action_at(nia, NiaKind::DataAccess)
            .and_then(|k| v.layout.slots.get(k))
            .map(|s| s.op);
        let word = match op {
            Some(L2Op::Load { size, .. }) => asm::load(size, DATA_REG, ADDR_REG),
            Some(L2Op::Store { size, .. }) => asm::store(size, DATA_REG, ADDR_REG),
            _ => None,
        };
        let Some(word) = word else {
            f.push(kv("act", "none"));
            f.push(kv("gpa", hex(gpa.0)));
            f.push(kv("write", u8::from(is_write)));
            f.push(kv("why", "no-access-at-nia"));
            return Ok(());
        };
        let scratch = L1RealAddr(self.scratch);
        let state = &mut self
            .guests
            .get_mut(&slot)
            .and_then(|g| g.vcpus.get_mut(&vcpu))
            .ok_or_else(|| format!("no vcpu {vcpu} in slot {slot}"))?
            .state;
        let mut src = HvSource::new(&self.hv, GuestId(gid), VcpuId(vcpu), scratch);
        let op: MmioOp = match mmio::prepare(
            state,
            &mut src,
            Insn::word(word),
            gpa,
            MmioOptions::default(),
        ) {
            Ok(op) => op,
            Err(e) => {
                let r = format!("{e:?}");
                f.push(kv("act", "none"));
                f.push(kv("gpa", hex(gpa.0)));
                f.push(kv("why", first_word(&r)));
                return Ok(());
            }
        };
        let size = op.size();
        f.push(kv(
            "act",
            if op.is_write() {
                "mmio-store"
            } else {
                "mmio-load"
            },
        ));
        f.push(kv("gpa", hex(gpa.0)));
        f.push(kv("size", size));
        f.push(kv("write", u8::from(is_write)));
        if let Some(data) = op.store_data() {
            f.push(kv("data", bytes_hex(data)));
            op.complete_store(state).map_err(err("complete store"))?;
        } else {
            let data = device_bytes(size);
            let rt = op
                .complete_load(state, &data)
                .map_err(err("complete load"))?;
            f.push(kv("data", bytes_hex(&data)));
            f.push(kv("rt", hex(rt)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_bytes_tell_lanes_apart() {
        assert_eq!(device_bytes(1), [0xA0]);
        assert_eq!(device_bytes(4), [0xA0, 0xA1, 0xA2, 0xA3]);
        assert_eq!(device_bytes(16).len(), 8);
        assert_eq!(bytes_hex(&[0x5a, 0x01]), "0x5a01");
    }
}

//! The platform against a small fake vCPU (registers, LPCR, 1 MiB of RAM) and a fake
//! environment: each hcall's answers and error codes, H_CEDE's wake-up logic, RTAS, exits.

use super::*;
use crate::env::{TimeOfDay, Wake};
use crate::rtas::token;
use alloc::vec;
use papr_hcall::VcpuId;
use papr_nestedv2::{lpcr, mmio};
use std::collections::HashMap;

pub(super) const RAM: u64 = 1 << 20;

/// A vCPU with registers, LPCR, a clock, RAM at GPA 0 and a record of what was done to it.
pub(super) struct Fake {
    pub id: u64,
    pub regs: HashMap<GuestStateId, u128>,
    pub lpcr: u64,
    pub now: u64,
    pub dec: u64,
    pub ram: Vec<u8>,
    pub proc_table: Option<(u64, u64)>,
    pub proc_table_fails: bool,
    pub programs: Vec<u64>,
    pub external: bool,
    pub fail_reg: bool,
}

impl Fake {
    pub fn new() -> Self {
        Self {
            id: 0,
            regs: HashMap::new(),
            lpcr: lpcr::DEFAULT,
            now: 1_000_000,
            dec: 0,
            ram: vec![0; RAM as usize],
            proc_table: None,
            proc_table_fails: false,
            programs: Vec::new(),
            external: false,
            fail_reg: false,
        }
    }

    fn range(
        &self,
        gpa: GuestRealAddr,
        len: usize,
    ) -> Result<core::ops::Range<usize>, papr_nestedv2::Error> {
        if !self.is_ram(gpa, len as u64) {
            return Err(papr_nestedv2::Error::NotRam {
                gpa: gpa.0,
                len: len as u64,
            });
        }
        Ok(gpa.0 as usize..gpa.0 as usize + len)
    }

    pub fn put(&mut self, gpa: u64, bytes: &[u8]) {
        self.ram[gpa as usize..gpa as usize + bytes.len()].copy_from_slice(bytes);
    }

    pub fn be32(&self, gpa: u64) -> u32 {
        u32::from_be_bytes(self.ram[gpa as usize..gpa as usize + 4].try_into().unwrap())
    }

    pub fn reg_of(&self, id: GuestStateId) -> Option<u64> {
        self.regs.get(&id).map(|&v| v as u64)
    }
}

impl VcpuContext for Fake {
    fn vcpu_id(&self) -> VcpuId {
        VcpuId(self.id)
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn reg(&mut self, id: GuestStateId) -> Result<u128, papr_nestedv2::Error> {
        if self.fail_reg {
            return Err(papr_nestedv2::Error::NothingToComplete("fake GET failed"));
        }
        Ok(self.regs.get(&id).copied().unwrap_or(0))
    }
    fn load(&mut self, _ids: papr_gsb::GsidSet) -> Result<(), papr_nestedv2::Error> {
        Ok(())
    }
    fn set_reg(&mut self, id: GuestStateId, value: u128) -> Result<(), papr_nestedv2::Error> {
        self.regs.insert(id, value);
        Ok(())
    }
    fn lpcr(&self) -> u64 {
        self.lpcr
    }
    fn set_lpcr(&mut self, value: u64) {
        self.lpcr = value;
    }
    fn dec_expiry(&mut self) -> Result<u64, papr_nestedv2::Error> {
        Ok(self.dec)
    }
    fn set_process_table(
        &mut self,
        base: GuestRealAddr,
        size: u64,
    ) -> Result<(), papr_nestedv2::Error> {
        if self.proc_table_fails {
            return Err(papr_nestedv2::Error::NothingToComplete("fake SET failed"));
        }
        self.proc_table = Some((base.0, size));
        Ok(())
    }
    fn read_guest(
        &mut self,
        gpa: GuestRealAddr,
        buf: &mut [u8],
    ) -> Result<(), papr_nestedv2::Error> {
        let r = self.range(gpa, buf.len())?;
        buf.copy_from_slice(&self.ram[r]);
        Ok(())
    }
    fn write_guest(&mut self, gpa: GuestRealAddr, data: &[u8]) -> Result<(), papr_nestedv2::Error> {
        let r = self.range(gpa, data.len())?;
        self.ram[r].copy_from_slice(data);
        Ok(())
    }
    fn is_ram(&self, gpa: GuestRealAddr, len: u64) -> bool {
        gpa.0.checked_add(len).is_some_and(|e| e <= RAM)
    }
    fn inject_program(&mut self, flags: u64) -> Result<(), papr_nestedv2::Error> {
        self.programs.push(flags);
        Ok(())
    }
    fn set_external_pending(&mut self, pending: bool) {
        self.external = pending;
    }
}

/// A console and clock: output collected, input queued, idles recorded.
#[derive(Debug, Default)]
pub(super) struct Env {
    pub out: Vec<u8>,
    pub input: Vec<u8>,
    pub idles: Vec<u64>,
    pub wake: Option<Wake>,
    pub tod: Option<TimeOfDay>,
    pub kicks: Vec<u64>,
    /// Set by every kick: a VMM's per-CPU flag, shared with a waiting thread.
    pub kicked: std::sync::Arc<core::sync::atomic::AtomicBool>,
}

impl Environment for Env {
    fn console_write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        n
    }
    fn idle_until(&mut self, timebase: u64) -> Wake {
        self.idles.push(timebase);
        self.wake.take().unwrap_or(Wake::Timer)
    }
    fn time_of_day(&mut self) -> Option<TimeOfDay> {
        self.tod
    }
    fn kick(&mut self, vcpu: u64) {
        self.kicks.push(vcpu);
        self.kicked
            .store(true, core::sync::atomic::Ordering::SeqCst);
    }
}

pub(super) fn platform() -> Platform<Env> {
    Platform::new(Env::default(), PlatformConfig::new(RAM, 0xF_0000))
}

/// Makes hcall `nr` and returns r3, r4, … as signed values.
pub(super) fn call(p: &mut Platform<Env>, v: &mut Fake, nr: u64, args: &[u64]) -> Vec<i64> {
    let mut a = [0u64; 9];
    a[..args.len()].copy_from_slice(args);
    match p.handle(&Exit::Hcall { nr, args: a }, v) {
        Action::HcallReturn(r) => r.registers().iter().map(|&x| x as i64).collect(),
        other => panic!("hcall {nr:#x}: {other:?}"),
    }
}

pub(super) const H_P2: i64 = -55;
pub(super) const H_P3: i64 = -56;
pub(super) const H_P4: i64 = -57;
pub(super) const H_PARAMETER: i64 = -4;
pub(super) const H_HARDWARE: i64 = -1;
pub(super) const H_FUNCTION: i64 = -2;
pub(super) const H_RESOURCE: i64 = -16;
pub(super) const H_UNSUPPORTED_FLAG: i64 = -256;

mod exits;
mod modes;
mod rtas;
mod smp;
mod term_cede;

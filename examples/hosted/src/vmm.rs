//! The VMM's part of the run loop: an [`ExitHandler`] that emulates the L2's console
//! hcall, the example's exit hcall and one MMIO device, and injects a program interrupt
//! for instructions it does not emulate. Page faults on RAM and timer exits never get here:
//! `papr-nestedv2` handles them itself.

use crate::event_loop::VcpuLink;
use papr_hcall::{opcode, ReturnCode};
use papr_nestedv2::{Action, Exit, ExitHandler, HcallReturn, MmioData, VcpuContext};

/// The example's own hcall: exit with status r4. Outside PAPR's numbers (< 0x500) and
/// QEMU/KVM's private range (0xF000–0xF808).
pub const HCALL_EXIT: u64 = 0xEF00;

/// Offset of the device's read-only identification register (32 bits).
pub const DEV_ID: u64 = 0x0;
/// Offset of the device's read/write scratch register (32 bits).
pub const DEV_SCRATCH: u64 = 0x8;
/// Size of the device's register window.
pub const DEV_SIZE: u64 = 0x1000;
/// What the identification register reads: "PAPR".
pub const DEV_ID_VALUE: u32 = 0x5041_5052;

/// A two-register MMIO device with little-endian 32-bit registers (as PCI devices have):
/// an id and a scratch register.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScratchDevice {
    /// The scratch register.
    pub scratch: u32,
}

impl ScratchDevice {
    /// The register name at `offset`.
    fn name(offset: u64) -> &'static str {
        match offset {
            DEV_ID => "id",
            DEV_SCRATCH => "scratch",
            _ => "unassigned",
        }
    }

    /// A read of the register at `offset` (unassigned offsets read 0).
    pub fn read(&self, offset: u64) -> u32 {
        match offset {
            DEV_ID => DEV_ID_VALUE,
            DEV_SCRATCH => self.scratch,
            _ => 0,
        }
    }

    /// A write of `value` to the register at `offset` (ignored but for scratch).
    pub fn write(&mut self, offset: u64, value: u32) {
        if offset == DEV_SCRATCH {
            self.scratch = value;
        }
    }
}

/// The hosted VMM's exit handler.
#[derive(Debug)]
pub struct Vmm<'a> {
    link: &'a VcpuLink,
    /// Guest real address of the device.
    pub dev_base: u64,
    /// The device.
    pub device: ScratchDevice,
    /// The L2's exit status, once it made the exit hcall.
    pub status: Option<u64>,
    /// The exit the loop stopped on, when it was not the exit hcall.
    pub unexpected: Option<Exit>,
}

impl<'a> Vmm<'a> {
    /// A VMM with its device at guest real address `dev_base`, talking to the event loop
    /// through `link`.
    pub fn new(link: &'a VcpuLink, dev_base: u64) -> Self {
        Self {
            link,
            dev_base,
            device: ScratchDevice::default(),
            status: None,
            unexpected: None,
        }
    }

    /// `H_PUT_TERM_CHAR(termno, len, chars 0–7, chars 8–15)`.
    fn put_term_char(&mut self, args: [u64; 9]) -> Action {
        let [termno, len, hi, lo, ..] = args;
        if termno != 0 || len > 16 {
            return Action::HcallReturn(HcallReturn::status(ReturnCode::Parameter.raw() as u64));
        }
        let mut bytes = Vec::with_capacity(16);
        bytes.extend_from_slice(&hi.to_be_bytes());
        bytes.extend_from_slice(&lo.to_be_bytes());
        bytes.truncate(len as usize);
        self.link.console(bytes);
        Action::HcallReturn(HcallReturn::status(0))
    }

    fn mmio(
        &mut self,
        gpa: u64,
        is_write: bool,
        data: Option<MmioData>,
        size: Option<u8>,
    ) -> Action {
        let Some(offset) = gpa.checked_sub(self.dev_base).filter(|&o| o < DEV_SIZE) else {
            self.link.log(format!(
                "mmio {} at {gpa:#x}: no device there: program interrupt",
                if is_write { "write" } else { "read" }
            ));
            return Action::InjectProgram;
        };
        let Some(size) = size else {
            self.link.log(format!(
                "mmio at {gpa:#x}: undecodable instruction: program interrupt"
            ));
            return Action::InjectProgram;
        };
        let name = ScratchDevice::name(offset);
        if is_write {
            // The device's registers are little-endian: the bytes on the bus, in storage
            // order, are the register value least significant byte first.
            let value = data.map_or(0, |d| d.to_le_value()) as u32;
            self.device.write(offset, value);
            self.link
                .log(format!("mmio write dev+{offset:#x} ({name}) <- {value:#x}"));
            Action::MmioComplete {
                data: MmioData::NONE,
            }
        } else {
            let value = self.device.read(offset);
            self.link
                .log(format!("mmio read  dev+{offset:#x} ({name}) -> {value:#x}"));
            // `size` is 1, 2, 4 or 8 for a decoded access; a wider one cannot happen.
            match MmioData::from_le_value(u64::from(value), size) {
                Some(data) => Action::MmioComplete { data },
                None => Action::InjectProgram,
            }
        }
    }
}

impl ExitHandler for Vmm<'_> {
    fn handle(&mut self, exit: &Exit, _vcpu: &mut dyn VcpuContext) -> Action {
        match *exit {
            Exit::Hcall {
                nr: opcode::H_PUT_TERM_CHAR,
                args,
            } => self.put_term_char(args),
            Exit::Hcall {
                nr: HCALL_EXIT,
                args: [status, ..],
            } => {
                self.status = Some(status);
                Action::Stop
            }
            Exit::Hcall { nr, .. } => {
                self.link
                    .log(format!("hcall {nr:#x} not implemented: H_FUNCTION"));
                Action::HcallReturn(HcallReturn::status(ReturnCode::Function.raw() as u64))
            }
            Exit::Mmio {
                gpa,
                is_write,
                data,
                size,
                access: Some(_),
                ..
            } => self.mmio(gpa.0, is_write, data, size),
            Exit::Mmio { gpa, .. } => self.mmio(gpa.0, false, None, None),
            Exit::EmulationAssist { heir, nia } => {
                self.link.log(format!(
                    "emulation assist: {heir:#010x} at {nia:#x} not emulated: program interrupt"
                ));
                Action::InjectProgram
            }
            other => {
                self.link
                    .log(format!("unexpected exit {other:?}: stopping"));
                self.unexpected = Some(other);
                Action::Stop
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papr_nestedv2::mmio::{decode, Insn};

    #[test]
    fn little_endian_registers_reach_a_little_endian_l2_unswapped() {
        let lwz = decode(Insn::word(0x80ab_0000)).unwrap(); // lwz r5,0(r11)
        let bus = MmioData::from_le_value(u64::from(DEV_ID_VALUE), 4).unwrap();
        assert_eq!(lwz.load_value(bus.as_bytes(), 1), 0x5041_5052);
        let stw = decode(Insn::word(0x918b_0008)).unwrap(); // stw r12,8(r11)
        let (bytes, n) = stw.store_bytes(0x2a, 1);
        let bus = MmioData::new(&bytes[..n]).unwrap();
        assert_eq!(bus.to_le_value(), 0x2a);
    }

    #[test]
    fn device_registers() {
        let mut d = ScratchDevice::default();
        assert_eq!(d.read(DEV_ID), DEV_ID_VALUE);
        d.write(DEV_ID, 1);
        d.write(DEV_SCRATCH, 7);
        assert_eq!(
            (d.read(DEV_ID), d.read(DEV_SCRATCH), d.read(0x10)),
            (DEV_ID_VALUE, 7, 0)
        );
    }
}

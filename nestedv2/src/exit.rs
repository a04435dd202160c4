//! The typed exit of an `H_GUEST_RUN_VCPU`, decoded from the trap and the run output buffer.

use crate::error::Error;
use crate::mmio::{FetchError, L2Interrupt, MmioAccess, MmioData};
use papr_gsb::GuestStateId;
use papr_mmu_radix::GuestRealAddr;
use papr_vcpu_state::VcpuState;

/// Trap vectors (`r4` after `H_GUEST_RUN_VCPU`): papr-hcall's, re-exported.
pub use papr_hcall::trap;

/// HDSISR bits of a partition-scoped fault (as QEMU and POWER report them).
pub mod hdsisr {
    /// No translation (no valid PTE).
    pub const NOPTE: u32 = 0x4000_0000;
    /// Protection fault.
    pub const PROTFAULT: u32 = 0x0800_0000;
    /// The access was a store.
    pub const ISSTORE: u32 = 0x0200_0000;
    /// The leaf has R = 0, or C = 0 for a store.
    pub const RC: u32 = 0x0004_0000;
}

/// Why the L2 stopped, with the data each kind needs already decoded. Owned and
/// `'static`, so it crosses seams (and mocks) freely.
///
/// New variants may be added: match with a wildcard arm.
///
/// ```
/// use papr_gsb::GuestStateId;
/// use papr_nestedv2::{Exit, GuestRealAddr};
/// use papr_vcpu_state::VcpuState;
/// let mut s = VcpuState::new();
/// let mut out = [0u8; 128];
/// let mut b = papr_gsb::GsbBuilder::new(&mut out)?;
/// for n in 3..=12u8 { b.put_u64(GuestStateId::gpr(n).unwrap(), u64::from(n))?; }
/// s.apply_exit(&out)?;
/// let exit = Exit::decode(0xC00, &s, |_| true)?;
/// assert_eq!(exit, Exit::Hcall { nr: 3, args: [4, 5, 6, 7, 8, 9, 10, 11, 12] });
/// assert_eq!(Exit::decode(0x1234, &s, |_| true)?, Exit::Unknown { trap: 0x1234 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// 0xC00: the L2 made an hcall. NIA already points past the `sc 1`: do not advance it.
    Hcall {
        /// The hcall number (GPR3).
        nr: u64,
        /// Its arguments (GPR4–12).
        args: [u64; 9],
    },
    /// 0xE00 on a guest real address inside the L2's RAM: a page to map (or a
    /// protection/R-C fault on one). The run loop handles the usual cases itself.
    PageFault {
        /// The faulting guest real address.
        gpa: GuestRealAddr,
        /// HDSISR (see [`hdsisr`]).
        hdsisr: u32,
        /// The access was a store.
        is_write: bool,
    },
    /// 0xE00 outside the L2's RAM: an emulated device access for the VMM.
    Mmio {
        /// The guest real address accessed.
        gpa: GuestRealAddr,
        /// Bytes accessed, when the instruction was decoded.
        size: Option<u8>,
        /// A store (from HDSISR).
        is_write: bool,
        /// For a decoded store: the bytes the device receives at `gpa`, in storage order
        /// (first byte at `gpa`; the L2's MSR\[LE\] and the byte-reverse forms already
        /// applied). A load's completion ([`Action::MmioComplete`](crate::Action::MmioComplete),
        /// [`Vcpu::complete_mmio`](crate::Vcpu::complete_mmio)) takes its bytes in the
        /// same order.
        data: Option<MmioData>,
        /// The faulting instruction's (first) word, when it could be fetched — in real
        /// mode, or through the L2's process table
        /// ([`Guest::set_process_table`](crate::Guest::set_process_table)); `None` otherwise.
        insn: Option<u32>,
        /// The decoded instruction ([`mmio::decode`](crate::mmio::decode)), when `insn` is a
        /// load/store MMIO emulation supports.
        access: Option<MmioAccess>,
        /// Address of the faulting instruction.
        nia: u64,
        /// Why the instruction could not be fetched (`insn` is then `None`): where the
        /// walk stopped, and through [`FetchError::l2_interrupt`] the interrupt the L2
        /// should get when the fault is in its own translation ([`Exit::l2_interrupt`]).
        /// `None` when the fetch succeeded or was not tried.
        fetch_error: Option<FetchError>,
    },
    /// 0xE20: a fetch from a guest real address the L2's table does not allow. Handled by
    /// the run loop when it is L2 RAM not yet mapped.
    InstructionFault {
        /// The guest real address of the fetch (ASDR).
        gpa: GuestRealAddr,
        /// The NIA of the fetch.
        nia: u64,
    },
    /// 0xE40: an instruction the L0 wants the L1 to emulate (often an illegal one).
    EmulationAssist {
        /// HEIR: the instruction word (QEMU: 4 bytes, a prefixed instruction's suffix).
        heir: u64,
        /// Its address.
        nia: u64,
    },
    /// 0x980: the run's HDEC expiry was reached. The run loop just re-arms and reruns.
    Hdec,
    /// 0xE80: hypervisor doorbell.
    Doorbell,
    /// 0x500 or 0xEA0: an external interrupt for the L1 arrived while the L2 ran.
    External {
        /// The trap (0x500 or 0xEA0).
        trap: u64,
    },
    /// 0xF80: hypervisor facility unavailable.
    FacilityUnavailable {
        /// The cause (HFSCR bits 0..7, i.e. `HFSCR >> 56`).
        cause: u8,
        /// The instruction's address.
        nia: u64,
    },
    /// Any other trap (0x000, 0x100, 0x200, 0xE60, …, or a value no L0 should give).
    Unknown {
        /// The trap as returned.
        trap: u64,
    },
}

/// The kind of an [`Exit`], for statistics and dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ExitKind {
    /// [`Exit::Hcall`].
    Hcall,
    /// [`Exit::PageFault`].
    PageFault,
    /// [`Exit::Mmio`].
    Mmio,
    /// [`Exit::InstructionFault`].
    InstructionFault,
    /// [`Exit::EmulationAssist`].
    EmulationAssist,
    /// [`Exit::Hdec`].
    Hdec,
    /// [`Exit::Doorbell`].
    Doorbell,
    /// [`Exit::External`].
    External,
    /// [`Exit::FacilityUnavailable`].
    FacilityUnavailable,
    /// [`Exit::Unknown`].
    Unknown,
}

impl ExitKind {
    /// Every kind, in index order.
    pub const ALL: [ExitKind; 10] = [
        ExitKind::Hcall,
        ExitKind::PageFault,
        ExitKind::Mmio,
        ExitKind::InstructionFault,
        ExitKind::EmulationAssist,
        ExitKind::Hdec,
        ExitKind::Doorbell,
        ExitKind::External,
        ExitKind::FacilityUnavailable,
        ExitKind::Unknown,
    ];
    /// Number of kinds.
    pub const COUNT: usize = Self::ALL.len();

    /// Dense index `0..COUNT`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A short name.
    ///
    /// ```
    /// assert_eq!(papr_nestedv2::ExitKind::Hdec.name(), "hdec");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            ExitKind::Hcall => "hcall",
            ExitKind::PageFault => "page-fault",
            ExitKind::Mmio => "mmio",
            ExitKind::InstructionFault => "instruction-fault",
            ExitKind::EmulationAssist => "emulation-assist",
            ExitKind::Hdec => "hdec",
            ExitKind::Doorbell => "doorbell",
            ExitKind::External => "external",
            ExitKind::FacilityUnavailable => "facility-unavailable",
            ExitKind::Unknown => "unknown",
        }
    }
}

impl Exit {
    /// The kind of this exit.
    pub const fn kind(&self) -> ExitKind {
        match self {
            Exit::Hcall { .. } => ExitKind::Hcall,
            Exit::PageFault { .. } => ExitKind::PageFault,
            Exit::Mmio { .. } => ExitKind::Mmio,
            Exit::InstructionFault { .. } => ExitKind::InstructionFault,
            Exit::EmulationAssist { .. } => ExitKind::EmulationAssist,
            Exit::Hdec => ExitKind::Hdec,
            Exit::Doorbell => ExitKind::Doorbell,
            Exit::External { .. } => ExitKind::External,
            Exit::FacilityUnavailable { .. } => ExitKind::FacilityUnavailable,
            Exit::Unknown { .. } => ExitKind::Unknown,
        }
    }

    /// For an [`Exit::Mmio`] whose instruction fetch failed in the L2's own translation
    /// (no process table, no valid entry, no execute right, a bad quadrant): the interrupt
    /// the L2 should get, as [`FetchError::l2_interrupt`] computes it. `None` otherwise
    /// (including partition-scoped faults, which the L1 resolves itself).
    ///
    /// ```
    /// use papr_nestedv2::mmio::{FetchError, L2Interrupt};
    /// use papr_nestedv2::{Exit, GuestRealAddr};
    /// let exit = Exit::Mmio {
    ///     gpa: GuestRealAddr(0x2000_0000), size: None, is_write: false, data: None,
    ///     insn: None, access: None, nia: 1 << 62,
    ///     fetch_error: Some(FetchError::Segment { ea: 1 << 62 }),
    /// };
    /// assert_eq!(exit.l2_interrupt(), Some(L2Interrupt::InstructionSegment));
    /// ```
    #[must_use]
    pub const fn l2_interrupt(&self) -> Option<L2Interrupt> {
        match self {
            Exit::Mmio {
                fetch_error: Some(f),
                ..
            } => f.l2_interrupt(),
            _ => None,
        }
    }

    /// Decodes the exit `trap` from the registers the run output buffer left valid in
    /// `state` (after [`VcpuState::apply_exit`]); `is_ram` tells L2 RAM from MMIO space.
    /// Makes no hcall and never panics: a register the exit must carry and does not is
    /// [`Error::IncompleteExit`]; an unknown trap is [`Exit::Unknown`].
    ///
    /// An MMIO exit comes back with `insn`, `access` and `data` unset: the
    /// [`Vcpu`](crate::Vcpu) fetches and decodes the instruction.
    #[inline(always)]
    pub fn decode(
        trap: u64,
        state: &VcpuState,
        is_ram: impl Fn(GuestRealAddr) -> bool,
    ) -> Result<Exit, Error> {
        let need = |id: GuestStateId| -> Result<u64, Error> {
            state
                .cached(id)
                .map(|v| v as u64)
                .ok_or(Error::IncompleteExit { trap, id })
        };
        Ok(match trap {
            trap::HCALL => {
                // Constant ids: their dense indices fold at compile time.
                const REGS: [GuestStateId; 10] = [
                    GuestStateId::GPR3,
                    GuestStateId::GPR4,
                    GuestStateId::GPR5,
                    GuestStateId::GPR6,
                    GuestStateId::GPR7,
                    GuestStateId::GPR8,
                    GuestStateId::GPR9,
                    GuestStateId::GPR10,
                    GuestStateId::GPR11,
                    GuestStateId::GPR12,
                ];
                // One validity check for the ten (the common case), then the values, by
                // register number (no id lookup).
                let Some([nr, args @ ..]) = state.cached_gprs::<10>(3) else {
                    let id = REGS.into_iter().find(|&id| need(id).is_err());
                    return Err(Error::IncompleteExit {
                        trap,
                        id: id.unwrap_or(GuestStateId::GPR3),
                    });
                };
                Exit::Hcall { nr, args }
            }
            trap::HDSI => {
                let hdsisr = need(GuestStateId::HDSISR)? as u32;
                let asdr = need(GuestStateId::ASDR)?;
                // Linux: the page from ASDR, the offset from HDAR (QEMU's ASDR is exact).
                let gpa = match state.cached(GuestStateId::HDAR) {
                    Some(hdar) => (asdr & !0xFFF) | (hdar as u64 & 0xFFF),
                    None => asdr,
                };
                let gpa = GuestRealAddr(gpa);
                let is_write = hdsisr & hdsisr::ISSTORE != 0;
                if is_ram(gpa) {
                    Exit::PageFault {
                        gpa,
                        hdsisr,
                        is_write,
                    }
                } else {
                    Exit::Mmio {
                        gpa,
                        size: None,
                        is_write,
                        data: None,
                        insn: None,
                        access: None,
                        nia: need(GuestStateId::NIA)?,
                        fetch_error: None,
                    }
                }
            }
            trap::HISI => {
                let nia = need(GuestStateId::NIA)?;
                // HDAR is stale on a HISI; ASDR holds the fetch address (else NIA).
                let gpa = state.cached(GuestStateId::ASDR).map_or(nia, |v| v as u64);
                Exit::InstructionFault {
                    gpa: GuestRealAddr(gpa),
                    nia,
                }
            }
            trap::HEAI => Exit::EmulationAssist {
                heir: need(GuestStateId::HEIR)?,
                nia: need(GuestStateId::NIA)?,
            },
            trap::HDEC => Exit::Hdec,
            trap::DOORBELL => Exit::Doorbell,
            trap::EXTERNAL | trap::HVIRT => Exit::External { trap },
            trap::HFAC => Exit::FacilityUnavailable {
                cause: (need(GuestStateId::HFSCR)? >> 56) as u8,
                nia: need(GuestStateId::NIA)?,
            },
            _ => Exit::Unknown { trap },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papr_gsb::GsbBuilder;
    use std::vec::Vec;

    fn state_with(elems: &[(GuestStateId, u64)]) -> VcpuState {
        let mut s = VcpuState::new();
        let mut out = [0u8; 512];
        let mut b = GsbBuilder::new(&mut out).unwrap();
        for &(id, v) in elems {
            b.put_reg(id, v).unwrap();
        }
        let n = b.finish();
        s.apply_exit(&out[..n]).unwrap();
        s
    }

    const RAM_END: u64 = 0x1000_0000;
    fn ram(gpa: GuestRealAddr) -> bool {
        gpa.0 < RAM_END
    }

    #[test]
    fn hcall() {
        let regs: Vec<_> = (3u8..=12)
            .map(|n| (GuestStateId::gpr(n).unwrap(), 0x100 + u64::from(n)))
            .collect();
        let s = state_with(&regs);
        let e = Exit::decode(0xC00, &s, ram).unwrap();
        assert_eq!(
            e,
            Exit::Hcall {
                nr: 0x103,
                args: [0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10a, 0x10b, 0x10c]
            }
        );
        assert_eq!(e.kind(), ExitKind::Hcall);
        // hostile: GPR12 missing
        let s = state_with(&regs[..9]);
        assert_eq!(
            Exit::decode(0xC00, &s, ram),
            Err(Error::IncompleteExit {
                trap: 0xC00,
                id: GuestStateId::GPR12
            })
        );
    }

    fn hdsi(addr: u64, hdsisr: u32) -> VcpuState {
        state_with(&[
            (GuestStateId::HDAR, addr),
            (GuestStateId::HDSISR, hdsisr.into()),
            (GuestStateId::ASDR, addr),
            (GuestStateId::NIA, 0x40),
            (GuestStateId::MSR, 0x8000_0000_0000_0003),
        ])
    }

    #[test]
    fn hdsi_ram_and_mmio() {
        let e = Exit::decode(0xE00, &hdsi(0x10_0008, 0x4200_0000), ram).unwrap();
        assert_eq!(
            e,
            Exit::PageFault {
                gpa: GuestRealAddr(0x10_0008),
                hdsisr: 0x4200_0000,
                is_write: true
            }
        );
        let e = Exit::decode(0xE00, &hdsi(RAM_END + 4, 0x4000_0000), ram).unwrap();
        assert!(matches!(
            e,
            Exit::Mmio { gpa: GuestRealAddr(g), is_write: false, nia: 0x40, size: None, .. } if g == RAM_END + 4
        ));
        // HDAR supplies the page offset when ASDR is page-granular
        let s = state_with(&[
            (GuestStateId::HDAR, 0xC000_0000_0000_0123),
            (GuestStateId::HDSISR, 0x4000_0000),
            (GuestStateId::ASDR, 0x5000),
        ]);
        assert!(matches!(
            Exit::decode(0xE00, &s, ram).unwrap(),
            Exit::PageFault {
                gpa: GuestRealAddr(0x5123),
                ..
            }
        ));
        // missing HDSISR / ASDR
        let s = state_with(&[(GuestStateId::HDAR, 1)]);
        assert!(matches!(
            Exit::decode(0xE00, &s, ram),
            Err(Error::IncompleteExit { trap: 0xE00, .. })
        ));
        // MMIO without NIA
        let s = state_with(&[(GuestStateId::HDSISR, 0), (GuestStateId::ASDR, RAM_END)]);
        assert_eq!(
            Exit::decode(0xE00, &s, ram),
            Err(Error::IncompleteExit {
                trap: 0xE00,
                id: GuestStateId::NIA
            })
        );
    }

    #[test]
    fn hisi_heai_hfac() {
        let s = state_with(&[
            (GuestStateId::HDAR, 0xdead),
            (GuestStateId::ASDR, 0x20_0000),
            (GuestStateId::NIA, 0x20_0000),
            (GuestStateId::MSR, 0),
        ]);
        assert_eq!(
            Exit::decode(0xE20, &s, ram).unwrap(),
            Exit::InstructionFault {
                gpa: GuestRealAddr(0x20_0000),
                nia: 0x20_0000
            }
        );
        let s = state_with(&[(GuestStateId::NIA, 0x44)]);
        assert_eq!(
            Exit::decode(0xE20, &s, ram).unwrap(),
            Exit::InstructionFault {
                gpa: GuestRealAddr(0x44),
                nia: 0x44
            }
        );
        let mut out = [0u8; 64];
        let mut b = GsbBuilder::new(&mut out).unwrap();
        b.put_raw(GuestStateId::HEIR, &0x7c00_07feu32.to_be_bytes())
            .unwrap();
        b.put_u64(GuestStateId::NIA, 0x80).unwrap();
        let n = b.finish();
        let mut s = VcpuState::new();
        s.apply_exit(&out[..n]).unwrap();
        assert_eq!(
            Exit::decode(0xE40, &s, ram).unwrap(),
            Exit::EmulationAssist {
                heir: 0x7c00_07fe,
                nia: 0x80
            }
        );
        let s = state_with(&[
            (GuestStateId::HFSCR, 0x0A00_0000_0000_0000),
            (GuestStateId::NIA, 8),
        ]);
        assert_eq!(
            Exit::decode(0xF80, &s, ram).unwrap(),
            Exit::FacilityUnavailable { cause: 10, nia: 8 }
        );
        assert!(Exit::decode(0xF80, &VcpuState::new(), ram).is_err());
        assert!(Exit::decode(0xE40, &VcpuState::new(), ram).is_err());
    }

    #[test]
    fn carry_nothing() {
        let s = VcpuState::new();
        assert_eq!(Exit::decode(0x980, &s, ram).unwrap(), Exit::Hdec);
        assert_eq!(Exit::decode(0xE80, &s, ram).unwrap(), Exit::Doorbell);
        assert_eq!(
            Exit::decode(0xEA0, &s, ram).unwrap(),
            Exit::External { trap: 0xEA0 }
        );
        assert_eq!(
            Exit::decode(0x500, &s, ram).unwrap(),
            Exit::External { trap: 0x500 }
        );
        for t in [0, 0x100, 0x200, 0xE60, 0x1980, u64::MAX, 1 << 63] {
            assert_eq!(Exit::decode(t, &s, ram).unwrap(), Exit::Unknown { trap: t });
        }
    }

    #[test]
    fn every_trap_on_every_small_output_never_panics() {
        let outputs = [
            VcpuState::new(),
            VcpuState::new_zeroed(),
            hdsi(u64::MAX, u32::MAX),
            hdsi(0, 0),
        ];
        for s in &outputs {
            for t in (0..0x2000u64).step_by(0x20).chain([u64::MAX, 0xE01, 0xC01]) {
                let _ = Exit::decode(t, s, ram);
                let _ = Exit::decode(t, s, |_| true);
                let _ = Exit::decode(t, s, |_| false);
            }
        }
    }

    #[test]
    fn kinds_are_dense() {
        for (i, k) in ExitKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
            assert!(!k.name().is_empty());
        }
    }
}

//! The L2's processors as PAPR sees them: stopped, started by RTAS `start-cpu`, stopped
//! again by `stop-self`, ceded (`H_CEDE`), prodded (`H_PROD`), conferring (`H_CONFER`) —
//! QEMU's `hw/ppc/spapr_rtas.c` and `spapr_hcall.c` answers, with the vCPU scheduling left
//! to the VMM through [`Board`](crate::Board).
//!
//! A vCPU the platform wants off the L1 CPU (it ceded with nothing to wake it, conferred,
//! or stopped itself) makes the handler answer [`Action::Stop`] — after r3 is set, as the
//! hcall's completion does — on a [`Board`](crate::Board) (`stop-self` also without one);
//! the VMM then asks the board which vCPU runs next.

use super::{ok, rc, Cpu, Platform};
use crate::env::Environment;
use crate::error::Error;
use crate::rtas::status;
use crate::vcpu::START_MSR;
use papr_gsb::GuestStateId;
use papr_hcall::ReturnCode;
use papr_nestedv2::{Action, HcallReturn, VcpuContext};

/// `query-cpu-stopped-state`'s answer for a stopped processor (Linux `QCSS_STOPPED`).
const QCSS_STOPPED: u32 = 0;
/// `query-cpu-stopped-state`'s answer for any other (Linux `QCSS_NOT_STOPPED`).
const QCSS_NOT_STOPPED: u32 = 2;

/// What a vCPU of the L2 is doing, as the platform sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CpuState {
    /// Runs (or may run): the boot vCPU from the start, the others once started.
    #[default]
    Running,
    /// In the RTAS stopped state: every vCPU but 0 at boot, and after `stop-self`.
    Stopped,
    /// Started by RTAS `start-cpu`, not yet dispatched: its first run begins at `entry`
    /// with r3 = `r3` and MSR = [`START_MSR`](crate::vcpu::START_MSR).
    Starting {
        /// The start address (real mode).
        entry: u64,
        /// r3 at entry.
        r3: u64,
    },
    /// Ceded (`H_CEDE`, or `H_CONFER` to itself): runnable again at timebase `until` (its
    /// decrementer; `None`: no deadline), on an interrupt its ICP presents, on `H_PROD`
    /// or on console input.
    Ceded {
        /// The timebase it wakes at, if any.
        until: Option<u64>,
    },
}

impl<E: Environment> Platform<E> {
    /// Whether `id` names one of the L2's vCPUs (a processor number, XICS server, RTAS
    /// CPU id: all the same here).
    pub(super) fn is_cpu(&self, id: u64) -> bool {
        id < u64::from(self.cfg.vcpus)
    }

    /// Makes `H_CEDE` and `H_CONFER` give the L1 CPU back (see [`Board`](crate::Board)).
    pub(crate) fn set_yields(&mut self, yields: bool) {
        self.yields = yields;
    }

    /// The state of vCPU `id` (`None`: not a vCPU of the L2).
    pub fn cpu_state(&self, id: u64) -> Option<CpuState> {
        if !self.is_cpu(id) {
            return None;
        }
        Some(self.cpus.get(&id).map_or(CpuState::Running, |c| c.state))
    }

    /// Whether vCPU `id` may run at timebase `now`: running, started, or ceded with a
    /// reason to wake (deadline passed, an interrupt presented, prodded, console input).
    pub fn runnable(&self, id: u64, now: u64) -> bool {
        if !self.is_cpu(id) {
            return false;
        }
        let cpu = self.cpus.get(&id).copied().unwrap_or_default();
        match cpu.state {
            CpuState::Running | CpuState::Starting { .. } => true,
            CpuState::Stopped => false,
            CpuState::Ceded { until } => {
                until.is_some_and(|t| (t.wrapping_sub(now) as i64) <= 0) || self.wakes(&cpu)
            }
        }
    }

    /// Whether something other than time wakes a ceded `cpu`.
    fn wakes(&self, cpu: &Cpu) -> bool {
        cpu.icp.raised() || cpu.prod || !self.input.is_empty()
    }

    /// Takes vCPU `id`'s pending start: `(entry, r3)` once after `start-cpu`, and marks it
    /// running. `None` when it has no start pending.
    pub fn take_start(&mut self, id: u64) -> Option<(u64, u64)> {
        let cpu = self.cpus.get_mut(&id)?;
        match cpu.state {
            CpuState::Starting { entry, r3 } => {
                cpu.state = CpuState::Running;
                Some((entry, r3))
            }
            _ => None,
        }
    }

    /// Prepares `vcpu` to run next, if it may (`false`: it is stopped or ceded without a
    /// reason to wake; leave it off the L1 CPU):
    /// * a start pending: NIA = the entry, r3, MSR = [`START_MSR`](crate::vcpu::START_MSR);
    /// * ceded and woken: running again (a prod that woke it is consumed; the VPA's
    ///   dispatch counter becomes even again);
    /// * the guest-wide LPCR bits (`H_SET_MODE` from any vCPU) and its ICP's external
    ///   interrupt request (IPIs sent while it was off the L1 CPU).
    ///
    /// # Errors
    /// [`Error::Vcpu`] when a register cannot be set or the VPA cannot be written.
    pub fn dispatch(&mut self, vcpu: &mut dyn VcpuContext) -> Result<bool, Error> {
        let id = vcpu.vcpu_id().0;
        if !self.runnable(id, vcpu.now()) {
            return Ok(false);
        }
        if let Some(CpuState::Starting { entry, r3 }) = self.cpu_state(id) {
            // Running only once the entry state is set: a failed SET keeps the start.
            let gpr3 = GuestStateId::gpr(3).unwrap_or_default();
            vcpu.set_reg(GuestStateId::NIA, u128::from(entry))?;
            vcpu.set_reg(GuestStateId::MSR, u128::from(START_MSR))?;
            vcpu.set_reg(gpr3, u128::from(r3))?;
            self.cpu(id).state = CpuState::Running;
        }
        let cpu = self.cpu(id);
        if let CpuState::Ceded { .. } = cpu.state {
            cpu.state = CpuState::Running;
            cpu.prod = false;
            let vpa = cpu.vpa.vpa;
            if vpa != 0 {
                Self::bump_dispatch(vcpu, vpa, 1)?;
            }
        }
        self.sync_lpcr(id, vcpu);
        self.sync_irq(id, vcpu);
        Ok(true)
    }

    /// The earliest timebase a ceded vCPU wakes at by itself, if any.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.cpus
            .values()
            .filter_map(|c| match c.state {
                CpuState::Ceded { until } => until,
                _ => None,
            })
            .min()
    }

    /// Counts an idle of a [`Board`](crate::Board) (no vCPU, or the one waited for, may
    /// run).
    pub(crate) fn note_idle(&mut self) {
        self.stats.idles += 1;
    }

    /// Reads console input without blocking and keeps it for `H_GET_TERM_CHAR` (it wakes
    /// a ceded vCPU); whether there was any.
    pub(crate) fn poll_input(&mut self) -> bool {
        let mut buf = [0u8; 16];
        let n = self.env.console_read(&mut buf);
        self.take_input(buf.get(..n.min(buf.len())).unwrap_or(&[]));
        n > 0
    }

    /// Gives the L1 CPU back after an hcall: r3 = H_SUCCESS, then [`Action::Stop`].
    pub(super) fn yield_cpu(&mut self, vcpu: &mut dyn VcpuContext) -> Result<Action, Error> {
        vcpu.set_reg(GuestStateId::gpr(3).unwrap_or_default(), 0)?;
        Ok(Action::Stop)
    }

    /// `H_PROD(target)`: the target's next (or current) cede returns.
    pub(super) fn prod(&mut self, target: u64, me: u64) -> HcallReturn {
        if !self.is_cpu(target) {
            return rc(ReturnCode::Parameter);
        }
        self.cpu(target).prod = true;
        if target != me {
            self.env.kick(target);
        }
        ok()
    }

    /// `H_CONFER(target, dispatch)`: −1 gives the L1 CPU to the other vCPUs, the caller
    /// itself waits for an `H_PROD` (or an interrupt), another vCPU is given the L1 CPU
    /// (the scheduler runs the others first; the dispatch count is not checked). Without
    /// a scheduler ([`Platform::new`]) it returns at once.
    pub(super) fn confer(
        &mut self,
        target: u64,
        vcpu: &mut dyn VcpuContext,
    ) -> Result<Action, Error> {
        let me = vcpu.vcpu_id().0;
        let all = target as i64 == -1;
        if !all && !self.is_cpu(target) {
            return Ok(Action::HcallReturn(rc(ReturnCode::Parameter)));
        }
        if target == me {
            let yields = self.yields;
            let cpu = self.cpu(me);
            if cpu.prod {
                cpu.prod = false;
                return Ok(Action::HcallReturn(ok()));
            }
            if yields {
                cpu.state = CpuState::Ceded { until: None };
            }
        }
        if self.yields {
            self.yield_cpu(vcpu)
        } else {
            Ok(Action::HcallReturn(ok()))
        }
    }

    /// RTAS `query-cpu-stopped-state(cpu)` → its state ([`QCSS_STOPPED`] or
    /// [`QCSS_NOT_STOPPED`]); `None` for an unknown CPU (status −3, nothing else written).
    pub(super) fn query_cpu_stopped_state(&self, id: u64) -> Option<u32> {
        Some(match self.cpu_state(id)? {
            CpuState::Stopped => QCSS_STOPPED,
            _ => QCSS_NOT_STOPPED,
        })
    }

    /// RTAS `start-cpu(cpu, start, r3)`: −3 for an unknown CPU, −1 (hardware error, as
    /// QEMU) for one that is not stopped.
    pub(super) fn start_cpu(&mut self, id: u64, entry: u64, r3: u64) -> i32 {
        match self.cpu_state(id) {
            None => status::PARAM_ERROR,
            Some(CpuState::Stopped) => {
                let cpu = self.cpu(id);
                cpu.state = CpuState::Starting { entry, r3 };
                cpu.prod = false;
                self.env.kick(id);
                status::SUCCESS
            }
            Some(_) => status::HW_ERROR,
        }
    }

    /// RTAS `stop-self`: the caller enters the stopped state (it never returns from the
    /// call); its ICP and prod flag are reset.
    pub(super) fn stop_self(&mut self, id: u64) {
        let cpu = self.cpu(id);
        cpu.state = CpuState::Stopped;
        cpu.prod = false;
        cpu.icp = super::xics::Icp::default();
    }
}

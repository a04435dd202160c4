//! The run loop: exits nestedv2 handles itself, a handler's actions, and the bounds that
//! make [`Vcpu::run_loop`] return whatever the L0 and the L2 do.

use super::{program, Vcpu};
use crate::clock::Clock;
use crate::error::Error;
use crate::exit::{hdsisr, Exit, ExitKind};
use crate::guest::PAGE;
use crate::handler::{Action, ExitHandler};
use crate::host::Backend;
use papr_mmu_radix::TableAlloc;

/// Default of [`Vcpu::set_loop_limit`]: 2^20 exits in a row handled without the handler.
pub const DEFAULT_LOOP_LIMIT: u64 = 1 << 20;

/// Default of [`Vcpu::set_fault_repeat_limit`]: 64 identical faults in a row.
pub const DEFAULT_FAULT_REPEAT_LIMIT: u32 = 64;

impl<P: Backend, A: TableAlloc> Vcpu<'_, '_, P, A> {
    /// Handles what this crate owns, returns whether it did:
    /// * [`Exit::PageFault`] with no translation → map the RAM page; with an R/C fault →
    ///   set R (and C for a store); protection faults are not handled;
    /// * [`Exit::InstructionFault`] on RAM → map the page, or set R;
    /// * [`Exit::Hdec`], [`Exit::External`], [`Exit::Doorbell`] → nothing to do (the next
    ///   run carries a fresh HDEC expiry).
    ///
    /// The L2 retries the access: NIA is unchanged.
    ///
    /// # Errors
    /// [`Error::Radix`] when the table cannot be changed.
    pub fn handle_internal(&mut self, exit: &Exit) -> Result<bool, Error> {
        match *exit {
            Exit::PageFault { .. } | Exit::InstructionFault { .. } => self.fix_fault(exit),
            Exit::Hdec | Exit::External { .. } | Exit::Doorbell => Ok(true),
            _ => Ok(false),
        }
    }

    /// The page-fault part of [`handle_internal`](Self::handle_internal), out of line: the
    /// run loop's code for other exits stays compact (QEMU flushes its jump cache on every
    /// L1↔L2 switch, so each page boundary the loop branches across costs a lookup).
    #[inline(never)]
    fn fix_fault(&mut self, exit: &Exit) -> Result<bool, Error> {
        match *exit {
            Exit::PageFault {
                gpa,
                hdsisr: cause,
                is_write,
            } => {
                if cause & hdsisr::NOPTE != 0 {
                    self.guest.fault_in(gpa)
                } else if cause & hdsisr::RC != 0 && cause & hdsisr::PROTFAULT == 0 {
                    Ok(self.guest.table.lock().set_rc(gpa, is_write)?)
                } else {
                    Ok(false)
                }
            }
            Exit::InstructionFault { gpa, .. } if self.guest.is_ram(gpa) => {
                let t = self.guest.table.lock().translate(gpa)?;
                match t {
                    None => self.guest.fault_in(gpa),
                    Some(t) if !t.pte.referenced() => {
                        Ok(self.guest.table.lock().set_rc(gpa, false)?)
                    }
                    Some(_) => Ok(false),
                }
            }
            _ => Ok(false),
        }
    }

    /// Applies a handler's [`Action`]; returns `false` for [`Action::Stop`].
    ///
    /// # Errors
    /// As the completion or injection it performs.
    pub fn apply(&mut self, action: Action) -> Result<bool, Error> {
        match action {
            Action::Resume => {}
            Action::HcallReturn(r) => self.complete_hcall(r),
            Action::MmioComplete { data } => self.complete_mmio(data.as_bytes())?,
            Action::Skip => self.skip_instruction()?,
            Action::InjectProgram => self.inject_program(program::ILLEGAL)?,
            Action::Stop => return Ok(false),
        }
        Ok(true)
    }

    /// Runs until `handler` says [`Action::Stop`], and returns the exit it stopped on.
    /// Exits this crate owns ([`Vcpu::handle_internal`]) never reach the handler; all
    /// others do. Handling time is added to [`Vcpu::stats`].
    ///
    /// # Bounded
    /// The loop returns within bounds the caller sets, on by default, even when the L0 is
    /// hostile or the L2 never makes an exit the handler sees:
    /// * after [`loop_limit`](Self::loop_limit) exits in a row handled here (an L2 that
    ///   only exits by HDEC, an L0 that keeps faulting): [`Error::LoopLimit`];
    /// * when the same page fault (kind, page, cause) comes back
    ///   [`fault_repeat_limit`](Self::fault_repeat_limit) + 1 times in a row although it was
    ///   fixed each time: [`Error::RepeatedFault`].
    ///
    /// Any exit the handler sees starts both counts again. The vCPU is left as after any
    /// exit: calling `run_loop` again goes on.
    ///
    /// # Errors
    /// The first error of a run, a page fault fix-up or a completion; [`Error::LoopLimit`],
    /// [`Error::RepeatedFault`].
    #[inline(never)]
    pub fn run_loop<E: ExitHandler + ?Sized>(&mut self, handler: &mut E) -> Result<Exit, Error> {
        let mut in_a_row = 0u64;
        let mut repeat = Repeat::default();
        let mut exit = Exit::Hdec;
        loop {
            self.run_into(&mut exit)?;
            let timed = self.stats.is_enabled();
            let now = |v: &Self| if timed { v.host.clock.now() } else { 0 };
            let t0 = now(self);
            let internal = self.handle_internal(&exit)?;
            let go_on = if internal {
                true
            } else {
                let action = handler.handle(&exit, self);
                self.apply(action)?
            };
            let t1 = now(self);
            self.stats
                .add_handle_ticks(exit.kind(), t1.saturating_sub(t0));
            if !go_on {
                return Ok(exit);
            }
            if !internal {
                in_a_row = 0;
                repeat = Repeat::default();
                continue;
            }
            in_a_row = in_a_row.saturating_add(1);
            repeat.record(&exit, self.fault_repeat_limit)?;
            if self.loop_limit.is_some_and(|limit| in_a_row >= limit) {
                return Err(Error::LoopLimit {
                    exits: in_a_row,
                    last: exit.kind(),
                });
            }
        }
    }

    /// Sets the bound on exits [`run_loop`](Self::run_loop) handles in a row without the
    /// handler seeing one (`None`: unbounded). Default: 2^20 (about 17 minutes of an L2
    /// that only exits by HDEC at the default 1 ms slice, or 4 GiB of RAM faulted in
    /// without another exit).
    pub fn set_loop_limit(&mut self, limit: Option<u64>) {
        self.loop_limit = limit.map(|l| l.max(1));
    }

    /// The bound of [`set_loop_limit`](Self::set_loop_limit).
    pub fn loop_limit(&self) -> Option<u64> {
        self.loop_limit
    }

    /// Sets how often in a row [`run_loop`](Self::run_loop) fixes the same page fault
    /// before it gives up with [`Error::RepeatedFault`] (`None`: never). Default: 64. A fault
    /// fixed once does not come back from an L0 that follows the ABI.
    pub fn set_fault_repeat_limit(&mut self, limit: Option<u32>) {
        self.fault_repeat_limit = limit;
    }

    /// The bound of [`set_fault_repeat_limit`](Self::set_fault_repeat_limit).
    pub fn fault_repeat_limit(&self) -> Option<u32> {
        self.fault_repeat_limit
    }
}

/// The page fault last fixed by the run loop and how often in a row.
#[derive(Default)]
struct Repeat {
    last: Option<(ExitKind, u64, u32)>,
    count: u32,
}

impl Repeat {
    /// Counts `exit` (handled by the loop); fails past `limit` identical faults in a row.
    fn record(&mut self, exit: &Exit, limit: Option<u32>) -> Result<(), Error> {
        let key = match *exit {
            Exit::PageFault { gpa, hdsisr, .. } => (ExitKind::PageFault, gpa.0, hdsisr),
            Exit::InstructionFault { gpa, .. } => (ExitKind::InstructionFault, gpa.0, 0),
            _ => {
                *self = Self::default();
                return Ok(());
            }
        };
        let same_page =
            |(k, g, c): (ExitKind, u64, u32)| k == key.0 && c == key.2 && g / PAGE == key.1 / PAGE;
        if self.last.is_some_and(same_page) {
            self.count = self.count.saturating_add(1);
        } else {
            self.last = Some(key);
            self.count = 1;
        }
        match limit {
            Some(max) if self.count > max => Err(Error::RepeatedFault {
                kind: key.0,
                gpa: key.1,
                cause: key.2,
                count: self.count,
            }),
            _ => Ok(()),
        }
    }
}

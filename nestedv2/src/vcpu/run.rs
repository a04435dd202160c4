//! The run: `H_GUEST_RUN_VCPU` with the run input, the run output read back, the exit
//! decoded (and an MMIO instruction fetched and decoded).

use super::{Pending, Scratch, Vcpu, INPUT_BYTES, INPUT_FIRST, OUTPUT_FIRST_READ};
use crate::clock::Clock;
use crate::error::Error;
use crate::exit::Exit;
use crate::guest::PAGE;
use crate::host::Backend;
use crate::stamps::{self, Phase};
use papr_gsb::GuestStateId;
use papr_hcall::{L1RealAddr, RealMemory};
use papr_mmu_radix::{GuestRealAddr, TableAlloc};
use papr_vcpu_state::{sets, StateError};

/// The poison byte the L1 writes over the run output before each run (see
/// `Vcpu::poison_output`).
const POISON: u8 = 0xFF;

/// A piece of poison: 64 bytes, built in registers (stores of an immediate, no memory to
/// read: a static would be one more page touched per exit).
const POISON_PIECE: [u8; OUTPUT_FIRST_READ / 2] = [POISON; OUTPUT_FIRST_READ / 2];

impl<P: Backend, A: TableAlloc> Vcpu<'_, '_, P, A> {
    fn expiry(&self, now: u64) -> Result<u64, Error> {
        let mut expiry = now.saturating_add(self.slice);
        if let Some(deadline) = self.deadline {
            if now >= deadline {
                return Err(Error::DeadlinePassed { now, deadline });
            }
            expiry = expiry.min(deadline);
        }
        Ok(expiry)
    }

    /// Whether the HDEC expiry the L0 holds (the last one sent, still valid in the cache)
    /// can stay for a run at `now` whose expiry would be `expiry`: it is still ahead, not
    /// later than `expiry`, and either at least half a slice ahead or `expiry` itself (the
    /// deadline). Then it is not sent again.
    fn keeps_hdec_expiry(&self, now: u64, expiry: u64) -> bool {
        let Some(held) = self
            .state
            .cached(GuestStateId::HDEC_EXPIRY_TB)
            .and_then(|v| u64::try_from(v).ok())
        else {
            return false;
        };
        held > now && held <= expiry && (held == expiry || held - now >= self.slice / 2)
    }

    /// Runs the L2 once and returns why it stopped.
    ///
    /// 1. The HDEC expiry is set to `min(now + slice, deadline)` — always in the future; a
    ///    run at or past the deadline is refused ([`Error::DeadlinePassed`]). The expiry the
    ///    L0 already holds is kept, and not sent again, while it is at least half a slice
    ///    ahead and not past that bound: a run then ends between half a slice and a slice
    ///    after it starts (an HDEC exit always sends a fresh one).
    /// 2. Dirty guest-wide registers go out in one guest-wide SET (none in the steady
    ///    state); dirty thread-wide registers and the HDEC expiry are packed into the run
    ///    input buffer in L1 memory.
    /// 3. `H_GUEST_RUN_VCPU`; on failure the flushed registers become dirty again.
    ///    Before it, the part of the output buffer the exit is read from is poisoned
    ///    (0xFF bytes): the L0 writes the output fresh on every exit, so what it did not
    ///    write for this exit cannot pass for this exit's registers.
    /// 4. The output buffer is read and validated whole ([`VcpuState::apply_exit`](papr_vcpu_state::VcpuState::apply_exit)); a bad
    ///    one (a header or element the L0 did not write included) is [`Error::State`] and
    ///    nothing of it is kept (registers the run made stale are forgotten, dirty ones
    ///    kept).
    /// 5. The exit is decoded ([`Exit::decode`]); for MMIO, the instruction is read from L2
    ///    memory (MSR\[IR\] = 0 only) and decoded, and for a store its source register is
    ///    fetched (one GET).
    ///
    /// Hcalls: 1 (the run) for every exit but an MMIO store (2; 3 in the rare case that its
    /// source register holds the GET poison pattern 0x5A…, which is asked once more: see
    /// [`NestedHv::get_state`](papr_hcall::NestedHv::get_state)).
    ///
    /// # Errors
    /// [`Error::DeadlinePassed`], [`Error::Hcall`], [`Error::State`], [`Error::Memory`],
    /// [`Error::IncompleteExit`].
    pub fn run(&mut self) -> Result<Exit, Error> {
        let mut exit = Exit::Hdec;
        self.run_into(&mut exit)?;
        Ok(exit)
    }

    /// [`run`](Self::run), the exit written into `exit` (left as it was on error): the exit
    /// is built once, where [`run_loop`](Self::run_loop) keeps it, instead of being moved
    /// out through two `Result`s (two dozen loads and stores an exit).
    #[inline(never)]
    pub(super) fn run_into(&mut self, exit: &mut Exit) -> Result<(), Error> {
        let host = self.host;
        stamps::mark(Phase::Loop);
        if self.dec_fix.is_some() {
            self.dec_expiry_inline(false)?;
        }
        stamps::mark(Phase::Dec);
        let start = host.clock.now();
        let expiry = self.expiry(start)?;
        if !self.keeps_hdec_expiry(start, expiry) {
            self.state.set_hdec_expiry_tb(expiry);
        }
        self.pending = Pending::None;
        if !self.state.dirty().intersection(sets::GUEST_REGS).is_empty() {
            self.flush_guest_wide()?;
        }
        let mut input = [0u8; INPUT_FIRST];
        let written = match self.state.flush(&mut input) {
            Ok(_) => {
                stamps::mark(Phase::Flush);
                // The whole stack buffer (its tail past the flushed elements is zero, and
                // the L0 reads only the elements counted): a copy of constant length.
                host.mem.write(self.input, &input).map_err(Error::from)
            }
            Err(e) => self.write_large_input(e),
        };
        if let Err(e) = written.and_then(|()| self.poison_output()) {
            return Err(self.not_run(e));
        }
        stamps::mark(Phase::Write);
        let trap = match host.hv.run_vcpu_ticket(&self.ticket) {
            Ok(t) => t,
            Err(e) => return Err(self.not_run(e.into())),
        };
        if host.quirks.dec_expiry_sign {
            self.dec_fix = Some(host.clock.now());
            self.state.invalidate_id(GuestStateId::DEC_EXPIRY_TB);
        }
        stamps::mark(Phase::AfterSc);
        if let Err(e) = self.take_output() {
            return Err(self.bad_output(e));
        }
        stamps::mark(Phase::Output);
        let guest = self.guest;
        // Each kind written from its own arm: the hcall exit is stored as an hcall exit
        // (eleven doublewords), not as any exit of the enum.
        match Exit::decode(trap, &self.state, |gpa| guest.is_ram(gpa))? {
            Exit::Hcall { nr, args } => {
                self.pending = Pending::Hcall;
                *exit = Exit::Hcall { nr, args };
            }
            Exit::Mmio {
                gpa, is_write, nia, ..
            } => *exit = self.mmio_exit(gpa, is_write, nia)?,
            other => *exit = other,
        }
        self.exit_stats(exit, start);
        Ok(())
    }

    /// Records `exit` in the statistics when they are on (the run started at `start`).
    #[inline(always)]
    fn exit_stats(&mut self, exit: &Exit, start: u64) {
        stamps::mark(Phase::Decode);
        if self.stats.is_enabled() {
            let end = self.host.clock.now();
            self.stats.record(exit.kind(), end.saturating_sub(start), 0);
        }
        stamps::mark(Phase::Stats);
    }

    /// Dirty guest-wide registers, sent with one guest-wide SET before the run (rare: the
    /// steady state has none). Out of line and cold, as every rare branch of
    /// [`run`](Self::run): the fast path's code then sits on few pages (QEMU flushes its TLB and
    /// its jump cache on every L1↔L2 switch, so each page boundary the path branches
    /// across costs a lookup, ≈ 40 ns).
    #[cold]
    #[inline(never)]
    fn flush_guest_wide(&mut self) -> Result<(), Error> {
        let host = self.host;
        let mut src = Scratch::<P>::new(&host.hv, self.guest.id(), self.id, self.input);
        self.state.flush_guest_wide(&mut src)?;
        Ok(())
    }

    /// The run did not happen: the registers flushed for it become dirty again.
    #[cold]
    #[inline(never)]
    fn not_run(&mut self, e: Error) -> Error {
        self.state.run_failed();
        e
    }

    /// The run happened but its output was refused: what the L1 held before it is stale,
    /// its dirty state is not.
    #[cold]
    #[inline(never)]
    fn bad_output(&mut self, e: Error) -> Error {
        let stale = self
            .state
            .valid()
            .difference(self.state.dirty())
            .difference(self.state.in_flight())
            .intersection(sets::THREAD_REGS);
        self.state.invalidate(stale);
        self.state.run_failed();
        e
    }

    /// An MMIO exit's fetch and decode, out of line: the hcall path's code stays compact.
    #[inline(never)]
    fn mmio_exit(&mut self, gpa: GuestRealAddr, is_write: bool, nia: u64) -> Result<Exit, Error> {
        self.decode_mmio(gpa, is_write, nia)
    }

    /// Reads the output buffer (a short first read, the whole buffer if needed) and applies
    /// it. After a whole-buffer read, the part past the first read is poisoned again, so
    /// that what the next exits read there is theirs or poison, never this exit's.
    #[inline(always)]
    fn take_output(&mut self) -> Result<(), Error> {
        let mem = &self.host.mem;
        if self.out_size < OUTPUT_FIRST_READ {
            return self.take_short_output();
        }
        let mut buf = [0u8; OUTPUT_FIRST_READ];
        // A constant length: the copy is inlined.
        mem.read(self.output, &mut buf)?;
        match self.state.apply_exit(&buf) {
            Ok(_) => Ok(()),
            Err(_) if OUTPUT_FIRST_READ < self.out_size => {
                self.take_whole_output(OUTPUT_FIRST_READ)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// An output buffer shorter than the first read (an L0 asking for less than 128
    /// bytes): read and applied whole.
    #[cold]
    #[inline(never)]
    fn take_short_output(&mut self) -> Result<(), Error> {
        let mem = &self.host.mem;
        let mut buf = [0u8; OUTPUT_FIRST_READ];
        let head = buf.get_mut(..self.out_size).unwrap_or(&mut []);
        mem.read(self.output, head)?;
        Ok(self.state.apply_exit(head).map(|_| ())?)
    }

    /// The whole output buffer read and applied (an output longer than the first read, or
    /// a bad one), and the part past the first read poisoned again.
    #[cold]
    #[inline(never)]
    fn take_whole_output(&mut self, first: usize) -> Result<(), Error> {
        let mem = &self.host.mem;
        let mut buf = [0u8; PAGE as usize];
        let all = buf.get_mut(..self.out_size).unwrap_or(&mut []);
        mem.read(self.output, all)?;
        let applied = self.state.apply_exit(all);
        // The poison in pieces (no page-size array of it).
        let poison = POISON_PIECE;
        let mut at = first;
        while at < self.out_size {
            let n = (self.out_size - at).min(poison.len());
            let piece = poison.get(..n).unwrap_or(&[]);
            mem.write(L1RealAddr(self.output.0.saturating_add(at as u64)), piece)?;
            at += n;
        }
        applied?;
        Ok(())
    }

    /// A flush the run's stack buffer refused (`e`): one too large for it goes through a
    /// buffer of the input's capacity; any other error is returned.
    #[cold]
    #[inline(never)]
    fn write_large_input(&mut self, e: StateError) -> Result<(), Error> {
        if !matches!(e, StateError::InputTooSmall { .. }) {
            return Err(e.into());
        }
        let mut input = [0u8; INPUT_BYTES];
        let n = self.state.flush(&mut input)?;
        let mem = &self.host.mem;
        Ok(mem.write(self.input, input.get(..n).unwrap_or(&[]))?)
    }

    /// Poisons the part of the output buffer the next exit is read from (the first read):
    /// the L0 writes the count and elements fresh on every exit, so a header or element it
    /// did not write reads as the poison (count 0xFFFFFFFF, id 0xFFFF), an error, and never
    /// as an earlier exit's registers or the page's zeroed tail.
    #[inline(always)]
    fn poison_output(&self) -> Result<(), Error> {
        let mem = &self.host.mem;
        let piece = POISON_PIECE;
        if self.out_size >= OUTPUT_FIRST_READ {
            // Two pieces of a constant length: copies short enough to be inlined (one
            // 128-byte fill is a call to `memset`).
            mem.write(self.output, &piece)?;
            let upper = L1RealAddr(self.output.0.wrapping_add(piece.len() as u64));
            return Ok(mem.write(upper, &piece)?);
        }
        // An output shorter than the first read (an L0 asking for less than 128 bytes).
        let mut at = 0;
        while at < self.out_size {
            let n = (self.out_size - at).min(piece.len());
            let part = piece.get(..n).unwrap_or(&[]);
            mem.write(L1RealAddr(self.output.0.wrapping_add(at as u64)), part)?;
            at += n;
        }
        Ok(())
    }
}

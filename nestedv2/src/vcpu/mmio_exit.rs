//! An MMIO exit's instruction: fetched from L2 memory (through the fetch cache) and
//! decoded into the [`Exit::Mmio`] the VMM sees.

use super::{Pending, Scratch, Vcpu, RUN_MMIO_OPTIONS};
use crate::error::Error;
use crate::exit::Exit;
use crate::host::Backend;
use crate::mmio;
use papr_gsb::GuestStateId;
use papr_mmu_radix::{GuestRealAddr, TableAlloc};

impl<P: Backend, A: TableAlloc> Vcpu<'_, '_, P, A> {
    /// Fetches and decodes the instruction of an MMIO exit ([`mmio::begin`] with
    /// [`RUN_MMIO_OPTIONS`]: real mode, or
    /// through the L2's process table and the partition-scoped table), reading what the
    /// completion needs in one batched GET (a store's source register; PIDR for a
    /// user-space access). An instruction that cannot be fetched or decoded gives an
    /// [`Exit::Mmio`] without `access`, for the VMM to decide; a failed fetch leaves its
    /// [`FetchError`](mmio::FetchError) in `fetch_error`.
    pub(super) fn decode_mmio(
        &mut self,
        gpa: GuestRealAddr,
        is_write: bool,
        nia: u64,
    ) -> Result<Exit, Error> {
        let guest = self.guest;
        // The MSR `mmio::begin` fetches with, when it is already cached (it uses the cached
        // one then): in real mode the process table is not needed.
        let relocated = self
            .state
            .cached_many(&[GuestStateId::NIA, GuestStateId::MSR])
            .is_none_or(|[_, msr]| msr as u64 & mmio::MSR_IR != 0);
        let (mmu, generation) = guest.fetch_view(relocated);
        let host = self.host;
        // The common exit (a real-mode load from a cached code page) without the general
        // path's results and errors: the same op, nothing changed.
        if !relocated {
            if let Some(op) = mmio::begin_fast(
                &self.state,
                &host.mem,
                mmu.partition_root,
                generation,
                &self.fetch_cache,
                gpa,
            ) {
                self.pending = Pending::Mmio(op);
                return Ok(Exit::Mmio {
                    gpa,
                    size: Some(op.access.size),
                    is_write,
                    data: None,
                    insn: Some(op.insn.word),
                    access: Some(op.access),
                    nia,
                    fetch_error: None,
                });
            }
        }
        // The vCPU's state and fetch cache borrowed apart, in place (no copy of the cache
        // in and out), and the GET source by its own type (no `dyn`).
        let mut src = Scratch::<P>::new(&host.hv, guest.id(), self.id, self.input);
        let op = mmio::begin_cached(
            &mut self.state,
            &mut src,
            &host.mem,
            &mmu,
            generation,
            &mut self.fetch_cache,
            gpa,
            RUN_MMIO_OPTIONS,
        );
        let (insn, op, fetch_error) = match op {
            Ok(op) => (Some(op.insn.word), Some(op), None),
            Err(mmio::MmioError::Unsupported(u)) => (Some(u.insn.word), None, None),
            Err(mmio::MmioError::State(e)) => return Err(e.into()),
            Err(mmio::MmioError::Fetch(f)) => (None, None, Some(f)),
            Err(mmio::MmioError::DataLength { .. }) => (None, None, None),
        };
        self.pending = match op {
            Some(op) => Pending::Mmio(op),
            None => Pending::None,
        };
        Ok(Exit::Mmio {
            gpa,
            size: op.map(|o| o.access.size),
            is_write,
            data: op.and_then(|o| o.store_data().and_then(mmio::MmioData::new)),
            insn,
            access: op.map(|o| o.access),
            nia,
            fetch_error,
        })
    }
}

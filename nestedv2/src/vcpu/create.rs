//! Creating a vCPU: `H_GUEST_CREATE_VCPU` and the registration of its run buffers.

use super::{
    lpcr, DecRequests, Pending, Vcpu, DEFAULT_FAULT_REPEAT_LIMIT, DEFAULT_LOOP_LIMIT,
    DEFAULT_SLICE, INPUT_BYTES, SHARED_OUTPUT_BYTES,
};
use crate::error::Error;
use crate::guest::{Guest, PAGE};
use crate::host::{Backend, Hv, NestedHost};
use crate::mmio::FetchCache;
use crate::stats::ExitStats;
use papr_gsb::{BufferDescriptor, GsbBuilder, GuestStateId, Scope, Value};
use papr_hcall::{GuestId, L1RealAddr, Target, VcpuId};
use papr_mmu_radix::TableAlloc;
use papr_vcpu_state::VcpuState;

impl<'h, P: Backend, A: TableAlloc> Guest<'h, P, A> {
    /// Creates the next vCPU (ids in order, as QEMU requires) and sets it up for running:
    /// `H_GUEST_CREATE_VCPU`; a guest-wide GET of RUN_OUTPUT_MIN_SIZE (0x0002); one
    /// thread-wide SET of RUN_OUTPUT and RUN_INPUT (one 4 KiB page: the input in its first
    /// 3 KiB, the output in the last 1 KiB; a second page for the output if the L0's
    /// minimum is larger). The L2 starts at
    /// `nia` with `msr` (e.g. `0x8000_0000_0000_0003`: 64-bit, real mode), LPCR
    /// [`lpcr::DEFAULT`]; all three go out in the first run input with the HDEC expiry.
    ///
    /// If a step after the create fails, the pages go back; the vCPU id stays used in the
    /// L0 until the guest is deleted.
    ///
    /// May be called from several threads at once (vCPUs of this guest may be running
    /// meanwhile): the pick of the next id and its `H_GUEST_CREATE_VCPU` are one step under
    /// a per-guest lock, so the ids come out consecutive, in any order between the threads.
    /// The vCPU is `Send` when the backends are `Send + Sync`: move it to the thread that
    /// runs it.
    ///
    /// # Errors
    /// [`Error::Hcall`], [`Error::OutOfPages`], [`Error::OutputBufferTooLarge`],
    /// [`Error::Gsb`].
    pub fn create_vcpu(&self, nia: u64, msr: u64) -> Result<Vcpu<'_, 'h, P, A>, Error> {
        let host = self.host;
        let gid = self.id();
        let hv = &host.hv;
        let id = {
            // The next id and its H_GUEST_CREATE_VCPU as one step: two threads creating
            // vCPUs of this guest at once get consecutive ids (no lock across a run).
            let _creating = self.creating.lock();
            let id = VcpuId(hv.vcpus(gid).unwrap_or(0));
            hv.create_vcpu(gid, id)?;
            id
        };
        let input = host.alloc_page("run buffers")?;
        let registered = register_buffers::<P>(hv, host, gid, id, input).and_then(|out| {
            let dec = [GuestStateId::DEC_EXPIRY_TB, GuestStateId::MSR];
            let reqs = hv.reg_request(&dec).and_then(|with_msr| {
                let alone = hv.reg_request(&dec[..1])?;
                Ok(DecRequests { with_msr, alone })
            });
            match reqs
                .map_err(Error::from)
                .and_then(|r| Ok((r, hv.vcpu_ticket(gid, id)?)))
            {
                Ok((dec_req, ticket)) => Ok((out, dec_req, ticket)),
                Err(e) => {
                    out.release(host);
                    Err(e)
                }
            }
        });
        match registered {
            Ok((out, dec_req, ticket)) => {
                let mut state = VcpuState::new_zeroed();
                state.set_nia(nia);
                state.set_msr(msr);
                state.set_lpcr(lpcr::DEFAULT);
                Ok(Vcpu {
                    guest: self,
                    host,
                    id,
                    state,
                    input,
                    output: out.address,
                    out_size: out.size,
                    output_page: out.own_page,
                    lpcr: lpcr::DEFAULT,
                    slice: DEFAULT_SLICE,
                    deadline: None,
                    loop_limit: Some(DEFAULT_LOOP_LIMIT),
                    fault_repeat_limit: Some(DEFAULT_FAULT_REPEAT_LIMIT),
                    pending: Pending::None,
                    dec_fix: None,
                    dec_req,
                    ticket,
                    fetch_cache: FetchCache::new(),
                    stats: ExitStats::default(),
                })
            }
            Err(e) => {
                host.free_page(input);
                Err(e)
            }
        }
    }
}

/// Where the run output went: the tail of the input's page, or a page of its own.
struct Output {
    address: L1RealAddr,
    size: usize,
    own_page: bool,
}

impl Output {
    /// Frees the output's own page, if it has one (a failed creation).
    fn release<P: Backend>(&self, host: &NestedHost<P>) {
        if self.own_page {
            host.free_page(self.address);
        }
    }
}

/// GET 0x0002, then SET 0x0C01 + 0x0C00 (one buffer). The input is the first
/// [`INPUT_BYTES`] of the page at `input`; the output is the rest of that page when the
/// L0's minimum fits there ([`SHARED_OUTPUT_BYTES`]), else a page of its own.
fn register_buffers<P: Backend>(
    hv: &Hv<P>,
    host: &NestedHost<P>,
    guest: GuestId,
    vcpu: VcpuId,
    input: L1RealAddr,
) -> Result<Output, Error> {
    let mut req = [0u8; 16];
    let mut b = GsbBuilder::new(&mut req)?;
    b.put_request(GuestStateId::RUN_OUTPUT_MIN_SIZE)?;
    let n = b.finish();
    let target = Target {
        scope: Scope::Guest,
        guest,
        vcpu,
    };
    let answer = hv.get_state(target, req.get_mut(..n).unwrap_or(&mut []), input)?;
    let min = answer
        .get(GuestStateId::RUN_OUTPUT_MIN_SIZE)
        .and_then(|e| e.value().as_u64())
        .ok_or(Error::MissingElement {
            call: "H_GUEST_GET_STATE",
            id: GuestStateId::RUN_OUTPUT_MIN_SIZE,
        })?;
    if min > PAGE {
        return Err(Error::OutputBufferTooLarge { min, max: PAGE });
    }
    let out = if min <= SHARED_OUTPUT_BYTES {
        Output {
            address: L1RealAddr(input.0.wrapping_add(INPUT_BYTES as u64)),
            size: SHARED_OUTPUT_BYTES as usize,
            own_page: false,
        }
    } else {
        Output {
            address: host.alloc_page("run output")?,
            size: PAGE as usize,
            own_page: true,
        }
    };
    let mut buf = [0u8; 64];
    let sent = GsbBuilder::new(&mut buf)
        .and_then(|mut b| {
            b.put(
                GuestStateId::RUN_OUTPUT,
                Value::Buffer(BufferDescriptor {
                    address: out.address.0,
                    size: out.size as u64,
                }),
            )?;
            b.put(
                GuestStateId::RUN_INPUT,
                Value::Buffer(BufferDescriptor {
                    address: input.0,
                    size: INPUT_BYTES as u64,
                }),
            )?;
            Ok(b.finish())
        })
        .map_err(Error::from)
        .and_then(|n| {
            hv.set_state(
                Target::thread(guest, vcpu),
                buf.get(..n).unwrap_or(&[]),
                input,
            )
            .map_err(Error::from)
        });
    match sent {
        Ok(()) => Ok(out),
        Err(e) => {
            out.release(host);
            Err(e)
        }
    }
}

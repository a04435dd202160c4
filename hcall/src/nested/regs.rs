//! A GET of a few 8-byte thread-wide registers, cheap enough for every exit: the request
//! is built and checked once ([`NestedHv::reg_request`]), and the answer is checked
//! against its fixed layout ([`NestedHv::get_regs`]); anything unusual goes through the
//! general answer checks of [`NestedHv::get_state`], with the same errors.

use super::*;
use papr_gsb::{GsbBuilder, ELEMENT_HEADER_SIZE, HEADER_SIZE};

/// Registers a [`RegRequest`] holds at most.
pub const REG_REQUEST_MAX: usize = 4;

/// Bytes of an element of a [`RegRequest`]: header and an 8-byte value.
const ELEMENT: usize = ELEMENT_HEADER_SIZE + 8;

/// Bytes of the largest [`RegRequest`].
const REG_REQUEST_BYTES: usize = HEADER_SIZE + REG_REQUEST_MAX * ELEMENT;

/// A prebuilt `H_GUEST_GET_STATE` request of up to [`REG_REQUEST_MAX`] thread-wide
/// registers of 8 bytes each, values poisoned: what [`NestedHv::get_regs`] sends. Made by
/// [`NestedHv::reg_request`], which checks it once as [`NestedHv::get_state`] checks
/// every request.
///
/// ```
/// use papr_gsb::GuestStateId;
/// use papr_hcall::*;
/// let hv = NestedHv::new(MockHcall::new(), MockRealMemory::new(), NoDelay);
/// let req = hv.reg_request(&[GuestStateId::DEC_EXPIRY_TB, GuestStateId::MSR])?;
/// assert_eq!(req.ids(), [GuestStateId::DEC_EXPIRY_TB, GuestStateId::MSR]);
/// assert_eq!(req.wire().len(), 4 + 2 * 12);
/// # Ok::<(), HcallError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegRequest {
    n: usize,
    ids: [GuestStateId; REG_REQUEST_MAX],
    bytes: [u8; REG_REQUEST_BYTES],
}

impl RegRequest {
    /// The registers asked, in request (and answer) order.
    pub fn ids(&self) -> &[GuestStateId] {
        self.ids.get(..self.n).unwrap_or(&[])
    }

    /// The request as it goes to the L0 (values poisoned).
    pub fn wire(&self) -> &[u8] {
        self.bytes
            .get(..HEADER_SIZE + self.n * ELEMENT)
            .unwrap_or(&[])
    }

    /// The values of `answer` (the whole fixed-size buffer read back over this request),
    /// in request order, if it is exactly this request's layout — the same count, every
    /// element header as asked — and no value still reads as the poison; `None` for
    /// anything else.
    ///
    /// Word compares at fixed offsets, the mismatches or-ed together and one branch at the
    /// end: a few dozen instructions for the GET every exit makes under QEMU's DEC quirk.
    #[inline(always)]
    fn fast_answer(&self, answer: &[u8; REG_REQUEST_BYTES]) -> Option<[u64; REG_REQUEST_MAX]> {
        let word = |b: &[u8; REG_REQUEST_BYTES], at: usize| -> u32 {
            b.get(at..at + 4)
                .and_then(|w| w.try_into().ok())
                .map_or(0, u32::from_ne_bytes)
        };
        let mut bad = word(answer, 0) != word(&self.bytes, 0);
        let mut values = [0u64; REG_REQUEST_MAX];
        for (i, value) in values.iter_mut().enumerate() {
            if i >= self.n {
                break;
            }
            let at = HEADER_SIZE + i * ELEMENT;
            bad |= word(answer, at) != word(&self.bytes, at);
            let v = answer
                .get(at + ELEMENT_HEADER_SIZE..at + ELEMENT)
                .and_then(|v| v.try_into().ok())
                .map_or(0, u64::from_be_bytes);
            bad |= v == u64::from_ne_bytes([answer::FIRST; 8]);
            *value = v;
        }
        (!bad).then_some(values)
    }
}

impl<H: Hcall, M: RealMemory, D: Delay> NestedHv<H, M, D> {
    /// Builds and checks a [`RegRequest`] for `ids`: 1 to [`REG_REQUEST_MAX`] distinct
    /// thread-wide registers of 8 bytes that the L0 writes in an answer and may be read
    /// under the profile.
    ///
    /// # Errors
    /// [`HcallError::BadArgument`] (count, size, an id twice or one the L0 does not write),
    /// [`HcallError::Buffer`] (not a thread-wide register), [`HcallError::Refused`]
    /// (set-only under the profile).
    pub fn reg_request(&self, ids: &[GuestStateId]) -> Result<RegRequest, HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        let bad = |what, value| HcallError::BadArgument {
            call: CALL,
            what,
            value,
        };
        if ids.is_empty() || ids.len() > REG_REQUEST_MAX {
            return Err(bad("register count of a RegRequest", ids.len() as u64));
        }
        let mut req = RegRequest {
            n: ids.len(),
            ids: [GuestStateId::BLANK; REG_REQUEST_MAX],
            bytes: [0; REG_REQUEST_BYTES],
        };
        let mut seen = GsidSet::EMPTY;
        for (slot, &id) in req.ids.iter_mut().zip(ids) {
            if id.size() != Some(8) || !answer::written_by_l0(id) {
                return Err(bad(
                    "id of a RegRequest (8-byte, written by the L0)",
                    u64::from(id.0),
                ));
            }
            if !seen.insert(id) {
                return Err(bad("id twice in a RegRequest", u64::from(id.0)));
            }
            if self.profile.set_only_ids.contains(id) {
                return Err(Self::refuse(CALL, Refusal::GetOfSetOnlyId { id }));
            }
            *slot = id;
        }
        let mut b = GsbBuilder::new(&mut req.bytes)
            .map_err(|source| HcallError::Buffer { call: CALL, source })?;
        for &id in ids {
            b.put_request(id)
                .map_err(|source| HcallError::Buffer { call: CALL, source })?;
        }
        let len = b.finish();
        let wire = req.bytes.get_mut(..len).unwrap_or(&mut []);
        Gsb::parse(wire, &Policy::l0_request(Request::Get, Scope::Thread))
            .map_err(|source| HcallError::Buffer { call: CALL, source })?;
        answer::poison(wire, &seen, answer::FIRST);
        Ok(req)
    }

    /// `H_GUEST_GET_STATE` of `req` for the vCPU of `ticket`, the request passed at `at`:
    /// the values in `req`'s order (the slots past its length are 0).
    ///
    /// The same call and the same guarantees as [`get_state`](Self::get_state) with a
    /// request for the same ids, for less work: the request is prebuilt, and an answer
    /// with exactly the request's layout and no value left poisoned is taken as it is;
    /// any other answer goes through `get_state`'s checks (a value still poisoned asked
    /// once more; the answer parsed as untrusted input) with the same result and errors.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// use papr_hcall::*;
    /// let mut h = MockHcall::new();
    /// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_GET_CAPABILITIES)
    ///     .return_const(HcallOutput::ok(0x6000_0000_0000_0000));
    /// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_SET_CAPABILITIES)
    ///     .return_const(HcallOutput::ok(0));
    /// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_CREATE).return_const(HcallOutput::ok(1));
    /// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_CREATE_VCPU).return_const(HcallOutput::ok(0));
    /// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_GET_STATE).times(1)
    ///     .return_const(HcallOutput::ok(0));
    /// let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let mut mem = MockRealMemory::new();
    /// let b = buf.clone();
    /// mem.expect_write().returning(move |_, d| { *b.lock().unwrap() = d.to_vec(); Ok(()) });
    /// mem.expect_read().returning(move |_, out| {
    ///     // The L0's answer: MSR = 1 << 63 in place of the poison.
    ///     let mut a = buf.lock().unwrap().clone();
    ///     a[8..16].copy_from_slice(&(1u64 << 63).to_be_bytes());
    ///     out.copy_from_slice(&a);
    ///     Ok(())
    /// });
    /// let hv = NestedHv::new(h, mem, NoDelay);
    /// hv.negotiate(Capabilities::MODES)?;
    /// let g = hv.create_guest()?;
    /// hv.create_vcpu(g, VcpuId(0))?;
    /// let req = hv.reg_request(&[GuestStateId::MSR])?;
    /// let t = hv.vcpu_ticket(g, VcpuId(0))?;
    /// let v = hv.get_regs(&t, &req, L1RealAddr(0x10_0000))?;
    /// assert_eq!(v[0], 1 << 63);
    /// # Ok::<(), HcallError>(())
    /// ```
    ///
    /// # Errors
    /// As [`get_state`](Self::get_state).
    #[inline(always)]
    pub fn get_regs(
        &self,
        ticket: &VcpuTicket,
        req: &RegRequest,
        at: L1RealAddr,
    ) -> Result<[u64; REG_REQUEST_MAX], HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        self.check_ticket(CALL, ticket)?;
        let target = Target::thread(ticket.guest(), ticket.vcpu());
        let wire = req.wire();
        let mem = |source| HcallError::Memory { call: CALL, source };
        // The whole fixed-size buffer goes out and comes back (the L0 sees `wire.len()`
        // bytes): copies of a constant length, inlined.
        self.mem.write(at, &req.bytes).map_err(mem)?;
        self.call(
            opcode::H_GUEST_GET_STATE,
            Self::state_args(&target, at, wire.len()),
            Retry::Spinning,
        )?;
        let mut bytes = [0u8; REG_REQUEST_BYTES];
        self.mem.read(at, &mut bytes).map_err(mem)?;
        if let Some(values) = req.fast_answer(&bytes) {
            return Ok(values);
        }
        let gsb = bytes.get_mut(..wire.len()).unwrap_or(&mut []);
        self.get_regs_general(&target, req, gsb, at)
    }

    /// [`get_regs`](Self::get_regs) of an answer that is not exactly the expected layout:
    /// [`get_state`](Self::get_state)'s own checks (and its second GET of a value still
    /// poisoned). Out of line and cold, away from the fast path's code.
    #[cold]
    #[inline(never)]
    fn get_regs_general(
        &self,
        target: &Target,
        req: &RegRequest,
        gsb: &mut [u8],
        at: L1RealAddr,
    ) -> Result<[u64; REG_REQUEST_MAX], HcallError> {
        let ids = req.ids().iter().fold(GsidSet::EMPTY, |s, &id| s.with(id));
        let answer = self.finish_get(target, gsb, at, ids, (ids, req.n))?;
        let mut values = [0u64; REG_REQUEST_MAX];
        for (&id, value) in req.ids().iter().zip(values.iter_mut()) {
            if let Some(e) = answer.iter().find(|e| e.id == id) {
                let v = e.value_bytes();
                *value = v.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b));
            }
        }
        Ok(values)
    }
}

//! Guest state: `H_GUEST_SET_STATE` and `H_GUEST_GET_STATE`, the requests checked before the
//! call and the answers checked after it.

use super::*;

impl<H: Hcall, M: RealMemory, D: Delay> NestedHv<H, M, D> {
    /// Validates a GET/SET request buffer as the L0 will, plus the profile's refusals.
    pub(super) fn check_request(
        &self,
        call: &'static str,
        target: &Target,
        gsb: &[u8],
        req: Request,
    ) -> Result<(), HcallError> {
        let len = gsb.len() as u64;
        if len < 4 || len > self.profile.max_state_buffer {
            return Err(Self::refuse(
                call,
                Refusal::BufferSize {
                    len,
                    max: self.profile.max_state_buffer,
                },
            ));
        }
        let parsed = Gsb::parse(gsb, &Policy::l0_request(req, target.scope))
            .map_err(|source| HcallError::Buffer { call, source })?;
        if target.scope == Scope::Thread {
            self.check_vcpu(call, target.guest, target.vcpu)?;
        }
        for e in &parsed {
            if req == Request::Get && self.profile.set_only_ids.contains(e.id) {
                return Err(Self::refuse(call, Refusal::GetOfSetOnlyId { id: e.id }));
            }
            if e.id == GuestStateId::RUN_OUTPUT_MIN_SIZE {
                // QEMU keeps this per vCPU and looks the named vCPU up.
                self.check_vcpu(call, target.guest, target.vcpu)?;
            }
            if req == Request::Get {
                continue;
            }
            match e.value() {
                Value::PartitionTable(p)
                    if self
                        .profile
                        .partition_ea_bits
                        .is_some_and(|b| b != p.ea_bits) =>
                {
                    return Err(Self::refuse(
                        call,
                        Refusal::PartitionTableEaBits { ea_bits: p.ea_bits },
                    ));
                }
                Value::ProcessTable(p)
                    if self
                        .profile
                        .process_table_sizes
                        .is_some_and(|s| !s.contains(&p.size)) =>
                {
                    return Err(Self::refuse(
                        call,
                        Refusal::ProcessTableSize { size: p.size },
                    ));
                }
                Value::Buffer(b) => {
                    if let Some((lo, hi)) = self.profile.run_buffer_sizes {
                        if b.address == 0 || b.size < lo || b.size > hi {
                            return Err(Self::refuse(
                                call,
                                Refusal::RunBuffer {
                                    id: e.id,
                                    address: b.address,
                                    size: b.size,
                                },
                            ));
                        }
                    }
                }
                _ => {}
            }
            self.check_l1_range(call, e.id, e.value())?;
        }
        Ok(())
    }

    /// Refuses an element that hands the L0 an L1 range outside [`RealMemory`]: the run
    /// buffers (the L0 writes the output at every exit), the VPA, the partition-table root.
    pub(super) fn check_l1_range(
        &self,
        call: &'static str,
        id: GuestStateId,
        value: Value,
    ) -> Result<(), HcallError> {
        let (addr, len) = match value {
            Value::Buffer(b) => (b.address, b.size),
            Value::PartitionTable(p) => (p.root, p.root_size),
            Value::U64(a) if id == GuestStateId::VPA && a != 0 => (a, VPA_BYTES),
            _ => return Ok(()),
        };
        self.mem
            .check_range(L1RealAddr(addr), len)
            .map_err(|_| HcallError::OutsideMemory {
                call,
                id,
                addr,
                len,
            })
    }

    pub(super) fn state_args(target: &Target, at: L1RealAddr, len: usize) -> [u64; HCALL_ARGS] {
        [
            target.flags(),
            target.guest.0,
            target.vcpu.0,
            at.0,
            len as u64,
            0,
            0,
            0,
            0,
        ]
    }

    /// `H_GUEST_SET_STATE`: writes the GSB `gsb` (ids, sizes and values) to L1 memory at
    /// `at` and has the L0 apply it to `target`. The buffer is validated first, as the L0
    /// validates it and against the profile; nothing is sent when it fails.
    ///
    /// An empty buffer (0 elements) makes no hcall, as in Linux.
    pub fn set_state(&self, target: Target, gsb: &[u8], at: L1RealAddr) -> Result<(), HcallError> {
        const CALL: &str = "H_GUEST_SET_STATE";
        if target.scope == Scope::Host {
            return Err(HcallError::BadArgument {
                call: CALL,
                what: "flags (host-wide SET)",
                value: target.flags(),
            });
        }
        self.check_request(CALL, &target, gsb, Request::Set)?;
        if gsb.get(..4) == Some(&[0, 0, 0, 0]) {
            return Ok(());
        }
        self.mem
            .write(at, gsb)
            .map_err(|source| HcallError::Memory { call: CALL, source })?;
        self.call(
            opcode::H_GUEST_SET_STATE,
            Self::state_args(&target, at, gsb.len()),
            Retry::Spinning,
        )?;
        Ok(())
    }

    /// `H_GUEST_GET_STATE`: `gsb` holds a request (ids and sizes: build it with
    /// `GsbBuilder::put_request`); it is written to L1 memory at `at`, the L0 fills in the
    /// values, and the answer is read back into `gsb` and parsed as untrusted input.
    ///
    /// The answer is written over the request, so the request's values go out poisoned
    /// (their bytes in `gsb` are ignored). An answer value that still reads as the poison
    /// is asked again once, with the opposite poison in its place, and is the register's
    /// value only if it reads as the first poison again (one more hcall, only then). An
    /// answer the L0 did not write, or wrote only in part, is [`HcallError::BadAnswer`]
    /// naming the first id left unwritten, never the request read back as values. QEMU's
    /// no-op ids (MMCR3, SIER2, SIER3, WORT), which it leaves untouched, are not checked.
    pub fn get_state<'b>(
        &self,
        target: Target,
        gsb: &'b mut [u8],
        at: L1RealAddr,
    ) -> Result<Gsb<'b>, HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        self.check_request(CALL, &target, gsb, Request::Get)?;
        let checked = answer::checked_ids(gsb);
        answer::poison(gsb, &checked, answer::FIRST);
        let asked = Gsb::parse(gsb, &Policy::STRUCTURE)
            .map(|g| (g.ids(), g.len()))
            .map_err(|source| HcallError::Buffer { call: CALL, source })?;
        self.exchange(&target, gsb, at)?;
        self.finish_get(&target, gsb, at, checked, asked)
    }

    /// The checks of a GET answer read back into `gsb` (the request had the values of
    /// `checked` poisoned with [`answer::FIRST`]; `asked`: its ids and element count):
    /// values still poisoned are asked once more with the other poison, then the answer
    /// is parsed as untrusted input and must hold exactly the ids asked.
    pub(super) fn finish_get<'b>(
        &self,
        target: &Target,
        gsb: &'b mut [u8],
        at: L1RealAddr,
        checked: GsidSet,
        asked: (GsidSet, usize),
    ) -> Result<Gsb<'b>, HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        let suspect = answer::still(gsb, &checked, answer::FIRST);
        if !suspect.is_empty() {
            Self::checked(target, gsb, asked)?;
            answer::poison(gsb, &suspect, answer::SECOND);
            self.exchange(target, gsb, at)?;
            let confirmed = answer::still(gsb, &suspect, answer::FIRST);
            if let Some(id) = suspect.difference(confirmed).iter().next() {
                return Err(HcallError::BadAnswer {
                    call: CALL,
                    what: "an answer that left unwritten (its request read back) the value of id",
                    value: u64::from(id.0),
                });
            }
        }
        Self::checked(target, gsb, asked)
    }

    /// One GET of the request in `gsb`: written to `at`, answered, read back into `gsb`.
    pub(super) fn exchange(
        &self,
        target: &Target,
        gsb: &mut [u8],
        at: L1RealAddr,
    ) -> Result<(), HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        self.mem
            .write(at, gsb)
            .map_err(|source| HcallError::Memory { call: CALL, source })?;
        self.call(
            opcode::H_GUEST_GET_STATE,
            Self::state_args(target, at, gsb.len()),
            Retry::Spinning,
        )?;
        self.mem
            .read(at, gsb)
            .map_err(|source| HcallError::Memory { call: CALL, source })
    }

    /// The answer in `gsb`, parsed as untrusted input and checked to hold exactly the ids
    /// of the request (`asked`: its ids and element count).
    pub(super) fn checked<'b>(
        target: &Target,
        gsb: &'b [u8],
        asked: (GsidSet, usize),
    ) -> Result<Gsb<'b>, HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        let answer = Gsb::parse(gsb, &Policy::l1_answer(target.scope))
            .map_err(|source| HcallError::Buffer { call: CALL, source })?;
        // The L0 fills values in place: it must answer exactly the ids asked for.
        if (answer.ids(), answer.len()) != asked {
            return Err(HcallError::BadAnswer {
                call: CALL,
                what: "an answer whose elements differ from the request; element count",
                value: answer.len() as u64,
            });
        }
        Ok(answer)
    }
}

//! Guest and vCPU lifecycle: `H_GUEST_CREATE`, `H_GUEST_CREATE_VCPU`, `H_GUEST_DELETE`, checked
//! against the registry.

use super::*;

impl<H: Hcall, M: RealMemory, D: Delay> NestedHv<H, M, D> {
    /// `H_GUEST_CREATE`: a new guest; the L0 picks its id.
    pub fn create_guest(&self) -> Result<GuestId, HcallError> {
        let out = self.call(
            opcode::H_GUEST_CREATE,
            [0, H_GUEST_CREATE_FIRST_TOKEN, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )?;
        let id = out.ret[0];
        self.guests.lock().insert(id, 0);
        Ok(GuestId(id))
    }

    /// `H_GUEST_CREATE_VCPU`. Under [`Profile::dense_vcpu_ids`] only the next id in order
    /// may be created (an id already created is passed on: the L0 answers `H_IN_USE`).
    pub fn create_vcpu(&self, guest: GuestId, vcpu: VcpuId) -> Result<(), HcallError> {
        const CALL: &str = "H_GUEST_CREATE_VCPU";
        let created = self.guests.lock().get(&guest.0).copied();
        if self.profile.dense_vcpu_ids {
            match created {
                None => return Err(Self::refuse(CALL, Refusal::UnknownGuest { guest: guest.0 })),
                Some(next) if vcpu.0 > next => {
                    return Err(Self::refuse(
                        CALL,
                        Refusal::VcpuOutOfOrder {
                            guest: guest.0,
                            vcpu: vcpu.0,
                            next,
                        },
                    ))
                }
                Some(_) => {}
            }
        }
        self.call(
            opcode::H_GUEST_CREATE_VCPU,
            [0, guest.0, vcpu.0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )?;
        if let Some(n) = self.guests.lock().get_mut(&guest.0) {
            if vcpu.0 == *n {
                *n += 1;
            }
        }
        Ok(())
    }

    pub(super) fn check_vcpu(
        &self,
        call: &'static str,
        guest: GuestId,
        vcpu: VcpuId,
    ) -> Result<(), HcallError> {
        if !self.profile.known_vcpus_only {
            return Ok(());
        }
        let created = self.guests.lock().get(&guest.0).copied();
        match created {
            None => Err(Self::refuse(call, Refusal::UnknownGuest { guest: guest.0 })),
            Some(created) if vcpu.0 >= created => Err(Self::refuse(
                call,
                Refusal::NoSuchVcpu {
                    guest: guest.0,
                    vcpu: vcpu.0,
                    created,
                },
            )),
            Some(_) => Ok(()),
        }
    }

    /// `H_GUEST_DELETE` of one guest and all its vCPUs.
    ///
    /// The guest leaves the registry before the hcall (so that an id the L0 hands out again
    /// to a concurrent [`create_guest`](Self::create_guest) is not dropped after it) and
    /// comes back if the delete fails.
    pub fn delete_guest(&self, guest: GuestId) -> Result<(), HcallError> {
        let known = self.guests.lock().remove(&guest.0);
        self.deletes.fetch_add(1, Ordering::AcqRel);
        let r = self.call(
            opcode::H_GUEST_DELETE,
            [0, guest.0, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        );
        if let (Err(_), Some(vcpus)) = (&r, known) {
            self.guests.lock().entry(guest.0).or_insert(vcpus);
        }
        r.map(|_| ())
    }

    /// `H_GUEST_DELETE` with the delete-all flag. Refused under [`Profile::QEMU`].
    pub fn delete_all_guests(&self) -> Result<(), HcallError> {
        if self.profile.refuse_delete_all {
            return Err(Self::refuse("H_GUEST_DELETE", Refusal::DeleteAll));
        }
        self.call(
            opcode::H_GUEST_DELETE,
            [H_GUEST_DELETE_ALL, 0, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )?;
        self.guests.lock().clear();
        self.deletes.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

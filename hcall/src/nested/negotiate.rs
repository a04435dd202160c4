//! Capabilities: `H_GUEST_GET_CAPABILITIES`, `H_GUEST_SET_CAPABILITIES` and their negotiation.

use super::*;

impl<H: Hcall, M: RealMemory, D: Delay> NestedHv<H, M, D> {
    /// `H_GUEST_GET_CAPABILITIES`: what the L0 offers.
    pub fn get_capabilities(&self) -> Result<Capabilities, HcallError> {
        let out = self.call(
            opcode::H_GUEST_GET_CAPABILITIES,
            [0; HCALL_ARGS],
            Retry::Sleeping,
        )?;
        Ok(Capabilities(out.ret[0]))
    }

    /// `H_GUEST_SET_CAPABILITIES`: what this L1 will use (once per L0 reset).
    pub fn set_capabilities(&self, caps: Capabilities) -> Result<(), HcallError> {
        self.call(
            opcode::H_GUEST_SET_CAPABILITIES,
            [0, caps.0, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )
        .map(|_| ())
    }

    /// GET, then SET the modes both the L0 and `supported` have (as Linux does); reports
    /// the highest of them.
    pub fn negotiate(&self, supported: Capabilities) -> Result<Negotiated, HcallError> {
        let offered = self.get_capabilities()?;
        let set = offered
            .intersection(supported)
            .intersection(Capabilities::MODES);
        let mode = set.highest_mode().ok_or(HcallError::NoCommonMode {
            offered: offered.0,
            supported: supported.0,
        })?;
        self.set_capabilities(set)?;
        Ok(Negotiated { offered, set, mode })
    }
}

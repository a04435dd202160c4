//! The run output, traced raw as the `exit` event: the trap and every element the L0 wrote
//! (what the two L0s are compared on; exit handling works on `papr-nestedv2`'s decoding).

use super::record::{be_hex, be_u64, hex, kv};
use super::{first_word, Driver, L1Memory, L2Backend};
use crate::layout::NiaKind;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use papr_gsb::{Gsb, GuestStateId, Policy};
use papr_hcall::Hcall;
use papr_nestedv2::trap;

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
    /// Records the `exit` event.
    pub(super) fn trace_exit(
        &mut self,
        slot: u8,
        vcpu: u64,
        trap_: u64,
        out: &[u8],
    ) -> Result<(), String> {
        let kind = match trap_ {
            trap::HDSI => NiaKind::DataAccess,
            trap::HISI => NiaKind::Fetch,
            trap::HEAI => NiaKind::Illegal,
            _ => NiaKind::Resume,
        };
        let mut f = vec![kv("g", slot), kv("v", vcpu), kv("trap", hex(trap_))];
        match Gsb::parse(out, &Policy::L1_RUN_OUTPUT) {
            Err(e) => {
                let r = format!("{e:?}");
                f.push(kv("out", format!("bad:{}", first_word(&r))));
            }
            Ok(gsb) => {
                let ids: Vec<String> = gsb
                    .iter()
                    .map(|e| format!("{:x}:{}", e.id.0, e.value_bytes().len()))
                    .collect();
                f.push(kv("n", gsb.len()));
                f.push(kv(
                    "out",
                    if ids.is_empty() {
                        "-".to_string()
                    } else {
                        ids.join(",")
                    },
                ));
                let layout = &self.vcpu(slot, vcpu)?.layout;
                for e in gsb.iter() {
                    let bytes = e.value_bytes();
                    let v = be_u64(bytes);
                    let (key, value) = match e.id {
                        GuestStateId::HDAR => ("hdar".to_string(), hex(v)),
                        GuestStateId::HDSISR => ("hdsisr".to_string(), hex(v)),
                        GuestStateId::ASDR => ("asdr".to_string(), hex(v)),
                        GuestStateId::HEIR => ("heir".to_string(), hex(v)),
                        GuestStateId::NIA => ("nia".to_string(), layout.symbol(v, kind)),
                        GuestStateId::MSR => ("msr".to_string(), hex(v)),
                        id if (0x1003..=0x100C).contains(&id.0) => {
                            (format!("gpr{}", id.0 - 0x1000), hex(v))
                        }
                        id => (format!("id{:x}", id.0), be_hex(bytes)),
                    };
                    f.push((key, value));
                }
            }
        }
        self.rec.push("exit", f);
        Ok(())
    }
}

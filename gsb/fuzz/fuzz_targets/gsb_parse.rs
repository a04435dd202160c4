//! Parse arbitrary bytes under every policy; whatever parses must iterate and decode, and a
//! buffer valid under the strict policy must re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_gsb::{Gsb, GsbBuilder, Policy, Request, Scope};

const STRICT: Policy = Policy {
    heir_any_width: false,
    ..Policy::EXACT
};

fuzz_target!(|data: &[u8]| {
    let policies = [
        STRICT,
        Policy::EXACT,
        Policy::STRUCTURE,
        Policy::L1_RUN_OUTPUT,
        Policy::l1_answer(Scope::Guest),
        Policy::l0_request(Request::Set, Scope::Thread),
        Policy::l0_request(Request::Get, Scope::Host),
    ];
    for p in policies {
        let Ok(g) = Gsb::parse(data, &p) else { continue };
        assert!(g.used_bytes() <= data.len());
        assert_eq!(g.iter().count(), g.len());
        for e in &g {
            let _ = e.value();
        }
        if p == STRICT {
            let mut out = vec![0u8; data.len()];
            let mut b = GsbBuilder::new(&mut out).expect("a parsed buffer has a header");
            for e in &g {
                b.put_raw(e.id, e.value_bytes()).expect("a valid element re-encodes");
            }
            let n = b.len();
            assert_eq!(&out[..n], data);
        }
    }
});

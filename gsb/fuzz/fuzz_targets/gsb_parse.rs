//! Parse arbitrary bytes under every policy; whatever parses must iterate and decode, and a
//! buffer valid under the strict policy must re-encode to the same bytes.
//!
//! The bulk path runs on the same input: `GsbLayout::parse` with fixed full-state layouts
//! and with the layout of the ids the input holds must give exactly what `Gsb::parse`
//! gives (the same buffer or the same error), its values by position must be the parsed
//! elements, and a matched buffer must rebuild to the same bytes with `GsbLayout::build`.
//! Any difference panics: a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_gsb::{
    Gsb, GsbBuilder, GsbLayout, GsidSet, GuestStateId, Parsed, Policy, Request, Scope, GSID_COUNT,
};

const STRICT: Policy = Policy {
    heir_any_width: false,
    ..Policy::EXACT
};

/// The full-state sets `papr-vcpu-state` reloads and sets, and a few small ones.
static LAYOUTS: [GsbLayout; 6] = [
    GsbLayout::new(GsidSet::RUN_INPUT),
    GsbLayout::new(GsidSet::THREAD_WIDE),
    GsbLayout::new(GsidSet::GUEST_WIDE),
    GsbLayout::new(GsidSet::GPRS),
    GsbLayout::new(GsidSet::VSRS),
    GsbLayout::new(GsidSet::EMPTY),
];

/// Bulk parse of `data` under `p` must be the slow parse `slow`.
fn check_bulk(
    layout: &GsbLayout,
    data: &[u8],
    p: &Policy,
    slow: &Result<Gsb<'_>, papr_gsb::GsbError>,
) {
    let bulk = layout.parse(data, p);
    assert_eq!(
        bulk.map(|b| b.gsb()),
        *slow,
        "bulk != slow parse under {p:?}"
    );
    assert_eq!(
        layout.matches(data, p),
        matches!(bulk, Ok(Parsed::Layout(_)))
    );
    let Ok(Parsed::Layout(g)) = bulk else { return };
    let slow = slow.expect("the bulk parse matched, so the slow one passed");
    assert_eq!(g.len(), slow.len());
    for (i, e) in slow.iter().enumerate() {
        assert_eq!(g.element(i), Some(e), "element {i}");
    }
    let mut by_each = [0u128; GSID_COUNT];
    g.for_each_register(|e, v| by_each[e.bit()] = v);
    let mut by_slots = [0u128; GSID_COUNT];
    g.copy_to_slots(&mut by_slots);
    assert_eq!(by_each, by_slots);
    // The matched buffer rebuilds to the same bytes.
    let mut out = vec![0u8; layout.size()];
    let n = layout
        .build(&mut out, |e, v| {
            v.copy_from_slice(g.get(e.id()).unwrap_or(&[]))
        })
        .expect("a layout fits its own size");
    assert_eq!(&out[..n], &data[..n]);
}

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
    // The layout of the ids the input holds (when it parses structurally): the fast path
    // then matches whenever they come in ascending order, once each.
    let own = Gsb::parse(data, &Policy::STRUCTURE).ok().map(|g| {
        let mut ids: GsidSet = g.iter().map(|e| e.id).collect();
        if g.iter().any(|e| e.id == GuestStateId::BLANK) {
            ids = ids.with(GuestStateId::BLANK);
        }
        GsbLayout::new(ids)
    });
    for p in policies {
        let slow = Gsb::parse(data, &p);
        for layout in LAYOUTS.iter().chain(own.as_ref()) {
            check_bulk(layout, data, &p, &slow);
        }
        let Ok(g) = slow else { continue };
        assert!(g.used_bytes() <= data.len());
        assert_eq!(g.iter().count(), g.len());
        for e in &g {
            let _ = e.value();
        }
        if p == STRICT {
            let mut out = vec![0u8; data.len()];
            let mut b = GsbBuilder::new(&mut out).expect("a parsed buffer has a header");
            for e in &g {
                b.put_raw(e.id, e.value_bytes())
                    .expect("a valid element re-encodes");
            }
            let n = b.len();
            assert_eq!(&out[..n], data);
        }
    }
});

//! The whole suite on the software L0: no driver error, nothing that would kill QEMU, the
//! values `qemu-verified.md` measured, and MMIO emulated through `papr-nestedv2`.
#![cfg(feature = "softl0")]

use papr_scenarios::trace::{events_of, TraceLine};
use papr_scenarios::{softl0, suite};

fn find<'a>(t: &'a [TraceLine], scenario: &str, kind: &str, key: &str) -> Vec<&'a str> {
    events_of(t, scenario)
        .into_iter()
        .filter(|l| l.kind == kind)
        .filter_map(|l| l.get(key))
        .collect()
}

#[test]
fn suite_runs_clean_and_matches_measured_values() {
    let all = suite::all();
    let s = softl0::run(&all).unwrap();
    assert!(s.would_abort.is_empty(), "{:?}", s.would_abort);
    assert!(
        s.trace.iter().all(|l| l.kind != "error"),
        "{:?}",
        s.trace.iter().find(|l| l.kind == "error")
    );
    for sc in &all {
        assert!(
            !events_of(&s.trace, sc.name).is_empty(),
            "{} has no events",
            sc.name
        );
    }
    // Every line survives a round trip through the text format.
    for l in &s.trace {
        assert_eq!(&l.to_string().parse::<TraceLine>().unwrap(), l);
    }
    let t = &s.trace;
    assert_eq!(find(t, "caps-get", "hcall", "rc"), ["-4", "0"]);
    assert_eq!(find(t, "caps-create-before-set", "hcall", "rc"), ["-75"]);
    assert_eq!(
        find(t, "exit-hdsi-load-unmapped", "exit", "hdsisr"),
        ["0x40000000"]
    );
    assert_eq!(
        find(t, "exit-hdsi-store-unmapped", "exit", "hdsisr"),
        ["0x42000000", "0x42000000"]
    );
    assert_eq!(
        find(t, "exit-hisi-no-pmd", "exit", "hdar"),
        ["0x100124", "0x100124"]
    );
    assert_eq!(
        find(t, "exit-heai-illegal", "exit", "heir"),
        ["0x1234", "0x7c0007fe", "0x0"]
    );
    assert_eq!(
        find(t, "rc-load-r0", "exit", "hdsisr"),
        ["0x40000", "0x40000", "0x40000"]
    );
    assert_eq!(
        find(t, "rc-store-c0-first", "exit", "hdsisr"),
        ["0x2040000"]
    );
    assert_eq!(
        find(t, "rc-readonly-store", "exit", "hdsisr"),
        ["0xa000000"]
    );
    assert_eq!(
        find(t, "rc-load-then-store-same-run", "pte", "bits"),
        ["0xc000000000000107"]
    );
    assert_eq!(find(t, "hdec-spin", "exit", "trap"), ["0x980", "0xc00"]);
    // MMIO loads completed through papr_nestedv2::mmio: the device bytes A0 A1 … land in
    // GPR5 in the LE L2's byte order; every load and store is emulated, none skipped.
    assert_eq!(
        find(t, "exit-mmio-sizes", "view", "rt"),
        ["0xa0", "0xa1a0", "0xa3a2a1a0", "0xa7a6a5a4a3a2a1a0"]
    );
    assert_eq!(
        find(t, "exit-mmio-sizes", "view", "act"),
        [
            "mmio-store",
            "mmio-store",
            "mmio-store",
            "mmio-store",
            "mmio-load",
            "mmio-load",
            "mmio-load",
            "mmio-load",
            "complete"
        ]
    );
    assert_eq!(
        find(t, "exit-mmio-sizes", "view", "size"),
        ["1", "2", "4", "8", "1", "2", "4", "8"]
    );
    assert_eq!(
        find(t, "hdec-past-after-positive", "exit", "trap"),
        ["0xc00", "0x980", "0xc00"]
    );
    assert_eq!(
        find(t, "hdec-past-after-hdec", "exit", "trap"),
        ["0x980", "0xc00"]
    );
    assert_eq!(
        find(t, "hdec-zero-and-max", "exit", "trap"),
        ["0xc00", "0x980", "0xc00", "0x980", "0xc00", "0xc00"]
    );
    assert_eq!(
        find(t, "guests-delete-one-of-two", "hcall", "ret")
            .into_iter()
            .filter(|r| r.len() <= 3)
            .collect::<Vec<_>>(),
        ["0x1", "0x2", "0x1", "0x3"]
    );
}

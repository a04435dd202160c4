//! The trace events: [`Recorder`] collects them, [`TracingHcall`] adds one per hcall.

use crate::trace::TraceLine;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use papr_hcall::{opcode, Hcall, HcallOutput, HCALL_ARGS};

/// Collects trace events of the scenario being run.
#[derive(Debug, Default)]
pub struct Recorder {
    inner: RefCell<(String, u32, Vec<TraceLine>)>,
}

pub(super) fn hex(v: u64) -> String {
    format!("{v:#x}")
}

pub(super) fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts scenario `name` (sequence numbers restart at 0).
    pub fn begin(&self, name: &str) {
        let mut r = self.inner.borrow_mut();
        r.0 = name.to_string();
        r.1 = 0;
    }

    /// Records one event.
    pub fn push(&self, kind: &str, fields: Vec<(String, String)>) {
        let mut r = self.inner.borrow_mut();
        let line = TraceLine {
            scenario: r.0.clone(),
            seq: r.1,
            kind: kind.to_string(),
            fields,
        };
        r.1 += 1;
        r.2.push(line);
    }

    /// Takes the events recorded so far.
    pub fn take(&self) -> Vec<TraceLine> {
        core::mem::take(&mut self.inner.borrow_mut().2)
    }
}

/// An [`Hcall`] that records every call (`hcall op=… rc=… [ret=…]`) before returning it.
/// `ret` (r4) is recorded where it is deterministic: capabilities, guest ids, exit traps.
#[derive(Debug)]
pub struct TracingHcall<'r, H> {
    inner: H,
    rec: &'r Recorder,
}

impl<'r, H: Hcall> TracingHcall<'r, H> {
    /// Wraps `inner`.
    pub fn new(inner: H, rec: &'r Recorder) -> Self {
        Self { inner, rec }
    }
}

impl<H: Hcall> Hcall for TracingHcall<'_, H> {
    fn hcall(&self, op: u64, args: [u64; HCALL_ARGS]) -> HcallOutput {
        let out = self.inner.hcall(op, args);
        let name = opcode::name(op).map_or_else(|| hex(op), ToString::to_string);
        let mut f = vec![kv("op", name), kv("rc", out.rc)];
        let keeps_r4 = matches!(
            op,
            opcode::H_GUEST_GET_CAPABILITIES | opcode::H_GUEST_CREATE | opcode::H_GUEST_RUN_VCPU
        );
        if out.rc == 0 && keeps_r4 {
            f.push(kv("ret", hex(out.ret[0])));
        }
        self.rec.push("hcall", f);
        out
    }
}

pub(super) fn be_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

pub(super) fn be_hex(bytes: &[u8]) -> String {
    if bytes.len() <= 8 {
        return hex(be_u64(bytes));
    }
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

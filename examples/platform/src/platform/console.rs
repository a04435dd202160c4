//! The vty (`hw/char/spapr_vty.c`): `H_PUT_TERM_CHAR` and `H_GET_TERM_CHAR`, up to 16
//! bytes packed big-endian in two registers, on the vty's vterm number or vterm 0 (QEMU's
//! `vty_lookup` maps 0 to the first vty, for early debug code).

use super::{ok, rc, Platform};
use crate::env::{Environment, Wake};
use papr_hcall::ReturnCode;
use papr_nestedv2::HcallReturn;

/// Most bytes one call moves.
const MAX_CHARS: usize = 16;

impl<E: Environment> Platform<E> {
    fn is_vty(&self, vterm: u64) -> bool {
        vterm == self.cfg.vterm || vterm == 0
    }

    /// `H_PUT_TERM_CHAR(vterm, len, chars0_7, chars8_15)`.
    pub(super) fn put_term_char(&mut self, vterm: u64, len: u64, hi: u64, lo: u64) -> HcallReturn {
        if !self.is_vty(vterm) || len > MAX_CHARS as u64 {
            return rc(ReturnCode::Parameter);
        }
        let mut buf = [0u8; MAX_CHARS];
        let (a, b) = buf.split_at_mut(8);
        a.copy_from_slice(&hi.to_be_bytes());
        b.copy_from_slice(&lo.to_be_bytes());
        if let Some(bytes) = buf.get(..len as usize) {
            if !bytes.is_empty() {
                self.env.console_write(bytes);
            }
        }
        ok()
    }

    /// `H_GET_TERM_CHAR(vterm)` → r4 = count, r5/r6 = the bytes, big-endian packed.
    pub(super) fn get_term_char(&mut self, vterm: u64) -> HcallReturn {
        if !self.is_vty(vterm) {
            return rc(ReturnCode::Parameter);
        }
        if self.input.len() < MAX_CHARS {
            let mut fresh = [0u8; MAX_CHARS];
            let want = MAX_CHARS - self.input.len();
            let n = self
                .env
                .console_read(fresh.get_mut(..want).unwrap_or(&mut []));
            self.take_input(fresh.get(..n.min(want)).unwrap_or(&[]));
        }
        let mut buf = [0u8; MAX_CHARS];
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.input.pop_front() {
                Some(b) => {
                    *slot = b;
                    n += 1;
                }
                None => break,
            }
        }
        let (a, b) = buf.split_at(8);
        let word = |s: &[u8]| u64::from_be_bytes(s.try_into().unwrap_or([0; 8]));
        ok().with(n).with(word(a)).with(word(b))
    }

    /// Keeps console input for the L2 (up to `input_buffer` bytes; the rest is counted as
    /// dropped).
    pub(super) fn take_input(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.input.len() < self.cfg.input_buffer {
                self.input.push_back(b);
            } else {
                self.stats.input_dropped += 1;
            }
        }
    }

    /// Keeps the input a wake-up brought.
    pub(super) fn take_wake(&mut self, wake: Wake) {
        if let Wake::Input(bytes, n) = wake {
            self.take_input(bytes.get(..n.min(bytes.len())).unwrap_or(&[]));
        }
    }
}

//! RTAS through hcall `0xF000` (`KVMPPC_H_RTAS`, QEMU `h_rtas` and `hw/ppc/spapr_rtas.c`,
//! `spapr_rtc.c`): r4 = GPA of a big-endian `rtas_args` {token, nargs, nret, args\[nargs\],
//! rets\[nret\]}, `rets[0]` = status.
//!
//! As in QEMU, a known token answers H_SUCCESS with the call's status in `rets[0]` (−3 for
//! wrong argument counts, and here also for `nargs` or `nret` above 16), an unknown one
//! status −3 and H_PARAMETER. Unlike QEMU, which reads and writes wherever the block points,
//! every word is checked first: when the header, the arguments read or the return values
//! written are not in RAM, the hcall answers H_PARAMETER and nothing is written.

use super::{ok, rc, Outcome, Platform};
use crate::env::{Environment, TimeOfDay};
use crate::error::Error;
use crate::rtas::{status, token, MAX_ARGS};
use crate::time;
use alloc::string::String;
use alloc::vec::Vec;
use papr_hcall::ReturnCode;
use papr_nestedv2::{Action, GuestRealAddr, VcpuContext};

/// Longest `ibm,os-term` message read (QEMU: a 512-byte buffer, NUL included).
pub const OS_TERM_MAX: usize = 511;

/// What a call answers: the return values from `rets[0]` on, and how the L2 ends.
struct Answer {
    rets: [u32; 8],
    len: usize,
    outcome: Option<Outcome>,
    /// The caller leaves the L1 CPU (`stop-self`): the hcall does not return.
    stops: bool,
}

impl Answer {
    fn status(s: i32) -> Self {
        Self::rets(&[s as u32])
    }

    fn rets(values: &[u32]) -> Self {
        let mut rets = [0u32; 8];
        for (r, v) in rets.iter_mut().zip(values) {
            *r = *v;
        }
        Self {
            rets,
            len: values.len().min(8),
            outcome: None,
            stops: false,
        }
    }

    fn ending(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }
}

impl<E: Environment> Platform<E> {
    /// Handles the RTAS hcall with the argument block at `block`.
    pub(super) fn rtas_call(
        &mut self,
        block: u64,
        vcpu: &mut dyn VcpuContext,
    ) -> Result<Action, Error> {
        let param = Action::HcallReturn(rc(ReturnCode::Parameter));
        if !self.is_ram(vcpu, block, 12) {
            return Ok(param);
        }
        let mut head = [0u8; 12];
        vcpu.read_guest(GuestRealAddr(block), &mut head)?;
        let word = |i: usize| {
            let b = head.get(4 * i..4 * i + 4).and_then(|s| s.try_into().ok());
            u32::from_be_bytes(b.unwrap_or([0; 4]))
        };
        let (tok, nargs, nret) = (word(0), word(1), word(2));
        *self.rtas.entry(tok).or_insert(0) += 1;
        let args_at = block + 12;
        let Some(rets_at) = args_at.checked_add(4 * u64::from(nargs)) else {
            return Ok(param);
        };
        // Where the status goes must be RAM, or the call cannot even be refused.
        if nret >= 1 && !self.is_ram(vcpu, rets_at, 4) {
            return Ok(param);
        }
        let answer = if nargs > MAX_ARGS || nret > MAX_ARGS {
            Answer::status(status::PARAM_ERROR)
        } else {
            if nargs > 0 && !self.is_ram(vcpu, args_at, 4 * u64::from(nargs)) {
                return Ok(param);
            }
            let mut raw = [0u8; 4 * MAX_ARGS as usize];
            let raw = raw.get_mut(..4 * nargs as usize).unwrap_or(&mut []);
            vcpu.read_guest(GuestRealAddr(args_at), raw)?;
            let args: Vec<u32> = raw
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes(c.try_into().unwrap_or([0; 4])))
                .collect();
            self.rtas_dispatch(tok, &args, nret, vcpu)?
        };
        let n = answer.len.min(nret as usize);
        if n > 0 {
            if !self.is_ram(vcpu, rets_at, 4 * n as u64) {
                return Ok(param);
            }
            let mut out = Vec::with_capacity(4 * n);
            for r in answer.rets.iter().take(n) {
                out.extend_from_slice(&r.to_be_bytes());
            }
            vcpu.write_guest(GuestRealAddr(rets_at), &out)?;
        }
        if let Some(outcome) = answer.outcome {
            return Ok(self.finish(outcome));
        }
        if answer.stops {
            return Ok(Action::Stop);
        }
        let known = token::name(tok).is_some();
        Ok(Action::HcallReturn(if known {
            ok()
        } else {
            rc(ReturnCode::Parameter)
        }))
    }

    fn rtas_dispatch(
        &mut self,
        tok: u32,
        args: &[u32],
        nret: u32,
        vcpu: &mut dyn VcpuContext,
    ) -> Result<Answer, Error> {
        let nargs = args.len();
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        let param = Answer::status(status::PARAM_ERROR);
        Ok(match tok {
            token::GET_TIME_OF_DAY if nargs == 0 && nret == 8 => self.get_time_of_day(),
            token::SET_TIME_OF_DAY if nargs == 7 && nret == 1 => self.set_time_of_day(args),
            token::POWER_OFF if nargs == 2 && nret == 1 => {
                Answer::status(status::SUCCESS).ending(Outcome::PowerOff)
            }
            token::SYSTEM_REBOOT if nargs == 0 && nret == 1 => {
                Answer::status(status::SUCCESS).ending(Outcome::Reboot)
            }
            token::QUERY_CPU_STOPPED_STATE if nargs == 1 && nret == 2 => {
                match self.query_cpu_stopped_state(u64::from(arg(0))) {
                    Some(state) => Answer::rets(&[status::SUCCESS as u32, state]),
                    None => param,
                }
            }
            token::START_CPU if nargs == 3 && nret == 1 => {
                let (id, entry, r3) = (arg(0), arg(1), arg(2));
                Answer::status(self.start_cpu(id.into(), entry.into(), r3.into()))
            }
            token::STOP_SELF if nargs == 0 && nret == 1 => {
                // Never returns: nothing is written (QEMU leaves rets[0] alone too).
                self.stop_self(vcpu.vcpu_id().0);
                let mut a = Answer::rets(&[]);
                a.stops = true;
                a
            }
            token::IBM_OS_TERM if nargs >= 1 => {
                let addr = u64::from(args.first().copied().unwrap_or(0));
                match self.read_c_string(vcpu, addr)? {
                    Some(text) => {
                        self.env.console_write(text.as_bytes());
                        self.env.console_write(b"\n");
                        Answer::status(status::SUCCESS).ending(Outcome::OsTerm(text))
                    }
                    None => param,
                }
            }
            token::DISPLAY_CHARACTER | token::LEGACY_DISPLAY_CHARACTER if nargs >= 1 => {
                let c = args.first().copied().unwrap_or(0) as u8;
                self.env.console_write(&[c]);
                Answer::status(status::SUCCESS)
            }
            _ => param,
        })
    }

    fn get_time_of_day(&mut self) -> Answer {
        let now = self.env.time_of_day();
        let t = now.and_then(|t| {
            let secs = time::to_unix(&t)?.checked_add(self.tod_offset)?;
            time::from_unix(secs, t.nanos)
        });
        match t {
            Some(t) => Answer::rets(&[
                status::SUCCESS as u32,
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.nanos,
            ]),
            None => Answer::status(status::HW_ERROR),
        }
    }

    fn set_time_of_day(&mut self, args: &[u32]) -> Answer {
        let a = |i: usize| args.get(i).copied().unwrap_or(0);
        let new = TimeOfDay {
            year: a(0),
            month: a(1),
            day: a(2),
            hour: a(3),
            minute: a(4),
            second: a(5),
            nanos: a(6),
        };
        let Some(new) = time::to_unix(&new) else {
            return Answer::status(status::PARAM_ERROR);
        };
        match self.env.time_of_day().and_then(|t| time::to_unix(&t)) {
            Some(now) => {
                self.tod_offset = new - now;
                Answer::status(status::SUCCESS)
            }
            None => Answer::status(status::HW_ERROR),
        }
    }

    /// The NUL-terminated string at `addr` (at most [`OS_TERM_MAX`] bytes, stopping where
    /// RAM ends), lossily UTF-8; `None` when `addr` is not RAM.
    fn read_c_string(
        &self,
        vcpu: &mut dyn VcpuContext,
        addr: u64,
    ) -> Result<Option<String>, Error> {
        let mut bytes = Vec::new();
        let mut at = addr;
        while bytes.len() < OS_TERM_MAX {
            let to_page = 0x1000 - (at & 0xFFF);
            let chunk = to_page.min((OS_TERM_MAX - bytes.len()) as u64);
            if !self.is_ram(vcpu, at, chunk) {
                break;
            }
            let mut buf = [0u8; OS_TERM_MAX];
            let Some(buf) = buf.get_mut(..chunk as usize) else {
                break;
            };
            vcpu.read_guest(GuestRealAddr(at), buf)?;
            match buf.iter().position(|&b| b == 0) {
                Some(end) => {
                    bytes.extend_from_slice(buf.get(..end).unwrap_or(&[]));
                    break;
                }
                None => bytes.extend_from_slice(buf),
            }
            at += chunk;
        }
        if bytes.is_empty() && !self.is_ram(vcpu, addr, 1) {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

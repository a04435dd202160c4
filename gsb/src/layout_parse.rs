//! Bulk parse against a [`GsbLayout`]: one header comparison per element, values handed
//! out by position; anything else goes through the per-element parser [`Gsb::parse`].

use crate::builder::{ELEMENT_HEADER_SIZE, HEADER_SIZE};
use crate::error::GsbError;
use crate::layout::{GsbLayout, LayoutEntry};
use crate::layout_gsb::{LayoutGsb, Parsed};
use crate::parser::{Gsb, Policy};

/// The bits in which the element headers of a run (`region`, elements of `stride` bytes)
/// differ from the layout's `entries`: 0 when they all match. Branch-free per element;
/// inlined with a constant `stride` for the common value lengths.
#[inline(always)]
fn header_diff(region: &[u8], stride: usize, entries: &[LayoutEntry]) -> u32 {
    let mut diff = 0;
    for (elem, e) in region.chunks_exact(stride).zip(entries) {
        if let Some(hdr) = elem.first_chunk::<ELEMENT_HEADER_SIZE>() {
            diff |= u32::from_ne_bytes(*hdr) ^ u32::from_ne_bytes(e.header());
        }
    }
    diff
}

impl GsbLayout {
    /// `bytes` cut to this layout's size if `bytes` holds exactly this layout's count and
    /// element headers and `policy` accepts every member — then [`Gsb::parse`] under
    /// `policy` accepts it with the same elements. `None` otherwise.
    #[inline]
    fn matching<'a>(&self, bytes: &'a [u8], policy: &Policy) -> Option<&'a [u8]> {
        let size = self.size();
        if !self.admits(policy.scope, policy.reject_read_only)
            || (policy.reject_trailing && bytes.len() != size)
        {
            return None;
        }
        let body = bytes.get(..size)?;
        let mut diff = u32::from_ne_bytes(*body.first_chunk::<HEADER_SIZE>()?)
            ^ u32::from_ne_bytes((self.len() as u32).to_be_bytes());
        for run in self.runs() {
            let region = body.get(run.bytes())?;
            let entries = self.run_entries(run);
            diff |= match run.len() {
                4 => header_diff(region, 8, entries),
                8 => header_diff(region, 12, entries),
                16 => header_diff(region, 20, entries),
                _ => header_diff(region, run.stride(), entries),
            };
        }
        (diff == 0).then_some(body)
    }

    /// Validates `bytes` against `policy` as [`Gsb::parse`] does, fast when the buffer holds
    /// exactly this layout: if its count and every element header (id, length) equal the
    /// layout's, and `policy` accepts the layout's ids (scope, read-only) and length
    /// (trailing bytes), the result is [`Parsed::Layout`] after one 4-byte comparison per
    /// element. Otherwise [`Gsb::parse`] runs: [`Parsed::General`] for a valid buffer of
    /// another layout, or exactly the [`GsbError`] it gives.
    ///
    /// Either way, `parse(..).map(|p| p.gsb())` equals `Gsb::parse(bytes, policy)`.
    ///
    /// ```
    /// use papr_gsb::{Gsb, GsbError, GsbLayout, GsidSet, Policy, Scope};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    /// let mut buf = [0u8; 4096];
    /// let n = L.build_request(&mut buf)?; // the L0 fills the values in place
    /// let answer = L.parse(&buf, &Policy::l1_answer(Scope::Thread))?;
    /// assert_eq!(answer.layout().map(|g| g.len()), Some(163));
    /// // A length that is not the id's: the per-element parser's exact error.
    /// buf[4 + 3] = 4; // GPR0's length 8 -> 4
    /// let p = Policy::l1_answer(Scope::Thread);
    /// assert_eq!(L.parse(&buf[..n], &p), Gsb::parse(&buf[..n], &p).map(papr_gsb::Parsed::General));
    /// assert!(matches!(L.parse(&buf[..n], &p), Err(GsbError::SizeMismatch { index: 0, .. })));
    /// # Ok::<(), GsbError>(())
    /// ```
    #[inline]
    pub fn parse<'a, 'l>(
        &'l self,
        bytes: &'a [u8],
        policy: &Policy,
    ) -> Result<Parsed<'a, 'l>, GsbError> {
        match self.matching(bytes, policy) {
            Some(body) => Ok(Parsed::Layout(LayoutGsb::matched(self, body))),
            None => Gsb::parse(bytes, policy).map(Parsed::General),
        }
    }

    /// Whether `bytes` holds exactly this layout and `policy` accepts it: whether
    /// [`parse`](Self::parse) takes the fast path.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy, Request, Scope};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    /// let mut buf = [0u8; 4096];
    /// let n = L.build_request(&mut buf)?;
    /// assert!(L.matches(&buf[..n], &Policy::EXACT));
    /// assert!(!L.matches(&buf, &Policy::EXACT)); // trailing bytes
    /// assert!(!L.matches(&buf[..n], &Policy::l0_request(Request::Set, Scope::Guest)));
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn matches(&self, bytes: &[u8], policy: &Policy) -> bool {
        self.matching(bytes, policy).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::GsidSet;

    #[test]
    fn empty_layout_matches_only_count_zero() {
        static L: GsbLayout = GsbLayout::new(GsidSet::EMPTY);
        assert!(L.matches(&[0, 0, 0, 0], &Policy::EXACT));
        assert!(!L.matches(&[0, 0, 0, 1], &Policy::EXACT));
        assert!(!L.matches(&[0, 0, 0], &Policy::EXACT));
        assert!(L.matches(&[0, 0, 0, 0, 9], &Policy::STRUCTURE));
    }
}

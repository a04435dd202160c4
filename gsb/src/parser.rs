//! Validating, zero-copy parsing of guest state buffers.

use crate::builder::{ELEMENT_HEADER_SIZE, HEADER_SIZE};
use crate::error::GsbError;
use crate::id::{Access, GuestStateId, Scope, ValueKind};
use crate::set::GsidSet;
use crate::table::TABLE;
use crate::value::Value;

/// What a parse checks beyond the structure (which is always checked: header, every element
/// header and value inside the buffer, count honoured, ids defined, lengths right).
///
/// Two sides parse buffers: an L1 reading what the L0 wrote (a GET answer, a run output
/// buffer) and an L0 reading what an L1 sent (GET/SET requests, the run input). Use the
/// constructors rather than filling the fields by hand.
///
/// ```
/// use papr_gsb::{Policy, Request, Scope};
/// let l0 = Policy::l0_request(Request::Set, Scope::Guest);
/// assert!(l0.reject_read_only);
/// assert_eq!(Policy::L1_RUN_OUTPUT.scope, Some(Scope::Thread));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Every element (BLANK excepted) must belong to this scope.
    pub scope: Option<Scope>,
    /// Refuse read-only ids (a request that writes state).
    pub reject_read_only: bool,
    /// Refuse an id that occurs twice (an L0's answer names each id once).
    pub reject_duplicates: bool,
    /// Refuse bytes after the last counted element. Off for buffers passed by capacity
    /// (run output, GET answers), where the tail is whatever was there before.
    pub reject_trailing: bool,
    /// Accept BLANK (0x0000) with any length and skip its value, as QEMU does; otherwise
    /// BLANK must have length 0, as Linux requires.
    pub blank_any_len: bool,
    /// Accept HEIR (0xF002) as 8 bytes as well as 4 (Linux declares 8, PAPR/QEMU send 4).
    pub heir_any_width: bool,
}

/// Kind of request an L0 is parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `H_GUEST_GET_STATE`: ids and sizes; read-only ids allowed.
    Get,
    /// `H_GUEST_SET_STATE` or the run input: ids, sizes and values; read-only ids refused.
    Set,
}

impl Policy {
    /// Structure only, exact length: for buffers whose length is exactly their content.
    pub const EXACT: Policy = Policy {
        scope: None,
        reject_read_only: false,
        reject_duplicates: false,
        reject_trailing: true,
        blank_any_len: false,
        heir_any_width: true,
    };

    /// Structure only; the buffer may be longer than its elements.
    pub const STRUCTURE: Policy = Policy {
        reject_trailing: false,
        ..Policy::EXACT
    };

    /// An L1 parsing an `H_GUEST_RUN_VCPU` output buffer: thread-wide ids, each once.
    pub const L1_RUN_OUTPUT: Policy = Policy::l1_answer(Scope::Thread);

    /// An L1 parsing the L0's answer to a GET of `scope`: each id once, tail ignored.
    pub const fn l1_answer(scope: Scope) -> Policy {
        Policy {
            scope: Some(scope),
            reject_read_only: false,
            reject_duplicates: true,
            reject_trailing: false,
            blank_any_len: false,
            heir_any_width: true,
        }
    }

    /// An L0 parsing an L1's request the way QEMU validates it: scope enforced, read-only
    /// ids refused in a SET, BLANK skipped whatever its length, duplicates allowed (the last
    /// one wins), the tail of the buffer ignored.
    pub const fn l0_request(request: Request, scope: Scope) -> Policy {
        Policy {
            scope: Some(scope),
            reject_read_only: matches!(request, Request::Set),
            reject_duplicates: false,
            reject_trailing: false,
            blank_any_len: true,
            heir_any_width: false,
        }
    }
}

/// One element of a parsed buffer, borrowing its value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// The id.
    pub id: GuestStateId,
    /// Position of the element in the buffer (0-based), as PAPR's `H_INVALID_ELEMENT_*`
    /// report it for GET/SET.
    pub index: u32,
    /// Byte offset of the element header in the buffer.
    pub offset: usize,
    bytes: &'a [u8],
}

impl<'a> Element<'a> {
    /// An element whose header and value were checked by the caller.
    pub(crate) fn validated(id: GuestStateId, index: u32, offset: usize, bytes: &'a [u8]) -> Self {
        Self {
            id,
            index,
            offset,
            bytes,
        }
    }

    /// The raw big-endian value bytes.
    pub fn value_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The typed value. A BLANK with a value (accepted under `blank_any_len`) reads as
    /// `Empty`; an 8-byte HEIR reads as `U64`.
    pub fn value(&self) -> Value {
        // Integer registers (the common case) decode by length alone.
        if let Ok(b) = <&[u8; 8]>::try_from(self.bytes) {
            if self.id.0 >= 0x1000
                || matches!(
                    self.id.0,
                    0x0001 | 0x0002 | 0x0004 | 0x0800..=0x0804 | 0x0C02
                )
            {
                return Value::U64(u64::from_be_bytes(*b));
            }
        }
        let kind = match self.id.info() {
            Some(i) if i.kind == ValueKind::U32 && self.bytes.len() == 8 => ValueKind::U64,
            Some(i) => i.kind,
            None => ValueKind::Empty,
        };
        Value::decode(kind, self.bytes).unwrap_or(Value::Empty)
    }
}

/// A validated guest state buffer: every element inside the bytes, of a defined id and the
/// right size, and allowed by the [`Policy`] it was parsed with. Borrows the bytes; parsing
/// allocates and copies nothing.
///
/// ```
/// use papr_gsb::{Gsb, GsbError, Policy, GuestStateId};
/// // count 1, id 0x1021 (NIA), len 8, value 0x100
/// let bytes = [0, 0, 0, 1, 0x10, 0x21, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0];
/// let gsb = Gsb::parse(&bytes, &Policy::EXACT)?;
/// let e = gsb.iter().next().unwrap();
/// assert_eq!((e.id, e.value().as_u64()), (GuestStateId::NIA, Some(0x100)));
/// // a count of 2 with one element present:
/// let mut bad = bytes;
/// bad[3] = 2;
/// assert!(matches!(Gsb::parse(&bad, &Policy::EXACT), Err(GsbError::CountExceedsBuffer { count: 2, found: 1, .. })));
/// # Ok::<(), GsbError>(())
/// ```
///
/// Two `Gsb`s are equal when they hold the same bytes (and so the same elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsb<'a> {
    /// From the header to the end of the last element.
    bytes: &'a [u8],
    count: u32,
}

/// Reads the next raw element header at `offset`; structural checks only.
#[inline]
fn raw_element(
    bytes: &[u8],
    index: u32,
    offset: usize,
) -> Result<(GuestStateId, &[u8], usize), GsbError> {
    let rest = bytes.get(offset..).unwrap_or(&[]);
    let (hdr, after) = rest.split_first_chunk::<ELEMENT_HEADER_SIZE>().ok_or(
        GsbError::TruncatedElementHeader {
            index,
            offset,
            available: rest.len(),
        },
    )?;
    let [i0, i1, l0, l1] = *hdr;
    let id = GuestStateId(u16::from_be_bytes([i0, i1]));
    let len = u16::from_be_bytes([l0, l1]);
    let value = after
        .get(..usize::from(len))
        .ok_or(GsbError::TruncatedValue {
            index,
            offset,
            id,
            len,
            available: after.len(),
        })?;
    Ok((id, value, offset + ELEMENT_HEADER_SIZE + usize::from(len)))
}

impl<'a> Gsb<'a> {
    /// A buffer of `count` elements in `bytes` (header to the end of the last element) that
    /// the caller validated as [`parse`](Self::parse) would have.
    pub(crate) fn validated(bytes: &'a [u8], count: u32) -> Self {
        Self { bytes, count }
    }

    /// Validates `bytes` against `policy`. On error nothing is returned, so a caller that
    /// applies elements only from an `Ok` buffer never applies half of a bad one.
    pub fn parse(bytes: &'a [u8], policy: &Policy) -> Result<Self, GsbError> {
        let (hdr, _) = bytes
            .split_first_chunk::<HEADER_SIZE>()
            .ok_or(GsbError::TruncatedHeader { len: bytes.len() })?;
        let count = u32::from_be_bytes(*hdr);
        let mut seen = GsidSet::EMPTY;
        let mut offset = HEADER_SIZE;
        for index in 0..count {
            if offset == bytes.len() {
                return Err(GsbError::CountExceedsBuffer {
                    count,
                    found: index,
                    offset,
                });
            }
            let (id, value, next) = raw_element(bytes, index, offset)?;
            Self::check(policy, id, value, index, offset, &mut seen)?;
            offset = next;
        }
        if policy.reject_trailing && offset < bytes.len() {
            return Err(GsbError::TrailingBytes {
                offset,
                len: bytes.len() - offset,
            });
        }
        Ok(Self {
            bytes: bytes.get(..offset).unwrap_or(bytes),
            count,
        })
    }

    #[inline]
    fn check(
        policy: &Policy,
        id: GuestStateId,
        value: &[u8],
        index: u32,
        offset: usize,
        seen: &mut GsidSet,
    ) -> Result<(), GsbError> {
        let Some(bit) = id.index() else {
            return Err(GsbError::UnknownId {
                index,
                offset,
                id: id.0,
            });
        };
        let Some(info) = TABLE.get(bit) else {
            return Err(GsbError::UnknownId {
                index,
                offset,
                id: id.0,
            });
        };
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        if id == GuestStateId::BLANK {
            return if len == 0 || policy.blank_any_len {
                Ok(())
            } else {
                Err(GsbError::SizeMismatch {
                    index,
                    offset,
                    id,
                    expected: 0,
                    found: len,
                })
            };
        }
        let size = info.size();
        let size_ok =
            size == len || (policy.heir_any_width && id == GuestStateId::HEIR && len == 8);
        if !size_ok {
            return Err(GsbError::SizeMismatch {
                index,
                offset,
                id,
                expected: size,
                found: len,
            });
        }
        if policy.reject_read_only && info.access == Access::ReadOnly {
            return Err(GsbError::ReadOnly { index, id });
        }
        if let Some(scope) = policy.scope {
            if info.scope != scope {
                return Err(GsbError::ScopeMismatch {
                    index,
                    id,
                    expected: scope,
                    found: info.scope,
                });
            }
        }
        if policy.reject_duplicates && !seen.insert_index(bit) {
            return Err(GsbError::Duplicate { index, id });
        }
        Ok(())
    }

    /// Number of elements (the header's count, validated).
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes from the header to the end of the last element.
    pub fn used_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The elements, in buffer order (BLANK elements included).
    pub fn iter(&self) -> Elements<'a> {
        Elements {
            bytes: self.bytes,
            offset: HEADER_SIZE,
            index: 0,
            count: self.count,
        }
    }

    /// The last element with `id` (the one an L0 applies when an id repeats).
    pub fn get(&self, id: GuestStateId) -> Option<Element<'a>> {
        self.iter().filter(|e| e.id == id).last()
    }

    /// The set of ids present (BLANK excluded).
    pub fn ids(&self) -> GsidSet {
        self.iter()
            .filter(|e| e.id != GuestStateId::BLANK)
            .map(|e| e.id)
            .collect()
    }
}

impl<'a> IntoIterator for &Gsb<'a> {
    type Item = Element<'a>;
    type IntoIter = Elements<'a>;
    fn into_iter(self) -> Elements<'a> {
        self.iter()
    }
}

/// Iterator over the elements of a validated [`Gsb`].
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    bytes: &'a [u8],
    offset: usize,
    index: u32,
    count: u32,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Element<'a>;
    fn next(&mut self) -> Option<Element<'a>> {
        if self.index >= self.count {
            return None;
        }
        // The buffer was validated, so this cannot fail; if it did, iteration just ends.
        let (id, bytes, next) = raw_element(self.bytes, self.index, self.offset).ok()?;
        let e = Element {
            id,
            index: self.index,
            offset: self.offset,
            bytes,
        };
        self.offset = next;
        self.index += 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.count - self.index) as usize;
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_element_never_reads_past_the_end() {
        let b = [0u8, 0, 0, 1, 0x10, 0x21, 0, 8, 1];
        assert!(matches!(
            raw_element(&b, 0, 4),
            Err(GsbError::TruncatedValue { available: 1, .. })
        ));
        assert!(matches!(
            raw_element(&b, 0, 100),
            Err(GsbError::TruncatedElementHeader { available: 0, .. })
        ));
    }

    #[test]
    fn empty_buffer_is_valid() {
        let g = Gsb::parse(&[0, 0, 0, 0], &Policy::EXACT).map(|g| g.len());
        assert_eq!(g, Ok(0));
    }
}

//! Writing guest state buffers into a caller's memory.

use crate::error::GsbError;
use crate::id::{GuestStateId, ValueKind};
use crate::set::GsidSet;
use crate::value::Value;

/// Size of the buffer header (be32 element count).
pub const HEADER_SIZE: usize = 4;
/// Size of an element header (be16 id, be16 length).
pub const ELEMENT_HEADER_SIZE: usize = 4;

/// Builds a guest state buffer in a caller-provided `&mut [u8]`, allocating nothing.
///
/// The element count in the header is kept right after every call. An element either fits
/// whole or is refused with [`GsbError::BufferFull`] — never half-written. Ids must be
/// defined and values must have the id's size; scope rules are the caller's (or the
/// receiving parser's) business.
///
/// ```
/// use papr_gsb::{GsbBuilder, GuestStateId, Gsb, Policy};
/// let mut buf = [0u8; 64];
/// let mut b = GsbBuilder::new(&mut buf)?;
/// b.put_u64(GuestStateId::NIA, 0x4000)?;
/// b.put_u32(GuestStateId::CR, 0x2200_0000)?;
/// let used = b.len();
/// assert_eq!(used, 4 + (4 + 8) + (4 + 4));
/// let gsb = Gsb::parse(&buf[..used], &Policy::EXACT)?;
/// assert_eq!(gsb.get(GuestStateId::NIA).and_then(|e| e.value().as_u64()), Some(0x4000));
/// # Ok::<(), papr_gsb::GsbError>(())
/// ```
#[derive(Debug)]
pub struct GsbBuilder<'b> {
    buf: &'b mut [u8],
    len: usize,
    count: u32,
}

impl<'b> GsbBuilder<'b> {
    /// Starts an empty buffer (count 0) in `buf`; fails if `buf` has fewer than 4 bytes.
    pub fn new(buf: &'b mut [u8]) -> Result<Self, GsbError> {
        let mut b = Self {
            buf,
            len: 0,
            count: 0,
        };
        b.reset()?;
        Ok(b)
    }

    /// Empties the buffer (count 0) without clearing the old bytes.
    pub fn reset(&mut self) -> Result<(), GsbError> {
        let len = self.buf.len();
        let hdr = self
            .buf
            .get_mut(..HEADER_SIZE)
            .ok_or(GsbError::TruncatedHeader { len })?;
        hdr.copy_from_slice(&0u32.to_be_bytes());
        self.len = HEADER_SIZE;
        self.count = 0;
        Ok(())
    }

    /// Bytes used, header included (the length of a valid buffer).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no element has been written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Elements written.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Size of the underlying buffer.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes still free.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    /// The valid buffer so far (header and elements).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Appends one element with `id` and a value of `size` bytes written by `fill`.
    fn append(
        &mut self,
        id: GuestStateId,
        size: u16,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), GsbError> {
        let needed = ELEMENT_HEADER_SIZE + usize::from(size);
        let count = self.count.checked_add(1).ok_or(GsbError::TooManyElements)?;
        let end = self.len + needed;
        let Some(elem) = self.buf.get_mut(self.len..end) else {
            return Err(GsbError::BufferFull {
                id,
                needed,
                available: self.remaining(),
                capacity: self.buf.len(),
            });
        };
        let Some((hdr, value)) = elem.split_first_chunk_mut::<ELEMENT_HEADER_SIZE>() else {
            return Err(GsbError::TooManyElements);
        };
        let [i0, i1] = id.0.to_be_bytes();
        let [l0, l1] = size.to_be_bytes();
        *hdr = [i0, i1, l0, l1];
        fill(value);
        self.len = end;
        self.count = count;
        if let Some(h) = self.buf.first_chunk_mut::<HEADER_SIZE>() {
            *h = count.to_be_bytes();
        }
        Ok(())
    }

    fn defined(&self, id: GuestStateId) -> Result<ValueKind, GsbError> {
        id.info().map(|i| i.kind).ok_or(GsbError::UnknownId {
            index: self.count,
            offset: self.len,
            id: id.0,
        })
    }

    /// Appends `id` with a typed value, which must be of the id's kind.
    pub fn put(&mut self, id: GuestStateId, value: Value) -> Result<(), GsbError> {
        let expected = self.defined(id)?;
        if value.kind() != expected {
            return Err(GsbError::WrongKind {
                id,
                expected,
                given: value.kind(),
            });
        }
        self.append(id, expected.size(), |dst| {
            // Cannot fail: `dst` has exactly the kind's size.
            let _ = value.encode(dst);
        })
    }

    /// Appends a 64-bit register.
    pub fn put_u64(&mut self, id: GuestStateId, value: u64) -> Result<(), GsbError> {
        self.put(id, Value::U64(value))
    }

    /// Appends a 32-bit register.
    pub fn put_u32(&mut self, id: GuestStateId, value: u32) -> Result<(), GsbError> {
        self.put(id, Value::U32(value))
    }

    /// Appends an integer register of either width (Linux `__kvmppc_gse_put_reg`): a 32-bit
    /// id refuses a value wider than 32 bits with [`GsbError::ValueTooWide`].
    pub fn put_reg(&mut self, id: GuestStateId, value: u64) -> Result<(), GsbError> {
        match self.defined(id)? {
            ValueKind::U32 => {
                let v = u32::try_from(value).map_err(|_| GsbError::ValueTooWide { id, value })?;
                self.put(id, Value::U32(v))
            }
            _ => self.put(id, Value::U64(value)),
        }
    }

    /// Appends a 128-bit vector-scalar register.
    pub fn put_vector(&mut self, id: GuestStateId, value: u128) -> Result<(), GsbError> {
        self.put(id, Value::Vector(value))
    }

    /// Appends already-encoded value bytes, which must be exactly the id's size.
    pub fn put_raw(&mut self, id: GuestStateId, value: &[u8]) -> Result<(), GsbError> {
        let kind = self.defined(id)?;
        let expected = kind.size();
        if value.len() != usize::from(expected) {
            return Err(GsbError::SizeMismatch {
                index: self.count,
                offset: self.len,
                id,
                expected,
                found: u16::try_from(value.len()).unwrap_or(u16::MAX),
            });
        }
        self.append(id, expected, |dst| dst.copy_from_slice(value))
    }

    /// Appends `id` with its size and a zeroed value: an element of a GET request, which the
    /// L0 fills in.
    pub fn put_request(&mut self, id: GuestStateId) -> Result<(), GsbError> {
        let kind = self.defined(id)?;
        self.append(id, kind.size(), |dst| dst.fill(0))
    }

    /// Appends a GET request element for every member of `ids`, in ascending order. All or
    /// nothing: if they do not all fit, nothing is appended.
    pub fn put_requests(&mut self, ids: &GsidSet) -> Result<(), GsbError> {
        let needed = ids.wire_size();
        if needed > self.remaining() {
            return Err(GsbError::BufferFull {
                id: ids.iter().next().unwrap_or_default(),
                needed,
                available: self.remaining(),
                capacity: self.buf.len(),
            });
        }
        for id in ids {
            self.put_request(id)?;
        }
        Ok(())
    }

    /// Finishes the buffer and returns its length in bytes.
    pub fn finish(self) -> usize {
        self.len
    }
}

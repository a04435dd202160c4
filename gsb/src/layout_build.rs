//! Bulk build of a whole buffer from a [`GsbLayout`]: the count, then each run of
//! same-size elements written with a fixed stride — headers copied from the layout, values
//! from the caller — with no table lookup or size check per element.

use crate::builder::{ELEMENT_HEADER_SIZE, HEADER_SIZE};
use crate::error::GsbError;
use crate::layout::{GsbLayout, LayoutEntry, Run};
use crate::table::{GSID_COUNT, TABLE};
use crate::ValueKind;

/// Writes the headers of one run (`region`: its elements, `4 + S` bytes each) and each
/// value as `value(entry)` gives it.
#[inline(always)]
fn put_run<const S: usize>(
    region: &mut [u8],
    entries: &[LayoutEntry],
    mut value: impl FnMut(LayoutEntry) -> [u8; S],
) {
    for (elem, e) in region
        .chunks_exact_mut(ELEMENT_HEADER_SIZE + S)
        .zip(entries)
    {
        if let Some((hdr, rest)) = elem.split_first_chunk_mut::<ELEMENT_HEADER_SIZE>() {
            *hdr = e.header();
            if let Some(v) = rest.first_chunk_mut::<S>() {
                *v = value(*e);
            }
        }
    }
}

/// Writes the headers of one run of registers and each value from `slots`, the run's
/// slice of a register file indexed by bit: no index check per element.
#[inline(always)]
fn put_slots<const S: usize>(
    region: &mut [u8],
    entries: &[LayoutEntry],
    slots: &[u128],
    encode: impl Fn(u128) -> [u8; S],
) {
    let elems = region.chunks_exact_mut(ELEMENT_HEADER_SIZE + S);
    for ((elem, e), &v) in elems.zip(entries).zip(slots) {
        if let Some((hdr, rest)) = elem.split_first_chunk_mut::<ELEMENT_HEADER_SIZE>() {
            *hdr = e.header();
            if let Some(d) = rest.first_chunk_mut::<S>() {
                *d = encode(v);
            }
        }
    }
}

/// `v`'s low 4 bytes, big-endian.
#[inline(always)]
fn be32(v: u128) -> [u8; 4] {
    (v as u32).to_be_bytes()
}

/// `v`'s low 8 bytes, big-endian.
#[inline(always)]
fn be64(v: u128) -> [u8; 8] {
    (v as u64).to_be_bytes()
}

impl GsbLayout {
    /// `buf` cut to this layout's size with the count written, or the error
    /// [`GsbBuilder::put_requests`] gives when the set does not fit.
    ///
    /// [`GsbBuilder::put_requests`]: crate::GsbBuilder::put_requests
    fn room<'b>(&self, buf: &'b mut [u8]) -> Result<&'b mut [u8], GsbError> {
        let capacity = buf.len();
        if capacity < HEADER_SIZE {
            return Err(GsbError::TruncatedHeader { len: capacity });
        }
        let size = self.size();
        let Some(out) = buf.get_mut(..size) else {
            return Err(GsbError::BufferFull {
                id: self.entry(0).map(|e| e.id()).unwrap_or_default(),
                needed: size - HEADER_SIZE,
                available: capacity - HEADER_SIZE,
                capacity,
            });
        };
        if let Some(h) = out.first_chunk_mut::<HEADER_SIZE>() {
            *h = (self.len() as u32).to_be_bytes();
        }
        Ok(out)
    }

    /// Writes the count into `buf` and calls `put(run, region, entries)` for each run with
    /// its bytes and entries; the error of [`room`](Self::room) if `buf` is too short.
    #[inline(always)]
    fn build_runs(
        &self,
        buf: &mut [u8],
        mut put: impl FnMut(&Run, &mut [u8], &[LayoutEntry]),
    ) -> Result<usize, GsbError> {
        let out = self.room(buf)?;
        for run in self.runs() {
            if let Some(region) = out.get_mut(run.bytes()) {
                put(run, region, self.run_entries(run));
            }
        }
        Ok(self.size())
    }

    /// [`GsbError::WrongKind`] for the first member that is not a register.
    fn registers_only(&self) -> Result<(), GsbError> {
        if self.is_registers() {
            return Ok(());
        }
        for e in self.entries() {
            let expected = TABLE.get(e.bit()).map_or(ValueKind::Empty, |row| row.kind);
            if !matches!(
                expected,
                ValueKind::Empty | ValueKind::U32 | ValueKind::U64 | ValueKind::Vector
            ) {
                return Err(GsbError::WrongKind {
                    id: e.id(),
                    expected,
                    given: ValueKind::Vector,
                });
            }
        }
        Ok(())
    }

    /// Writes the whole buffer into `buf`: the count, every element header, and each value
    /// as `fill(entry, value)` writes it (`value` is exactly the entry's length; bytes `fill`
    /// leaves alone keep what `buf` held). Returns the length, [`size`](Self::size).
    ///
    /// Byte for byte what [`GsbBuilder`] writes for the same elements in ascending id order.
    /// All or nothing: if `buf` is shorter than the layout, nothing is written and the error
    /// is the one [`GsbBuilder::put_requests`] gives ([`GsbError::TruncatedHeader`] below 4
    /// bytes, else [`GsbError::BufferFull`]).
    ///
    /// ```
    /// use papr_gsb::{Gsb, GsbLayout, GsidSet, GuestStateId, Policy};
    /// static L: GsbLayout =
    ///     GsbLayout::new(GsidSet::new().with(GuestStateId::CR).with(GuestStateId::NIA));
    /// let mut buf = [0u8; 32];
    /// let n = L.build(&mut buf, |e, value| value.fill(e.bit() as u8))?;
    /// let g = Gsb::parse(&buf[..n], &Policy::EXACT)?;
    /// let cr = GuestStateId::CR.index().unwrap() as u8;
    /// assert_eq!(g.get(GuestStateId::CR).unwrap().value_bytes(), [cr; 4]);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    ///
    /// [`GsbBuilder`]: crate::GsbBuilder
    /// [`GsbBuilder::put_requests`]: crate::GsbBuilder::put_requests
    #[inline]
    pub fn build(
        &self,
        buf: &mut [u8],
        mut fill: impl FnMut(LayoutEntry, &mut [u8]),
    ) -> Result<usize, GsbError> {
        self.build_runs(buf, |run, region, entries| {
            for (elem, e) in region.chunks_exact_mut(run.stride()).zip(entries) {
                if let Some((hdr, value)) = elem.split_first_chunk_mut::<ELEMENT_HEADER_SIZE>() {
                    *hdr = e.header();
                    fill(*e, value);
                }
            }
        })
    }

    /// Writes a GET request for the layout's ids into `buf`: every header with a zeroed
    /// value, byte for byte what [`GsbBuilder::put_requests`] writes after
    /// [`GsbBuilder::new`], with the same errors. Returns the length.
    ///
    /// ```
    /// use papr_gsb::{GsbBuilder, GsbLayout, GsidSet};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    /// let (mut a, mut b) = ([0u8; 4096], [0u8; 4096]);
    /// let n = L.build_request(&mut a)?;
    /// let mut slow = GsbBuilder::new(&mut b)?;
    /// slow.put_requests(&GsidSet::RUN_INPUT)?;
    /// let m = slow.finish();
    /// assert_eq!(a[..n], b[..m]);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    ///
    /// [`GsbBuilder::put_requests`]: crate::GsbBuilder::put_requests
    /// [`GsbBuilder::new`]: crate::GsbBuilder::new
    pub fn build_request(&self, buf: &mut [u8]) -> Result<usize, GsbError> {
        self.build_runs(buf, |run, region, entries| match run.len() {
            4 => put_run::<4>(region, entries, |_| [0; 4]),
            8 => put_run::<8>(region, entries, |_| [0; 8]),
            16 => put_run::<16>(region, entries, |_| [0; 16]),
            _ => {
                for (elem, e) in region.chunks_exact_mut(run.stride()).zip(entries) {
                    if let Some((hdr, value)) = elem.split_first_chunk_mut::<ELEMENT_HEADER_SIZE>()
                    {
                        *hdr = e.header();
                        value.fill(0);
                    }
                }
            }
        })
    }

    /// Writes the whole buffer with register values: `value(entry)` gives each register's
    /// value (it is not called for BLANK) as a `u128`, of which the low 4, 8 or 16 bytes go
    /// on the wire, big-endian (higher bits of a 32- or 64-bit register are dropped). For a
    /// register cache indexed by [`LayoutEntry::bit`]. Returns the length.
    ///
    /// Fails with [`GsbError::WrongKind`] (before writing anything) if a member is not a
    /// register ([`is_registers`](Self::is_registers) is false), and otherwise as
    /// [`build`](Self::build).
    ///
    /// ```
    /// use papr_gsb::{Gsb, GsbLayout, GsidSet, GuestStateId, Policy, GSID_COUNT};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    /// let mut cache = [0u128; GSID_COUNT];
    /// cache[GuestStateId::NIA.index().unwrap()] = 0x700;
    /// let mut buf = [0u8; 4096];
    /// let n = L.build_registers(&mut buf, |e| cache[e.bit()])?;
    /// let g = Gsb::parse(&buf[..n], &Policy::EXACT)?;
    /// assert_eq!(g.get(GuestStateId::NIA).unwrap().value().as_u64(), Some(0x700));
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    #[inline]
    pub fn build_registers(
        &self,
        buf: &mut [u8],
        mut value: impl FnMut(LayoutEntry) -> u128,
    ) -> Result<usize, GsbError> {
        self.registers_only()?;
        self.build_runs(buf, |run, region, entries| match run.len() {
            4 => put_run::<4>(region, entries, |e| be32(value(e))),
            8 => put_run::<8>(region, entries, |e| be64(value(e))),
            16 => put_run::<16>(region, entries, |e| value(e).to_be_bytes()),
            _ => put_run::<0>(region, entries, |_| []),
        })
    }

    /// Writes the whole buffer with the register values of `slots`, a register file
    /// indexed by dense bit ([`GuestStateId::index`], [`LayoutEntry::bit`]) such as a
    /// vCPU state cache keeps: the low 4, 8 or 16 bytes of each slot go on the wire,
    /// big-endian. The same bytes as [`build_registers`](Self::build_registers) with
    /// `|e| slots[e.bit()]`, and the same errors, but the slots of each run of
    /// consecutive ids are read as one slice. Returns the length.
    ///
    /// ```
    /// use papr_gsb::{Gsb, GsbLayout, GsidSet, GuestStateId, Policy, GSID_COUNT};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    /// let mut slots = [0u128; GSID_COUNT];
    /// slots[GuestStateId::CTR.index().unwrap()] = 0x1234;
    /// let mut buf = [0u8; 4096];
    /// let n = L.build_from_slots(&mut buf, &slots)?;
    /// let g = Gsb::parse(&buf[..n], &Policy::EXACT)?;
    /// assert_eq!(g.get(GuestStateId::CTR).unwrap().value().as_u64(), Some(0x1234));
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    ///
    /// [`GuestStateId::index`]: crate::GuestStateId::index
    #[inline]
    pub fn build_from_slots(
        &self,
        buf: &mut [u8],
        slots: &[u128; GSID_COUNT],
    ) -> Result<usize, GsbError> {
        self.registers_only()?;
        self.build_runs(buf, |run, region, entries| {
            let slots = slots.get(run.bits()).unwrap_or(&[]);
            match run.len() {
                4 => put_slots::<4>(region, entries, slots, be32),
                8 => put_slots::<8>(region, entries, slots, be64),
                16 => put_slots::<16>(region, entries, slots, u128::to_be_bytes),
                _ => put_run::<0>(region, entries, |_| []),
            }
        })
    }
}

//! What a bulk parse against a [`GsbLayout`] hands out: values by position, or the
//! per-element parser's [`Gsb`] when the buffer is in another layout.

use crate::builder::ELEMENT_HEADER_SIZE;
use crate::id::GuestStateId;
use crate::layout::{GsbLayout, LayoutEntry};
use crate::parser::{Element, Gsb};
use crate::table::GSID_COUNT;
use core::slice;

/// Calls `f(entry, decode(value))` for each element of a run of `S`-byte register values.
#[inline(always)]
fn read_run<const S: usize>(
    region: &[u8],
    entries: &[LayoutEntry],
    f: &mut impl FnMut(LayoutEntry, u128),
    decode: impl Fn([u8; S]) -> u128,
) {
    for (elem, e) in region.chunks_exact(ELEMENT_HEADER_SIZE + S).zip(entries) {
        if let Some((_, value)) = elem.split_first_chunk::<ELEMENT_HEADER_SIZE>() {
            if let Some(v) = value.first_chunk::<S>() {
                f(*e, decode(*v));
            }
        }
    }
}

/// What [`GsbLayout::parse`] found: a valid buffer, either exactly in the layout (values by
/// position, no per-element work) or valid but laid out otherwise (another id set or order,
/// a repeated id, an 8-byte HEIR, BLANK elements...), parsed by [`Gsb::parse`].
///
/// ```
/// use papr_gsb::{GsbBuilder, GsbLayout, GsidSet, GuestStateId, Parsed, Policy};
/// static L: GsbLayout = GsbLayout::new(GsidSet::new().with(GuestStateId::NIA));
/// let mut buf = [0u8; 64];
/// let mut b = GsbBuilder::new(&mut buf)?;
/// b.put_u64(GuestStateId::MSR, 1)?; // not NIA: valid, but not the layout
/// let n = b.finish();
/// let p = L.parse(&buf[..n], &Policy::EXACT)?;
/// assert!(matches!(p, Parsed::General(_)));
/// assert_eq!(p.gsb().len(), 1);
/// # Ok::<(), papr_gsb::GsbError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a, 'l> {
    /// The buffer holds exactly the layout's elements.
    Layout(LayoutGsb<'a, 'l>),
    /// The buffer is valid under the policy but not in the layout.
    General(Gsb<'a>),
}

impl<'a, 'l> Parsed<'a, 'l> {
    /// The buffer as [`Gsb::parse`] returns it, whichever way it was parsed.
    ///
    /// ```
    /// use papr_gsb::{Gsb, GsbLayout, GsidSet, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_request(&mut buf)?;
    /// let bulk = L.parse(&buf[..n], &Policy::EXACT)?.gsb();
    /// assert_eq!(bulk, Gsb::parse(&buf[..n], &Policy::EXACT)?);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn gsb(&self) -> Gsb<'a> {
        match self {
            Parsed::Layout(l) => l.gsb(),
            Parsed::General(g) => *g,
        }
    }

    /// The buffer in the layout, if it is.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_request(&mut buf)?;
    /// assert!(L.parse(&buf[..n], &Policy::EXACT)?.layout().is_some());
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn layout(&self) -> Option<LayoutGsb<'a, 'l>> {
        match self {
            Parsed::Layout(l) => Some(*l),
            Parsed::General(_) => None,
        }
    }
}

/// A buffer holding exactly the elements of a [`GsbLayout`], checked under a [`Policy`](crate::Policy):
/// values are found by position (or id) at the layout's offsets, without further checks.
///
/// ```
/// use papr_gsb::{GsbLayout, GsidSet, GuestStateId, Policy, Scope};
/// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
/// let mut buf = [0u8; 4096];
/// let n = L.build_registers(&mut buf, |e| e.bit() as u128)?;
/// let g = L.parse(&buf[..n], &Policy::l1_answer(Scope::Thread))?.layout().unwrap();
/// let nia = GuestStateId::NIA;
/// assert_eq!(g.get(nia), Some(&(nia.index().unwrap() as u64).to_be_bytes()[..]));
/// assert!(g.iter().all(|(e, value)| value.len() == e.len()));
/// assert_eq!(g.gsb().used_bytes(), n);
/// # Ok::<(), papr_gsb::GsbError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutGsb<'a, 'l> {
    layout: &'l GsbLayout,
    /// The layout's [`size`](GsbLayout::size) bytes.
    bytes: &'a [u8],
}

impl<'a, 'l> LayoutGsb<'a, 'l> {
    /// `bytes` (the layout's size) checked to hold exactly `layout` under some policy.
    pub(crate) fn matched(layout: &'l GsbLayout, bytes: &'a [u8]) -> Self {
        Self { layout, bytes }
    }

    /// The layout the buffer matched.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_request(&mut buf)?;
    /// let g = L.parse(&buf[..n], &Policy::EXACT)?.layout().unwrap();
    /// assert!(core::ptr::eq(g.layout(), &L));
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn layout(&self) -> &'l GsbLayout {
        self.layout
    }

    /// Number of elements (the layout's).
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_request(&mut buf)?;
    /// assert_eq!(L.parse(&buf[..n], &Policy::EXACT)?.layout().unwrap().len(), 32);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// Whether there are no elements.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::EMPTY);
    /// assert!(L.parse(&[0, 0, 0, 0], &Policy::EXACT)?.layout().unwrap().is_empty());
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    /// The buffer as [`Gsb::parse`] under the same policy returns it.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_request(&mut buf)?;
    /// let g = L.parse(&buf, &Policy::STRUCTURE)?.layout().unwrap().gsb();
    /// assert_eq!((g.len(), g.used_bytes()), (32, n));
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn gsb(&self) -> Gsb<'a> {
        Gsb::validated(self.bytes, self.layout.len() as u32)
    }

    /// Value bytes of the element at `position` (buffer order), or `None` past the end.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_registers(&mut buf, |e| 7 * e.bit() as u128)?;
    /// let g = L.parse(&buf[..n], &Policy::EXACT)?.layout().unwrap();
    /// let r2 = papr_gsb::GuestStateId::gpr(2).unwrap().index().unwrap() as u64;
    /// assert_eq!(g.value_bytes(2), Some(&(7 * r2).to_be_bytes()[..]));
    /// assert_eq!(g.value_bytes(32), None);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    #[inline]
    pub fn value_bytes(&self, position: usize) -> Option<&'a [u8]> {
        let e = self.layout.entries().get(position)?;
        self.bytes.get(e.value_offset()..e.value_offset() + e.len())
    }

    /// Value bytes of `id`, or `None` if it is not in the layout.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, GuestStateId, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_request(&mut buf)?;
    /// let g = L.parse(&buf[..n], &Policy::EXACT)?.layout().unwrap();
    /// assert_eq!(g.get(GuestStateId::gpr(1).unwrap()), Some(&[0u8; 8][..]));
    /// assert_eq!(g.get(GuestStateId::NIA), None);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn get(&self, id: GuestStateId) -> Option<&'a [u8]> {
        self.value_bytes(self.layout.position(id)?)
    }

    /// The element at `position` as [`Gsb::iter`] yields it (id, index, offset, typed value).
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, GuestStateId, Policy};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
    /// let mut buf = [0u8; 512];
    /// let n = L.build_registers(&mut buf, |_| 5)?;
    /// let g = L.parse(&buf[..n], &Policy::EXACT)?.layout().unwrap();
    /// let e = g.element(1).unwrap();
    /// assert_eq!((e.id, e.index, e.offset), (GuestStateId::gpr(1).unwrap(), 1, 16));
    /// assert_eq!(e.value().as_u64(), Some(5));
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn element(&self, position: usize) -> Option<Element<'a>> {
        let e = self.layout.entries().get(position)?;
        let bytes = self.value_bytes(position)?;
        Some(Element::validated(
            e.id(),
            u32::try_from(position).ok()?,
            e.offset(),
            bytes,
        ))
    }

    /// Every element's layout entry and value bytes, in buffer order.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, Policy, GSID_COUNT};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::VSRS);
    /// let mut buf = [0u8; 2048];
    /// let n = L.build_registers(&mut buf, |e| !(e.bit() as u128))?;
    /// let mut cache = [0u128; GSID_COUNT];
    /// for (e, value) in &L.parse(&buf[..n], &Policy::EXACT)?.layout().unwrap() {
    ///     cache[e.bit()] = u128::from_be_bytes(value.try_into().unwrap());
    /// }
    /// assert_eq!(cache[papr_gsb::GuestStateId::VSR0.index().unwrap()], !114);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    pub fn iter(&self) -> LayoutValues<'a, 'l> {
        LayoutValues {
            entries: self.layout.entries().iter(),
            bytes: self.bytes,
        }
    }
}

impl LayoutGsb<'_, '_> {
    /// Calls `f(entry, value)` for every register element in buffer order, with its 4-, 8-
    /// or 16-byte big-endian value as a `u128` (BLANK and non-register elements, such as a
    /// partition table, are skipped: read them with [`iter`](Self::iter)). The fastest way
    /// to fill a register cache indexed by [`LayoutEntry::bit`].
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, GuestStateId, Policy, GSID_COUNT};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    /// let mut buf = [0u8; 4096];
    /// let n = L.build_registers(&mut buf, |e| 3 * e.bit() as u128)?;
    /// let mut cache = [0u128; GSID_COUNT];
    /// L.parse(&buf[..n], &Policy::EXACT)?
    ///     .layout()
    ///     .unwrap()
    ///     .for_each_register(|e, v| cache[e.bit()] = v);
    /// let cr = GuestStateId::CR.index().unwrap();
    /// assert_eq!(cache[cr], 3 * cr as u128);
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    #[inline]
    pub fn for_each_register(&self, mut f: impl FnMut(LayoutEntry, u128)) {
        for run in self.layout.runs() {
            if !run.is_register() {
                continue;
            }
            let Some(region) = self.bytes.get(run.bytes()) else {
                continue;
            };
            let entries = self.layout.run_entries(run);
            match run.len() {
                4 => read_run::<4>(region, entries, &mut f, |v| u32::from_be_bytes(v).into()),
                8 => read_run::<8>(region, entries, &mut f, |v| u64::from_be_bytes(v).into()),
                16 => read_run::<16>(region, entries, &mut f, u128::from_be_bytes),
                _ => {}
            }
        }
    }
}

impl LayoutGsb<'_, '_> {
    /// Stores every register value into `slots`, a register file indexed by dense bit
    /// ([`GuestStateId::index`], [`LayoutEntry::bit`]) such as a vCPU state cache keeps:
    /// 4-, 8- or 16-byte big-endian values zero-extended to `u128`. The same as
    /// [`for_each_register`](Self::for_each_register) with `|e, v| slots[e.bit()] = v`, but
    /// each run of consecutive ids is stored as one slice. Slots of ids not in the layout
    /// (and of BLANK and non-register members) are left alone.
    ///
    /// ```
    /// use papr_gsb::{GsbLayout, GsidSet, GuestStateId, Policy, Scope, GSID_COUNT};
    /// static L: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    /// let mut buf = [0u8; 4096];
    /// let n = L.build_registers(&mut buf, |e| 5 * e.bit() as u128)?;
    /// let mut slots = [u128::MAX; GSID_COUNT];
    /// let answer = L.parse(&buf[..n], &Policy::l1_answer(Scope::Thread))?;
    /// answer.layout().unwrap().copy_to_slots(&mut slots);
    /// let lr = GuestStateId::LR.index().unwrap();
    /// assert_eq!(slots[lr], 5 * lr as u128);
    /// assert_eq!(slots[GuestStateId::HDAR.index().unwrap()], u128::MAX); // not in the layout
    /// # Ok::<(), papr_gsb::GsbError>(())
    /// ```
    ///
    /// [`GuestStateId::index`]: crate::GuestStateId::index
    #[inline]
    pub fn copy_to_slots(&self, slots: &mut [u128; GSID_COUNT]) {
        for run in self.layout.runs() {
            if !run.is_register() {
                continue;
            }
            let (Some(region), Some(slots)) =
                (self.bytes.get(run.bytes()), slots.get_mut(run.bits()))
            else {
                continue;
            };
            match run.len() {
                4 => read_slots::<4>(region, slots, |v| u32::from_be_bytes(v).into()),
                8 => read_slots::<8>(region, slots, |v| u64::from_be_bytes(v).into()),
                16 => read_slots::<16>(region, slots, u128::from_be_bytes),
                _ => {}
            }
        }
    }
}

impl<'a, 'l> IntoIterator for &LayoutGsb<'a, 'l> {
    type Item = (LayoutEntry, &'a [u8]);
    type IntoIter = LayoutValues<'a, 'l>;
    fn into_iter(self) -> LayoutValues<'a, 'l> {
        self.iter()
    }
}

/// Iterator over the entries and value bytes of a [`LayoutGsb`], in buffer order.
///
/// ```
/// use papr_gsb::{GsbLayout, GsidSet, Policy};
/// static L: GsbLayout = GsbLayout::new(GsidSet::GPRS);
/// let mut buf = [0u8; 512];
/// let n = L.build_request(&mut buf)?;
/// let g = L.parse(&buf[..n], &Policy::EXACT)?.layout().unwrap();
/// assert_eq!(g.iter().len(), 32);
/// assert!(g.iter().all(|(e, value)| value.len() == e.len()));
/// # Ok::<(), papr_gsb::GsbError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LayoutValues<'a, 'l> {
    entries: slice::Iter<'l, LayoutEntry>,
    bytes: &'a [u8],
}

impl<'a> Iterator for LayoutValues<'a, '_> {
    type Item = (LayoutEntry, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let e = *self.entries.next()?;
        // In bounds: the layout's size was checked; on a miss the value reads as empty.
        let value = self
            .bytes
            .get(e.value_offset()..e.value_offset() + e.len())
            .unwrap_or(&[]);
        Some((e, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for LayoutValues<'_, '_> {}

/// Stores each value of a run of `S`-byte registers into `slots`, the run's slice of a
/// register file indexed by bit: no index check per element.
#[inline(always)]
fn read_slots<const S: usize>(region: &[u8], slots: &mut [u128], decode: impl Fn([u8; S]) -> u128) {
    for (elem, slot) in region.chunks_exact(ELEMENT_HEADER_SIZE + S).zip(slots) {
        if let Some((_, value)) = elem.split_first_chunk::<ELEMENT_HEADER_SIZE>() {
            if let Some(v) = value.first_chunk::<S>() {
                *slot = decode(*v);
            }
        }
    }
}

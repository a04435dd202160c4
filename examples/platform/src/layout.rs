//! Where the device tree, the RTAS blob and the initrd go in L2 RAM (GPAs), above the kernel.
//!
//! The kernel runs from GPA 0 (spec §1); above its end (`.bss` included) come the device
//! tree (64 KiB aligned, [`FDT_ROOM`] bytes reserved for it), then the RTAS page, then the
//! initrd (page aligned) when the VMM places it. Linux reserves the kernel, the DTB and the
//! initrd itself; the RTAS page is in the tree's `/memreserve/`.

use crate::error::Error;
use crate::rtas;

/// Bytes reserved for the device tree (the spec §2.1 tree is about 2 KiB).
pub const FDT_ROOM: u64 = 0x1_0000;
/// Alignment of the device tree.
pub const FDT_ALIGN: u64 = 0x1_0000;
/// Page size: alignment of the RTAS blob and the initrd.
pub const PAGE: u64 = 0x1000;

/// The GPAs of what the VMM writes into L2 RAM besides the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The device tree (r3 at entry); [`FDT_ROOM`] bytes are free there.
    pub fdt: u64,
    /// The RTAS blob ([`rtas::BLOB`]); one page.
    pub rtas: u64,
    /// The initrd `[start, end)`, if any.
    pub initrd: Option<(u64, u64)>,
}

fn align_up(v: u64, align: u64) -> Option<u64> {
    v.checked_add(align - 1).map(|x| x & !(align - 1))
}

impl Layout {
    /// Places the tree and RTAS above `kernel_end`, and an initrd of `initrd_len` bytes
    /// above them, all inside `ram_bytes`.
    ///
    /// ```
    /// use papr_platform::layout::Layout;
    /// let l = Layout::place(128 << 20, 0x289_e750, Some(0x650))?;
    /// assert_eq!((l.fdt, l.rtas, l.initrd), (0x28a_0000, 0x28b_0000, Some((0x28b_1000, 0x28b_1650))));
    /// # Ok::<(), papr_platform::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Layout`] when something does not fit in RAM (or the RTAS page would lie
    /// above 4 GiB).
    pub fn place(ram_bytes: u64, kernel_end: u64, initrd_len: Option<u64>) -> Result<Self, Error> {
        let mut l = Self::above(ram_bytes, kernel_end)?;
        if let Some(len) = initrd_len {
            let err = Error::Layout {
                what: "the initrd does not fit in RAM above the RTAS page",
                value: len,
                ram_bytes,
            };
            let start = l.rtas.checked_add(rtas::SIZE).ok_or(err.clone())?;
            let end = start.checked_add(len).ok_or(err.clone())?;
            if end > ram_bytes {
                return Err(err);
            }
            l.initrd = Some((start, end));
        }
        Ok(l)
    }

    /// Places the tree and RTAS above `used_end` and above an initrd already in RAM (QEMU
    /// loads it right after the kernel), which is kept where it is.
    ///
    /// ```
    /// use papr_platform::layout::Layout;
    /// let l = Layout::place_after(256 << 20, 0x289_e750, Some((0x28a_0000, 0x300_0000)))?;
    /// assert_eq!((l.fdt, l.rtas), (0x300_0000, 0x301_0000));
    /// assert_eq!(l.initrd, Some((0x28a_0000, 0x300_0000)));
    /// # Ok::<(), papr_platform::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Layout`] for an initrd that is reversed or not in RAM, or when the tree and
    /// RTAS do not fit.
    pub fn place_after(
        ram_bytes: u64,
        used_end: u64,
        initrd: Option<(u64, u64)>,
    ) -> Result<Self, Error> {
        let mut top = used_end;
        if let Some((start, end)) = initrd {
            if start > end || end > ram_bytes {
                return Err(Error::Layout {
                    what: "the initrd [start, end) is reversed or runs past RAM",
                    value: end,
                    ram_bytes,
                });
            }
            top = top.max(end);
        }
        let mut l = Self::above(ram_bytes, top)?;
        l.initrd = initrd;
        Ok(l)
    }

    /// The tree and the RTAS page above `end`.
    fn above(ram_bytes: u64, end: u64) -> Result<Self, Error> {
        let err = |what, value| Error::Layout {
            what,
            value,
            ram_bytes,
        };
        let fdt = align_up(end, FDT_ALIGN).ok_or(err("the kernel ends past 2^64", end))?;
        let rtas = fdt
            .checked_add(FDT_ROOM)
            .ok_or(err("the device tree would wrap", fdt))?;
        let rtas_end = rtas
            .checked_add(rtas::SIZE)
            .ok_or(err("the RTAS page would wrap", rtas))?;
        if rtas_end > ram_bytes {
            return Err(err(
                "no room for the device tree and the RTAS page above the kernel",
                rtas_end,
            ));
        }
        if rtas_end > 1 << 32 {
            return Err(err("the RTAS page would lie above 4 GiB", rtas));
        }
        Ok(Self {
            fdt,
            rtas,
            initrd: None,
        })
    }

    /// Checks that a device tree of `len` bytes fits its room.
    ///
    /// # Errors
    /// [`Error::FdtTooLarge`] when `len` > [`FDT_ROOM`].
    pub fn check_fdt_len(&self, len: usize) -> Result<(), Error> {
        if len as u64 > FDT_ROOM {
            return Err(Error::FdtTooLarge {
                len: len as u64,
                room: FDT_ROOM,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_above_the_kernel() {
        let l = Layout::place(128 << 20, 0x289_e750, Some(0x650)).unwrap();
        assert_eq!(l.fdt % FDT_ALIGN, 0);
        assert!(l.fdt >= 0x289_e750);
        assert_eq!(l.rtas, l.fdt + FDT_ROOM);
        assert_eq!(l.rtas % PAGE, 0);
        let (s, e) = l.initrd.unwrap();
        assert_eq!((s % PAGE, e - s), (0, 0x650));
        assert!(s >= l.rtas + rtas::SIZE);
        // Exactly at the end of an aligned kernel.
        let l = Layout::place(1 << 20, 0x1_0000, None).unwrap();
        assert_eq!((l.fdt, l.rtas, l.initrd), (0x1_0000, 0x2_0000, None));
    }

    #[test]
    fn place_refuses_what_does_not_fit() {
        // The RTAS page would end past RAM.
        let e = Layout::place(0x2_0000, 0x1_0000, None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Layout {
                    value: 0x2_1000,
                    ..
                }
            ),
            "{e}"
        );
        // Exactly fits.
        assert!(Layout::place(0x2_1000, 0x1_0000, None).is_ok());
        // The initrd does not fit.
        let e = Layout::place(0x2_2000, 0x1_0000, Some(0x1001)).unwrap_err();
        assert!(matches!(e, Error::Layout { value: 0x1001, .. }));
        assert!(Layout::place(0x2_2000, 0x1_0000, Some(0x1000)).is_ok());
        // Wrapping values.
        assert!(Layout::place(u64::MAX, u64::MAX - 5, None).is_err());
        assert!(Layout::place(u64::MAX, 0, Some(u64::MAX)).is_err());
        // Above 4 GiB.
        assert!(Layout::place(8 << 30, 5 << 30, None).is_err());
    }

    #[test]
    fn place_after_keeps_the_initrd() {
        let l = Layout::place_after(256 << 20, 0x100_0000, Some((0x100_0000, 0x180_0001))).unwrap();
        assert_eq!(l.fdt, 0x181_0000);
        assert_eq!(l.initrd, Some((0x100_0000, 0x180_0001)));
        // The initrd below the kernel end: the tree goes above the kernel.
        let l = Layout::place_after(256 << 20, 0x300_0000, Some((0x10_0000, 0x20_0000))).unwrap();
        assert_eq!(l.fdt, 0x300_0000);
        // Bad initrds.
        for bad in [(0x20_0000, 0x10_0000), (0, (256 << 20) + 1)] {
            assert!(
                Layout::place_after(256 << 20, 0, Some(bad)).is_err(),
                "{bad:x?}"
            );
        }
        assert!(Layout::place_after(256 << 20, 0x300_0000, None).is_ok());
        // The initrd ends right at the top of RAM: no room above.
        assert!(Layout::place_after(256 << 20, 0, Some((0, 256 << 20))).is_err());
    }

    #[test]
    fn fdt_room() {
        let l = Layout::place(1 << 30, 0, None).unwrap();
        assert!(l.check_fdt_len(FDT_ROOM as usize).is_ok());
        assert_eq!(
            l.check_fdt_len(FDT_ROOM as usize + 1),
            Err(Error::FdtTooLarge {
                len: FDT_ROOM + 1,
                room: FDT_ROOM
            })
        );
    }
}

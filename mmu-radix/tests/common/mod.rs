//! An L0's view of the tree, written from QEMU's `ppc_radix64` partition-scoped walk and the
//! ISA constants, sharing no code with the crate's writer: it reads raw big-endian bytes.
#![allow(dead_code)]

/// Raw bytes of L1 memory starting at `base`.
pub struct Image<'a> {
    pub base: u64,
    pub bytes: &'a [u8],
}

impl Image<'_> {
    /// `ldq_phys`: a big-endian doubleword; `None` outside the image.
    pub fn ldq(&self, addr: u64) -> Option<u64> {
        let off = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        let b = self.bytes.get(off..off.checked_add(8)?)?;
        Some(u64::from_be_bytes(b.try_into().ok()?))
    }
}

pub const DSISR_NOPTE: u32 = 0x4000_0000;
pub const SRR1_NOEXEC_GUARD: u32 = 0x1000_0000;
pub const DSISR_PROTFAULT: u32 = 0x0800_0000;
pub const DSISR_ISSTORE: u32 = 0x0200_0000;
pub const DSISR_R_BADCONFIG: u32 = 0x0008_0000;
pub const DSISR_ATOMIC_RC: u32 = 0x0004_0000;

const R_PTE_VALID: u64 = 0x8000_0000_0000_0000;
const R_PTE_LEAF: u64 = 0x4000_0000_0000_0000;
const R_PTE_RPN: u64 = 0x01FF_FFFF_FFFF_F000;
const R_PTE_R: u64 = 0x100;
const R_PTE_C: u64 = 0x80;
const R_PTE_ATT: u64 = 0x30;
const R_PTE_ATT_NI_IO: u64 = 0x20;
const R_PDE_NLB: u64 = 0x0FFF_FFFF_FFFF_FF00;
const R_PDE_NLS: u64 = 0x1F;
const PRTBE_R_RPDB: u64 = 0x0FFF_FFFF_FFFF_FF00;
const PRTBE_R_RPDS: u64 = 0x1F;
const PATE0_HR: u64 = 0x8000_0000_0000_0000;

/// QEMU's `copy_state_pagetbl`: the PATE dw0 rebuilt from GSID 0x0005 {base, bits, size}.
pub fn pate_from_gsid(v: [u64; 3]) -> u64 {
    let [base, bits, size] = v;
    assert_eq!(bits, 52, "QEMU asserts 52 address bits");
    let rts = bits - 31;
    let rts1 = (rts >> 3) & 0x3;
    let rts2 = rts & 0x7;
    let rpds = u64::from(size.trailing_zeros()) - 3;
    base | PATE0_HR | (rts1 << 61) | (rts2 << 5) | rpds
}

/// `PRTBE_R_GET_RTS`: address bits of the tree.
fn get_rts(dw0: u64) -> u64 {
    ((((dw0 >> 61) & 0x3) << 3) | ((dw0 >> 5) & 0x7)) + 31
}

fn is_valid_level(level: u32, psize: u64, nls: u64) -> bool {
    match level {
        0 => psize == 52 && nls == 13,
        1 | 2 => nls == 9,
        3 => nls == 9 || nls == 5,
        _ => false,
    }
}

/// A successful partition-scoped walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub raddr: u64,
    pub page_bits: u64,
    pub pte: u64,
    pub pte_addr: u64,
    /// QEMU would have logged (and masked) a misaligned directory base on the way.
    pub misaligned_base: bool,
}

/// `ppc_radix64_walk_tree` for the partition-scoped tree of `pate_dw0`. `Err` is the fault
/// cause; `None` inside means a read outside the image.
pub fn walk(img: &Image<'_>, pate_dw0: u64, gpa: u64) -> Result<Hit, Option<u32>> {
    let mut psize = get_rts(pate_dw0);
    let mut base = pate_dw0 & PRTBE_R_RPDB;
    let mut nls = pate_dw0 & PRTBE_R_RPDS;
    let mut misaligned = false;
    let mask = (1u64 << (nls + 3)) - 1;
    if base & mask != 0 {
        misaligned = true;
        base &= !mask;
    }
    let index = (gpa >> (psize - nls)) & ((1 << nls) - 1);
    let mut pte_addr = base + index * 8;
    let mut level = 0;
    let pde = loop {
        if !is_valid_level(level, psize, nls) {
            return Err(Some(DSISR_R_BADCONFIG));
        }
        level += 1;
        let pde = img.ldq(pte_addr).ok_or(None)?;
        if pde & R_PTE_VALID == 0 {
            return Err(Some(DSISR_NOPTE));
        }
        psize -= nls;
        if pde & R_PTE_LEAF != 0 {
            break pde;
        }
        nls = pde & R_PDE_NLS;
        let index = (gpa >> (psize - nls)) & ((1 << nls) - 1);
        let mut nlb = pde & R_PDE_NLB;
        let mask = (1u64 << (nls + 3)) - 1;
        if nlb & mask != 0 {
            misaligned = true;
            nlb &= !mask;
        }
        pte_addr = nlb + index * 8;
    };
    let rpn = pde & R_PTE_RPN;
    let mask = (1u64 << psize) - 1;
    Ok(Hit {
        raddr: (rpn & !mask) | (gpa & mask),
        page_bits: psize,
        pte: pde,
        pte_addr,
        misaligned_base: misaligned,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Load,
    Store,
    Fetch,
}

/// `ppc_radix64_check_prot` (partition scope) then `ppc_radix64_check_rc`: the HDSISR (or
/// HISI cause) an access to this leaf raises, or `Ok`.
pub fn check_access(pte: u64, access: Access) -> Result<(), u32> {
    if access == Access::Fetch && pte & R_PTE_ATT == R_PTE_ATT_NI_IO {
        return Err(SRR1_NOEXEC_GUARD);
    }
    let mut read = pte & 0x4 != 0;
    let mut write = false;
    if pte & 0x2 != 0 {
        read = true;
        write = true;
    }
    let exec = pte & 0x1 != 0;
    let ok = match access {
        Access::Load => read,
        Access::Store => write,
        Access::Fetch => exec,
    };
    let store = if access == Access::Store {
        DSISR_ISSTORE
    } else {
        0
    };
    if !ok {
        return Err(if access == Access::Fetch {
            SRR1_NOEXEC_GUARD
        } else {
            DSISR_PROTFAULT | store
        });
    }
    if pte & R_PTE_R == 0 || (access == Access::Store && pte & R_PTE_C == 0) {
        return Err(DSISR_ATOMIC_RC | store);
    }
    Ok(())
}

/// Every leaf reachable from the root: (gpa, page bits, pte), plus every directory table
/// address below the root. Panics on anything the crate should never write.
pub fn enumerate(img: &Image<'_>, root: u64) -> (Vec<(u64, u64, u64)>, Vec<u64>) {
    let mut leaves = Vec::new();
    let mut tables = Vec::new();
    descend(img, root, 0, 0, &mut leaves, &mut tables);
    (leaves, tables)
}

fn descend(
    img: &Image<'_>,
    table: u64,
    level: u32,
    gpa_base: u64,
    leaves: &mut Vec<(u64, u64, u64)>,
    tables: &mut Vec<u64>,
) {
    let (nls, shift) = [(13, 39), (9, 30), (9, 21), (9, 12)][level as usize];
    for i in 0..(1u64 << nls) {
        let e = img.ldq(table + i * 8).expect("entry inside the image");
        let gpa = gpa_base | (i << shift);
        if e & R_PTE_VALID == 0 {
            assert_eq!(e, 0, "invalid entries are written as 0");
            continue;
        }
        if e & R_PTE_LEAF != 0 {
            assert!(level > 0, "leaf in the root");
            assert_eq!(
                e & 0x1FE0_0000_0000_0000,
                0,
                "bits 60..53 clear in leaf {e:#x}"
            );
            assert_eq!(e & 0x48, 0, "reserved bit 6 and privileged bit 3 clear");
            assert_eq!(
                (e & R_PTE_RPN) & ((1 << shift) - 1),
                0,
                "RPN aligned to the page"
            );
            leaves.push((gpa, shift as u64, e));
        } else {
            assert!(level < 3, "PDE at the last level");
            assert_eq!(e & 0x6000_0000_0000_00E0, 0, "Linux's bad-PDE bits clear");
            assert_eq!(e & R_PDE_NLS, 9);
            let next = e & R_PDE_NLB;
            assert_eq!(next & 0xFFF, 0, "table 4 KiB aligned");
            tables.push(next);
            descend(img, next, level + 1, gpa, leaves, tables);
        }
    }
}

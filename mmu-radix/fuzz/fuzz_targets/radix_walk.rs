//! Walks and edits a hostile table image: the input is the L1 memory the tree lives in
//! (root at offset 0) followed by nothing else; the first bytes also pick the addresses.
//! Whatever the bytes, the crate must return values or typed errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_mmu_radix::{
    translate_at, GuestRealAddr, L1RealAddr, NoInvalidate, Perms, PoolAlloc, RadixTable,
    SliceMemory,
};

const BASE: u64 = 0x100_0000;
const IMAGE: usize = 1 << 20;
const POOL_OFF: u64 = 0xC_0000;

fn word(data: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    for (k, v) in b.iter_mut().enumerate() {
        *v = data.get(i * 8 + k).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let mut image = vec![0u8; IMAGE];
    let n = data.len().min(IMAGE);
    image[..n].copy_from_slice(&data[..n]);
    let root = L1RealAddr(BASE);
    let gpas: Vec<u64> = (0..8).map(|i| word(data, i) & ((1 << 53) - 1)).collect();

    {
        let mem = SliceMemory::new(L1RealAddr(BASE), &mut image);
        for &g in &gpas {
            let _ = translate_at(&mem, root, GuestRealAddr(g));
            let _ = translate_at(&mem, root, GuestRealAddr(g & !0xFFF));
        }
    }

    // Adopt the hostile tree and edit it; table pages come from the top of the image.
    let mem = SliceMemory::new(L1RealAddr(BASE), &mut image);
    let Ok(pool) = PoolAlloc::<64>::new(L1RealAddr(BASE + POOL_OFF), IMAGE as u64 - POOL_OFF) else {
        return;
    };
    let Ok(mut t) = RadixTable::adopt(mem, pool, root) else { return };
    let mut bitmap = [0u64; 8];
    for (i, &g) in gpas.iter().enumerate() {
        let gpa = GuestRealAddr(g & !0xFFF);
        let len = (word(data, 8 + i) & 0x3FF_F000).max(0x1000);
        let _ = t.map(gpa, L1RealAddr(word(data, 16 + i) & 0xFFFF_F000), len, Perms::RWX);
        let _ = t.protect(gpa, len, Perms::R, &mut NoInvalidate);
        let _ = t.harvest_dirty(gpa, 0x1000 * 64 * 8, &mut bitmap, true, &mut NoInvalidate);
        let _ = t.set_rc(GuestRealAddr(g), true);
        let _ = t.unmap(gpa, len, &mut NoInvalidate);
    }
});

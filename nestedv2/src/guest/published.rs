//! `TableCell`: a guest's radix table behind its lock, with its root and
//! [`generation`](papr_mmu_radix::RadixTable::generation) readable without the lock — what
//! the per-vCPU instruction-fetch cache checks on every MMIO exit.

use super::GuestRadixTable;
use crate::host::Backend;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU64, Ordering};
use papr_hcall::L1RealAddr;
use papr_mmu_radix::TableAlloc;
use spin::{Mutex, MutexGuard};

/// The table, locked by [`lock`](Self::lock); each guard publishes the table's generation
/// when it is dropped, before the lock is released. The root never changes.
///
/// A reader of [`generation`](Self::generation) sees the generation of the last change
/// whose guard is gone, or an older one while a change is under way: a cached translation
/// keyed by it is then one from before that change, as if the fetch had happened just
/// before it (the same as an uncached walk racing the change).
pub(crate) struct TableCell<P: Backend, A: TableAlloc> {
    table: Mutex<GuestRadixTable<P, A>>,
    generation: AtomicU64,
    root: L1RealAddr,
}

impl<P: Backend, A: TableAlloc> TableCell<P, A> {
    /// Wraps `table`.
    pub(crate) fn new(table: GuestRadixTable<P, A>) -> Self {
        Self {
            generation: AtomicU64::new(table.generation()),
            root: table.root(),
            table: Mutex::new(table),
        }
    }

    /// Locks the table.
    pub(crate) fn lock(&self) -> TableGuard<'_, P, A> {
        TableGuard {
            guard: self.table.lock(),
            published: &self.generation,
        }
    }

    /// The root of the tree (fixed at creation).
    pub(crate) fn root(&self) -> L1RealAddr {
        self.root
    }

    /// The generation published by the last guard dropped.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// The locked table; publishes its generation when dropped.
pub(crate) struct TableGuard<'a, P: Backend, A: TableAlloc> {
    guard: MutexGuard<'a, GuestRadixTable<P, A>>,
    published: &'a AtomicU64,
}

impl<P: Backend, A: TableAlloc> Deref for TableGuard<'_, P, A> {
    type Target = GuestRadixTable<P, A>;
    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl<P: Backend, A: TableAlloc> DerefMut for TableGuard<'_, P, A> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl<P: Backend, A: TableAlloc> Drop for TableGuard<'_, P, A> {
    fn drop(&mut self) {
        // Still under the lock (the guard field is dropped after this).
        self.published
            .store(self.guard.generation(), Ordering::Release);
    }
}

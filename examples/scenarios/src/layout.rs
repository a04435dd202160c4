//! Where each action of an L2 program is, so that NIAs can be traced by action, not by
//! address (the two L0s place the same program differently).

use crate::scenario::L2Op;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Addresses of one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// First instruction of the action (where the L1 resumes to run it).
    pub start: u64,
    /// The instruction that exits (for a fetch: its target).
    pub exit: u64,
    /// The action.
    pub op: L2Op,
}

/// The addresses of a program's actions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    /// One per action.
    pub slots: Vec<Slot>,
    /// Where execution goes after the last action.
    pub end: u64,
}

/// What kind of address an NIA is, for [`Layout::symbol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NiaKind {
    /// The faulting data access of an HDSI.
    DataAccess,
    /// The fetch target of an HISI.
    Fetch,
    /// The instruction of an HEAI.
    Illegal,
    /// Where the L2 will resume (after an hcall, an HDEC, a GET).
    Resume,
}

impl Layout {
    /// The software L0's model (`papr_hcall::sim`): every load, store, hcall and illegal
    /// instruction is 4 bytes at NIA; a fetch moves NIA to its target; the HDEC spin does
    /// not move NIA.
    pub fn scripted(entry: u64, program: &[L2Op]) -> Self {
        let mut nia = entry;
        let mut slots = Vec::with_capacity(program.len());
        for op in program {
            let (exit, next) = match *op {
                L2Op::Fetch { gpa } => (gpa, gpa),
                L2Op::WaitHdec => (nia, nia),
                _ => (nia, nia.wrapping_add(4)),
            };
            slots.push(Slot {
                start: nia,
                exit,
                op: *op,
            });
            nia = next;
        }
        Layout { slots, end: nia }
    }

    /// Where action `action` starts (the end of the program for `action == len`).
    pub fn start(&self, action: usize) -> u64 {
        self.slots.get(action).map_or(self.end, |s| s.start)
    }

    /// The action whose exiting instruction is `nia`, for an exit of `kind`.
    pub fn action_at(&self, nia: u64, kind: NiaKind) -> Option<usize> {
        let fits = |op: &L2Op| match kind {
            NiaKind::DataAccess => matches!(op, L2Op::Load { .. } | L2Op::Store { .. }),
            NiaKind::Fetch => matches!(op, L2Op::Fetch { .. }),
            NiaKind::Illegal => matches!(op, L2Op::EmulationAssist { .. }),
            NiaKind::Resume => false,
        };
        self.slots.iter().position(|s| fits(&s.op) && s.exit == nia)
    }

    /// A backend-independent name for `nia`: `a<k>` (the exiting instruction of action
    /// `k`), `s<k>` (the start of action `k`), `end`, or the raw address.
    pub fn symbol(&self, nia: u64, kind: NiaKind) -> String {
        if let Some(k) = self.action_at(nia, kind) {
            return format!("a{k}");
        }
        if let Some(k) = self.slots.iter().position(|s| s.start == nia) {
            return format!("s{k}");
        }
        if nia == self.end {
            return String::from("end");
        }
        format!("{nia:#x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;
    use alloc::vec;

    #[test]
    fn both_layouts_name_the_same_actions() {
        let p = vec![
            L2Op::hcall(1),
            L2Op::Load {
                gpa: 0x10_0000,
                size: 4,
            },
            L2Op::illegal(0),
            L2Op::Fetch { gpa: 0x20_0000 },
            L2Op::Store {
                gpa: 0x1000,
                size: 8,
                value: 1,
            },
            L2Op::WaitHdec,
        ];
        let a = Layout::scripted(0, &p);
        let b = assemble(0, &p).unwrap().layout;
        for (k, kind) in [
            (1, NiaKind::DataAccess),
            (2, NiaKind::Illegal),
            (3, NiaKind::Fetch),
            (4, NiaKind::DataAccess),
        ] {
            let name = alloc::format!("a{k}");
            assert_eq!(a.symbol(a.slots[k].exit, kind), name);
            assert_eq!(b.symbol(b.slots[k].exit, kind), name);
        }
        assert_eq!(a.symbol(a.start(1), NiaKind::Resume), "s1");
        assert_eq!(b.symbol(b.start(1), NiaKind::Resume), "s1");
        assert_eq!(b.symbol(0xdead_0000, NiaKind::Resume), "0xdead0000");
        assert_eq!(b.start(6), b.end);
    }
}

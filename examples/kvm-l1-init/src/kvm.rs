//! The plain KVM API on book3s HV (`<linux/kvm.h>`, powerpc `_IOC` encoding): one VM of
//! type `KVM_VM_PPC_HV`, one 16 MiB anonymous memslot at GPA 0, one vCPU in PAPR mode
//! (`KVM_ENABLE_CAP(KVM_CAP_PPC_PAPR)`, without which `KVM_RUN` gives EINVAL), real mode,
//! MSR = SF | ME | LE.

use crate::sys::{self, Errno};
use core::ptr::{read_volatile, write_volatile};

/// powerpc `_IOC`: dir (1 none, 2 read, 4 write) << 29 | size << 16 | type << 8 | nr.
const fn ioc(dir: u32, nr: u32, size: u32) -> u32 {
    dir << 29 | size << 16 | 0xAE << 8 | nr
}
/// `KVM_GET_API_VERSION`.
const GET_API_VERSION: u32 = ioc(1, 0x00, 0);
/// `KVM_CREATE_VM`.
const CREATE_VM: u32 = ioc(1, 0x01, 0);
/// `KVM_GET_VCPU_MMAP_SIZE`.
const GET_VCPU_MMAP_SIZE: u32 = ioc(1, 0x04, 0);
/// `KVM_CREATE_VCPU`.
const CREATE_VCPU: u32 = ioc(1, 0x41, 0);
/// `KVM_SET_USER_MEMORY_REGION` (32-byte argument).
const SET_USER_MEMORY_REGION: u32 = ioc(4, 0x46, 32);
/// `KVM_RUN`.
const RUN: u32 = ioc(1, 0x80, 0);
/// `KVM_GET_REGS` (`struct kvm_regs`, 49 u64 on powerpc).
const GET_REGS: u32 = ioc(2, 0x81, REGS_LEN as u32 * 8);
/// `KVM_SET_REGS`.
const SET_REGS: u32 = ioc(4, 0x82, REGS_LEN as u32 * 8);
/// `KVM_ENABLE_CAP` (104-byte argument).
const ENABLE_CAP: u32 = ioc(4, 0xA3, 104);
/// `KVM_CAP_PPC_PAPR`.
const CAP_PPC_PAPR: u32 = 68;
/// `KVM_VM_PPC_HV`.
const VM_PPC_HV: usize = 1;

/// `KVM_EXIT_UNKNOWN`.
pub const EXIT_UNKNOWN: u32 = 0;
/// `KVM_EXIT_MMIO`.
pub const EXIT_MMIO: u32 = 6;
/// `KVM_EXIT_PAPR_HCALL`.
pub const EXIT_PAPR_HCALL: u32 = 19;

/// u64 words of `struct kvm_regs`: pc, cr, ctr, lr, xer, msr, srr0, srr1, pid, sprg0–7,
/// gpr\[32\].
pub const REGS_LEN: usize = 49;
/// Index of `pc` in [`Regs`].
pub const PC: usize = 0;
/// Index of `msr` in [`Regs`].
pub const MSR: usize = 5;
/// Index of `gpr[0]` in [`Regs`].
pub const GPR0: usize = 17;
/// `struct kvm_regs`.
pub type Regs = [u64; REGS_LEN];

/// The L2's RAM: one memslot at GPA 0.
pub const RAM_LEN: usize = 16 << 20;
/// SF | ME | LE: 64-bit, machine checks on, little-endian, real mode.
pub const L2_MSR: u64 = 0x8000_0000_0000_1001;

/// A failed step, named, with the errno.
#[derive(Debug, Clone, Copy)]
pub struct Failed {
    /// What was being done.
    pub step: &'static str,
    /// Its errno.
    pub errno: Errno,
}

/// `Result` with a named failure.
pub type Res<T> = Result<T, Failed>;

/// Names the step of a system call's error.
pub trait Step<T> {
    /// `Err(errno)` becomes `Err(Failed { step, errno })`.
    fn step(self, step: &'static str) -> Res<T>;
}

impl<T> Step<T> for Result<T, Errno> {
    fn step(self, step: &'static str) -> Res<T> {
        self.map_err(|errno| Failed { step, errno })
    }
}

/// One VM with one vCPU and its shared `kvm_run` page.
#[derive(Debug)]
pub struct Machine {
    /// The vCPU's descriptor.
    vcpu: usize,
    /// The mapped `struct kvm_run`.
    run: *mut u8,
    /// The L2's RAM in this process.
    ram: *mut u8,
    /// `KVM_GET_API_VERSION`.
    pub api_version: usize,
}

/// The `ioctl` of [`Machine`]s and their steps.
fn ioctl_val(fd: usize, req: u32, arg: usize, step: &'static str) -> Res<usize> {
    // SAFETY: used only for requests whose argument is a plain value (no memory).
    unsafe { sys::ioctl(fd, req, arg) }.step(step)
}

impl Machine {
    /// Opens `/dev/kvm`, creates the VM, its memslot and the vCPU in PAPR mode.
    pub fn new() -> Res<Self> {
        let kvm = sys::open("/dev/kvm", sys::O_RDWR).step("open /dev/kvm")?;
        let api_version = ioctl_val(kvm, GET_API_VERSION, 0, "KVM_GET_API_VERSION")?;
        let vm = ioctl_val(kvm, CREATE_VM, VM_PPC_HV, "KVM_CREATE_VM(KVM_VM_PPC_HV)")?;
        let ram = sys::mmap(RAM_LEN, sys::MAP_ANON, usize::MAX).step("mmap of the L2 RAM")?;
        let region: [u64; 4] = [0, 0, RAM_LEN as u64, ram as u64];
        // SAFETY: `region` is a `struct kvm_userspace_memory_region` (slot 0, flags 0, GPA 0,
        // size, userspace address) of 32 bytes; the memory it names is ours and stays mapped.
        unsafe { sys::ioctl(vm, SET_USER_MEMORY_REGION, region.as_ptr() as usize) }
            .step("KVM_SET_USER_MEMORY_REGION")?;
        let vcpu = ioctl_val(vm, CREATE_VCPU, 0, "KVM_CREATE_VCPU")?;
        let mut cap = [0u64; 13];
        cap[0] = u64::from(CAP_PPC_PAPR);
        // SAFETY: `cap` is a zeroed 104-byte `struct kvm_enable_cap` with cap = PPC_PAPR.
        unsafe { sys::ioctl(vcpu, ENABLE_CAP, cap.as_ptr() as usize) }
            .step("KVM_ENABLE_CAP(KVM_CAP_PPC_PAPR) on the vCPU")?;
        let len = ioctl_val(kvm, GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE")?;
        let run = sys::mmap(len, sys::MAP_SHARED, vcpu).step("mmap of kvm_run")?;
        Ok(Self {
            vcpu,
            run: run as *mut u8,
            ram: ram as *mut u8,
            api_version,
        })
    }

    /// Writes little-endian instruction words into L2 RAM at `gpa`.
    pub fn write_code(&self, gpa: usize, words: &[u32]) {
        for (i, w) in words.iter().enumerate() {
            let at = gpa + 4 * i;
            if at + 4 <= RAM_LEN {
                // SAFETY: `at + 4 <= RAM_LEN` inside our private mapping of the L2's RAM;
                // the L2 only reads it while `KVM_RUN` runs, never during this write.
                unsafe { write_volatile(self.ram.add(at).cast::<[u8; 4]>(), w.to_le_bytes()) };
            }
        }
    }

    /// `KVM_GET_REGS`.
    pub fn regs(&self) -> Res<Regs> {
        let mut r = [0u64; REGS_LEN];
        // SAFETY: `r` is a `struct kvm_regs` the kernel fills.
        unsafe { sys::ioctl(self.vcpu, GET_REGS, r.as_mut_ptr() as usize) }.step("KVM_GET_REGS")?;
        Ok(r)
    }

    /// `KVM_SET_REGS`.
    pub fn set_regs(&self, r: &Regs) -> Res<()> {
        // SAFETY: `r` is a `struct kvm_regs` the kernel reads.
        unsafe { sys::ioctl(self.vcpu, SET_REGS, r.as_ptr() as usize) }
            .step("KVM_SET_REGS")
            .map(drop)
    }

    /// Points the vCPU at `pc` in real mode with [`L2_MSR`], GPR14 = `r14`, GPR15 = `r15`.
    pub fn enter_at(&self, pc: u64, r14: u64, r15: u64) -> Res<()> {
        let mut r = self.regs()?;
        r[PC] = pc;
        r[MSR] = L2_MSR;
        r[GPR0 + 14] = r14;
        r[GPR0 + 15] = r15;
        self.set_regs(&r)
    }

    /// The little-endian doubleword the L2 stored at `gpa` (0 outside its RAM).
    pub fn read_u64(&self, gpa: usize) -> u64 {
        if !gpa.is_multiple_of(8) || gpa + 8 > RAM_LEN {
            return 0;
        }
        // SAFETY: `gpa + 8 <= RAM_LEN`, 8-byte aligned, inside our private mapping of the
        // L2's RAM; the L2 only writes it while `KVM_RUN` runs, never during this read.
        u64::from_le(unsafe { read_volatile(self.ram.add(gpa).cast::<u64>()) })
    }

    /// `KVM_RUN` (retried on EINTR); the exit reason.
    pub fn run(&self) -> Res<u32> {
        loop {
            // SAFETY: `KVM_RUN` takes no argument.
            match unsafe { sys::ioctl(self.vcpu, RUN, 0) } {
                Ok(_) => return Ok(self.word32(8)),
                Err(Errno(4)) => continue,
                Err(errno) => {
                    return Err(Failed {
                        step: "KVM_RUN",
                        errno,
                    })
                }
            }
        }
    }

    /// The u32 at `off` of `kvm_run`.
    fn word32(&self, off: usize) -> u32 {
        // SAFETY: offsets used are inside the first 64 bytes of the mapped `kvm_run`
        // (header and exit union), 4-byte aligned; the kernel does not write it while we read
        // (only inside `KVM_RUN`).
        unsafe { read_volatile(self.run.add(off).cast::<u32>()) }
    }

    /// The u64 at `off` of `kvm_run`.
    pub fn word64(&self, off: usize) -> u64 {
        // SAFETY: as in `word32`, 8-byte aligned offsets of the first 112 bytes.
        unsafe { read_volatile(self.run.add(off).cast::<u64>()) }
    }

    /// Sets the u64 at `off` of `kvm_run` (`papr_hcall.ret`, `mmio.data`).
    pub fn set_word64(&self, off: usize, v: u64) {
        // SAFETY: as in `word32`; the kernel reads the field at the next `KVM_RUN`.
        unsafe { write_volatile(self.run.add(off).cast::<u64>(), v) }
    }
}

/// `kvm_run.papr_hcall.nr`.
pub const HCALL_NR: usize = 32;
/// `kvm_run.papr_hcall.ret`.
pub const HCALL_RET: usize = 40;
/// `kvm_run.mmio.phys_addr` (`kvm_run.hw.hardware_exit_reason` for unknown exits).
pub const MMIO_ADDR: usize = 32;
/// `kvm_run.mmio.data`.
pub const MMIO_DATA: usize = 40;
/// `kvm_run.mmio.len` (u32) and `is_write` (u8) share this doubleword.
pub const MMIO_LEN: usize = 48;

/// Loads a module with `finit_module`: `/lib/<name>.ko`, or `/lib/<name>.ko.xz` decompressed
/// by the kernel (`MODULE_INIT_COMPRESSED_FILE`); `step` names it in a failure.
pub fn load_module(name: &str, step: &'static str) -> Result<&'static str, Failed> {
    let mut path = [0u8; 64];
    let mut n = 0;
    for b in "/lib/".bytes().chain(name.bytes()).chain(".ko".bytes()) {
        if let Some(slot) = path.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    let plain = core::str::from_utf8(path.get(..n).unwrap_or(&[])).unwrap_or("");
    let (fd, flags, how) = match sys::open(plain, sys::O_RDONLY) {
        Ok(fd) => (fd, 0, "decompressed on the host"),
        Err(_) => {
            for b in ".xz".bytes() {
                if let Some(slot) = path.get_mut(n) {
                    *slot = b;
                    n += 1;
                }
            }
            let xz = core::str::from_utf8(path.get(..n).unwrap_or(&[])).unwrap_or("");
            let fd = sys::open(xz, sys::O_RDONLY).step(step)?;
            (fd, 4, "xz, decompressed by the kernel")
        }
    };
    let params = sys::CStr::new("");
    // SAFETY: an open module file and an empty NUL-terminated parameter string.
    let r = unsafe { sys::syscall(sys::FINIT_MODULE, [fd, params.ptr(), flags, 0, 0, 0]) };
    sys::close(fd);
    match r {
        Ok(_) | Err(Errno(17)) => Ok(how),
        Err(errno) => Err(Failed { step, errno }),
    }
}

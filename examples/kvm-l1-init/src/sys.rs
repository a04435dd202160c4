//! Raw Linux system calls on ppc64le (`sc`: number in r0, arguments in r3–r8, result in r3,
//! CR0\[SO\] set on error with r3 = errno), the console writer, the timebase, and the `mem*`
//! symbols a binary without a C library must provide.

use core::arch::asm;
use core::fmt;
use core::ptr::{read_volatile, write_volatile};

/// `read`.
pub const READ: usize = 3;
/// `write`.
pub const WRITE: usize = 4;
/// `open`.
pub const OPEN: usize = 5;
/// `close`.
pub const CLOSE: usize = 6;
/// `mount`.
pub const MOUNT: usize = 21;
/// `mkdir`.
pub const MKDIR: usize = 39;
/// `ioctl`.
pub const IOCTL: usize = 54;
/// `getppid`.
pub const GETPPID: usize = 64;
/// `reboot`.
pub const REBOOT: usize = 88;
/// `mmap`.
pub const MMAP: usize = 90;
/// `finit_module`.
pub const FINIT_MODULE: usize = 353;

/// `O_RDONLY | O_CLOEXEC`.
pub const O_RDONLY: usize = 0o2_000_000;
/// `O_RDWR | O_CLOEXEC`.
pub const O_RDWR: usize = 0o2_000_002;
/// `O_TRUNC` (or it into the flags).
pub const O_TRUNC: usize = 0o1000;
/// `O_WRONLY | O_CLOEXEC`.
pub const O_WRONLY: usize = 0o2_000_001;

/// A failed system call: the errno it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub isize);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            5 => "EIO",
            9 => "EBADF",
            12 => "ENOMEM",
            14 => "EFAULT",
            16 => "EBUSY",
            17 => "EEXIST",
            19 => "ENODEV",
            22 => "EINVAL",
            25 => "ENOTTY",
            _ => "",
        };
        write!(f, "errno {} {name}", self.0)
    }
}

/// System call `n` with six arguments; `Err(errno)` when the kernel set CR0\[SO\].
///
/// # Safety
/// The arguments must be valid for system call `n` (pointers to memory it may read or write).
pub unsafe fn syscall(n: usize, a: [usize; 6]) -> Result<usize, Errno> {
    let r3: usize;
    let err: usize;
    // SAFETY: `sc` enters the kernel with the caller's arguments (valid per this function's
    // contract); every register the ppc64 system call ABI lets the kernel change is declared.
    unsafe {
        asm!(
            "sc",
            "li {err}, 0",
            "bns+ 1f",
            "li {err}, 1",
            "1:",
            err = out(reg_nonzero) err,
            inlateout("r0") n => _,
            inlateout("r3") a[0] => r3,
            inlateout("r4") a[1] => _,
            inlateout("r5") a[2] => _,
            inlateout("r6") a[3] => _,
            inlateout("r7") a[4] => _,
            inlateout("r8") a[5] => _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("cr0") _,
            out("cr1") _,
            out("cr5") _,
            out("cr6") _,
            out("cr7") _,
            out("ctr") _,
            out("xer") _,
            options(nostack),
        );
    }
    if err != 0 {
        Err(Errno(r3 as isize))
    } else {
        Ok(r3)
    }
}

/// `write(fd, bytes)`, all of it (short writes continue).
pub fn write_all(fd: usize, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the kernel only reads `bytes.len()` bytes from `bytes`.
        let r = unsafe { syscall(WRITE, [fd, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0]) };
        match r {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or(&[]),
            _ => return,
        }
    }
}

/// A NUL-terminated copy of `s` (up to 127 bytes) for a system call.
pub struct CStr([u8; 128]);

impl CStr {
    /// `s` with a NUL appended (cut at 127 bytes).
    pub fn new(s: &str) -> Self {
        let mut b = [0u8; 128];
        for (d, c) in b.iter_mut().zip(s.bytes().take(127)) {
            *d = c;
        }
        Self(b)
    }

    /// The address of the first byte.
    pub fn ptr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

/// `open(path, flags)`.
pub fn open(path: &str, flags: usize) -> Result<usize, Errno> {
    let p = CStr::new(path);
    // SAFETY: `p` is a NUL-terminated path that lives across the call.
    unsafe { syscall(OPEN, [p.ptr(), flags, 0, 0, 0, 0]) }
}

/// `close(fd)`.
pub fn close(fd: usize) {
    // SAFETY: closing a descriptor passes no memory.
    let _ = unsafe { syscall(CLOSE, [fd, 0, 0, 0, 0, 0]) };
}

/// `mkdir(path, 0755)`; an existing folder is fine.
pub fn mkdir(path: &str) -> Result<(), Errno> {
    let p = CStr::new(path);
    // SAFETY: `p` is a NUL-terminated path that lives across the call.
    match unsafe { syscall(MKDIR, [p.ptr(), 0o755, 0, 0, 0, 0]) } {
        Ok(_) | Err(Errno(17)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `mount(source, target, fstype, 0, NULL)`; already mounted (EBUSY) is fine.
pub fn mount(source: &str, target: &str, fstype: &str) -> Result<(), Errno> {
    let (s, t, f) = (CStr::new(source), CStr::new(target), CStr::new(fstype));
    // SAFETY: three NUL-terminated strings that live across the call, no data.
    match unsafe { syscall(MOUNT, [s.ptr(), t.ptr(), f.ptr(), 0, 0, 0]) } {
        Ok(_) | Err(Errno(16)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reads the whole of a small file (procfs) into `buf`; returns the bytes read.
pub fn read_file(path: &str, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = open(path, O_RDONLY)?;
    let mut n = 0;
    while n < buf.len() {
        let rest = buf.get_mut(n..).unwrap_or(&mut []);
        // SAFETY: the kernel writes at most `rest.len()` bytes into `rest`.
        let r = unsafe { syscall(READ, [fd, rest.as_mut_ptr() as usize, rest.len(), 0, 0, 0]) };
        match r {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                close(fd);
                return Err(e);
            }
        }
    }
    close(fd);
    Ok(n)
}

/// Writes `text` into an existing file (tracefs controls).
pub fn write_file(path: &str, text: &str) -> Result<(), Errno> {
    let fd = open(path, O_WRONLY)?;
    // SAFETY: the kernel only reads `text.len()` bytes.
    let r = unsafe { syscall(WRITE, [fd, text.as_ptr() as usize, text.len(), 0, 0, 0]) };
    close(fd);
    r.map(drop)
}

/// `mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0)`.
pub fn mmap(len: usize, flags: usize, fd: usize) -> Result<usize, Errno> {
    // SAFETY: a new mapping chosen by the kernel: no existing memory changes.
    unsafe { syscall(MMAP, [0, len, 3, flags, fd, 0]) }
}

/// `MAP_SHARED`.
pub const MAP_SHARED: usize = 0x01;
/// `MAP_PRIVATE | MAP_ANONYMOUS`.
pub const MAP_ANON: usize = 0x22;

/// `ioctl(fd, req, arg)` with an integer or pointer argument.
///
/// # Safety
/// `arg` must be what `req` expects (a pointer to a structure of the right size, or a value).
pub unsafe fn ioctl(fd: usize, req: u32, arg: usize) -> Result<usize, Errno> {
    // SAFETY: forwarded from the caller's contract.
    unsafe { syscall(IOCTL, [fd, req as usize, arg, 0, 0, 0]) }
}

/// `getppid()`: the cheapest system call, a baseline.
pub fn getppid() -> usize {
    // SAFETY: passes no memory.
    unsafe { syscall(GETPPID, [0; 6]) }.unwrap_or(0)
}

/// `reboot(LINUX_REBOOT_CMD_POWER_OFF)`; returns only when the kernel refuses.
pub fn power_off() -> Errno {
    // SAFETY: the magic numbers and the command pass no memory.
    match unsafe { syscall(REBOOT, [0xfee1_dead, 672_274_793, 0x4321_fedc, 0, 0, 0]) } {
        Ok(_) => Errno(0),
        Err(e) => e,
    }
}

/// Reads the timebase (user mode may: `mftb`).
pub fn timebase() -> u64 {
    let tb: u64;
    // SAFETY: `mftb` only reads the timebase into a general-purpose register.
    unsafe { asm!("mftb {0}", out(reg) tb, options(nomem, nostack, preserves_flags)) };
    tb
}

/// Prints to the console, with a newline.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::sys::Line::new(), format_args!($($arg)*));
    }};
}

/// One console line, buffered (up to 512 bytes) and written with its newline when dropped,
/// so that a line reaches the console in one `write`.
#[derive(Debug)]
pub struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    /// An empty line.
    pub fn new() -> Self {
        Self {
            buf: [0; 512],
            len: 0,
        }
    }
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            } else {
                write_all(1, &self.buf);
                self.buf = [0; 512];
                self.buf[0] = b;
                self.len = 1;
            }
        }
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let _ = fmt::Write::write_str(self, "\n");
        write_all(1, self.buf.get(..self.len).unwrap_or(&[]));
    }
}

/// Copies `n` bytes (no overlap); volatile accesses so that LLVM cannot turn the loop back
/// into a call to itself.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: i < n, ranges from the caller.
        unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
    }
    dst
}

/// Copies `n` bytes between possibly overlapping regions.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) {
        // SAFETY: a forward copy is right when dst is below src; ranges from the caller.
        unsafe { memcpy(dst, src, n) }
    } else {
        for i in (0..n).rev() {
            // SAFETY: i < n, ranges from the caller.
            unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
        }
        dst
    }
}

/// Fills `n` bytes with `c`.
///
/// # Safety
/// `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: i < n, range from the caller.
        unsafe { write_volatile(dst.add(i), c as u8) };
    }
    dst
}

/// Compares `n` bytes.
///
/// # Safety
/// `a` and `b` readable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: i < n, ranges from the caller.
        let (x, y) = unsafe { (read_volatile(a.add(i)), read_volatile(b.add(i))) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// `memcmp` under the name LLVM uses for equality tests.
///
/// # Safety
/// `a` and `b` readable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded.
    unsafe { memcmp(a, b, n) }
}

/// The personality routine the precompiled `core` refers to (it is built with unwinding).
/// This binary aborts on panic (`panic = "abort"`), so it is never called.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// Unwinding's resume entry, which landing pads in the precompiled `core` may refer to; no
/// landing pad runs in a binary that aborts on panic.
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    write_all(1, b"EXIT-BENCH-FAIL _Unwind_Resume\n");
    power_off();
    loop {
        core::hint::spin_loop();
    }
}

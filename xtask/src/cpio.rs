//! A writer for the "new ASCII" (`newc`, magic `070701`) cpio format, the one Linux unpacks as
//! an initramfs (`init/initramfs.c`; `Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Each entry is a 110-byte header (`070701` and 13 fields of 8 hex digits: ino, mode, uid,
//! gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize with its
//! NUL, check), the name and its NUL padded to a multiple of 4, then the data padded to a
//! multiple of 4. The archive ends with the entry `TRAILER!!!`. Names are relative
//! (`bin/busybox`), as the kernel's own `gen_init_cpio` writes them.

/// File type bits of `mode` (`S_IFMT` values).
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFCHR: u32 = 0o020_000;

/// The magic of a `newc` header.
const MAGIC: &[u8; 6] = b"070701";
/// The name of the closing entry.
const TRAILER: &str = "TRAILER!!!";

/// A `newc` archive being written; every entry is owned by root, mtime 0.
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
    next_ino: u32,
}

impl Writer {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// A directory, `perm` e.g. 0o755.
    pub fn dir(&mut self, name: &str, perm: u32) -> Result<(), String> {
        self.entry(name, S_IFDIR | perm, 2, (0, 0), &[])
    }

    /// A regular file with `data`, `perm` e.g. 0o755 for an executable.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> Result<(), String> {
        self.entry(name, S_IFREG | perm, 1, (0, 0), data)
    }

    /// A character device node (`rdev` = `major`, `minor`), e.g. `dev/console` = 5, 1.
    pub fn char_dev(
        &mut self,
        name: &str,
        perm: u32,
        major: u32,
        minor: u32,
    ) -> Result<(), String> {
        self.entry(name, S_IFCHR | perm, 1, (major, minor), &[])
    }

    /// Appends the trailer and returns the archive's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        self.next_ino = 0;
        self.entry(TRAILER, 0, 1, (0, 0), &[])?;
        Ok(self.out)
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Result<(), String> {
        if name.is_empty() || name.starts_with('/') || name.contains('\0') {
            return Err(format!(
                "cpio entry name {name:?}: must be relative, non-empty and without NUL"
            ));
        }
        let size = u32::try_from(data.len())
            .map_err(|_| format!("cpio entry {name:?}: {} bytes exceed 4 GiB", data.len()))?;
        let namesize = u32::try_from(name.len() + 1)
            .map_err(|_| format!("cpio entry name {name:?} is too long"))?;
        let ino = if name == TRAILER {
            0
        } else {
            self.next_ino + 1
        };
        self.next_ino = ino;
        let fields = [
            ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, namesize, 0,
        ];
        self.out.extend_from_slice(MAGIC);
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }
}

/// A strict reader of what [`Writer`] writes, for tests.
#[cfg(test)]
pub mod read {
    use super::{MAGIC, TRAILER};

    /// One parsed entry.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Entry {
        pub ino: u32,
        pub name: String,
        pub mode: u32,
        pub nlink: u32,
        pub rdev: (u32, u32),
        pub data: Vec<u8>,
    }

    fn align4(n: usize) -> usize {
        (n + 3) & !3
    }

    /// An independent reader of `newc`, strict about magic, hex fields, padding and trailer.
    pub fn parse(mut b: &[u8]) -> Vec<Entry> {
        let mut entries = Vec::new();
        let start_len = b.len();
        loop {
            assert_eq!((start_len - b.len()) % 4, 0, "entry not 4-byte aligned");
            assert_eq!(&b[..6], MAGIC, "bad magic");
            let field = |i: usize| -> u32 {
                let s = std::str::from_utf8(&b[6 + 8 * i..14 + 8 * i]).unwrap();
                assert!(s.bytes().all(|c| c.is_ascii_hexdigit()));
                u32::from_str_radix(s, 16).unwrap()
            };
            let (ino, mode, uid, gid, nlink, mtime, size) = (
                field(0),
                field(1),
                field(2),
                field(3),
                field(4),
                field(5),
                field(6) as usize,
            );
            assert_eq!((uid, gid, mtime, field(12)), (0, 0, 0, 0));
            let rdev = (field(9), field(10));
            let namesize = field(11) as usize;
            let name = &b[110..110 + namesize];
            assert_eq!(name.last(), Some(&0), "name without NUL");
            let name = String::from_utf8(name[..namesize - 1].to_vec()).unwrap();
            let data_at = align4(110 + namesize);
            assert!(b[110 + namesize..data_at].iter().all(|&p| p == 0));
            let data = b[data_at..data_at + size].to_vec();
            let next = align4(data_at + size);
            assert!(b[data_at + size..next].iter().all(|&p| p == 0));
            b = &b[next..];
            if name == TRAILER {
                assert!(b.is_empty(), "bytes after the trailer");
                return entries;
            }
            entries.push(Entry {
                ino,
                name,
                mode,
                nlink,
                rdev,
                data,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read::parse;
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = Writer::new();
        w.dir("dev", 0o755).unwrap();
        w.char_dev("dev/console", 0o600, 5, 1).unwrap();
        w.file("init", 0o755, b"#!/bin/busybox sh\necho hi\n")
            .unwrap();
        w.file("empty", 0o644, b"").unwrap();
        w.file("odd", 0o644, b"abcde").unwrap();
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let e = parse(&bytes);
        let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["dev", "dev/console", "init", "empty", "odd"]);
        assert_eq!((e[0].mode, e[0].nlink), (0o040_755, 2));
        assert_eq!((e[1].mode, e[1].rdev), (0o020_600, (5, 1)));
        assert_eq!(e[2].mode, 0o100_755);
        assert_eq!(e[2].data, b"#!/bin/busybox sh\necho hi\n");
        assert!(e[3].data.is_empty());
        assert_eq!(e[4].data, b"abcde");
        // Distinct inode numbers: the kernel links entries with equal (ino, nlink > 1).
        let mut inos: Vec<u32> = e.iter().map(|e| e.ino).collect();
        inos.dedup();
        assert_eq!(inos.len(), e.len());
    }

    #[test]
    fn empty_archive_is_only_the_trailer() {
        let bytes = Writer::new().finish().unwrap();
        assert!(parse(&bytes).is_empty());
        assert_eq!(&bytes[..6], MAGIC);
        assert_eq!(&bytes[110..120], TRAILER.as_bytes());
    }

    #[test]
    fn rejects_bad_names() {
        let mut w = Writer::new();
        assert!(w.dir("/abs", 0o755).unwrap_err().contains("/abs"));
        assert!(w.file("", 0o644, b"").is_err());
        assert!(w.file("a\0b", 0o644, b"").is_err());
    }
}

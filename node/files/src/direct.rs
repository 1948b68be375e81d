//! Direct I/O for a download's output files: verified pieces go from the
//! piece buffer to the disk without passing through the page cache
//! (`O_DIRECT`, open(2)), and the read-back check reads what the disk
//! holds, not a cached copy of what was written.
//!
//! Why: the node makes a piece durable (`fdatasync`) within seconds of
//! writing it anyway, so buffering it in the page cache buys no speed; it
//! costs a copy of every byte, evicts what else the box had cached (a Pi
//! has 1 GiB in all), and lets the read-back check read the cache instead
//! of the card. On a 2-core x86_64 VM a buffered write cost 3.7 CPU-seconds
//! per GiB, a direct one 0.25 (`dd bs=256k` of 1 GiB, with and without
//! `oflag=direct`).
//!
//! Direct I/O needs the buffer's address, the file offset and the length
//! aligned to the device's block size. [`ALIGN`] (4096) covers 512-byte
//! and 4 KiB devices. Anything unaligned (the tail of a file, a piece that
//! straddles two files at an odd offset) and any file system that refuses
//! `O_DIRECT` (tmpfs: `EINVAL` at open) take the buffered path; the bytes
//! and the durability rule are the same either way.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Alignment of direct I/O: buffer address, file offset and length.
pub(crate) const ALIGN: usize = 4096;

/// A byte buffer whose contents start at an [`ALIGN`]-aligned address, as
/// long as it stays within the capacity it was made with (past that, it
/// still works, possibly unaligned: I/O then takes the buffered path).
#[derive(Debug, Default)]
pub(crate) struct AlignedBuf {
    vec: Vec<u8>,
    /// Where the contents start in `vec` (the padding before is unused).
    start: usize,
}

impl AlignedBuf {
    /// An empty buffer with room for `cap` bytes.
    pub(crate) fn with_capacity(cap: usize) -> AlignedBuf {
        let mut vec: Vec<u8> = Vec::with_capacity(cap + ALIGN);
        let start = match vec.as_ptr().align_offset(ALIGN) {
            n if n < ALIGN => n,
            _ => 0,
        };
        vec.resize(start, 0);
        AlignedBuf { vec, start }
    }

    /// Bytes held.
    pub(crate) fn len(&self) -> usize {
        self.vec.len() - self.start
    }

    /// Appends `data`.
    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        self.vec.extend_from_slice(data);
    }

    /// Grows (with zeros) or shrinks to `len` bytes.
    pub(crate) fn resize(&mut self, len: usize) {
        self.vec.resize(self.start + len, 0);
    }

    /// The contents.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.vec[self.start..]
    }

    /// The contents, writable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.vec[self.start..]
    }
}

/// Whether `buf` at file offset `off` may be written or read directly.
pub(crate) fn aligned(buf: &[u8], off: u64) -> bool {
    (buf.as_ptr() as usize) % ALIGN == 0 && buf.len() % ALIGN == 0 && off % ALIGN as u64 == 0
}

/// Opens `path` (an output file that exists) a second time, for direct
/// I/O; `None` where the file system refuses it.
pub(crate) fn open(path: &std::path::Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_NOFOLLOW)
        .open(path)
        .ok()
}

/// Writes `buf` at `off` through `direct` when both are aligned, else
/// through `buffered`. A direct write the kernel refuses (`EINVAL`: an
/// alignment this device needs beyond [`ALIGN`]) is done buffered, and
/// `direct` is dropped so later writes do not try again.
pub(crate) fn write_at(
    direct: &mut Option<File>,
    buffered: &File,
    buf: &[u8],
    off: u64,
) -> std::io::Result<()> {
    if let Some(d) = direct.as_ref().filter(|_| aligned(buf, off)) {
        match d.write_all_at(buf, off) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => *direct = None,
            r => return r,
        }
    }
    buffered.write_all_at(buf, off)
}

/// Fills `buf` from `off` through `direct` when both are aligned, else
/// through `buffered` (as [`write_at`] chooses). Reading past the end of
/// the file is an `UnexpectedEof` error.
pub(crate) fn read_at(
    direct: &mut Option<File>,
    buffered: &File,
    buf: &mut [u8],
    off: u64,
) -> std::io::Result<()> {
    if let Some(d) = direct.as_ref().filter(|_| aligned(buf, off)) {
        match d.read_exact_at(buf, off) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => *direct = None,
            r => return r,
        }
    }
    buffered.read_exact_at(buf, off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_starts_aligned_and_stays_so_within_its_capacity() {
        for cap in [0, 1, 4096, 256 * 1024 + 7] {
            let mut b = AlignedBuf::with_capacity(cap);
            let data = vec![7u8; cap];
            b.extend_from_slice(&data);
            assert_eq!(b.len(), cap);
            assert_eq!(b.as_slice(), &data[..]);
            assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
        }
    }

    #[test]
    fn resize_pads_with_zeros_and_keeps_what_was_there() {
        let mut b = AlignedBuf::with_capacity(10);
        b.extend_from_slice(b"abc");
        b.resize(6);
        assert_eq!(b.as_slice(), b"abc\0\0\0");
        b.as_mut_slice()[4] = b'x';
        b.resize(5);
        assert_eq!(b.as_slice(), b"abc\0x");
    }

    #[test]
    fn only_whole_aligned_blocks_are_direct() {
        let b = {
            let mut b = AlignedBuf::with_capacity(2 * ALIGN);
            b.resize(2 * ALIGN);
            b
        };
        assert!(aligned(b.as_slice(), 0));
        assert!(aligned(b.as_slice(), 3 * ALIGN as u64));
        assert!(!aligned(b.as_slice(), 512));
        assert!(!aligned(&b.as_slice()[..ALIGN + 1], 0));
        assert!(!aligned(&b.as_slice()[1..ALIGN + 1], 0));
    }

    /// Writes and reads through both paths, on whatever file system the
    /// temporary directory is (tmpfs refuses direct I/O: the buffered path
    /// then carries everything).
    #[test]
    fn bytes_written_either_way_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let buffered = crate::layout::open_output(&path).unwrap();
        let mut direct = open(&path);
        let mut piece = AlignedBuf::with_capacity(3 * ALIGN);
        let data: Vec<u8> = (0..3 * ALIGN).map(|i| (i * 31 % 251) as u8).collect();
        piece.extend_from_slice(&data);
        // Aligned: direct where the file system allows it.
        write_at(&mut direct, &buffered, piece.as_slice(), 0).unwrap();
        // Unaligned offset and length: buffered.
        write_at(
            &mut direct,
            &buffered,
            &piece.as_slice()[..100],
            3 * ALIGN as u64 + 5,
        )
        .unwrap();
        let mut back = AlignedBuf::with_capacity(3 * ALIGN);
        back.resize(3 * ALIGN);
        read_at(&mut direct, &buffered, back.as_mut_slice(), 0).unwrap();
        assert_eq!(back.as_slice(), &data[..]);
        let mut tail = vec![0u8; 100];
        read_at(&mut direct, &buffered, &mut tail, 3 * ALIGN as u64 + 5).unwrap();
        assert_eq!(tail, &data[..100]);
        let mut past = vec![0u8; 10];
        let err = read_at(&mut direct, &buffered, &mut past, 10 * ALIGN as u64).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}

//! Writeback that overlaps the copying: dirty pages are handed to the disk as each file (or
//! each 32 MiB of a large one) is written, so the `syncfs` that makes a phase durable finds most
//! of the data already on disk instead of starting all of it at the end. Linux only (elsewhere
//! each file is synced before its rename, and these are plain copies).

use std::fs::File;
use std::path::Path;

/// Bytes copied or written between two writeback requests.
pub const WRITEBACK_STEP: u64 = 32 * 1024 * 1024;

/// Starts writing `len` bytes of `file` from `offset` to disk without waiting (`len` 0: to the
/// end). Only a hint: `syncfs` is what makes the batch durable, so a failure here is ignored.
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range takes a valid open descriptor, which `file` holds for the call.
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                offset as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Copies the file `source` to the new file `dest` in the kernel (`copy_file_range`), starting
/// writeback every [`WRITEBACK_STEP`] bytes; falls back to `std::fs::copy` where the kernel
/// cannot copy between these files. Returns the bytes copied.
pub fn copy_file(source: &Path, dest: &Path) -> std::io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let from = File::open(source)?;
        let to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)?;
        let mut copied = 0u64;
        loop {
            // SAFETY: both descriptors are valid for the call; null offsets use and advance
            // the files' own positions.
            let n = unsafe {
                libc::copy_file_range(
                    from.as_raw_fd(),
                    std::ptr::null_mut(),
                    to.as_raw_fd(),
                    std::ptr::null_mut(),
                    WRITEBACK_STEP as usize,
                    0,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                let unsupported = matches!(
                    e.raw_os_error(),
                    Some(
                        libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL | libc::EPERM
                    )
                );
                if copied == 0 && unsupported {
                    drop(to);
                    std::fs::remove_file(dest)?;
                    return std::fs::copy(source, dest);
                }
                return Err(e);
            }
            if n == 0 {
                return Ok(copied);
            }
            start_writeback(&to, copied, n as u64);
            copied += n as u64;
        }
    }
    #[cfg(not(target_os = "linux"))]
    std::fs::copy(source, dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_byte_across_writeback_steps() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a");
        let size = WRITEBACK_STEP as usize * 2 + 12345;
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        std::fs::write(&source, &data).unwrap();
        let dest = dir.path().join("b");
        assert_eq!(copy_file(&source, &dest).unwrap(), size as u64);
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        // The destination must be new: an existing file is never overwritten.
        assert!(copy_file(&source, &dest).is_err());
    }
}

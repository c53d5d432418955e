//! A memory segment shared with the X server through MIT-SHM, which `shm::GetImage` fills.

use std::fs::File;

use memmap2::{Mmap, MmapOptions};
use rustix::fs::{ftruncate, memfd_create, MemfdFlags};
use x11rb::{connection::Connection, protocol::shm, rust_connection::RustConnection};

/// A memfd mapped here and attached to the X server (MIT-SHM 1.2 `AttachFd`).
///
/// A memfd needs no System V IPC namespace shared with the server, is freed by the kernel
/// when the last user closes it (no leaked segments after a crash), and is private to the
/// two processes holding it.
pub(crate) struct SharedSegment {
    seg: shm::Seg,
    map: Mmap,
}

impl SharedSegment {
    /// Creates a `len`-byte segment and attaches it to the server behind `conn`.
    pub(crate) fn attach(conn: &RustConnection, len: usize) -> Result<SharedSegment, String> {
        let fd = memfd_create("tether-capture", MemfdFlags::CLOEXEC)
            .map_err(|e| format!("memfd_create: {e}"))?;
        ftruncate(&fd, len as u64).map_err(|e| format!("sizing the segment: {e}"))?;
        let file = File::from(fd);
        // SAFETY: the mapping is only read through `image`, after the X server has replied to
        // the `shm::GetImage` that wrote it; the server writes nowhere else, and no other
        // process has the memfd. The file is never truncated after this point, so the mapping
        // stays backed by memory for its whole life.
        let map = unsafe { MmapOptions::new().len(len).map(&file) }
            .map_err(|e| format!("mapping the segment: {e}"))?;
        let seg = conn.generate_id().map_err(|e| e.to_string())?;
        // The server needs write access; sending the fd closes our copy of the duplicate.
        let server_fd = file.try_clone().map_err(|e| e.to_string())?;
        shm::attach_fd(conn, seg, server_fd, false)
            .map_err(|e| e.to_string())?
            .check()
            .map_err(|e| format!("the X server refused the segment: {e}"))?;
        Ok(SharedSegment { seg, map })
    }

    /// The segment's id for `shm::GetImage`.
    pub(crate) fn seg(&self) -> shm::Seg {
        self.seg
    }

    /// The first `len` bytes of the segment (all of it when shorter).
    pub(crate) fn image(&self, len: usize) -> &[u8] {
        &self.map[..len.min(self.map.len())]
    }

    /// The segment's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Tells the server to let go of the segment; our mapping goes when `self` is dropped.
    pub(crate) fn detach(self, conn: &RustConnection) {
        if let Err(error) = shm::detach(conn, self.seg) {
            tracing::debug!(%error, "detaching a shared memory segment");
        }
    }
}

//! Getting the pixels of a root-window area from the server: MIT-SHM or plain `GetImage`.

use std::borrow::Cow;

use x11rb::{
    connection::RequestConnection,
    cookie::Cookie,
    errors::{ConnectionError, ReplyError},
    protocol::{
        shm,
        xproto::{self, ImageFormat, Window},
    },
    rust_connection::RustConnection,
};

use super::{area::Area, shm::SharedSegment};

/// How [`X11Screen`](super::X11Screen) gets pixels from the X server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageTransfer {
    /// MIT-SHM: the server writes the image into memory shared with us (fast, local only).
    SharedMemory,
    /// Core `GetImage`: the image comes through the socket (works everywhere, slower).
    GetImage,
}

impl ImageTransfer {
    /// The X name of the mechanism, for `describe()`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ImageTransfer::SharedMemory => "MIT-SHM",
            ImageTransfer::GetImage => "GetImage",
        }
    }
}

/// The chosen mechanism with what it needs.
pub(crate) enum Transfer {
    Shared(SharedSegment),
    Plain,
}

/// An image request sent to the server, not yet answered.
pub(crate) enum PendingImage<'a> {
    /// The image will be in the first `usize` bytes of the segment.
    Shared(
        Cookie<'a, RustConnection, shm::GetImageReply>,
        &'a SharedSegment,
        usize,
    ),
    /// The image will be in the reply.
    Plain(Cookie<'a, RustConnection, xproto::GetImageReply>),
}

impl Transfer {
    /// Which mechanism this is.
    pub(crate) fn kind(&self) -> ImageTransfer {
        match self {
            Transfer::Shared(_) => ImageTransfer::SharedMemory,
            Transfer::Plain => ImageTransfer::GetImage,
        }
    }

    /// Makes room for images of `len` bytes (a new segment if the current one is too small).
    pub(crate) fn ensure_capacity(
        &mut self,
        conn: &RustConnection,
        len: usize,
    ) -> Result<(), String> {
        if let Transfer::Shared(segment) = self {
            if segment.len() < len {
                let bigger = SharedSegment::attach(conn, len)?;
                if let Transfer::Shared(old) = std::mem::replace(self, Transfer::Shared(bigger)) {
                    old.detach(conn);
                }
            }
        }
        Ok(())
    }

    /// Asks for the `len`-byte `ZPixmap` image of `area` of `root` without waiting.
    pub(crate) fn request<'a>(
        &'a self,
        conn: &'a RustConnection,
        root: Window,
        area: Area,
        len: usize,
    ) -> Result<PendingImage<'a>, ConnectionError> {
        // Lossless: areas are the root window (origin 0,0) or a RandR monitor (16-bit signed
        // origin) clipped to it, and at most MAX_DIMENSION pixels a side (`blank_frame`).
        let (x, y) = (area.x as i16, area.y as i16);
        let (width, height) = (area.width as u16, area.height as u16);
        Ok(match self {
            Transfer::Shared(segment) => PendingImage::Shared(
                shm::get_image(
                    conn,
                    root,
                    x,
                    y,
                    width,
                    height,
                    !0,
                    ImageFormat::Z_PIXMAP.into(),
                    segment.seg(),
                    0,
                )?,
                segment,
                len,
            ),
            Transfer::Plain => PendingImage::Plain(xproto::get_image(
                conn,
                ImageFormat::Z_PIXMAP,
                root,
                x,
                y,
                width,
                height,
                !0,
            )?),
        })
    }
}

impl<'a> PendingImage<'a> {
    /// Waits for the image: in the shared segment or in the reply.
    pub(crate) fn wait(self) -> Result<Cow<'a, [u8]>, ReplyError> {
        match self {
            PendingImage::Shared(cookie, segment, len) => {
                cookie.reply()?;
                Ok(Cow::Borrowed(segment.image(len)))
            }
            PendingImage::Plain(cookie) => Ok(Cow::Owned(cookie.reply()?.data)),
        }
    }
}

/// Whether the server offers MIT-SHM with file-descriptor passing (version 1.2).
pub(crate) fn shared_memory_supported(conn: &RustConnection) -> Result<bool, String> {
    if conn
        .extension_information(shm::X11_EXTENSION_NAME)
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Ok(false);
    }
    let version = shm::query_version(conn)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| e.to_string())?;
    Ok((version.major_version, version.minor_version) >= (1, 2))
}

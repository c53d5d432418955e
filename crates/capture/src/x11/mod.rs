//! [`X11Screen`]: the X11 root window (or one of its monitors) as a [`ScreenSource`].

mod area;
mod cursor;
mod errors;
mod layout;
mod monitors;
mod shm;
mod transfer;
mod wait;

use std::time::{Duration, Instant};

use tether_codec::{Frame, Rect, MAX_DIMENSION};
use tether_screen::{CaptureError, Captured, CursorImage, CursorState, Damage, ScreenSource};
use x11rb::{
    connection::{Connection, RequestConnection},
    errors::{ConnectionError, ReplyError},
    protocol::{
        damage, randr,
        xfixes::{self, ConnectionExt as _},
        xproto::{ConnectionExt as _, ImageOrder, Screen, Setup, VisualClass, Window},
        Event,
    },
    rust_connection::RustConnection,
    NONE,
};

use self::{
    area::{clip_damage, Area, MAX_DAMAGE_RECTS},
    errors::{connection_error, reply_error},
    layout::{PixelLayout, VisualFormat},
    shm::SharedSegment,
    transfer::{shared_memory_supported, Transfer},
};
use crate::{Monitor, MonitorChoice};

pub use self::transfer::ImageTransfer;

/// Captures an X11 screen: the whole root window or one RandR monitor of it.
///
/// - Pixels come through MIT-SHM (a memfd shared with the server) or, where the server
///   cannot share memory with us, plain `GetImage`; [`describe`](ScreenSource::describe)
///   says which.
/// - XDamage on the root window tells which rectangles changed between captures
///   ([`capture_with_damage`](ScreenSource::capture_with_damage)) and wakes
///   [`wait_for_change`](ScreenSource::wait_for_change).
/// - RandR screen changes are followed: the next capture has the new size.
/// - XFixes reports cursor changes; the pointer is not part of the frames.
///
/// Only TrueColor root visuals with 24- or 32-bit pixels (8 bits per channel) are supported.
pub struct X11Screen {
    conn: RustConnection,
    display: String,
    root: Window,
    layout: PixelLayout,
    transfer: Transfer,
    choice: MonitorChoice,
    randr_monitors: bool,
    /// The captured part of the root window.
    area: Area,
    frame: Frame,
    damage: damage::Damage,
    /// Regions receiving the damage taken just before and just after each image request.
    regions: [xfixes::Region; 2],
    /// Damage taken right after the last image request: it may have happened after the
    /// image was taken, so the next capture reports it again. `None`: unknown.
    carry: Option<Vec<Area>>,
    /// The damage of the latest capture, in frame coordinates; `None`: unknown.
    reported: Option<Vec<Rect>>,
    /// Damage arrived since the latest capture (or nothing was captured yet).
    changed: bool,
    /// RandR said the screen changed: re-read the geometry before capturing.
    reconfigured: bool,
    /// XFixes said the cursor image changed since the last [`ScreenSource::cursor`] call.
    cursor_changed: bool,
    cursor_image: Option<CursorImage>,
}

impl X11Screen {
    /// Connects to `display` (`None`: the `DISPLAY` environment variable) and prepares to
    /// capture `monitor`, through MIT-SHM when the server offers it, plain `GetImage`
    /// otherwise.
    ///
    /// Fails with [`CaptureError::Unavailable`] when there is no display, the server lacks
    /// the DAMAGE or XFIXES extension, or its root visual cannot be converted to BGRA.
    pub fn open(display: Option<&str>, monitor: MonitorChoice) -> Result<X11Screen, CaptureError> {
        Self::connect(display, monitor, None)
    }

    /// Like [`open`](Self::open), with the pixel transfer chosen by the caller; fails when
    /// [`ImageTransfer::SharedMemory`] is asked for and the server cannot share memory.
    pub fn open_with_transfer(
        display: Option<&str>,
        monitor: MonitorChoice,
        transfer: ImageTransfer,
    ) -> Result<X11Screen, CaptureError> {
        Self::connect(display, monitor, Some(transfer))
    }

    /// The monitors of `display`'s screen (RandR 1.5), in the order
    /// [`MonitorChoice::Index`] counts them. Without RandR 1.5, the whole screen is the one
    /// monitor.
    pub fn monitors(display: Option<&str>) -> Result<Vec<Monitor>, CaptureError> {
        let name = display_name(display)?;
        let (conn, screen) = connect(&name)?;
        let root = screen.root;
        let randr_monitors = monitors::randr_version(&conn).is_some_and(|v| v >= (1, 5));
        let root_area = root_area(&conn, root)?;
        monitors::list(&conn, root, root_area, randr_monitors)
    }

    /// How pixels are transferred from the server.
    pub fn transfer(&self) -> ImageTransfer {
        self.transfer.kind()
    }

    fn connect(
        display: Option<&str>,
        choice: MonitorChoice,
        wanted: Option<ImageTransfer>,
    ) -> Result<X11Screen, CaptureError> {
        let name = display_name(display)?;
        let (conn, screen) = connect(&name)?;
        let root = screen.root;
        let layout = pixel_layout(conn.setup(), &screen)?;
        require_extensions(&conn)?;
        let randr = monitors::randr_version(&conn);
        let randr_monitors = randr.is_some_and(|v| v >= (1, 5));
        let area = current_area(&conn, root, choice, randr_monitors)?;
        let frame = blank_frame(area)?;
        let transfer = choose_transfer(&conn, wanted, layout.image_len(area.width, area.height))?;

        let damage = conn.generate_id().map_err(reply_error)?;
        damage::create(&conn, damage, root, damage::ReportLevel::NON_EMPTY)
            .map_err(connection_error)?;
        let regions = [
            conn.generate_id().map_err(reply_error)?,
            conn.generate_id().map_err(reply_error)?,
        ];
        for region in regions {
            conn.xfixes_create_region(region, &[])
                .map_err(connection_error)?;
        }
        conn.xfixes_select_cursor_input(root, xfixes::CursorNotifyMask::DISPLAY_CURSOR)
            .map_err(connection_error)?;
        if randr.is_some() {
            let mask = randr::NotifyMask::SCREEN_CHANGE
                | randr::NotifyMask::CRTC_CHANGE
                | randr::NotifyMask::OUTPUT_CHANGE;
            randr::select_input(&conn, root, mask)
                .map_err(connection_error)?
                .check()
                .map_err(reply_error)?;
        }
        tracing::debug!(display = %name, ?area, transfer = transfer.kind().name(), "X11 capture ready");
        Ok(X11Screen {
            frame,
            conn,
            display: name,
            root,
            layout,
            transfer,
            choice,
            randr_monitors,
            area,
            damage,
            regions,
            carry: None,
            reported: None,
            changed: true,
            reconfigured: false,
            cursor_changed: true,
            cursor_image: None,
        })
    }

    /// Reads the events that arrived, noting damage, screen and cursor changes.
    fn drain_events(&mut self) -> Result<(), CaptureError> {
        while let Some(event) = self.conn.poll_for_event().map_err(connection_error)? {
            match event {
                Event::DamageNotify(_) => self.changed = true,
                Event::RandrScreenChangeNotify(_) | Event::RandrNotify(_) => {
                    self.reconfigured = true;
                    self.changed = true;
                }
                Event::XfixesCursorNotify(_) => self.cursor_changed = true,
                Event::Error(error) => tracing::debug!(?error, "X error"),
                _ => {}
            }
        }
        Ok(())
    }

    /// Re-reads the screen geometry (and monitors) and adapts the frame and the transfer.
    fn reconfigure(&mut self) -> Result<(), CaptureError> {
        self.reconfigured = false;
        let area = current_area(&self.conn, self.root, self.choice, self.randr_monitors)?;
        if area == self.area {
            return Ok(());
        }
        tracing::info!(old = ?self.area, new = ?area, "the captured area changed");
        // Checked first: the frame's size limits bound the shared segment too.
        if (area.width, area.height) != (self.area.width, self.area.height) {
            self.frame = blank_frame(area)?;
        }
        let len = self.layout.image_len(area.width, area.height);
        self.transfer
            .ensure_capacity(&self.conn, len)
            .map_err(CaptureError::Failed)?;
        self.area = area;
        self.carry = None;
        Ok(())
    }

    /// Captures into the frame, re-reading the geometry first when RandR said it changed, and
    /// once more after a failure (the screen may have shrunk under the request).
    fn capture_frame(&mut self) -> Result<(), CaptureError> {
        self.drain_events()?;
        if self.reconfigured {
            self.reconfigure()?;
        }
        match self.grab() {
            Err(CaptureError::Failed(reason)) => {
                tracing::debug!(%reason, "capture failed; re-reading the screen geometry");
                self.reconfigure()?;
                self.grab()
            }
            result => result,
        }
    }

    /// One capture: the image between two damage subtractions.
    ///
    /// Damage taken before the image request is all in the image. Damage taken after it may
    /// have happened before or after the image was taken, so it is reported now and again
    /// with the next capture. Together they cover every change since the previous image,
    /// without grabbing the server.
    fn grab(&mut self) -> Result<(), CaptureError> {
        self.reported = None;
        self.changed = false;
        let [before, after] = self.regions;
        let (width, height) = (self.area.width, self.area.height);
        let len = self.layout.image_len(width, height);
        let conn = &self.conn;
        let sent = (|| -> Result<_, ConnectionError> {
            damage::subtract(conn, self.damage, NONE, before)?;
            let image = self.transfer.request(conn, self.root, self.area, len)?;
            damage::subtract(conn, self.damage, NONE, after)?;
            let before = conn.xfixes_fetch_region(before)?;
            let after = conn.xfixes_fetch_region(after)?;
            Ok((image, before, after))
        })();
        let (image, damage_before, damage_after) = sent.map_err(connection_error)?;
        let replies = (|| -> Result<_, ReplyError> {
            Ok((image.wait()?, damage_before.reply()?, damage_after.reply()?))
        })();
        let (image, damage_before, damage_after) = match replies {
            Ok(replies) => replies,
            Err(error) => {
                // The subtractions took damage we will never see: the next damage is unknown.
                self.carry = None;
                return Err(reply_error(error));
            }
        };
        let after = clip_damage(
            damage_after.rectangles.iter().map(x_area),
            self.area,
            MAX_DAMAGE_RECTS,
        );
        if let Some(carry) = self.carry.take() {
            let all = carry
                .into_iter()
                .chain(damage_before.rectangles.iter().map(x_area))
                .chain(after.iter().copied());
            let rects = clip_damage(all, self.area, MAX_DAMAGE_RECTS);
            self.reported = Some(rects.iter().map(|a| a.relative_to(self.area)).collect());
        }
        // The frame holds the previous image, so only the damage needs converting.
        let everything = [Rect {
            x: 0,
            y: 0,
            width,
            height,
        }];
        let rects = self.reported.as_deref().unwrap_or(&everything);
        if let Err(reason) =
            self.layout
                .write_bgra(&image, width, height, self.frame.pixels_mut(), rects)
        {
            self.reported = None;
            return Err(CaptureError::Failed(reason));
        }
        self.carry = Some(after);
        Ok(())
    }
}

impl ScreenSource for X11Screen {
    fn describe(&self) -> String {
        let Area {
            x,
            y,
            width,
            height,
        } = self.area;
        let what = match self.choice {
            MonitorChoice::All => format!("{width}x{height}"),
            MonitorChoice::Index(index) => format!("monitor {index} {width}x{height}{x:+}{y:+}"),
        };
        format!(
            "X11 {} {what} via {}",
            self.display,
            self.transfer.kind().name()
        )
    }

    fn capture(&mut self) -> Result<&Frame, CaptureError> {
        self.capture_frame()?;
        Ok(&self.frame)
    }

    fn capture_with_damage(&mut self) -> Result<Captured<'_>, CaptureError> {
        self.capture_frame()?;
        Ok(Captured {
            frame: &self.frame,
            damage: self
                .reported
                .as_deref()
                .map_or(Damage::Unknown, Damage::Rects),
        })
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, CaptureError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain_events()?;
            if self.changed || self.reconfigured {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.conn.flush().map_err(connection_error)?;
            wait::wait_readable(self.conn.stream(), left).map_err(|error| {
                CaptureError::Unavailable(format!("waiting for the X server: {error}"))
            })?;
        }
    }

    fn cursor(&mut self) -> Result<Option<CursorState<'_>>, CaptureError> {
        self.drain_events()?;
        let pointer = self
            .conn
            .query_pointer(self.root)
            .map_err(connection_error)?;
        // Cleared before asking, so a change while the request is under way is seen next time.
        let image = if self.cursor_changed {
            self.cursor_changed = false;
            Some(
                self.conn
                    .xfixes_get_cursor_image()
                    .map_err(connection_error)?,
            )
        } else {
            None
        };
        let pointer = pointer.reply().map_err(reply_error)?;
        let image_changed = match image {
            Some(cookie) => {
                let reply = cookie.reply().map_err(reply_error)?;
                self.cursor_image = cursor::cursor_image(&reply)
                    .inspect_err(|reason| tracing::debug!(%reason, "ignoring a cursor image"))
                    .ok();
                true
            }
            None => false,
        };
        if !pointer.same_screen {
            return Ok(None);
        }
        Ok(Some(CursorState {
            x: i32::from(pointer.root_x) - self.area.x,
            y: i32::from(pointer.root_y) - self.area.y,
            image: self.cursor_image.as_ref().filter(|_| image_changed),
        }))
    }
}

/// `display`, or `$DISPLAY`, refusing an empty one.
fn display_name(display: Option<&str>) -> Result<String, CaptureError> {
    let name = match display {
        Some(name) => name.to_owned(),
        None => std::env::var("DISPLAY").unwrap_or_default(),
    };
    if name.is_empty() {
        return Err(CaptureError::Unavailable(
            "no X display: DISPLAY is not set (is this an X11 session?)".to_owned(),
        ));
    }
    Ok(name)
}

/// Connects to `display` and returns its default screen.
fn connect(display: &str) -> Result<(RustConnection, Screen), CaptureError> {
    let (conn, number) = x11rb::connect(Some(display)).map_err(|error| {
        CaptureError::Unavailable(format!("cannot connect to X display {display}: {error}"))
    })?;
    let screen = conn.setup().roots.get(number).cloned().ok_or_else(|| {
        CaptureError::Unavailable(format!("X display {display} has no screen {number}"))
    })?;
    Ok((conn, screen))
}

/// The layout of the root visual's images, refusing visuals we cannot convert.
fn pixel_layout(setup: &Setup, screen: &Screen) -> Result<PixelLayout, CaptureError> {
    let unavailable = |reason: String| {
        CaptureError::Unavailable(format!("unsupported X screen format: {reason}"))
    };
    let (depth, visual) = screen
        .allowed_depths
        .iter()
        .find_map(|depth| {
            let visual = depth
                .visuals
                .iter()
                .find(|v| v.visual_id == screen.root_visual)?;
            Some((depth.depth, visual))
        })
        .ok_or_else(|| unavailable("the root visual is not listed".to_owned()))?;
    if visual.class != VisualClass::TRUE_COLOR {
        return Err(unavailable(format!(
            "the root visual is {:?}, only TrueColor is supported",
            visual.class
        )));
    }
    if depth != 24 && depth != 32 {
        return Err(unavailable(format!(
            "the root window is {depth} bits deep, only 24 and 32 are supported"
        )));
    }
    let format = setup
        .pixmap_formats
        .iter()
        .find(|f| f.depth == depth)
        .ok_or_else(|| unavailable(format!("no pixmap format for depth {depth}")))?;
    PixelLayout::new(VisualFormat {
        bits_per_pixel: format.bits_per_pixel,
        scanline_pad: format.scanline_pad,
        msb_first: setup.image_byte_order == ImageOrder::MSB_FIRST,
        red_mask: visual.red_mask,
        green_mask: visual.green_mask,
        blue_mask: visual.blue_mask,
    })
    .map_err(unavailable)
}

/// Checks for DAMAGE 1.1 and XFIXES 2 (regions), announcing the versions we speak.
fn require_extensions(conn: &RustConnection) -> Result<(), CaptureError> {
    for name in [damage::X11_EXTENSION_NAME, xfixes::X11_EXTENSION_NAME] {
        if conn
            .extension_information(name)
            .map_err(connection_error)?
            .is_none()
        {
            return Err(CaptureError::Unavailable(format!(
                "the X server lacks the {name} extension"
            )));
        }
    }
    let xfixes = conn
        .xfixes_query_version(5, 0)
        .map_err(connection_error)?
        .reply()
        .map_err(reply_error)?;
    if xfixes.major_version < 2 {
        return Err(CaptureError::Unavailable(format!(
            "XFIXES {}.{} is too old (2.0 needed)",
            xfixes.major_version, xfixes.minor_version
        )));
    }
    damage::query_version(conn, 1, 1)
        .map_err(connection_error)?
        .reply()
        .map_err(reply_error)?;
    Ok(())
}

/// The root window's area.
fn root_area(conn: &RustConnection, root: Window) -> Result<Area, CaptureError> {
    let geometry = conn
        .get_geometry(root)
        .map_err(connection_error)?
        .reply()
        .map_err(reply_error)?;
    Ok(Area {
        x: 0,
        y: 0,
        width: geometry.width.into(),
        height: geometry.height.into(),
    })
}

/// The root-window area `choice` captures now.
fn current_area(
    conn: &RustConnection,
    root: Window,
    choice: MonitorChoice,
    randr_monitors: bool,
) -> Result<Area, CaptureError> {
    let root_area = root_area(conn, root)?;
    let monitors = match choice {
        MonitorChoice::All => Vec::new(),
        MonitorChoice::Index(_) => monitors::list(conn, root, root_area, randr_monitors)?,
    };
    monitors::capture_area(choice, root_area, &monitors)
}

/// The transfer to use: the one `wanted`, or MIT-SHM when possible and `GetImage` otherwise.
fn choose_transfer(
    conn: &RustConnection,
    wanted: Option<ImageTransfer>,
    len: usize,
) -> Result<Transfer, CaptureError> {
    if wanted == Some(ImageTransfer::GetImage) {
        return Ok(Transfer::Plain);
    }
    let shared = shared_memory_supported(conn).and_then(|supported| {
        if supported {
            SharedSegment::attach(conn, len)
        } else {
            Err("the server lacks MIT-SHM 1.2".to_owned())
        }
    });
    match (shared, wanted) {
        (Ok(segment), _) => Ok(Transfer::Shared(segment)),
        (Err(reason), Some(ImageTransfer::SharedMemory)) => Err(CaptureError::Unavailable(
            format!("MIT-SHM unavailable: {reason}"),
        )),
        (Err(reason), _) => {
            tracing::info!(%reason, "MIT-SHM unavailable, capturing with GetImage");
            Ok(Transfer::Plain)
        }
    }
}

/// A blank frame of `area`'s size, refusing sizes a frame cannot have.
fn blank_frame(area: Area) -> Result<Frame, CaptureError> {
    let valid = 1..=MAX_DIMENSION;
    if !valid.contains(&area.width) || !valid.contains(&area.height) {
        return Err(CaptureError::Failed(format!(
            "cannot capture {}x{}: frames are 1 to {MAX_DIMENSION} pixels a side",
            area.width, area.height
        )));
    }
    Ok(Frame::blank(area.width, area.height))
}

/// An X rectangle as an [`Area`].
fn x_area(rect: &x11rb::protocol::xproto::Rectangle) -> Area {
    Area {
        x: rect.x.into(),
        y: rect.y.into(),
        width: rect.width.into(),
        height: rect.height.into(),
    }
}

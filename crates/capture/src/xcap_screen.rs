//! [`XcapScreen`]: capture through the xcap crate, for platforms without [`X11Screen`](crate::X11Screen).

use tether_codec::{Frame, MAX_DIMENSION};
use tether_screen::{CaptureError, ScreenSource};

use crate::{Monitor, MonitorChoice};

/// Captures one monitor through the xcap crate (Wayland through its portal, Windows, macOS,
/// X11). It knows no damage and no cursor: every capture is a full frame and
/// [`wait_for_change`](ScreenSource::wait_for_change) returns at once. On Linux X11 it opens a
/// new X connection per capture, so prefer [`X11Screen`](crate::X11Screen) there.
pub struct XcapScreen {
    monitor: xcap::Monitor,
    name: String,
    frame: Frame,
}

impl XcapScreen {
    /// Prepares to capture `choice`: [`MonitorChoice::All`] is the primary monitor (xcap
    /// captures one monitor at a time), [`MonitorChoice::Index`] counts like
    /// [`monitors`](Self::monitors).
    pub fn open(choice: MonitorChoice) -> Result<XcapScreen, CaptureError> {
        let all = xcap::Monitor::all().map_err(unavailable)?;
        let monitor = match choice {
            MonitorChoice::All => all
                .iter()
                .find(|m| m.is_primary().unwrap_or(false))
                .or(all.first()),
            MonitorChoice::Index(index) => all.get(index),
        }
        .cloned()
        .ok_or_else(|| {
            CaptureError::Unavailable(format!(
                "xcap lists {} monitors, none matches {choice:?}",
                all.len()
            ))
        })?;
        let name = monitor.name().unwrap_or_else(|_| "monitor".to_owned());
        Ok(XcapScreen {
            monitor,
            name,
            frame: Frame::blank(1, 1),
        })
    }

    /// The monitors xcap sees, in the order [`MonitorChoice::Index`] counts them.
    pub fn monitors() -> Result<Vec<Monitor>, CaptureError> {
        xcap::Monitor::all()
            .map_err(unavailable)?
            .iter()
            .map(|m| {
                Ok(Monitor {
                    name: m.name().map_err(unavailable)?,
                    primary: m.is_primary().unwrap_or(false),
                    x: m.x().map_err(unavailable)?,
                    y: m.y().map_err(unavailable)?,
                    width: m.width().map_err(unavailable)?,
                    height: m.height().map_err(unavailable)?,
                })
            })
            .collect()
    }
}

impl ScreenSource for XcapScreen {
    fn describe(&self) -> String {
        format!(
            "xcap {} {}x{}",
            self.name,
            self.frame.width(),
            self.frame.height()
        )
    }

    fn capture(&mut self) -> Result<&Frame, CaptureError> {
        let image = self
            .monitor
            .capture_image()
            .map_err(|e| CaptureError::Failed(format!("xcap capture: {e}")))?;
        let (width, height) = image.dimensions();
        if (width, height) != (self.frame.width(), self.frame.height()) {
            let valid = 1..=MAX_DIMENSION;
            if !valid.contains(&width) || !valid.contains(&height) {
                return Err(CaptureError::Failed(format!(
                    "xcap returned a {width}x{height} image"
                )));
            }
            self.frame = Frame::blank(width, height);
        }
        let rgba = image.as_raw();
        if rgba.len() != self.frame.pixels().len() {
            return Err(CaptureError::Failed(format!(
                "xcap returned {} bytes for {width}x{height}",
                rgba.len()
            )));
        }
        for (src, dst) in rgba
            .chunks_exact(4)
            .zip(self.frame.pixels_mut().chunks_exact_mut(4))
        {
            dst.copy_from_slice(&[src[2], src[1], src[0], 0xff]);
        }
        Ok(&self.frame)
    }
}

/// xcap cannot list or open monitors here.
fn unavailable(error: xcap::XCapError) -> CaptureError {
    CaptureError::Unavailable(format!("xcap: {error}"))
}

//! RandR monitors of the root window, and the area a [`MonitorChoice`] captures.

use x11rb::{
    connection::RequestConnection,
    protocol::{
        randr,
        xproto::{ConnectionExt as _, Window},
    },
    rust_connection::RustConnection,
};

use super::{area::Area, errors::reply_error};
use crate::{Monitor, MonitorChoice};
use tether_screen::CaptureError;

/// Most monitors read from the server; more are ignored.
const MAX_MONITORS: usize = 64;
/// Longest monitor name kept, in bytes.
const MAX_NAME_LEN: usize = 64;

/// The root window's monitors: RandR 1.5 monitors when `randr_monitors`, otherwise (or when
/// the server lists none) the whole root window as one monitor named `screen`.
pub(crate) fn list(
    conn: &RustConnection,
    root: Window,
    root_area: Area,
    randr_monitors: bool,
) -> Result<Vec<Monitor>, CaptureError> {
    let whole = || Monitor {
        name: "screen".to_owned(),
        primary: true,
        x: root_area.x,
        y: root_area.y,
        width: root_area.width,
        height: root_area.height,
    };
    if !randr_monitors {
        return Ok(vec![whole()]);
    }
    let reply = randr::get_monitors(conn, root, true)
        .map_err(reply_error)?
        .reply()
        .map_err(reply_error)?;
    let infos: Vec<_> = reply.monitors.into_iter().take(MAX_MONITORS).collect();
    let names = infos
        .iter()
        .map(|info| conn.get_atom_name(info.name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(reply_error)?;
    let mut monitors = Vec::with_capacity(infos.len());
    for (info, name) in infos.iter().zip(names) {
        // A monitor without a readable name is still a monitor.
        let name = name.reply().map(|r| r.name).unwrap_or_default();
        let name = String::from_utf8_lossy(&name[..name.len().min(MAX_NAME_LEN)]).into_owned();
        monitors.push(Monitor {
            name,
            primary: info.primary,
            x: info.x.into(),
            y: info.y.into(),
            width: info.width.into(),
            height: info.height.into(),
        });
    }
    if monitors.is_empty() {
        monitors.push(whole());
    }
    Ok(monitors)
}

/// The root-window area `choice` captures, clipped to the root window.
pub(crate) fn capture_area(
    choice: MonitorChoice,
    root_area: Area,
    monitors: &[Monitor],
) -> Result<Area, CaptureError> {
    let MonitorChoice::Index(index) = choice else {
        return Ok(root_area);
    };
    let monitor = monitors.get(index).ok_or_else(|| {
        CaptureError::Failed(format!(
            "there is no monitor {index}: the X server lists {} (0-based)",
            monitors.len()
        ))
    })?;
    let area = Area {
        x: monitor.x,
        y: monitor.y,
        width: monitor.width,
        height: monitor.height,
    };
    area.intersect(root_area).ok_or_else(|| {
        CaptureError::Failed(format!(
            "monitor {index} ({monitor}) lies outside the screen"
        ))
    })
}

/// Whether the server has RandR 1.5 (monitors); errors mean it has not.
pub(crate) fn randr_version(conn: &RustConnection) -> Option<(u32, u32)> {
    conn.extension_information(randr::X11_EXTENSION_NAME)
        .ok()
        .flatten()?;
    let version = randr::query_version(conn, 1, 5).ok()?.reply().ok()?;
    Some((version.major_version, version.minor_version))
}

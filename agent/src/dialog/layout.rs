//! Where everything goes: a dialog's size, what is painted where, where its buttons are, and
//! where on the monitor the window opens. Pure, so it is tested without an X server.

use x11rb::protocol::xproto::Rectangle;

use super::{
    buttons::Button,
    text::{latin1, Line, Style},
};

/// The narrowest request dialog, so a short request does not look like a tooltip.
const MIN_WIDTH: i32 = 320;
/// Space between the live indicator and the top edge of the monitor.
const INDICATOR_MARGIN: i32 = 8;

/// The size of the (monospaced) font's characters, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Metrics {
    /// Width of every character.
    pub char_width: u16,
    /// Height above the baseline.
    pub ascent: u16,
    /// Depth below the baseline.
    pub descent: u16,
}

impl Metrics {
    fn line(self) -> i32 {
        i32::from(self.ascent) + i32::from(self.descent)
    }

    fn width_of(self, text: &str) -> i32 {
        // Bold text is drawn twice, one pixel apart.
        text_len(text) * i32::from(self.char_width) + 1
    }
}

/// The dialog's colours, allocated by the X side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Colour {
    /// The dialog's background.
    Background,
    /// Ordinary text.
    Text,
    /// Buttons' faces.
    Button,
    /// Outlines of buttons and of the digits' box.
    Border,
    /// The security digits' box.
    Highlight,
    /// The live indicator's background: hard to miss.
    Live,
    /// Text on the live indicator.
    LiveText,
}

impl Colour {
    /// Every colour, for allocating them all at once.
    pub(crate) const ALL: [Colour; 7] = [
        Colour::Background,
        Colour::Text,
        Colour::Button,
        Colour::Border,
        Colour::Highlight,
        Colour::Live,
        Colour::LiveText,
    ];

    /// Red, green and blue.
    pub(crate) fn rgb(self) -> (u8, u8, u8) {
        match self {
            Colour::Background => (0xf2, 0xf2, 0xf0),
            Colour::Text => (0x1a, 0x1a, 0x1a),
            Colour::Button => (0xdd, 0xdd, 0xda),
            Colour::Border => (0x70, 0x70, 0x70),
            Colour::Highlight => (0xff, 0xf1, 0xb8),
            Colour::Live => (0xb3, 0x1b, 0x1b),
            Colour::LiveText => (0xff, 0xff, 0xff),
        }
    }
}

/// One drawing operation.
#[derive(Debug, Clone)]
pub(crate) enum Paint {
    /// Fill a rectangle.
    Fill(Rectangle, Colour),
    /// Outline a rectangle (its right and bottom edges fall just inside it).
    Outline(Rectangle, Colour),
    /// Text (ISO 8859-1) starting at `x` on the `baseline`; bold is drawn twice.
    Text {
        /// Left edge.
        x: i16,
        /// The baseline.
        baseline: i16,
        /// The characters, one byte each.
        text: Vec<u8>,
        /// Its colour.
        colour: Colour,
        /// Whether to embolden it.
        bold: bool,
    },
}

/// A window's contents: its size, what to paint, and where its buttons are.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Drawing operations, in order.
    pub paints: Vec<Paint>,
    /// Each button and its area in the window.
    pub buttons: Vec<(Button, Rectangle)>,
}

/// The request dialog: `lines` top to bottom, then `buttons` right-aligned at the bottom.
pub(crate) fn request_scene(lines: &[Line], buttons: &[Button], metrics: Metrics) -> Scene {
    let line_height = metrics.line();
    let pad = line_height;
    let button_width = |button| button_width(button, metrics);
    let button_height = button_height(metrics);
    let gap = i32::from(metrics.char_width) * 2;
    let row = buttons
        .iter()
        .map(|&button| button_width(button) + gap)
        .sum::<i32>()
        - gap;
    let widest = lines
        .iter()
        .map(|line| metrics.width_of(&line.text) + digits_inset(line.style, metrics) * 2)
        .chain([row])
        .max()
        .unwrap_or(0);
    let width = (widest + 2 * pad).max(MIN_WIDTH);

    let mut paints = Vec::new();
    let mut y = pad;
    for line in lines {
        let inset = digits_inset(line.style, metrics);
        if line.style == Style::Digits {
            let area = rect(
                pad,
                y,
                metrics.width_of(&line.text) + 2 * inset,
                line_height + 2 * inset,
            );
            paints.push(Paint::Fill(area, Colour::Highlight));
            paints.push(Paint::Outline(area, Colour::Border));
        }
        paints.push(text(
            pad + inset,
            y + inset + i32::from(metrics.ascent),
            &line.text,
            Colour::Text,
            line.style != Style::Body,
        ));
        y += line_height + 2 * inset + line_height / 2;
    }
    y += line_height / 2;

    let mut x = width - pad - row;
    let mut placed = Vec::new();
    for &button in buttons {
        let area = rect(x, y, button_width(button), button_height);
        paints.extend(button_paints(button, area, metrics));
        placed.push((button, area));
        x += button_width(button) + gap;
    }
    let height = y + button_height + pad;
    Scene {
        width: clamp_u16(width),
        height: clamp_u16(height),
        paints: [
            vec![Paint::Fill(rect(0, 0, width, height), Colour::Background)],
            paints,
        ]
        .concat(),
        buttons: placed,
    }
}

/// The live indicator: `sentence` on a red band, then the End session button.
pub(crate) fn live_scene(sentence: &str, metrics: Metrics) -> Scene {
    let pad = i32::from(metrics.char_width) * 2;
    let button_width = button_width(Button::EndSession, metrics);
    let button_height = button_height(metrics);
    let text_width = metrics.width_of(sentence);
    let width = pad + text_width + pad + button_width + pad;
    let height = button_height + pad;
    let area = rect(
        width - pad - button_width,
        pad / 2,
        button_width,
        button_height,
    );
    let baseline = (height - metrics.line()) / 2 + i32::from(metrics.ascent);
    let mut paints = vec![
        Paint::Fill(rect(0, 0, width, height), Colour::Live),
        text(pad, baseline, sentence, Colour::LiveText, true),
    ];
    paints.extend(button_paints(Button::EndSession, area, metrics));
    Scene {
        width: clamp_u16(width),
        height: clamp_u16(height),
        paints,
        buttons: vec![(Button::EndSession, area)],
    }
}

/// Where a window goes on a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// In the middle, where a question is expected.
    Centre,
    /// At the top, in the middle, out of the way but in sight.
    TopCentre,
}

/// A monitor's area on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// The top-left corner of a `width` x `height` window placed on `monitor`; a window larger
/// than the monitor starts at its corner rather than off screen.
pub(crate) fn place(
    monitor: Area,
    (width, height): (u16, u16),
    placement: Placement,
) -> (i16, i16) {
    let spare =
        |outer: u32, inner: u16| i32::try_from(outer.saturating_sub(u32::from(inner))).unwrap_or(0);
    let x = monitor.x + spare(monitor.width, width) / 2;
    let y = match placement {
        Placement::Centre => monitor.y + spare(monitor.height, height) / 2,
        Placement::TopCentre => monitor.y + INDICATOR_MARGIN.min(spare(monitor.height, height)),
    };
    (clamp_i16(x), clamp_i16(y))
}

/// The label a button shows: its name and its key.
pub(crate) fn button_label(button: Button) -> String {
    format!("{} ({})", button.label(), button.key())
}

/// A button's width: its label with two characters' space on each side.
fn button_width(button: Button, metrics: Metrics) -> i32 {
    (text_len(&button_label(button)) + 4) * i32::from(metrics.char_width)
}

/// Every button's height: its label with some air above and below.
fn button_height(metrics: Metrics) -> i32 {
    metrics.line() * 3 / 2 + 4
}

/// A button's face, outline and centred label.
fn button_paints(button: Button, area: Rectangle, metrics: Metrics) -> Vec<Paint> {
    let label = button_label(button);
    let x = i32::from(area.x) + (i32::from(area.width) - metrics.width_of(&label)) / 2;
    let baseline = i32::from(area.y)
        + (i32::from(area.height) - metrics.line()) / 2
        + i32::from(metrics.ascent);
    vec![
        Paint::Fill(area, Colour::Button),
        Paint::Outline(area, Colour::Border),
        text(x, baseline, &label, Colour::Text, false),
    ]
}

/// Space between the digits and their box (none around other lines).
fn digits_inset(style: Style, metrics: Metrics) -> i32 {
    match style {
        Style::Digits => i32::from(metrics.char_width),
        Style::Heading | Style::Body => 0,
    }
}

fn text(x: i32, baseline: i32, words: &str, colour: Colour, bold: bool) -> Paint {
    Paint::Text {
        x: clamp_i16(x),
        baseline: clamp_i16(baseline),
        text: latin1(words),
        colour,
        bold,
    }
}

fn text_len(text: &str) -> i32 {
    i32::try_from(text.chars().count()).unwrap_or(i32::MAX / 1024)
}

fn rect(x: i32, y: i32, width: i32, height: i32) -> Rectangle {
    Rectangle {
        x: clamp_i16(x),
        y: clamp_i16(y),
        width: clamp_u16(width),
        height: clamp_u16(height),
    }
}

fn clamp_i16(value: i32) -> i16 {
    i16::try_from(value).unwrap_or(if value < 0 { i16::MIN } else { i16::MAX })
}

fn clamp_u16(value: i32) -> u16 {
    u16::try_from(value.max(0)).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use tether_proto::session::Capabilities;

    use super::*;
    use crate::dialog::text::{live_line, request_lines};

    /// The X server's built-in "fixed" font (6x13).
    const FIXED: Metrics = Metrics {
        char_width: 6,
        ascent: 11,
        descent: 2,
    };

    fn inside(inner: &Rectangle, width: u16, height: u16) -> bool {
        inner.x >= 0
            && inner.y >= 0
            && i32::from(inner.x) + i32::from(inner.width) <= i32::from(width)
            && i32::from(inner.y) + i32::from(inner.height) <= i32::from(height)
    }

    fn overlap(a: &Rectangle, b: &Rectangle) -> bool {
        a.x < b.x + b.width as i16
            && b.x < a.x + a.width as i16
            && a.y < b.y + b.height as i16
            && b.y < a.y + a.height as i16
    }

    /// Every text's extent, as a rectangle.
    fn text_areas(scene: &Scene, metrics: Metrics) -> Vec<Rectangle> {
        scene
            .paints
            .iter()
            .filter_map(|paint| match paint {
                Paint::Text {
                    x, baseline, text, ..
                } => Some(Rectangle {
                    x: *x,
                    y: baseline - metrics.ascent as i16,
                    width: (text.len() as u16) * metrics.char_width + 1,
                    height: metrics.ascent + metrics.descent,
                }),
                _ => None,
            })
            .collect()
    }

    fn request(name: &str, wants: Capabilities) -> Scene {
        request_scene(
            &request_lines(name, wants, "123 456"),
            &Button::for_request(wants),
            FIXED,
        )
    }

    #[test]
    fn everything_fits_inside_the_dialog_and_buttons_do_not_overlap() {
        for name in ["A", "Alice Example", &"W".repeat(200)] {
            for wants in [Capabilities::VIEW_ONLY, Capabilities::VIEW_AND_CONTROL] {
                let scene = request(name, wants);
                for area in text_areas(&scene, FIXED) {
                    assert!(inside(&area, scene.width, scene.height), "{area:?} {name}");
                }
                for (i, (_, a)) in scene.buttons.iter().enumerate() {
                    assert!(inside(a, scene.width, scene.height));
                    for (_, b) in &scene.buttons[i + 1..] {
                        assert!(!overlap(a, b), "{a:?} overlaps {b:?}");
                    }
                }
                assert!(scene.width < 800, "a long name keeps the dialog small");
            }
        }
    }

    #[test]
    fn the_buttons_sit_below_the_text_in_order() {
        let scene = request("Alice", Capabilities::VIEW_AND_CONTROL);
        let lowest_text = text_areas(&scene, FIXED)
            .iter()
            .take(4)
            .map(|a| a.y + a.height as i16)
            .max();
        let buttons: Vec<Button> = scene.buttons.iter().map(|(b, _)| *b).collect();
        assert_eq!(buttons, [Button::Allow, Button::ViewOnly, Button::Deny]);
        for (_, area) in &scene.buttons {
            assert!(Some(area.y) > lowest_text);
        }
        let xs: Vec<i16> = scene.buttons.iter().map(|(_, a)| a.x).collect();
        assert!(xs.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn labels_are_centred_on_their_buttons() {
        let scene = request("Alice", Capabilities::VIEW_AND_CONTROL);
        let texts = text_areas(&scene, FIXED);
        for (_, button) in &scene.buttons {
            let label = texts
                .iter()
                .find(|t| {
                    inside(
                        &Rectangle {
                            x: t.x - button.x,
                            y: t.y - button.y,
                            ..**t
                        },
                        button.width,
                        button.height,
                    )
                })
                .expect("a label inside the button");
            let left = label.x - button.x;
            let right = (button.x + button.width as i16) - (label.x + label.width as i16);
            assert!((left - right).abs() <= 1, "{left} vs {right}");
        }
    }

    #[test]
    fn the_digits_are_boxed() {
        let scene = request("Alice", Capabilities::VIEW_AND_CONTROL);
        let digits = scene
            .paints
            .iter()
            .position(|p| matches!(p, Paint::Text { text, .. } if text == b"123 456"))
            .expect("the digits are drawn");
        assert!(matches!(
            scene.paints[digits - 2],
            Paint::Fill(_, Colour::Highlight)
        ));
    }

    #[test]
    fn the_indicator_is_one_row_with_its_button_inside() {
        let sentence = live_line("Alice", Capabilities::VIEW_AND_CONTROL);
        let scene = live_scene(&sentence, FIXED);
        let [(Button::EndSession, button)] = scene.buttons[..] else {
            panic!("one End session button: {:?}", scene.buttons);
        };
        assert!(inside(&button, scene.width, scene.height));
        for area in text_areas(&scene, FIXED) {
            assert!(inside(&area, scene.width, scene.height));
        }
        let sentence_area = text_areas(&scene, FIXED)[0];
        assert!(!overlap(&sentence_area, &button));
        assert!(scene.height < 40);
    }

    #[test]
    fn windows_open_centred_or_at_the_top_of_the_monitor() {
        let monitor = Area {
            x: 1920,
            y: 0,
            width: 1280,
            height: 720,
        };
        assert_eq!(
            place(monitor, (400, 200), Placement::Centre),
            (1920 + 440, 260)
        );
        assert_eq!(
            place(monitor, (400, 30), Placement::TopCentre),
            (1920 + 440, 8)
        );
        let tiny = Area {
            x: 0,
            y: 0,
            width: 300,
            height: 100,
        };
        assert_eq!(place(tiny, (400, 200), Placement::Centre), (0, 0));
    }
}

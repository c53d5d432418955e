//! Tile records: the body of an update is a sequence of them, one per tile
//! sent. This module writes and parses them; it does not interpret pixels.

use crate::error::DecodeError;
use crate::format::{write_signed, write_varint, Reader, TileGrid};
use crate::frame::{Rect, BYTES_PER_PIXEL};
use crate::palette;

/// Record kind bytes (see FORMAT.md).
const SOLID: u8 = 0;
const CACHE: u8 = 1;
const COPY: u8 = 2;
const RAW: u8 = 3;
const PALETTE: u8 = 4;
const XOR: u8 = 5;
const BLEND: u8 = 6;
const PATCH: u8 = 7;
const APPROX: u8 = 8;

/// The kinds of tile record, for accounting (see [`crate::UpdateStats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// One colour.
    Solid,
    /// A cached tile.
    Cache,
    /// Moved or unchanged content from an earlier picture.
    Copy,
    /// Raw pixels.
    Raw,
    /// A palette and packed indices.
    Palette,
    /// A residual against one earlier picture.
    Xor,
    /// A residual against two earlier pictures.
    Blend,
    /// The previous picture with a rectangle inside the tile repainted.
    Patch,
    /// Pixels of the key update's lossy picture.
    Approx,
}

impl RecordKind {
    /// Every kind, in the order of their kind bytes.
    pub const ALL: [RecordKind; 9] = [
        RecordKind::Solid,
        RecordKind::Cache,
        RecordKind::Copy,
        RecordKind::Raw,
        RecordKind::Palette,
        RecordKind::Xor,
        RecordKind::Blend,
        RecordKind::Patch,
        RecordKind::Approx,
    ];

    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Solid => "solid",
            RecordKind::Cache => "cache",
            RecordKind::Copy => "copy",
            RecordKind::Raw => "raw",
            RecordKind::Palette => "palette",
            RecordKind::Xor => "xor",
            RecordKind::Blend => "blend",
            RecordKind::Patch => "patch",
            RecordKind::Approx => "approx",
        }
    }

    /// Index into [`RecordKind::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Where predicted pixels come from: the previous picture or the picture
/// of the last key update, at the tile's rectangle moved by (`dx`, `dy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    /// Whether the source is the last key update's picture (else the
    /// previous picture).
    pub key: bool,
    /// Horizontal offset.
    pub dx: i32,
    /// Vertical offset.
    pub dy: i32,
}

impl Source {
    /// The previous picture at the same place.
    pub const SAME: Source = Source {
        key: false,
        dx: 0,
        dy: 0,
    };

    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.key));
        write_signed(out, self.dx);
        write_signed(out, self.dy);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Source, DecodeError> {
        let key = match reader.u8()? {
            0 => false,
            1 => true,
            other => return Err(DecodeError::UnknownSource(other)),
        };
        Ok(Source {
            key,
            dx: reader.signed()?,
            dy: reader.signed()?,
        })
    }
}

/// New pixels for a rectangle: one colour, raw pixels or a palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill<'a> {
    /// Every pixel is this BGRA colour.
    Solid([u8; 4]),
    /// The pixels, rows top to bottom.
    Raw(&'a [u8]),
    /// A palette of BGRA colours and packed indices (see [`palette`]).
    Palette {
        /// `n * 4` bytes of colours.
        colours: &'a [u8],
        /// The packed index rows.
        indices: &'a [u8],
    },
}

impl<'a> Fill<'a> {
    fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Fill::Solid(colour) => {
                out.push(SOLID);
                out.extend_from_slice(&colour);
            }
            Fill::Raw(bytes) => {
                out.push(RAW);
                out.extend_from_slice(bytes);
            }
            Fill::Palette { colours, indices } => {
                out.push(PALETTE);
                // Palettes hold 1..=256 colours.
                out.push((colours.len() / 4 - 1) as u8);
                out.extend_from_slice(colours);
                out.extend_from_slice(indices);
            }
        }
    }

    /// Reads the fill of a `width` x `height` rectangle whose kind byte
    /// `kind` was just read; `None` for a kind that is not a fill.
    fn read(
        kind: u8,
        reader: &mut Reader<'a>,
        width: u32,
        height: u32,
    ) -> Result<Option<Fill<'a>>, DecodeError> {
        let pixels = width as usize * height as usize;
        Ok(Some(match kind {
            SOLID => Fill::Solid(reader.array()?),
            RAW => Fill::Raw(reader.take(pixels * BYTES_PER_PIXEL)?),
            PALETTE => {
                let count = usize::from(reader.u8()?) + 1;
                let colours = reader.take(count * 4)?;
                let row_len = palette::row_len(width, palette::bits_for(count));
                let indices = reader.take(row_len * height as usize)?;
                Fill::Palette { colours, indices }
            }
            _ => return Ok(None),
        }))
    }
}

/// How one tile's new pixels are obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileOp<'a> {
    /// Every pixel is this BGRA colour.
    Solid([u8; 4]),
    /// The pixels of the cached tile with this hash.
    Cache(u64),
    /// The pixels of a source.
    Copy(Source),
    /// The pixels, tile rows top to bottom.
    Raw(&'a [u8]),
    /// A palette of BGRA colours and packed indices (see [`palette`]).
    Palette {
        /// `n * 4` bytes of colours.
        colours: &'a [u8],
        /// The packed index rows.
        indices: &'a [u8],
    },
    /// The pixels of a source, every byte XORed with `bytes`.
    Xor {
        /// The prediction.
        source: Source,
        /// `w * h * 4` bytes to XOR in.
        bytes: &'a [u8],
    },
    /// The pixels of `base`, except `area` (in tile coordinates) taken from
    /// `overlay`, then every byte XORed with `bytes`: a window edge over a
    /// background, each part from its own source.
    Blend {
        /// The prediction outside `area`.
        base: Source,
        /// The prediction inside `area`.
        overlay: Source,
        /// The overlay's part of the tile, inside the tile.
        area: Rect,
        /// `w * h * 4` bytes to XOR in.
        bytes: &'a [u8],
    },
    /// The previous picture's pixels of the tile, except `area` (in tile
    /// coordinates, inside the tile, not empty), which gets `fill`: a
    /// small change such as a typed glyph, without resending the tile.
    Patch {
        /// The repainted part of the tile.
        area: Rect,
        /// Its new pixels.
        fill: Fill<'a>,
    },
    /// The pixels of the update's lossy picture: approximate until sent
    /// again losslessly.
    Approx,
}

impl TileOp<'_> {
    /// Whether the decoded tile enters the tile cache (see FORMAT.md).
    pub fn is_cached(&self) -> bool {
        !matches!(self, TileOp::Solid(_) | TileOp::Cache(_) | TileOp::Approx)
    }

    /// Whether this op reads earlier pictures or the cache.
    pub fn needs_history(&self) -> bool {
        matches!(
            self,
            TileOp::Cache(_)
                | TileOp::Copy(_)
                | TileOp::Xor { .. }
                | TileOp::Blend { .. }
                | TileOp::Patch { .. }
        )
    }

    /// Appends this op's record for the tile at `position` to `out`.
    pub fn write(&self, position: u32, out: &mut Vec<u8>) {
        write_varint(out, position);
        match *self {
            TileOp::Solid(colour) => Fill::Solid(colour).write(out),
            TileOp::Cache(hash) => {
                out.push(CACHE);
                out.extend_from_slice(&hash.to_le_bytes());
            }
            TileOp::Copy(source) => {
                out.push(COPY);
                source.write(out);
            }
            TileOp::Raw(bytes) => Fill::Raw(bytes).write(out),
            TileOp::Palette { colours, indices } => {
                Fill::Palette { colours, indices }.write(out);
            }
            TileOp::Xor { source, bytes } => {
                out.push(XOR);
                source.write(out);
                out.extend_from_slice(bytes);
            }
            TileOp::Blend {
                base,
                overlay,
                area,
                bytes,
            } => {
                out.push(BLEND);
                base.write(out);
                overlay.write(out);
                write_area(out, area);
                out.extend_from_slice(bytes);
            }
            TileOp::Patch { area, fill } => {
                out.push(PATCH);
                write_area(out, area);
                fill.write(out);
            }
            TileOp::Approx => out.push(APPROX),
        }
    }
}

fn write_area(out: &mut Vec<u8>, area: Rect) {
    for value in [area.x, area.y, area.width, area.height] {
        write_varint(out, value);
    }
}

/// Reads an area (in tile coordinates) that must lie inside `rect`'s tile.
fn read_area(reader: &mut Reader<'_>, rect: Rect) -> Result<Rect, DecodeError> {
    let area = Rect {
        x: reader.varint()?,
        y: reader.varint()?,
        width: reader.varint()?,
        height: reader.varint()?,
    };
    let inside = u64::from(area.x) + u64::from(area.width) <= u64::from(rect.width)
        && u64::from(area.y) + u64::from(area.height) <= u64::from(rect.height);
    if inside {
        Ok(area)
    } else {
        Err(DecodeError::BadArea)
    }
}

/// One parsed record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Row-major tile position.
    pub position: u32,
    /// How to rebuild the tile.
    pub op: TileOp<'a>,
}

/// Parses a whole body. Positions are checked to be inside `grid` and
/// strictly increasing; lengths come from the grid, so every slice is
/// exactly what the tile needs. At most `grid.len()` records result.
pub fn parse_body<'a>(body: &'a [u8], grid: &TileGrid) -> Result<Vec<Record<'a>>, DecodeError> {
    let mut reader = Reader::new(body);
    let mut records = Vec::new();
    let mut next_allowed = 0u32;
    while !reader.is_empty() {
        let position = reader.varint()?;
        if position >= grid.len() {
            return Err(DecodeError::TileOutOfBounds(position));
        }
        if position < next_allowed {
            return Err(DecodeError::TilesNotIncreasing(position));
        }
        next_allowed = position + 1;
        let rect = grid.rect(position);
        let pixels = rect.width as usize * rect.height as usize;
        let kind = reader.u8()?;
        let op = match Fill::read(kind, &mut reader, rect.width, rect.height)? {
            Some(Fill::Solid(colour)) => TileOp::Solid(colour),
            Some(Fill::Raw(bytes)) => TileOp::Raw(bytes),
            Some(Fill::Palette { colours, indices }) => TileOp::Palette { colours, indices },
            None => match kind {
                CACHE => TileOp::Cache(reader.u64()?),
                COPY => TileOp::Copy(Source::read(&mut reader)?),
                XOR => TileOp::Xor {
                    source: Source::read(&mut reader)?,
                    bytes: reader.take(pixels * BYTES_PER_PIXEL)?,
                },
                BLEND => TileOp::Blend {
                    base: Source::read(&mut reader)?,
                    overlay: Source::read(&mut reader)?,
                    area: read_area(&mut reader, rect)?,
                    bytes: reader.take(pixels * BYTES_PER_PIXEL)?,
                },
                PATCH => {
                    let area = read_area(&mut reader, rect)?;
                    if area.width == 0 || area.height == 0 {
                        return Err(DecodeError::BadArea);
                    }
                    let fill_kind = reader.u8()?;
                    let fill = Fill::read(fill_kind, &mut reader, area.width, area.height)?
                        .ok_or(DecodeError::UnknownTileKind(fill_kind))?;
                    TileOp::Patch { area, fill }
                }
                APPROX => TileOp::Approx,
                kind => return Err(DecodeError::UnknownTileKind(kind)),
            },
        };
        records.push(Record { position, op });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let grid = TileGrid::new(20, 32, 8);
        // Tiles 3, 4, 6 and 7 are 8 x 8 pixels (256 bytes); tile 5 is 4 x 8,
        // and a 3-colour palette uses 2 bits: 8 rows of 1 byte.
        let colours = [1u8; 12];
        let ops = [
            (0, TileOp::Solid([1, 2, 3, 4])),
            (1, TileOp::Cache(0x0102_0304_0506_0708)),
            (
                2,
                TileOp::Copy(Source {
                    key: true,
                    dx: -3,
                    dy: 200,
                }),
            ),
            (
                3,
                TileOp::Xor {
                    source: Source::SAME,
                    bytes: &[9u8; 256],
                },
            ),
            (4, TileOp::Raw(&[5u8; 256])),
            (
                5,
                TileOp::Palette {
                    colours: &colours,
                    indices: &[0b1001_0000; 8],
                },
            ),
            (
                6,
                TileOp::Blend {
                    base: Source::SAME,
                    overlay: Source {
                        key: false,
                        dx: 5,
                        dy: -2,
                    },
                    area: Rect {
                        x: 1,
                        y: 2,
                        width: 3,
                        height: 4,
                    },
                    bytes: &[3u8; 256],
                },
            ),
            (
                7,
                TileOp::Patch {
                    area: Rect {
                        x: 1,
                        y: 2,
                        width: 3,
                        height: 2,
                    },
                    fill: Fill::Palette {
                        colours: &colours,
                        indices: &[0b0110_0000, 0b1000_0000],
                    },
                },
            ),
            (
                9,
                TileOp::Patch {
                    area: Rect {
                        x: 0,
                        y: 0,
                        width: 8,
                        height: 8,
                    },
                    fill: Fill::Solid([1, 1, 2, 2]),
                },
            ),
            (
                10,
                TileOp::Patch {
                    area: Rect {
                        x: 7,
                        y: 0,
                        width: 1,
                        height: 8,
                    },
                    fill: Fill::Raw(&[4u8; 32]),
                },
            ),
            (11, TileOp::Approx),
        ];
        let mut body = Vec::new();
        for (position, op) in &ops {
            op.write(*position, &mut body);
        }
        let records = parse_body(&body, &grid).unwrap();
        let parsed: Vec<_> = records.iter().map(|r| (r.position, r.op)).collect();
        assert_eq!(parsed, ops.to_vec());
    }

    #[test]
    fn rejects_bad_positions_kinds_and_truncation() {
        let grid = TileGrid::new(16, 8, 8);
        let mut body = Vec::new();
        TileOp::Solid([0; 4]).write(1, &mut body);
        TileOp::Solid([0; 4]).write(1, &mut body);
        assert!(matches!(
            parse_body(&body, &grid),
            Err(DecodeError::TilesNotIncreasing(1))
        ));
        let mut body = Vec::new();
        TileOp::Solid([0; 4]).write(2, &mut body);
        assert!(matches!(
            parse_body(&body, &grid),
            Err(DecodeError::TileOutOfBounds(2))
        ));
        assert!(matches!(
            parse_body(&[0, 9], &grid),
            Err(DecodeError::UnknownTileKind(9))
        ));
        assert!(matches!(
            parse_body(&[0, COPY, 2, 0, 0], &grid),
            Err(DecodeError::UnknownSource(2))
        ));
        let mut body = Vec::new();
        TileOp::Blend {
            base: Source::SAME,
            overlay: Source::SAME,
            area: Rect {
                x: 4,
                y: 0,
                width: 5,
                height: 1,
            },
            bytes: &[0; 256],
        }
        .write(0, &mut body);
        assert!(matches!(
            parse_body(&body, &grid),
            Err(DecodeError::BadArea)
        ));
        let mut body = Vec::new();
        TileOp::Raw(&[0; 256]).write(0, &mut body);
        body.pop();
        assert!(matches!(
            parse_body(&body, &grid),
            Err(DecodeError::Truncated)
        ));
    }
}

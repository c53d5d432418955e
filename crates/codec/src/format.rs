//! The update envelope (header + compressed body), the tile grid, and the
//! little-endian / varint primitives shared by the encoder and the decoder.
//! See `FORMAT.md`.

use crate::error::DecodeError;
use crate::frame::{Rect, MAX_DIMENSION};

/// The first two bytes of every update.
pub const MAGIC: [u8; 2] = *b"TQ";
/// The format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Flag bit: the update is a key update.
pub const FLAG_KEY: u8 = 1;
/// Smallest tile side accepted.
pub const MIN_TILE_SIZE: u16 = 8;
/// Largest tile side accepted.
pub const MAX_TILE_SIZE: u16 = 256;
/// Bytes of the fixed header before the payload.
pub const HEADER_LEN: usize = 22;

// The grid of the largest frame with the smallest tiles fits u16 indices.
const _: () = assert!(MAX_DIMENSION / MIN_TILE_SIZE as u32 <= u16::MAX as u32);

/// The fixed-size fields at the start of an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Whether this is a key update.
    pub key: bool,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Tile side in pixels.
    pub tile_size: u16,
    /// Length of the decompressed body.
    pub body_len: u32,
}

impl Header {
    /// Appends the header and then `payload` (with its length) to `out`.
    pub fn write(&self, out: &mut Vec<u8>, payload: &[u8]) {
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(if self.key { FLAG_KEY } else { 0 });
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.tile_size.to_le_bytes());
        out.extend_from_slice(&self.body_len.to_le_bytes());
        // Payloads are bounded by zstd's bound on a body of < 2 GiB.
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
    }
}

/// A parsed (not yet validated against a decoder's state) update.
#[derive(Debug)]
pub struct Update<'a> {
    /// The fixed fields.
    pub header: Header,
    /// The zstd frame holding the body.
    pub payload: &'a [u8],
}

impl<'a> Update<'a> {
    /// Splits `bytes` into header and payload, checking the envelope rules
    /// (1-4 in FORMAT.md).
    pub fn parse(bytes: &'a [u8]) -> Result<Update<'a>, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.array::<2>()? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = reader.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let flags = reader.u8()?;
        if flags & !FLAG_KEY != 0 {
            return Err(DecodeError::UnknownFlags(flags));
        }
        let width = reader.u32()?;
        let height = reader.u32()?;
        if width == 0 || height == 0 {
            return Err(DecodeError::ZeroDimension { width, height });
        }
        let tile_size = reader.u16()?;
        if !(MIN_TILE_SIZE..=MAX_TILE_SIZE).contains(&tile_size) {
            return Err(DecodeError::BadTileSize(tile_size));
        }
        let body_len = reader.u32()?;
        let payload_len = reader.u32()?;
        let payload_len = usize::try_from(payload_len).map_err(|_| DecodeError::Truncated)?;
        let payload = reader.take(payload_len)?;
        if !reader.is_empty() {
            return Err(DecodeError::TrailingBytes(reader.remaining()));
        }
        Ok(Update {
            header: Header {
                key: flags & FLAG_KEY != 0,
                width,
                height,
                tile_size,
                body_len,
            },
            payload,
        })
    }
}

/// Reads fields off the front of a byte slice; every read is bounds-checked.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < len {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    /// A byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// An unsigned LEB128 varint of at most 5 bytes that fits a u32.
    pub fn varint(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u64;
        for shift in (0..35).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| DecodeError::BadVarint);
            }
        }
        Err(DecodeError::BadVarint)
    }

    /// A zigzag-encoded signed varint.
    pub fn signed(&mut self) -> Result<i32, DecodeError> {
        let raw = self.varint()?;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }
}

/// Appends `value` as an unsigned LEB128 varint.
pub fn write_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `value` as a zigzag varint.
pub fn write_signed(out: &mut Vec<u8>, value: i32) {
    write_varint(out, ((value << 1) ^ (value >> 31)) as u32);
}

/// How a frame is cut into tiles: `tile_size` squares from the top-left
/// corner, the last column and row clipped at the right and bottom edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileGrid {
    width: u32,
    height: u32,
    tile_size: u32,
    columns: u32,
    rows: u32,
}

impl TileGrid {
    /// The grid of a `width` x `height` frame. Callers guarantee dimensions
    /// in 1..=[`MAX_DIMENSION`] and a tile size in the accepted range.
    pub fn new(width: u32, height: u32, tile_size: u16) -> TileGrid {
        let tile_size = u32::from(tile_size.max(MIN_TILE_SIZE));
        TileGrid {
            width,
            height,
            tile_size,
            columns: width.div_ceil(tile_size),
            rows: height.div_ceil(tile_size),
        }
    }

    /// Number of tiles in the grid.
    pub fn len(&self) -> u32 {
        self.columns * self.rows
    }

    /// Number of tile columns.
    pub fn columns(&self) -> u32 {
        self.columns
    }

    /// Tile side in pixels.
    pub fn tile_size(&self) -> u32 {
        self.tile_size
    }

    /// The pixels covered by the tile at row-major `position`, which must
    /// be below [`len`](TileGrid::len).
    pub fn rect(&self, position: u32) -> Rect {
        let x = (position % self.columns) * self.tile_size;
        let y = (position / self.columns) * self.tile_size;
        Rect {
            x,
            y,
            width: self.tile_size.min(self.width - x),
            height: self.tile_size.min(self.height - y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut out = Vec::new();
        Header {
            key: true,
            width: 20,
            height: 9,
            tile_size: 8,
            body_len: 700,
        }
        .write(&mut out, b"xyz");
        out
    }

    #[test]
    fn header_layout_is_little_endian() {
        let bytes = sample();
        assert_eq!(
            &bytes[..HEADER_LEN],
            &[b'T', b'Q', 1, 1, 20, 0, 0, 0, 9, 0, 0, 0, 8, 0, 0xbc, 2, 0, 0, 3, 0, 0, 0]
        );
        assert_eq!(&bytes[HEADER_LEN..], b"xyz");
    }

    #[test]
    fn parse_inverts_write() {
        let bytes = sample();
        let update = Update::parse(&bytes).unwrap();
        assert_eq!(
            update.header,
            Header {
                key: true,
                width: 20,
                height: 9,
                tile_size: 8,
                body_len: 700
            }
        );
        assert_eq!(update.payload, b"xyz");
    }

    #[test]
    fn parse_rejects_every_truncation() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(
                matches!(Update::parse(&bytes[..len]), Err(DecodeError::Truncated)),
                "prefix of {len} bytes"
            );
        }
    }

    #[test]
    fn parse_rejects_bad_fields() {
        let with = |index: usize, value: u8| {
            let mut bytes = sample();
            bytes[index] = value;
            Update::parse(&bytes).map(|_| ())
        };
        assert!(matches!(with(1, b'X'), Err(DecodeError::BadMagic)));
        assert!(matches!(
            with(2, 0),
            Err(DecodeError::UnsupportedVersion(0))
        ));
        assert!(matches!(with(3, 3), Err(DecodeError::UnknownFlags(3))));
        assert!(matches!(with(4, 0), Err(DecodeError::ZeroDimension { .. })));
        assert!(matches!(with(12, 7), Err(DecodeError::BadTileSize(7))));
        assert!(matches!(with(13, 1), Err(DecodeError::BadTileSize(264))));
        let mut long = sample();
        long.extend_from_slice(&[0, 0]);
        assert!(matches!(
            Update::parse(&long),
            Err(DecodeError::TrailingBytes(2))
        ));
    }

    #[test]
    fn varints_round_trip_and_reject_overlong() {
        let values = [0u32, 1, 127, 128, 300, 1 << 21, u32::MAX];
        let mut out = Vec::new();
        for &value in &values {
            write_varint(&mut out, value);
        }
        for value in [0i32, -1, 1, -300, i32::MIN, i32::MAX] {
            write_signed(&mut out, value);
        }
        let mut reader = Reader::new(&out);
        for &value in &values {
            assert_eq!(reader.varint().unwrap(), value);
        }
        for value in [0i32, -1, 1, -300, i32::MIN, i32::MAX] {
            assert_eq!(reader.signed().unwrap(), value);
        }
        assert!(reader.is_empty());
        let overlong = [0xff, 0xff, 0xff, 0xff, 0x7f];
        assert!(matches!(
            Reader::new(&overlong).varint(),
            Err(DecodeError::BadVarint)
        ));
        let unterminated = [0x80; 6];
        assert!(matches!(
            Reader::new(&unterminated).varint(),
            Err(DecodeError::BadVarint)
        ));
    }

    #[test]
    fn grid_clips_edge_tiles() {
        let grid = TileGrid::new(20, 9, 8);
        assert_eq!((grid.len(), grid.columns()), (6, 3));
        assert_eq!(
            grid.rect(5),
            Rect {
                x: 16,
                y: 8,
                width: 4,
                height: 1
            }
        );
        assert_eq!(grid.rect(1).x, 8);
    }

    #[test]
    fn largest_grid_fits() {
        let grid = TileGrid::new(MAX_DIMENSION, MAX_DIMENSION, MIN_TILE_SIZE);
        assert_eq!(grid.len(), 2048 * 2048);
    }
}

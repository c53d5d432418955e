//! The update envelope (header + compressed body), the tile grid, and the
//! little-endian / varint primitives shared by the encoder and the decoder.
//! See `FORMAT.md`.

use crate::error::DecodeError;
use crate::frame::{Rect, MAX_DIMENSION};

/// The first two bytes of every update.
pub const MAGIC: [u8; 2] = *b"TQ";
/// The format version this crate writes and reads.
pub const VERSION: u8 = 2;
/// Flag bit: the update is a key update.
pub const FLAG_KEY: u8 = 1;
/// Flag bit: the (key) update carries a lossy picture.
pub const FLAG_LOSSY: u8 = 2;
/// Flag bit: the (delta) update's payload starts the compression stream
/// anew.
pub const FLAG_RESTART: u8 = 4;
/// Smallest tile side accepted.
pub const MIN_TILE_SIZE: u16 = 8;
/// Largest tile side accepted.
pub const MAX_TILE_SIZE: u16 = 256;

// The grid of the largest frame with the smallest tiles fits u16 indices.
const _: () = assert!(MAX_DIMENSION / MIN_TILE_SIZE as u32 <= u16::MAX as u32);

/// What a key update declares about the frames that follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyFields {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Tile side of this key update, in pixels.
    pub tile_size: u16,
    /// Tile side of the delta updates that follow, in pixels.
    pub delta_tile_size: u16,
}

/// The fields of an update before its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// `Some` for a key update.
    pub key: Option<KeyFields>,
    /// Length of the decompressed body.
    pub body_len: u32,
    /// The lossy picture a (key) update carries, if any.
    pub picture: Option<&'a [u8]>,
    /// Whether a delta update starts the compression stream anew.
    pub restart: bool,
}

impl Header<'_> {
    /// Appends the header and then `payload` (with its length) to `out`.
    pub fn write(&self, out: &mut Vec<u8>, payload: &[u8]) {
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        let mut flags = 0;
        if self.key.is_some() {
            flags |= FLAG_KEY;
        }
        if self.picture.is_some() {
            flags |= FLAG_LOSSY;
        }
        if self.restart {
            flags |= FLAG_RESTART;
        }
        out.push(flags);
        if let Some(key) = self.key {
            write_varint(out, key.width);
            write_varint(out, key.height);
            write_varint(out, u32::from(key.tile_size));
            write_varint(out, u32::from(key.delta_tile_size));
        }
        write_varint(out, self.body_len);
        if let Some(picture) = self.picture {
            // Pictures and payloads are bounded by the frame's bytes
            // (< 2^31), as the decoder checks.
            write_varint(out, picture.len() as u32);
            out.extend_from_slice(picture);
        }
        write_varint(out, payload.len() as u32);
        out.extend_from_slice(payload);
    }
}

/// A parsed (not yet validated against a decoder's state) update.
#[derive(Debug)]
pub struct Update<'a> {
    /// The fields before the payload.
    pub header: Header<'a>,
    /// The compressed body.
    pub payload: &'a [u8],
}

fn tile_size(value: u32) -> Result<u16, DecodeError> {
    u16::try_from(value)
        .ok()
        .filter(|size| (MIN_TILE_SIZE..=MAX_TILE_SIZE).contains(size))
        .ok_or(DecodeError::BadTileSize(value))
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
        let lossy = flags & FLAG_LOSSY != 0;
        let restart = flags & FLAG_RESTART != 0;
        let key = flags & FLAG_KEY != 0;
        if flags & !(FLAG_KEY | FLAG_LOSSY | FLAG_RESTART) != 0
            || (lossy && !key)
            || (restart && key)
        {
            return Err(DecodeError::UnknownFlags(flags));
        }
        let key = if key {
            let width = reader.varint()?;
            let height = reader.varint()?;
            if width == 0 || height == 0 {
                return Err(DecodeError::ZeroDimension { width, height });
            }
            Some(KeyFields {
                width,
                height,
                tile_size: tile_size(reader.varint()?)?,
                delta_tile_size: tile_size(reader.varint()?)?,
            })
        } else {
            None
        };
        let body_len = reader.varint()?;
        let picture = if lossy {
            let len = reader.varint()?;
            Some(reader.take(len as usize)?)
        } else {
            None
        };
        let payload_len = reader.varint()?;
        let payload = reader.take(payload_len as usize)?;
        if !reader.is_empty() {
            return Err(DecodeError::TrailingBytes(reader.remaining()));
        }
        Ok(Update {
            header: Header {
                key,
                body_len,
                picture,
                restart,
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

    /// Row-major positions of the tiles overlapping `rect`, which must lie
    /// inside the frame.
    pub fn covering(&self, rect: Rect) -> impl Iterator<Item = u32> + '_ {
        let (left, top) = (rect.x / self.tile_size, rect.y / self.tile_size);
        let right = (rect.x + rect.width)
            .div_ceil(self.tile_size)
            .min(self.columns);
        let bottom = (rect.y + rect.height)
            .div_ceil(self.tile_size)
            .min(self.rows);
        (top..bottom)
            .flat_map(move |row| (left..right).map(move |column| row * self.columns + column))
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

    const KEY: KeyFields = KeyFields {
        width: 20,
        height: 9,
        tile_size: 8,
        delta_tile_size: 16,
    };

    fn sample() -> Vec<u8> {
        let mut out = Vec::new();
        Header {
            key: Some(KEY),
            body_len: 700,
            picture: None,
            restart: false,
        }
        .write(&mut out, b"xyz");
        out
    }

    #[test]
    fn header_layout_uses_varints() {
        let bytes = sample();
        assert_eq!(
            bytes,
            [b'T', b'Q', 2, 1, 20, 9, 8, 16, 0xbc, 5, 3, b'x', b'y', b'z']
        );
        let mut delta = Vec::new();
        Header {
            key: None,
            body_len: 5,
            picture: None,
            restart: false,
        }
        .write(&mut delta, b"ab");
        assert_eq!(delta, [b'T', b'Q', 2, 0, 5, 2, b'a', b'b']);
        let mut restart = Vec::new();
        let header = Header {
            key: None,
            body_len: 5,
            picture: None,
            restart: true,
        };
        header.write(&mut restart, b"ab");
        assert_eq!(restart[3], FLAG_RESTART);
        assert_eq!(Update::parse(&restart).unwrap().header, header);
    }

    #[test]
    fn parse_inverts_write() {
        let bytes = sample();
        let update = Update::parse(&bytes).unwrap();
        assert_eq!(
            update.header,
            Header {
                key: Some(KEY),
                body_len: 700,
                picture: None,
                restart: false,
            }
        );
        assert_eq!(update.payload, b"xyz");
        let mut lossy = Vec::new();
        let header = Header {
            key: Some(KEY),
            body_len: 1,
            picture: Some(b"jpeg"),
            restart: false,
        };
        header.write(&mut lossy, b"p");
        let update = Update::parse(&lossy).unwrap();
        assert_eq!(update.header, header);
        assert_eq!(update.payload, b"p");
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
            with(2, 1),
            Err(DecodeError::UnsupportedVersion(1))
        ));
        assert!(matches!(with(3, 9), Err(DecodeError::UnknownFlags(9))));
        // Restart with key.
        assert!(matches!(with(3, 5), Err(DecodeError::UnknownFlags(5))));
        // Lossy without key.
        assert!(matches!(with(3, 2), Err(DecodeError::UnknownFlags(2))));
        assert!(matches!(with(4, 0), Err(DecodeError::ZeroDimension { .. })));
        assert!(matches!(with(6, 7), Err(DecodeError::BadTileSize(7))));
        assert!(matches!(with(7, 5), Err(DecodeError::BadTileSize(5))));
        let mut long = sample();
        long.extend_from_slice(&[0, 0]);
        assert!(matches!(
            Update::parse(&long),
            Err(DecodeError::TrailingBytes(2))
        ));
        let mut wide = b"TQ\x02\x01".to_vec();
        write_varint(&mut wide, 8);
        write_varint(&mut wide, 8);
        write_varint(&mut wide, 300);
        assert!(matches!(
            Update::parse(&wide),
            Err(DecodeError::BadTileSize(300))
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

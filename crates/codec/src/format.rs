//! Wire format v0: constants, header writing and parsing, tile grid geometry.
//!
//! See `FORMAT.md` for the full description. All integers are little-endian.

use crate::error::DecodeError;
use crate::frame::{Rect, MAX_DIMENSION};

/// The first two bytes of every update.
pub(crate) const MAGIC: [u8; 2] = *b"TQ";
/// The format version this crate writes and reads.
pub(crate) const VERSION: u8 = 0;
/// Flags bit 0: the update is a key update.
pub(crate) const FLAG_KEY: u8 = 0b0000_0001;
/// Smallest tile side allowed on the wire.
pub(crate) const MIN_TILE_SIZE: u16 = 8;
/// Largest tile side allowed on the wire.
pub(crate) const MAX_TILE_SIZE: u16 = 256;
/// Bytes in the fixed header: magic, version, flags, width, height,
/// tile_size, tile_count.
pub(crate) const HEADER_LEN: usize = 18;
/// Bytes per tile index: u16 column, u16 row.
pub(crate) const TILE_INDEX_LEN: usize = 4;
/// Bytes of the payload length field.
pub(crate) const PAYLOAD_LEN_LEN: usize = 4;

// Tile columns and rows are sent as u16; this bound makes that lossless.
const _: () = assert!(MAX_DIMENSION / MIN_TILE_SIZE as u32 <= u16::MAX as u32);

/// The fixed-size fields at the start of an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Whether every tile of the grid follows.
    pub key: bool,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Side of the square tiles in pixels.
    pub tile_size: u16,
    /// Number of tile indices that follow the header.
    pub tile_count: u32,
}

impl Header {
    /// Appends the header to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(if self.key { FLAG_KEY } else { 0 });
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.tile_size.to_le_bytes());
        out.extend_from_slice(&self.tile_count.to_le_bytes());
    }
}

/// Appends one tile index to `out`.
pub(crate) fn write_tile_index(out: &mut Vec<u8>, column: u16, row: u16) {
    out.extend_from_slice(&column.to_le_bytes());
    out.extend_from_slice(&row.to_le_bytes());
}

/// Appends the compressed payload, preceded by its u32 length, to `out`.
///
/// # Panics
///
/// Panics if `payload` is 4 GiB or more; the encoder's payloads are bounded
/// far below that.
pub(crate) fn write_payload(out: &mut Vec<u8>, payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("zstd payload under 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
}

/// An update split into its parts, with its structure checked: magic,
/// version, flags, non-zero dimensions, tile size, lengths, no trailing
/// bytes. Its meaning (limits, grid, tile order) is checked by the decoder.
#[derive(Debug)]
pub(crate) struct Update<'a> {
    /// The header.
    pub header: Header,
    /// `header.tile_count` tile indices, 4 bytes each.
    tile_bytes: &'a [u8],
    /// The zstd frame.
    pub payload: &'a [u8],
}

impl<'a> Update<'a> {
    /// Splits `bytes` into header, tile indices and payload.
    pub fn parse(bytes: &'a [u8]) -> Result<Update<'a>, DecodeError> {
        let mut reader = Reader { bytes };
        if reader.take(MAGIC.len())? != MAGIC {
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
        let tile_count = reader.u32()?;
        let tiles_len = usize::try_from(u64::from(tile_count) * TILE_INDEX_LEN as u64)
            .map_err(|_| DecodeError::Truncated)?;
        let tile_bytes = reader.take(tiles_len)?;
        let payload_len = reader.u32()?;
        let payload_len = usize::try_from(payload_len).map_err(|_| DecodeError::Truncated)?;
        let payload = reader.take(payload_len)?;
        if !reader.bytes.is_empty() {
            return Err(DecodeError::TrailingBytes(reader.bytes.len()));
        }
        Ok(Update {
            header: Header {
                key: flags & FLAG_KEY != 0,
                width,
                height,
                tile_size,
                tile_count,
            },
            tile_bytes,
            payload,
        })
    }

    /// The tile indices as (column, row), in wire order.
    pub fn tiles(&self) -> impl Iterator<Item = (u16, u16)> + 'a {
        self.tile_bytes.chunks_exact(TILE_INDEX_LEN).map(|c| {
            (
                u16::from_le_bytes([c[0], c[1]]),
                u16::from_le_bytes([c[2], c[3]]),
            )
        })
    }
}

/// Reads fields off the front of a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < len {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
}

/// How a frame is cut into tiles: `tile_size` squares from the top-left
/// corner, the last column and row clipped at the right and bottom edges.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TileGrid {
    width: u32,
    height: u32,
    tile_size: u32,
    columns: u16,
    rows: u16,
}

impl TileGrid {
    /// The grid of a `width` x `height` frame. Callers guarantee dimensions
    /// in 1..=[`MAX_DIMENSION`] and `tile_size >= MIN_TILE_SIZE`, so by the
    /// assertion above the column and row counts fit in u16.
    pub fn new(width: u32, height: u32, tile_size: u16) -> TileGrid {
        debug_assert!(width <= MAX_DIMENSION && height <= MAX_DIMENSION);
        debug_assert!(tile_size >= MIN_TILE_SIZE);
        let tile_size = u32::from(tile_size);
        TileGrid {
            width,
            height,
            tile_size,
            columns: width.div_ceil(tile_size) as u16,
            rows: height.div_ceil(tile_size) as u16,
        }
    }

    /// Number of tiles in the grid.
    pub fn len(&self) -> u32 {
        u32::from(self.columns) * u32::from(self.rows)
    }

    /// Whether (column, row) is a tile of the grid.
    pub fn contains(&self, column: u16, row: u16) -> bool {
        column < self.columns && row < self.rows
    }

    /// Position of tile (column, row) in row-major order.
    pub fn position(&self, column: u16, row: u16) -> u32 {
        u32::from(row) * u32::from(self.columns) + u32::from(column)
    }

    /// Every tile of the grid, as (column, row), in row-major order.
    pub fn tiles(&self) -> impl Iterator<Item = (u16, u16)> {
        let columns = self.columns;
        (0..self.rows).flat_map(move |row| (0..columns).map(move |column| (column, row)))
    }

    /// The pixels covered by tile (column, row), which must be in the grid.
    pub fn rect(&self, column: u16, row: u16) -> Rect {
        let x = u32::from(column) * self.tile_size;
        let y = u32::from(row) * self.tile_size;
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
            tile_count: 2,
        }
        .write(&mut out);
        write_tile_index(&mut out, 1, 0);
        write_tile_index(&mut out, 2, 1);
        write_payload(&mut out, b"xyz");
        out
    }

    #[test]
    fn header_layout_is_18_bytes_little_endian() {
        let bytes = sample();
        assert_eq!(
            &bytes[..HEADER_LEN],
            &[b'T', b'Q', 0, 1, 20, 0, 0, 0, 9, 0, 0, 0, 8, 0, 2, 0, 0, 0]
        );
        assert_eq!(&bytes[18..26], &[1, 0, 0, 0, 2, 0, 1, 0]);
        assert_eq!(&bytes[26..], &[3, 0, 0, 0, b'x', b'y', b'z']);
        assert_eq!(
            bytes.len(),
            HEADER_LEN + 2 * TILE_INDEX_LEN + PAYLOAD_LEN_LEN + 3
        );
    }

    #[test]
    fn parse_inverts_write() {
        let bytes = sample();
        let update = Update::parse(&bytes).unwrap();
        assert!(update.header.key);
        assert_eq!((update.header.width, update.header.height), (20, 9));
        assert_eq!(update.header.tile_size, 8);
        assert_eq!(update.tiles().collect::<Vec<_>>(), vec![(1, 0), (2, 1)]);
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
            with(2, 1),
            Err(DecodeError::UnsupportedVersion(1))
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
    fn grid_clips_edge_tiles() {
        let grid = TileGrid::new(20, 9, 8);
        assert_eq!(grid.len(), 6);
        assert!(grid.contains(2, 1));
        assert!(!grid.contains(3, 0));
        assert!(!grid.contains(0, 2));
        assert_eq!(grid.position(2, 1), 5);
        assert_eq!(
            grid.rect(2, 1),
            Rect {
                x: 16,
                y: 8,
                width: 4,
                height: 1
            }
        );
        let tiles: Vec<_> = grid.tiles().collect();
        assert_eq!(tiles, vec![(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]);
    }

    #[test]
    fn largest_grid_fits_u16() {
        let grid = TileGrid::new(MAX_DIMENSION, MAX_DIMENSION, MIN_TILE_SIZE);
        assert_eq!(grid.len(), 2048 * 2048);
    }
}

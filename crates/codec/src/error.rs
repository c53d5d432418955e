//! Error types.

use crate::frame::MAX_DIMENSION;

/// Why a [`Frame`](crate::Frame) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A dimension is 0 or larger than [`MAX_DIMENSION`].
    #[error("frame dimensions {width}x{height} outside 1..={MAX_DIMENSION}")]
    InvalidDimensions {
        /// The requested width.
        width: u32,
        /// The requested height.
        height: u32,
    },
    /// The pixel buffer does not hold exactly `width * height * 4` bytes.
    #[error("pixel buffer holds {actual} bytes, expected {expected}")]
    LengthMismatch {
        /// `width * height * 4`.
        expected: usize,
        /// The length of the buffer given.
        actual: usize,
    },
}

/// Why [`Decoder::apply`](crate::Decoder::apply) rejected an update.
///
/// Every variant leaves the decoder's framebuffer unchanged.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The update ends before a field it announces.
    #[error("update truncated")]
    Truncated,
    /// The update does not start with the magic bytes `TQ`.
    #[error("bad magic bytes")]
    BadMagic,
    /// The update is in a format version this decoder does not know.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// The flags byte has bits set that this version does not define.
    #[error("unknown flags {0:#04x}")]
    UnknownFlags(u8),
    /// The width or the height is 0.
    #[error("zero dimension {width}x{height}")]
    ZeroDimension {
        /// The announced width.
        width: u32,
        /// The announced height.
        height: u32,
    },
    /// A tile size is outside 8..=256.
    #[error("tile size {0} outside 8..=256")]
    BadTileSize(u32),
    /// The update is larger than the decoder's limits (or [`MAX_DIMENSION`]).
    #[error("dimensions {width}x{height} exceed the limit of {max_width}x{max_height}")]
    DimensionsTooLarge {
        /// The announced width.
        width: u32,
        /// The announced height.
        height: u32,
        /// The largest width accepted.
        max_width: u32,
        /// The largest height accepted.
        max_height: u32,
    },
    /// A delta update arrived before any key update.
    #[error("delta update before any key update")]
    NoKeyFrame,
    /// A key update does not rebuild every tile of its grid.
    #[error("key update rebuilds {tile_count} tiles, its grid has {grid_tiles}")]
    IncompleteKeyUpdate {
        /// The number of tile records.
        tile_count: u32,
        /// The number of tiles in the grid.
        grid_tiles: u32,
    },
    /// A key update refers to the previous picture or the tile cache.
    #[error("key update refers to earlier updates")]
    HistoryInKeyUpdate,
    /// A tile position lies outside the grid.
    #[error("tile position {0} outside the grid")]
    TileOutOfBounds(u32),
    /// A tile position does not come strictly after the previous one (a
    /// duplicate or out of order).
    #[error("tile position {0} not after the previous tile")]
    TilesNotIncreasing(u32),
    /// A varint is longer than 5 bytes or exceeds u32.
    #[error("malformed varint")]
    BadVarint,
    /// A tile record has an unknown kind byte.
    #[error("unknown tile record kind {0}")]
    UnknownTileKind(u8),
    /// A prediction source names an unknown picture.
    #[error("unknown source picture {0}")]
    UnknownSource(u8),
    /// A blend or patch record's area leaves its tile (or a patch's is
    /// empty).
    #[error("record area outside its tile")]
    BadArea,
    /// A palette index points past the palette.
    #[error("palette index past the palette")]
    BadPaletteIndex,
    /// A tile refers to a cached tile the decoder does not hold.
    #[error("tile cache has no tile {0:#018x}")]
    CacheMiss(u64),
    /// A copy or XOR tile reads outside the previous picture.
    #[error("copy source ({x}, {y}) outside the picture")]
    CopyOutOfBounds {
        /// Left edge of the source rectangle.
        x: i64,
        /// Top edge of the source rectangle.
        y: i64,
    },
    /// The announced body is larger than any valid body for the frame.
    #[error("body of {body_len} bytes exceeds the bound {max} for this frame")]
    BodyTooLarge {
        /// The announced length.
        body_len: u32,
        /// The largest length accepted.
        max: u64,
    },
    /// The payload is not valid zstd (or not the stream's next part).
    #[error("zstd payload: {0}")]
    Decompress(String),
    /// The payload does not decompress to exactly the announced body length.
    #[error("payload holds {actual} body bytes, the header announces {expected}")]
    LengthMismatch {
        /// The announced body length.
        expected: u64,
        /// The number of bytes the payload declares or decompressed to.
        actual: u64,
    },
    /// An earlier payload could not be decompressed, so the compression
    /// stream no longer matches the encoder's: only a key update is
    /// accepted until then.
    #[error("the compression stream was lost; waiting for a key update")]
    StreamLost,
    /// A key update's lossy picture is not a JPEG of the frame's size, or
    /// is corrupt.
    #[error("lossy picture: {0}")]
    BadPicture(String),
    /// An approximate record in an update without a lossy picture.
    #[error("approximate tile without a lossy picture")]
    NoPicture,
    /// Bytes follow the payload.
    #[error("{0} trailing bytes after the payload")]
    TrailingBytes(usize),
}

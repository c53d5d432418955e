//! Palette coding: a tile with at most 256 distinct colours is sent as its
//! colours plus one packed index per pixel (1, 2, 4 or 8 bits).

use crate::error::DecodeError;
use crate::frame::BYTES_PER_PIXEL;

/// Most colours a palette holds.
pub const MAX_COLOURS: usize = 256;

/// Bits per index for a palette of `count` colours.
pub fn bits_for(count: usize) -> u32 {
    match count {
        0..=2 => 1,
        3..=4 => 2,
        5..=16 => 4,
        _ => 8,
    }
}

/// Bytes per packed row of `width` indices of `bits` bits.
pub fn row_len(width: u32, bits: u32) -> usize {
    (width as usize * bits as usize).div_ceil(8)
}

/// A tile's palette and packed indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paletted {
    /// BGRA colours in order of first appearance.
    pub colours: Vec<u8>,
    /// Index rows, each [`row_len`] bytes, most significant bits first.
    pub indices: Vec<u8>,
}

/// Open-addressing map from colour to palette index, sized for 256 colours.
struct ColourMap {
    keys: [u32; 1024],
    values: [u16; 1024],
    count: usize,
}

impl ColourMap {
    const EMPTY: u16 = u16::MAX;

    fn new() -> ColourMap {
        ColourMap {
            keys: [0; 1024],
            values: [Self::EMPTY; 1024],
            count: 0,
        }
    }

    /// The index of `colour`, adding it when new; `None` past 256 colours.
    fn index(&mut self, colour: u32) -> Option<u8> {
        let mut slot = (colour.wrapping_mul(0x9e37_79b1) >> 22) as usize;
        loop {
            let value = self.values[slot];
            if value == Self::EMPTY {
                if self.count == MAX_COLOURS {
                    return None;
                }
                self.keys[slot] = colour;
                self.values[slot] = self.count as u16;
                self.count += 1;
                return Some(self.values[slot] as u8);
            }
            if self.keys[slot] == colour {
                return Some(value as u8);
            }
            slot = (slot + 1) & 1023;
        }
    }
}

/// Palettes `tile` (`width` x `height` pixels, rows packed) if it has at
/// most 256 colours.
pub fn encode(tile: &[u8], width: u32, height: u32) -> Option<Paletted> {
    let pixels = tile.len() / BYTES_PER_PIXEL;
    let mut map = ColourMap::new();
    let mut colours = Vec::new();
    let mut raw = Vec::with_capacity(pixels);
    let mut last: Option<(u32, u8)> = None;
    for chunk in tile.chunks_exact(BYTES_PER_PIXEL) {
        let colour = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let index = match last {
            Some((previous, index)) if previous == colour => index,
            _ => {
                let before = map.count;
                let index = map.index(colour)?;
                if map.count > before {
                    colours.extend_from_slice(chunk);
                }
                last = Some((colour, index));
                index
            }
        };
        raw.push(index);
    }
    let bits = bits_for(map.count);
    let row = row_len(width, bits);
    let mut indices = vec![0u8; row * height as usize];
    if width > 0 {
        for (source, target) in raw
            .chunks_exact(width as usize)
            .zip(indices.chunks_exact_mut(row))
        {
            pack_row(source, bits, target);
        }
    }
    Some(Paletted { colours, indices })
}

fn pack_row(source: &[u8], bits: u32, target: &mut [u8]) {
    if bits == 8 {
        target.copy_from_slice(source);
        return;
    }
    let per_byte = (8 / bits) as usize;
    for (byte, group) in target.iter_mut().zip(source.chunks(per_byte)) {
        let mut packed = 0u8;
        for (i, &index) in group.iter().enumerate() {
            packed |= index << (8 - bits as usize * (i + 1));
        }
        *byte = packed;
    }
}

/// Writes the pixels of a paletted `width` x `height` tile into `out`
/// (`width * height * 4` bytes). Fails on an index past the palette.
/// `indices` must hold `row_len * height` bytes (the parser ensures it).
pub fn decode(
    colours: &[u8],
    indices: &[u8],
    width: u32,
    out: &mut [u8],
) -> Result<(), DecodeError> {
    let count = colours.len() / 4;
    let bits = bits_for(count);
    let row = row_len(width, bits);
    let row_bytes = width as usize * BYTES_PER_PIXEL;
    if row == 0 || row_bytes == 0 {
        return Ok(());
    }
    let mask = ((1u16 << bits) - 1) as u8;
    let per_byte = (8 / bits) as usize;
    for (packed, target) in indices
        .chunks_exact(row)
        .zip(out.chunks_exact_mut(row_bytes))
    {
        for (x, pixel) in target.chunks_exact_mut(BYTES_PER_PIXEL).enumerate() {
            let byte = packed[x / per_byte];
            let shift = 8 - bits as usize * (x % per_byte + 1);
            let index = usize::from((byte >> shift) & mask);
            let colour = colours
                .get(index * 4..index * 4 + 4)
                .ok_or(DecodeError::BadPaletteIndex)?;
            pixel.copy_from_slice(colour);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(colours: &[[u8; 4]], width: u32, height: u32) -> Vec<u8> {
        (0..width * height)
            .flat_map(|i| colours[(i as usize * 7 + i as usize / 3) % colours.len()])
            .collect()
    }

    #[test]
    fn round_trips_every_width_and_bit_depth() {
        for count in [1usize, 2, 3, 4, 5, 16, 17, 200, 256] {
            let colours: Vec<[u8; 4]> = (0..count)
                .map(|i| [i as u8, (i * 3) as u8, 7, 255])
                .collect();
            for width in [1u32, 3, 7, 8, 13, 64] {
                let pixels = tile(&colours, width, 5);
                let paletted = encode(&pixels, width, 5).unwrap();
                assert!(paletted.colours.len() / 4 <= count);
                let mut out = vec![0; pixels.len()];
                decode(&paletted.colours, &paletted.indices, width, &mut out).unwrap();
                assert_eq!(out, pixels, "count {count} width {width}");
            }
        }
    }

    #[test]
    fn too_many_colours_is_none() {
        let pixels: Vec<u8> = (0..300u32).flat_map(|i| i.to_le_bytes()).collect();
        assert!(encode(&pixels, 300, 1).is_none());
    }

    #[test]
    fn index_past_palette_is_rejected() {
        // Three colours use 2 bits; index 3 is past the palette.
        let colours = [0u8; 12];
        let mut out = [0u8; 16];
        assert!(matches!(
            decode(&colours, &[0b1100_0000], 4, &mut out),
            Err(DecodeError::BadPaletteIndex)
        ));
    }
}

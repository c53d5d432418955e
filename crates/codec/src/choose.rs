//! Per-tile coding on the encoder side: picks, for one changed tile, the
//! cheapest record among solid fill, cache reference, copy from an earlier
//! picture, XOR or blend residual against earlier pictures, palette and raw
//! pixels.

use crate::approx::ApproxMap;
use crate::cache::{tile_hash, TileCache};
use crate::frame::{row_ranges, Frame, Rect, BYTES_PER_PIXEL};
use crate::motion::Vector;
use crate::palette;
use crate::record::{Fill, RecordKind, Source, TileOp};

/// What the encoder knows when coding a tile.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The frame being encoded.
    pub frame: &'a Frame,
    /// The previous picture and the last key picture (same size); `None`
    /// for a key update.
    pub pictures: Option<(&'a Frame, &'a Frame)>,
    /// The tile cache as it was before this update.
    pub cache: &'a TileCache,
    /// Candidate displacements of moved content.
    pub candidates: &'a [Vector],
    /// Where the previous and the key picture are only approximate on the
    /// decoder's side (its lossy pixels are unknown here): never read there.
    pub approximate: Option<(&'a ApproxMap, &'a ApproxMap)>,
}

/// What happens to the tile cache when the record is applied.
#[derive(Debug, PartialEq, Eq)]
pub enum CacheAction {
    /// Nothing.
    Keep,
    /// The tile with this hash was used.
    Touch(u64),
    /// These pixels enter the cache under this hash.
    Insert(u64, Vec<u8>),
}

/// One coded tile.
#[derive(Debug)]
pub struct Coded {
    /// The record bytes.
    pub record: Vec<u8>,
    /// The record's kind.
    pub kind: RecordKind,
    /// The matching cache operation.
    pub cache: CacheAction,
}

/// A prediction of the tile from an earlier picture.
struct Prediction {
    source: Source,
    /// The predicted tile bytes.
    pixels: Vec<u8>,
    /// Per pixel: whether the prediction is wrong there.
    wrong: Vec<bool>,
    /// Number of wrong pixels.
    count: usize,
}

/// The pixels of `rect` in `frame`, rows packed.
fn extract(frame: &Frame, rect: Rect) -> Vec<u8> {
    let mut out = Vec::with_capacity(rect.byte_len());
    for rows in row_ranges(frame.width(), rect) {
        out.extend_from_slice(&frame.pixels()[rows]);
    }
    out
}

/// The prediction of `tile` (at `rect`) from `source`, if its rectangle
/// lies inside the picture and outside its `blocked` tiles.
fn predict(
    picture: &Frame,
    source: Source,
    rect: Rect,
    tile: &[u8],
    blocked: Option<&ApproxMap>,
) -> Option<Prediction> {
    let x = i64::from(rect.x) + i64::from(source.dx);
    let y = i64::from(rect.y) + i64::from(source.dy);
    let inside = x >= 0
        && y >= 0
        && x + i64::from(rect.width) <= i64::from(picture.width())
        && y + i64::from(rect.height) <= i64::from(picture.height());
    if !inside {
        return None;
    }
    let from = Rect {
        x: x as u32,
        y: y as u32,
        ..rect
    };
    if blocked.is_some_and(|map| map.overlaps(from)) {
        return None;
    }
    let pixels = extract(picture, from);
    let row_len = rect.width as usize * BYTES_PER_PIXEL;
    let mut wrong = vec![false; tile.len() / BYTES_PER_PIXEL];
    let mut count = 0;
    for ((old, new), flags) in pixels
        .chunks_exact(row_len)
        .zip(tile.chunks_exact(row_len))
        .zip(wrong.chunks_exact_mut(rect.width as usize))
    {
        if old == new {
            continue;
        }
        for ((a, b), flag) in old
            .chunks_exact(BYTES_PER_PIXEL)
            .zip(new.chunks_exact(BYTES_PER_PIXEL))
            .zip(flags.iter_mut())
        {
            let differs = u32::from_ne_bytes([a[0], a[1], a[2], a[3]])
                != u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            *flag = differs;
            count += usize::from(differs);
        }
    }
    Some(Prediction {
        source,
        pixels,
        wrong,
        count,
    })
}

/// The smallest rectangle (tile coordinates) holding every wrong pixel of
/// `prediction` in a tile `width` pixels wide.
fn wrong_area(prediction: &Prediction, width: u32) -> Rect {
    let (mut left, mut top, mut right, mut bottom) = (u32::MAX, u32::MAX, 0, 0);
    for (i, _) in prediction.wrong.iter().enumerate().filter(|(_, &w)| w) {
        let (x, y) = (i as u32 % width, i as u32 / width);
        left = left.min(x);
        right = right.max(x + 1);
        top = top.min(y);
        bottom = bottom.max(y + 1);
    }
    Rect {
        x: left,
        y: top,
        width: right.saturating_sub(left),
        height: bottom.saturating_sub(top),
    }
}

/// Wrong pixels of `prediction` inside `area`.
fn wrong_inside(prediction: &Prediction, width: u32, area: Rect) -> usize {
    (area.y..area.y + area.height)
        .map(|y| {
            let start = (y * width + area.x) as usize;
            prediction.wrong[start..start + area.width as usize]
                .iter()
                .filter(|&&w| w)
                .count()
        })
        .sum()
}

/// The best blend of two predictions: (base, overlay, area, wrong pixels).
/// Only bases right about at least a quarter of the tile are tried.
fn best_blend(predictions: &[Prediction], width: u32) -> Option<(usize, usize, Rect, usize)> {
    let mut best: Option<(usize, usize, Rect, usize)> = None;
    for (b, base) in predictions.iter().enumerate() {
        if base.count > base.wrong.len() / 4 * 3 {
            continue;
        }
        let area = wrong_area(base, width);
        for (o, overlay) in predictions.iter().enumerate() {
            if o == b || overlay.source == base.source {
                continue;
            }
            let count = wrong_inside(overlay, width, area);
            if best.is_none_or(|(_, _, _, c)| count < c) {
                best = Some((b, o, area, count));
            }
        }
    }
    best
}

/// The new pixels of a patch's area, in the cheapest form.
enum PatchFill {
    Solid([u8; 4]),
    Raw(Vec<u8>),
    Palette(palette::Paletted),
}

/// A patch: the previous picture with `area` repainted.
struct Patch {
    area: Rect,
    fill: PatchFill,
}

impl Patch {
    fn fill(&self) -> Fill<'_> {
        match &self.fill {
            PatchFill::Solid(colour) => Fill::Solid(*colour),
            PatchFill::Raw(bytes) => Fill::Raw(bytes),
            PatchFill::Palette(p) => Fill::Palette {
                colours: &p.colours,
                indices: &p.indices,
            },
        }
    }
}

/// Bytes of a patch record around its fill: kind, four area varints, fill
/// kind.
const PATCH_OVERHEAD: usize = 8;

/// A patch repainting the part of `tile` (`width` pixels wide) where the
/// previous picture (`same`) is wrong, if that part is at most half the
/// tile and the patch is estimated cheaper than `to_beat`.
fn patch(same: &Prediction, tile: &[u8], width: u32, to_beat: usize) -> Option<Patch> {
    // The area holds every wrong pixel: more than half of them wrong, and
    // it is more than half the tile, without looking for it.
    if same.count * 2 > same.wrong.len() {
        return None;
    }
    let area = wrong_area(same, width);
    let pixels = area.width as usize * area.height as usize;
    if pixels * 2 > same.wrong.len() || PATCH_OVERHEAD + 4 >= to_beat {
        return None;
    }
    let row_len = width as usize * BYTES_PER_PIXEL;
    let (left, len) = (
        area.x as usize * BYTES_PER_PIXEL,
        area.width as usize * BYTES_PER_PIXEL,
    );
    let mut bytes = Vec::with_capacity(pixels * BYTES_PER_PIXEL);
    for y in area.y as usize..(area.y + area.height) as usize {
        let at = y * row_len + left;
        bytes.extend_from_slice(&tile[at..at + len]);
    }
    let first: [u8; 4] = [bytes[0], bytes[1], bytes[2], bytes[3]];
    let (fill, cost) = if bytes.chunks_exact(BYTES_PER_PIXEL).all(|p| p == first) {
        (PatchFill::Solid(first), 4)
    } else {
        let raw_cost = pixels * 2;
        match palette::encode(&bytes, area.width, area.height) {
            Some(p) if p.indices.len() / 3 + p.colours.len() < raw_cost => {
                let cost = p.indices.len() / 3 + p.colours.len();
                (PatchFill::Palette(p), cost)
            }
            _ => (PatchFill::Raw(bytes), raw_cost),
        }
    };
    (cost + PATCH_OVERHEAD < to_beat).then_some(Patch { area, fill })
}

fn xor_with(mut prediction: Vec<u8>, tile: &[u8]) -> Vec<u8> {
    for (byte, new) in prediction.iter_mut().zip(tile) {
        *byte ^= new;
    }
    prediction
}

/// Codes the changed tile at `position`, covering `rect`.
pub fn code(context: &Context<'_>, position: u32, rect: Rect) -> Coded {
    let frame = context.frame;
    let tile = extract(frame, rect);
    let mut record = Vec::new();
    let first: [u8; 4] = [tile[0], tile[1], tile[2], tile[3]];
    if tile
        .chunks_exact(BYTES_PER_PIXEL)
        .all(|pixel| pixel == first)
    {
        TileOp::Solid(first).write(position, &mut record);
        return Coded {
            record,
            kind: RecordKind::Solid,
            cache: CacheAction::Keep,
        };
    }
    let hash = tile_hash(&tile, rect.width, rect.height);
    if context.cache.get(hash) == Some(tile.as_slice()) {
        TileOp::Cache(hash).write(position, &mut record);
        return Coded {
            record,
            kind: RecordKind::Cache,
            cache: CacheAction::Touch(hash),
        };
    }
    let mut predictions = Vec::new();
    if let Some((previous, key)) = context.pictures {
        let moved = context
            .candidates
            .iter()
            .map(|&(dx, dy)| Source { key: false, dx, dy });
        let sources = std::iter::once(Source::SAME)
            .chain(moved)
            .chain(std::iter::once(Source {
                key: true,
                dx: 0,
                dy: 0,
            }));
        for source in sources {
            let picture = if source.key { key } else { previous };
            let blocked = context
                .approximate
                .map(|(previous, key)| if source.key { key } else { previous });
            let Some(prediction) = predict(picture, source, rect, &tile, blocked) else {
                continue;
            };
            if prediction.count == 0 {
                TileOp::Copy(source).write(position, &mut record);
                return Coded {
                    record,
                    kind: RecordKind::Copy,
                    cache: CacheAction::Insert(hash, tile),
                };
            }
            predictions.push(prediction);
        }
    }
    let pixels = tile.len() / BYTES_PER_PIXEL;
    // Rough compressed-size estimates: a residual costs about 3 bytes per
    // wrong pixel, packed indices compress about 3:1, raw pixels about 2:1.
    let single = predictions.iter().enumerate().min_by_key(|(_, p)| p.count);
    let xor_cost = single.map_or(usize::MAX, |(_, p)| p.count * 3 + 8);
    let blend = best_blend(&predictions, rect.width);
    let blend_cost = blend.map_or(usize::MAX, |(_, _, _, count)| count * 3 + 24);
    // A palette costs at least a 1-bit index per pixel: skip building one
    // when a residual is already cheaper.
    let paletted = (xor_cost.min(blend_cost) > pixels / 24 + 8)
        .then(|| palette::encode(&tile, rect.width, rect.height))
        .flatten();
    let palette_cost = paletted
        .as_ref()
        .map_or(usize::MAX, |p| p.indices.len() / 3 + p.colours.len());
    let raw_cost = pixels * 2;
    let cheapest = palette_cost.min(raw_cost).min(xor_cost).min(blend_cost);
    if let Some(same) = predictions.first().filter(|p| p.source == Source::SAME) {
        if let Some(patch) = patch(same, &tile, rect.width, cheapest) {
            TileOp::Patch {
                area: patch.area,
                fill: patch.fill(),
            }
            .write(position, &mut record);
            return Coded {
                record,
                kind: RecordKind::Patch,
                cache: CacheAction::Insert(hash, tile),
            };
        }
    }

    let mut kind = RecordKind::Raw;
    if cheapest == blend_cost {
        if let Some((b, o, area, _)) = blend {
            kind = RecordKind::Blend;
            let mut predicted = predictions[b].pixels.clone();
            let row_len = rect.width as usize * BYTES_PER_PIXEL;
            let (left, len) = (
                area.x as usize * BYTES_PER_PIXEL,
                area.width as usize * BYTES_PER_PIXEL,
            );
            for y in area.y as usize..(area.y + area.height) as usize {
                let at = y * row_len + left;
                predicted[at..at + len].copy_from_slice(&predictions[o].pixels[at..at + len]);
            }
            let bytes = xor_with(predicted, &tile);
            TileOp::Blend {
                base: predictions[b].source,
                overlay: predictions[o].source,
                area,
                bytes: &bytes,
            }
            .write(position, &mut record);
        }
    } else if cheapest == xor_cost {
        if let Some((index, _)) = single {
            kind = RecordKind::Xor;
            let prediction = predictions.swap_remove(index);
            let bytes = xor_with(prediction.pixels, &tile);
            TileOp::Xor {
                source: prediction.source,
                bytes: &bytes,
            }
            .write(position, &mut record);
        }
    } else if let Some(p) = paletted.filter(|_| cheapest == palette_cost) {
        kind = RecordKind::Palette;
        TileOp::Palette {
            colours: &p.colours,
            indices: &p.indices,
        }
        .write(position, &mut record);
    }
    if record.is_empty() {
        kind = RecordKind::Raw;
        TileOp::Raw(&tile).write(position, &mut record);
    }
    Coded {
        record,
        kind,
        cache: CacheAction::Insert(hash, tile),
    }
}

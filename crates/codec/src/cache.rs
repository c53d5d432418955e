//! The tile cache: recently sent tiles, keyed by a 64-bit hash of their
//! pixels, with least-recently-used eviction under a byte budget. Encoder and
//! decoder perform the same operations in the same order, so their caches
//! stay identical.

use std::collections::{BTreeMap, HashMap};

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Bytes the cache holds at most (both sides): 32 MiB, about two 4K
/// screens of distinct tiles. Each entry counts its pixel bytes plus
/// [`ENTRY_OVERHEAD`], so tiny tiles cannot make the maps grow without
/// bound.
pub const CACHE_BYTES: usize = 32 << 20;
/// Bytes charged per entry on top of its pixels.
pub const ENTRY_OVERHEAD: usize = 64;

/// The hash identifying a tile: XXH3-64 of its pixel bytes (rows packed),
/// seeded with its dimensions so equal bytes of other shapes differ.
pub fn tile_hash(pixels: &[u8], width: u32, height: u32) -> u64 {
    xxh3_64_with_seed(pixels, (u64::from(width) << 32) | u64::from(height))
}

#[derive(Debug)]
struct Entry {
    pixels: Vec<u8>,
    stamp: u64,
}

/// A bounded, deterministic LRU map from tile hash to tile pixels.
#[derive(Debug, Default)]
pub struct TileCache {
    entries: HashMap<u64, Entry>,
    /// Use stamp -> hash, oldest first.
    order: BTreeMap<u64, u64>,
    clock: u64,
    bytes: usize,
}

impl TileCache {
    /// Forgets every tile.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
        self.clock = 0;
    }

    /// The pixels stored under `hash`.
    pub fn get(&self, hash: u64) -> Option<&[u8]> {
        self.entries.get(&hash).map(|entry| entry.pixels.as_slice())
    }

    /// Marks `hash` as just used; returns whether it is cached.
    pub fn touch(&mut self, hash: u64) -> bool {
        let stamp = self.clock;
        match self.entries.get_mut(&hash) {
            Some(entry) => {
                self.order.remove(&entry.stamp);
                entry.stamp = stamp;
                self.order.insert(stamp, hash);
                self.clock += 1;
                true
            }
            None => false,
        }
    }

    /// Stores `pixels` under `hash` as the most recently used tile (only
    /// touching it if `hash` is already cached), then evicts the least
    /// recently used tiles until the budget holds.
    pub fn insert(&mut self, hash: u64, pixels: Vec<u8>) {
        if self.touch(hash) || pixels.len() + ENTRY_OVERHEAD > CACHE_BYTES {
            return;
        }
        let stamp = self.clock;
        self.clock += 1;
        self.bytes += pixels.len() + ENTRY_OVERHEAD;
        self.entries.insert(hash, Entry { pixels, stamp });
        self.order.insert(stamp, hash);
        while self.bytes > CACHE_BYTES {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.bytes -= entry.pixels.len() + ENTRY_OVERHEAD;
            }
        }
    }

    /// Number of tiles cached.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_under_budget() {
        let mut cache = TileCache::default();
        let tile = vec![0u8; CACHE_BYTES / 4 - ENTRY_OVERHEAD];
        for hash in 0..4 {
            cache.insert(hash, tile.clone());
        }
        assert_eq!(cache.len(), 4);
        assert!(cache.touch(0));
        cache.insert(4, tile.clone());
        // 1 was the oldest after touching 0.
        assert!(cache.get(1).is_none());
        assert!(cache.get(0).is_some());
        assert_eq!(cache.len(), 4);
        cache.clear();
        assert!(cache.get(0).is_none());
        assert!(!cache.touch(0));
    }

    #[test]
    fn hash_depends_on_shape() {
        let bytes = [1u8; 32];
        assert_ne!(tile_hash(&bytes, 8, 1), tile_hash(&bytes, 4, 2));
        assert_eq!(tile_hash(&bytes, 8, 1), tile_hash(&bytes, 8, 1));
    }
}

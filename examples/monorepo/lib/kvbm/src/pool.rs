//! The tiered pool. Recency is a logical clock (a counter), not wall time, so
//! behaviour is deterministic and unit-testable.

use std::collections::HashMap;

/// Storage tiers, fastest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Device,
    Host,
    Disk,
}

impl Tier {
    const ALL: [Tier; 3] = [Tier::Device, Tier::Host, Tier::Disk];

    fn index(self) -> usize {
        match self {
            Tier::Device => 0,
            Tier::Host => 1,
            Tier::Disk => 2,
        }
    }
}

/// Result of looking a block up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Found in this tier (and now resident on the device).
    Hit(Tier),
    Miss,
}

#[derive(Debug)]
struct TierState {
    capacity: usize,
    /// block hash → last use (logical clock)
    blocks: HashMap<u64, u64>,
}

/// Blocks spread over three tiers with LRU offload between them.
#[derive(Debug)]
pub struct TieredPool {
    tiers: [TierState; 3],
    clock: u64,
    dropped: u64,
}

impl TieredPool {
    /// Capacities in blocks for device, host and disk. A zero-capacity tier is
    /// skipped: its blocks fall through to the next one.
    pub fn new(device: usize, host: usize, disk: usize) -> Self {
        let tier = |capacity| TierState {
            capacity,
            blocks: HashMap::new(),
        };
        TieredPool {
            tiers: [tier(device), tier(host), tier(disk)],
            clock: 0,
            dropped: 0,
        }
    }

    /// Stores a freshly computed block on the device.
    pub fn insert(&mut self, hash: u64) {
        self.remove(hash);
        self.place(Tier::Device, hash);
    }

    /// Finds a block; a hit in a lower tier onboards it to the device.
    pub fn lookup(&mut self, hash: u64) -> Lookup {
        let Some(tier) = self.tier_of(hash) else {
            return Lookup::Miss;
        };
        if tier == Tier::Device {
            self.clock += 1;
            self.tiers[0].blocks.insert(hash, self.clock);
        } else {
            self.tiers[tier.index()].blocks.remove(&hash);
            self.place(Tier::Device, hash);
        }
        Lookup::Hit(tier)
    }

    pub fn tier_of(&self, hash: u64) -> Option<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| self.tiers[t.index()].blocks.contains_key(&hash))
    }

    pub fn len(&self, tier: Tier) -> usize {
        self.tiers[tier.index()].blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiers.iter().all(|t| t.blocks.is_empty())
    }

    /// Blocks that fell off the last tier.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn remove(&mut self, hash: u64) {
        for t in &mut self.tiers {
            t.blocks.remove(&hash);
        }
    }

    /// Puts `hash` in `tier`, cascading LRU victims downwards.
    fn place(&mut self, tier: Tier, hash: u64) {
        let mut carry = Some(hash);
        for t in Tier::ALL.into_iter().skip(tier.index()) {
            let Some(block) = carry.take() else { return };
            self.clock += 1;
            let state = &mut self.tiers[t.index()];
            if state.capacity == 0 {
                carry = Some(block);
                continue;
            }
            if state.blocks.len() >= state.capacity {
                carry = state
                    .blocks
                    .iter()
                    .min_by_key(|(h, used)| (**used, **h))
                    .map(|(h, _)| *h);
                if let Some(victim) = carry {
                    state.blocks.remove(&victim);
                }
            }
            state.blocks.insert(block, self.clock);
        }
        if carry.is_some() {
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_then_hit_on_device() {
        let mut pool = TieredPool::new(2, 2, 2);
        pool.insert(1);
        assert_eq!(pool.lookup(1), Lookup::Hit(Tier::Device));
        assert_eq!(pool.lookup(2), Lookup::Miss);
    }

    #[test]
    fn lru_block_is_offloaded_not_dropped() {
        let mut pool = TieredPool::new(2, 2, 0);
        pool.insert(1);
        pool.insert(2);
        pool.lookup(1); // 2 is now the least recently used
        pool.insert(3);
        assert_eq!(pool.tier_of(2), Some(Tier::Host));
        assert_eq!(pool.tier_of(1), Some(Tier::Device));
        assert_eq!(pool.dropped(), 0);
    }

    #[test]
    fn lower_tier_hit_onboards_to_device() {
        let mut pool = TieredPool::new(1, 1, 1);
        pool.insert(1);
        pool.insert(2);
        pool.insert(3);
        assert_eq!(pool.tier_of(1), Some(Tier::Disk));
        assert_eq!(pool.lookup(1), Lookup::Hit(Tier::Disk));
        assert_eq!(pool.tier_of(1), Some(Tier::Device));
        assert_eq!(
            pool.len(Tier::Device) + pool.len(Tier::Host) + pool.len(Tier::Disk),
            3
        );
    }

    #[test]
    fn overflowing_every_tier_drops_the_oldest() {
        let mut pool = TieredPool::new(1, 1, 1);
        for h in 1..=5 {
            pool.insert(h);
        }
        assert_eq!(pool.dropped(), 2);
        assert_eq!(pool.lookup(1), Lookup::Miss);
        assert_eq!(pool.lookup(5), Lookup::Hit(Tier::Device));
    }

    #[test]
    fn zero_capacity_tier_is_skipped() {
        let mut pool = TieredPool::new(1, 0, 4);
        pool.insert(1);
        pool.insert(2);
        assert_eq!(pool.tier_of(1), Some(Tier::Disk));
    }

    #[test]
    fn reinserting_does_not_duplicate() {
        let mut pool = TieredPool::new(1, 1, 1);
        pool.insert(1);
        pool.insert(2);
        pool.insert(1);
        assert_eq!(pool.tier_of(1), Some(Tier::Device));
        assert_eq!(pool.len(Tier::Host), 1);
        assert_eq!(pool.len(Tier::Disk), 0);
        assert!(!pool.is_empty());
    }
}

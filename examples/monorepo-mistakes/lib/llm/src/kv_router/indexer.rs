//! Which workers hold which blocks, fed by the workers' "stored"/"removed"
//! events.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::WorkerId;

/// An event a worker publishes when its KV cache changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvEvent {
    Stored {
        worker: WorkerId,
        hashes: Vec<u64>,
    },
    Removed {
        worker: WorkerId,
        hashes: Vec<u64>,
    },
    /// The worker went away: forget everything it held.
    Cleared {
        worker: WorkerId,
    },
}

/// Block hash → workers that cache it.
#[derive(Debug, Default)]
pub struct KvIndexer {
    blocks: HashMap<u64, BTreeSet<WorkerId>>,
}

impl KvIndexer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn apply(&mut self, event: &KvEvent) {
        match event {
            KvEvent::Stored { worker, hashes } => {
                for h in hashes {
                    self.blocks.entry(*h).or_default().insert(*worker);
                }
            }
            KvEvent::Removed { worker, hashes } => {
                for h in hashes {
                    if let Some(workers) = self.blocks.get_mut(h) {
                        workers.remove(worker);
                        if workers.is_empty() {
                            self.blocks.remove(h);
                        }
                    }
                }
            }
            KvEvent::Cleared { worker } => {
                self.blocks.retain(|_, workers| {
                    workers.remove(worker);
                    !workers.is_empty()
                });
            }
        }
    }

    /// For each worker, how many leading blocks of `hashes` it holds. The
    /// prefix stops at the first block a worker lacks: a cache hit in the
    /// middle of a prompt is useless without the blocks before it.
    pub fn overlap_scores(&self, hashes: &[u64]) -> BTreeMap<WorkerId, usize> {
        let mut scores = BTreeMap::new();
        let mut alive: Option<BTreeSet<WorkerId>> = None;
        for h in hashes {
            let Some(holders) = self.blocks.get(h) else {
                break;
            };
            let still: BTreeSet<WorkerId> = match &alive {
                None => holders.clone(),
                Some(prev) => prev.intersection(holders).copied().collect(),
            };
            if still.is_empty() {
                break;
            }
            for w in &still {
                *scores.entry(*w).or_insert(0) += 1;
            }
            alive = Some(still);
        }
        scores
    }

    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(worker: WorkerId, hashes: &[u64]) -> KvEvent {
        KvEvent::Stored {
            worker,
            hashes: hashes.to_vec(),
        }
    }

    #[test]
    fn scores_count_leading_blocks_only() {
        let mut idx = KvIndexer::new();
        idx.apply(&stored(1, &[10, 11, 12]));
        idx.apply(&stored(2, &[10, 99]));
        let scores = idx.overlap_scores(&[10, 11, 12, 13]);
        assert_eq!(scores.get(&1), Some(&3));
        assert_eq!(scores.get(&2), Some(&1));
    }

    #[test]
    fn a_gap_ends_the_prefix() {
        let mut idx = KvIndexer::new();
        idx.apply(&stored(1, &[10, 12]));
        assert_eq!(idx.overlap_scores(&[10, 11, 12]).get(&1), Some(&1));
    }

    #[test]
    fn removed_and_cleared_forget_blocks() {
        let mut idx = KvIndexer::new();
        idx.apply(&stored(1, &[1, 2, 3]));
        idx.apply(&stored(2, &[1]));
        idx.apply(&KvEvent::Removed {
            worker: 1,
            hashes: vec![2, 3],
        });
        assert_eq!(idx.block_count(), 1);
        idx.apply(&KvEvent::Cleared { worker: 2 });
        idx.apply(&KvEvent::Cleared { worker: 1 });
        assert_eq!(idx.block_count(), 0);
        assert!(idx.overlap_scores(&[1]).is_empty());
    }
}

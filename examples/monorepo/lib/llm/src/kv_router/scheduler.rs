//! Picks a worker for a request: the lowest cost, where cost is the number of
//! blocks the worker would have to prefill plus a penalty for its current load.

use std::collections::BTreeMap;

use super::WorkerId;

/// Load as a worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLoad {
    pub worker: WorkerId,
    pub active_blocks: usize,
    pub capacity_blocks: usize,
}

/// How much a fully loaded worker costs, in blocks of prefill.
#[derive(Debug, Clone, Copy)]
pub struct CostWeights {
    pub load_penalty: f64,
}

impl Default for CostWeights {
    fn default() -> Self {
        CostWeights { load_penalty: 8.0 }
    }
}

/// Chooses a worker, or `None` when no worker has room. Ties go to the lower
/// worker id so the choice is deterministic.
pub fn select_worker(
    request_blocks: usize,
    overlaps: &BTreeMap<WorkerId, usize>,
    loads: &[WorkerLoad],
    weights: CostWeights,
) -> Option<WorkerId> {
    loads
        .iter()
        .filter(|l| l.capacity_blocks > 0 && l.active_blocks < l.capacity_blocks)
        .map(|l| {
            let cached = overlaps
                .get(&l.worker)
                .copied()
                .unwrap_or(0)
                .min(request_blocks);
            let prefill = (request_blocks - cached) as f64;
            let usage = l.active_blocks as f64 / l.capacity_blocks as f64;
            (prefill + weights.load_penalty * usage, l.worker)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(worker: WorkerId, active: usize) -> WorkerLoad {
        WorkerLoad {
            worker,
            active_blocks: active,
            capacity_blocks: 100,
        }
    }

    #[test]
    fn prefers_the_worker_with_the_longest_prefix() {
        let overlaps = BTreeMap::from([(2, 6)]);
        let w = select_worker(
            8,
            &overlaps,
            &[load(1, 0), load(2, 0)],
            CostWeights::default(),
        );
        assert_eq!(w, Some(2));
    }

    #[test]
    fn load_outweighs_a_small_overlap() {
        let overlaps = BTreeMap::from([(2, 1)]);
        let w = select_worker(
            8,
            &overlaps,
            &[load(1, 0), load(2, 90)],
            CostWeights::default(),
        );
        assert_eq!(w, Some(1));
    }

    #[test]
    fn full_workers_are_skipped_and_ties_are_deterministic() {
        let empty = BTreeMap::new();
        let full = WorkerLoad {
            worker: 1,
            active_blocks: 100,
            capacity_blocks: 100,
        };
        assert_eq!(
            select_worker(4, &empty, &[full], CostWeights::default()),
            None
        );
        assert_eq!(
            select_worker(4, &empty, &[load(3, 0), load(2, 0)], CostWeights::default()),
            Some(2)
        );
    }
}

//! The indexer and the scheduler together, driven by the events a fleet of
//! workers would publish.
#![cfg(feature = "integration")]

use std::collections::BTreeMap;

use dynamo_llm::kv_router::indexer::{KvEvent, KvIndexer};
use dynamo_llm::kv_router::scheduler::{select_worker, CostWeights, WorkerLoad};
use dynamo_llm::tokens::sequence_hashes;

const BLOCK: usize = 4;

fn prompt(system: u32, user: u32) -> Vec<u32> {
    let mut t: Vec<u32> = (0..16).map(|i| system * 1000 + i).collect();
    t.extend((0..8).map(|i| user * 1000 + i));
    t
}

/// Routes each request, then records the blocks the chosen worker now caches.
fn route_all(requests: &[Vec<u32>], workers: u64) -> Vec<u64> {
    let mut idx = KvIndexer::new();
    let mut active: BTreeMap<u64, usize> = (1..=workers).map(|w| (w, 0)).collect();
    let mut chosen = Vec::new();
    for tokens in requests {
        let hashes = sequence_hashes(tokens, BLOCK);
        let loads: Vec<WorkerLoad> = active
            .iter()
            .map(|(w, a)| WorkerLoad {
                worker: *w,
                active_blocks: *a,
                capacity_blocks: 64,
            })
            .collect();
        let w = select_worker(
            hashes.len(),
            &idx.overlap_scores(&hashes),
            &loads,
            CostWeights::default(),
        )
        .expect("a worker has room");
        idx.apply(&KvEvent::Stored {
            worker: w,
            hashes: hashes.clone(),
        });
        *active.entry(w).or_default() += 1;
        chosen.push(w);
    }
    chosen
}

#[test]
fn same_system_prompt_sticks_to_one_worker() {
    let requests: Vec<Vec<u32>> = (0..6).map(|u| prompt(7, u)).collect();
    let chosen = route_all(&requests, 3);
    assert!(chosen.iter().all(|w| *w == chosen[0]), "{chosen:?}");
}

#[test]
fn different_system_prompts_spread_over_workers() {
    let requests: Vec<Vec<u32>> = (0..3).map(|s| prompt(s + 1, 0)).collect();
    let mut chosen = route_all(&requests, 3);
    chosen.sort();
    chosen.dedup();
    assert_eq!(
        chosen.len(),
        3,
        "each new prefix goes to the least-loaded worker"
    );
}

#[test]
fn worker_loss_clears_its_blocks() {
    let mut idx = KvIndexer::new();
    let hashes = sequence_hashes(&prompt(1, 1), BLOCK);
    idx.apply(&KvEvent::Stored {
        worker: 9,
        hashes: hashes.clone(),
    });
    assert_eq!(idx.overlap_scores(&hashes).get(&9), Some(&hashes.len()));
    idx.apply(&KvEvent::Cleared { worker: 9 });
    assert!(idx.overlap_scores(&hashes).is_empty());
}

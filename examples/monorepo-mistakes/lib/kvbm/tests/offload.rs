//! A workload of repeated prompts against a small pool: cached prefixes must
//! survive device pressure by living in the host and disk tiers.

use dynamo_kvbm::{Lookup, Tier, TieredPool};

#[test]
fn repeated_prompts_hit_offloaded_blocks() {
    let mut pool = TieredPool::new(8, 16, 64);
    let prompts: Vec<Vec<u64>> = (0..10u64)
        .map(|p| (0..6u64).map(|b| p * 100 + b).collect())
        .collect();
    for blocks in &prompts {
        for b in blocks {
            pool.insert(*b);
        }
    }
    let mut hits = [0usize; 3];
    for b in &prompts[0] {
        match pool.lookup(*b) {
            Lookup::Hit(Tier::Device) => hits[0] += 1,
            Lookup::Hit(Tier::Host) => hits[1] += 1,
            Lookup::Hit(Tier::Disk) => hits[2] += 1,
            Lookup::Miss => panic!("block {b} of the first prompt was lost"),
        }
    }
    assert_eq!(hits[0], 0, "the first prompt was evicted from the device");
    assert_eq!(hits[1] + hits[2], 6);
    assert_eq!(pool.dropped(), 0);
}

// tollgate: markers(nightly)
#[test]
#[ignore = "slow: churns 200k blocks through the tiers"]
fn churn_keeps_tier_sizes_within_capacity() {
    let mut pool = TieredPool::new(64, 128, 256);
    for h in 0..200_000u64 {
        pool.insert(h);
        if h % 3 == 0 {
            pool.lookup(h / 2);
        }
        assert!(pool.len(Tier::Device) <= 64);
        assert!(pool.len(Tier::Host) <= 128);
        assert!(pool.len(Tier::Disk) <= 256);
    }
}

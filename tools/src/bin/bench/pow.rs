//! Proof-of-work mining time.

use std::time::{Duration, Instant};

use warren_node::identity::mine_with_threads;
use warren_proto::{Difficulty, Keypair};

use super::median;

pub(crate) fn run() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1);
    println!("\n== proof of work (fresh key per run; time is geometric, so runs vary widely)");
    for (bits, runs) in [(16u8, 41usize), (20, 21), (24, 9)] {
        for threads in [1, cores] {
            let mut times: Vec<Duration> = (0..runs)
                .map(|i| {
                    let kp = Keypair::from_seed(&[
                        bits ^ (i as u8),
                        (i >> 8) as u8,
                        threads as u8,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        9,
                    ]);
                    let t = Instant::now();
                    mine_with_threads(&kp, Difficulty::new(bits).unwrap(), threads);
                    t.elapsed()
                })
                .collect();
            let mean = times.iter().sum::<Duration>() / runs as u32;
            let med = median(&mut times);
            println!(
                "pow {bits} bits, {threads} thread(s): median {:.3} s, mean {:.3} s over {runs} runs (expected 2^{bits} = {} hashes)",
                med.as_secs_f64(),
                mean.as_secs_f64(),
                1u64 << bits
            );
        }
    }
    // Raw hash rate, for reading the above.
    let kp = Keypair::from_seed(&[1; 32]);
    let n = 4_000_000u64;
    let t = Instant::now();
    let _ = warren_proto::pow::mine(&kp.id(), Difficulty::new(64).unwrap(), 0, 1, n);
    println!(
        "pow hash rate: {:.1} M hashes/s per thread",
        n as f64 / t.elapsed().as_secs_f64() / 1e6
    );
}

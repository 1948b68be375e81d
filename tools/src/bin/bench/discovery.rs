//! Discovery convergence of 50 simulated nodes.

use std::time::{Duration, Instant};

use warren_tools::sim::{Sim, knowledge, sim_config, star};

pub(crate) fn run() {
    println!("\n== discovery (50 nodes in one process, in-memory transport, simulated clock)");
    for run in 0..3 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let wall = Instant::now();
            let sim = Sim::start(50, star(|_, _| {})).await.unwrap();
            let pex = sim_config().discovery.pex_interval_secs;
            let step = Duration::from_millis(250);
            let t90 = sim.run_until(step, Duration::from_secs(3600), |s| knowledge(s)[0] >= 0.9).await;
            let t100 = sim.run_until(step, Duration::from_secs(3600), |s| knowledge(s)[0] >= 1.0).await;
            let fmt = |t: Option<Duration>, extra: Duration| match t {
                Some(d) => {
                    let d = d + extra;
                    // A round is one periodic exchange interval; news also
                    // spreads at once by push, so it can take less than one.
                    format!("{:.2} s simulated = {:.2} exchange rounds of {pex} s", d.as_secs_f64(), d.as_secs_f64() / pex as f64)
                }
                None => "not within an hour".into(),
            };
            println!(
                "run {run}: every node knows >= 90% of the others after {}; 100% after {}; wall time {:.2} s",
                fmt(t90, Duration::ZERO),
                fmt(t100, t90.unwrap_or_default()),
                wall.elapsed().as_secs_f64()
            );
            sim.shutdown().await;
        });
    }
}

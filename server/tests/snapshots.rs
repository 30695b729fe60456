//! Late joiners share one snapshot of a live run, built off the async workers.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gilscope_server::runs::{Client, Runs, Update};
use gilscope_server::{presets, Limits};
use gilscope_shared::protocol::RunState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_late_joiners_share_one_snapshot() {
    let runs = Runs::with_presets(presets::ALL, &Limits::default());
    let mut updates = runs.subscribe();
    let executor = runs.spawn_executor();
    let run = runs
        .submit(
            common::spec("cpu-threads", &[("threads", "8"), ("work", "2000000000")]),
            Client::Session(1),
        )
        .expect("a valid spec");
    // Wait until the run is live and has sent a few frames.
    let mut frames = 0;
    let live = async {
        while frames < 10 {
            if let Ok(Update::Frame { id, .. }) = updates.recv().await {
                frames += usize::from(id == run.id);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), live)
        .await
        .expect("the run streams frames");

    let asked = Instant::now();
    let joiners: Vec<_> = (0..20)
        .map(|_| {
            let runs = runs.clone();
            tokio::spawn(async move { runs.snapshot(run.id).await })
        })
        .collect();
    let mut snapshots = Vec::new();
    for joiner in joiners {
        snapshots.push(joiner.await.expect("no panic").expect("a snapshot"));
    }
    let took = asked.elapsed();
    eprintln!("20 snapshots of a live run in {took:?}");
    let mut distinct: Vec<&Arc<_>> = Vec::new();
    for s in &snapshots {
        assert_eq!(s.info.state, RunState::Running);
        assert!(!s.frames.is_empty(), "a live run's snapshot has frames");
        if !distinct.iter().any(|d| Arc::ptr_eq(d, s)) {
            distinct.push(s);
        }
    }
    assert!(
        distinct.len() <= 3,
        "20 joiners at once caused {} snapshot builds",
        distinct.len()
    );
    runs.stop(run.id).expect("the run exists");
    runs.shutdown();
    executor.await.expect("the executor ends");
}

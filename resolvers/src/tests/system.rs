//! System: the `heartbeat` subscription (its beats, its completion and its bounds).

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Harness, buyer};

const HEARTBEAT: &str = "subscription($i: Int! = 1000, $n: Int! = 3) {
    heartbeat(intervalMs: $i, count: $n) { seq at }
}";

#[tokio::test]
async fn beats_count_times_at_the_interval_then_completes() {
    let h = Harness::new();
    let started = Instant::now();
    let mut beats = h.gql(HEARTBEAT).vars(json!({"i": 100, "n": 3})).stream();
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let beat = beats.next().await;
        assert!(beat.ok()["heartbeat"]["at"].is_string());
        seqs.push(beat.ok()["heartbeat"]["seq"].as_i64().unwrap());
    }
    beats.ends().await;
    assert_eq!(seqs, [1, 2, 3]);
    // The first beat is immediate, then one interval between beats.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
}

#[tokio::test]
async fn the_first_beat_comes_at_once_for_anyone() {
    let h = Harness::new();
    for ask in [h.gql(HEARTBEAT), h.gql(HEARTBEAT).by(&buyer("ana"))] {
        let started = Instant::now();
        let mut beats = ask.stream();
        assert_eq!(beats.next().await.ok()["heartbeat"]["seq"], 1);
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    let mut one = h.gql(HEARTBEAT).vars(json!({"i": 60_000, "n": 1})).stream();
    assert_eq!(one.next().await.ok()["heartbeat"]["seq"], 1);
    one.ends().await;
}

#[tokio::test]
async fn intervals_and_counts_are_bounded() {
    let h = Harness::new();
    for (vars, field) in [
        (json!({"i": 99}), "intervalMs"),
        (json!({"i": 60_001}), "intervalMs"),
        (json!({"i": -1}), "intervalMs"),
        (json!({"i": 100, "n": 0}), "count"),
        (json!({"i": 100, "n": 1001}), "count"),
        (json!({"i": 99, "n": 0}), "intervalMs"),
    ] {
        let mut refused = h.gql(HEARTBEAT).vars(vars).stream();
        refused.next().await.refused("BAD_USER_INPUT", Some(field));
        refused.ends().await;
    }
    let mut most = h.gql(HEARTBEAT).vars(json!({"i": 100, "n": 1000})).stream();
    assert_eq!(most.next().await.ok()["heartbeat"]["seq"], 1);
}

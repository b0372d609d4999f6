//! Every scenario once at its small size, against the confab binary built beside this tool and
//! the baseline, so that the load generator cannot rot. Figures are not judged here (they are
//! checked by running the benchmark at full size, see BENCHMARKS.md); only that each scenario
//! ran without errors and reported what it should.

use serde_json::Value;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

fn run(scenario: &str) -> Value {
    run_with(scenario, &["baseline", "confab"])
}

/// Runs `scenario --small`; its report must hold a run for each of `runs`.
fn run_with(scenario: &str, runs: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_confab-bench"))
        .args([scenario, "--small"])
        .output()
        .unwrap_or_else(|e| panic!("running confab-bench {scenario}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "confab-bench {scenario} failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{scenario}: stdout is not one JSON report ({e}):\n{stderr}"));
    assert_eq!(report["scenario"], scenario);
    assert!(report["machine"]["cpus"].as_u64().unwrap_or(0) > 0);
    for server in runs {
        assert!(report["runs"][server].is_object(), "{scenario}: no {server} run:\n{report:#}");
    }
    report
}

fn no_errors(report: &Value, path: &[&str]) {
    for server in ["baseline", "confab"] {
        let mut v = &report["runs"][server];
        for key in path {
            v = &v[*key];
        }
        assert!(v.as_object().is_some_and(|o| o.is_empty()), "{server} errors at {path:?}: {v}");
    }
}

fn number(report: &Value, server: &str, path: &[&str]) -> f64 {
    let mut v = &report["runs"][server];
    for key in path {
        v = &v[*key];
    }
    v.as_f64().unwrap_or_else(|| panic!("{server} {path:?} is not a number in {report:#}"))
}

#[test]
fn every_scenario_runs_at_small_size() {
    let r = run("connections");
    no_errors(&r, &["errors"]);
    for server in ["baseline", "confab"] {
        assert_eq!(number(&r, server, &["sockets_held"]), 20.0);
        assert!(number(&r, server, &["held", "heartbeat_replies"]) > 0.0);
        assert!(number(&r, server, &["held", "ping_replies_200"]) > 0.0);
        assert!(number(&r, server, &["memory", "held_rss_kib"]) > 0.0);
    }
    assert!(r["ratios"]["bytes_per_socket"].is_number());

    let r = run("throughput");
    no_errors(&r, &["errors"]);
    for server in ["baseline", "confab"] {
        assert!(number(&r, server, &["messages_per_sec"]) > 0.0);
        assert!(number(&r, server, &["send_to_deliver", "count"]) > 0.0);
        assert_eq!(r["runs"][server]["every_message_reached_both_sockets"], true);
        assert!(number(&r, server, &["window", "server_cpu_secs"]) >= 0.0);
    }
    assert!(r["ratios"]["messages_per_sec"].is_number());

    let r = run("latency");
    no_errors(&r, &["errors"]);
    for server in ["baseline", "confab"] {
        assert!(number(&r, server, &["send_to_deliver", "count"]) > 0.0);
        assert_eq!(r["runs"][server]["every_message_reached_both_sockets"], true);
    }
    assert!(r["ratios"]["p99"].is_number());

    let r = run("transcript");
    assert_eq!(number(&r, "confab", &["sizes", "2000", "items_per_page"]), 100.0);
    assert_eq!(number(&r, "confab", &["sizes", "2000", "errors"]), 0.0);
    assert!(number(&r, "confab", &["sizes", "2000", "older_pages", "count"]) > 0.0);
    assert_eq!(number(&r, "baseline", &["errors"]), 0.0);

    let r = run("startup");
    assert!(number(&r, "confab", &["empty", "median_ms"]) > 0.0);
    assert!(number(&r, "confab", &["loaded", "median_ms"]) > 0.0);
    assert!(number(&r, "baseline", &["empty", "median_ms"]) > 0.0);
}

/// `cluster` needs PostgreSQL and NATS on 127.0.0.1 (as the cluster integration tests do):
/// without them it is skipped, and says so, except under CI=true, where that fails.
#[test]
fn cluster_runs_at_small_size() {
    let missing: Vec<&str> =
        [("PostgreSQL on 127.0.0.1:5432", "127.0.0.1:5432"), ("NATS on 127.0.0.1:4222", "127.0.0.1:4222")]
            .into_iter()
            .filter(|(_, addr)| {
                let addr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
                TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err()
            })
            .map(|(what, _)| what)
            .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the cluster services are missing: {missing:?}"
        );
        eprintln!("SKIPPED cluster_runs_at_small_size: {} not reachable", missing.join(" and "));
        return;
    }
    let r = run_with("cluster", &["embedded", "cluster"]);
    for mode in ["embedded", "cluster"] {
        for phase in ["throughput", "latency"] {
            let at = &r["runs"][mode][phase];
            assert!(at["errors"].as_object().is_some_and(|o| o.is_empty()), "{mode} {phase} errors: {at:#}");
            assert!(number(&r, mode, &[phase, "messages_per_sec"]) > 0.0);
            assert!(number(&r, mode, &[phase, "send_to_deliver", "count"]) > 0.0);
            assert_eq!(at["every_message_reached_both_sockets"], true, "{mode} {phase}: {at:#}");
        }
    }
    assert!(number(&r, "cluster", &["latency", "window", "services_cpu_secs"]) >= 0.0);
    assert_eq!(r["runs"]["cluster"]["postgres_schema_dropped"], true);
    assert!(r["ratios"]["throughput_messages_per_sec"].is_number());
    assert!(r["ratios"]["latency_p99"].is_number());
}

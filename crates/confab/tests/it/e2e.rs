//! The end-to-end suites outside Rust, run against this build's binary: the unmodified
//! amazon-connect-chatjs in Node (e2e/chatjs) and boto3 plus the AWS CLI v1 (e2e/python).
//! Without their tools they are skipped with a note, except under CI=true, where they must run.

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool).arg(arg).output().is_ok_and(|o| o.status.success())
}

/// Runs a suite's `run.sh`; true when it ran (and passed), false when skipped.
fn run_suite(suite: &str, needs: &[(&str, &str)]) -> bool {
    let missing: Vec<&str> =
        needs.iter().filter(|(tool, arg)| !have(tool, arg)).map(|(tool, _)| *tool).collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {missing:?} is missing for e2e/{suite}"
        );
        eprintln!("SKIPPED e2e/{suite}: {missing:?} not installed");
        return false;
    }
    let status = Command::new("bash")
        .arg(repo_root().join("e2e").join(suite).join("run.sh"))
        .env("CONFAB_BIN", env!("CARGO_BIN_EXE_confab"))
        .status()
        .expect("run the suite");
    assert!(status.success(), "e2e/{suite} failed (its output is above)");
    true
}

#[test]
fn chatjs_customer_session_in_node() {
    run_suite("chatjs", &[("node", "--version"), ("npm", "--version")]);
}

#[test]
fn boto3_and_aws_cli_chat() {
    run_suite("python", &[("python3", "--version")]);
}

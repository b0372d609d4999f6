//! Golden tests: for every captured case (crates/cli/tests/golden/cases, written by
//! capture.sh with the real AWS CLI v1 against confab), confab given the same command and
//! the same HTTP response prints the same stdout and stderr and exits with the same code, in
//! json, text and table output; and it sends the same request.

use crate::harness::{confab, Stub, TempDir};
use serde_json::Value;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/golden")
}

/// The AWS CLI's stderr as confab words it: the program is `confab`, and the CLI v1's note
/// about v2 is not repeated.
fn as_confab(aws_stderr: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut skip_blank = false;
    for line in aws_stderr.split_inclusive('\n') {
        if line.starts_with("usage: ") && line.contains("Note: AWS CLI version 2") {
            skip_blank = true;
            continue;
        }
        if skip_blank && line == "\n" {
            skip_blank = false;
            continue;
        }
        skip_blank = false;
        lines.push(line);
    }
    lines
        .concat()
        .replace("usage: aws ", "usage: confab ")
        .replace("\n  aws ", "\n  confab ")
        .replace("\naws: error:", "\nconfab: error:")
}

/// Cases where confab knowingly differs, and why.
fn known_difference(name: &str) -> Option<&'static str> {
    match name {
        // AWS CLI 1.45.11 prints the literal text "{self._error_location()}" (a missing f in
        // an f-string); confab prints the location it means: the input and a caret.
        "shorthand-syntax" => Some("first line and exit code only"),
        _ => None,
    }
}

fn cases() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir().join("cases"))
        .expect("golden cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("read case")).expect("case JSON"))
        .collect()
}

/// The request body as compared: the idempotency token is random unless the command gave one.
fn comparable_body(body: &str, args: &[String]) -> Value {
    let mut v: Value =
        if body.is_empty() { Value::Null } else { serde_json::from_str(body).expect("request JSON") };
    if !args.iter().any(|a| a == "--client-token") {
        if let Some(map) = v.as_object_mut() {
            map.remove("ClientToken");
        }
    }
    v
}

fn run_case(case: &Value, failures: &mut Vec<String>) {
    let name = case["name"].as_str().expect("name");
    let args: Vec<String> =
        case["args"].as_array().expect("args").iter().map(|a| a.as_str().expect("arg").to_owned()).collect();
    let dir = TempDir::new("golden");
    std::fs::write(dir.0.join("message.txt"), "Hello from a file\nsecond line\n").expect("write message.txt");
    for (format, expected) in case["outputs"].as_object().expect("outputs") {
        let mut argv = args.clone();
        let stub = case["response"].as_object().map(|r| {
            let headers = r["headers"]
                .as_object()
                .expect("headers")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            Stub::start(
                r["status"].as_u64().expect("status") as u16,
                headers,
                r["body"].as_str().expect("body").to_owned(),
            )
        });
        if let Some(stub) = &stub {
            argv.extend(["--endpoint-url".to_owned(), stub.url.clone()]);
        }
        argv.extend(["--output".to_owned(), format.clone()]);
        let got = confab(&argv, &dir.0);
        let want_out = expected["stdout"].as_str().expect("stdout");
        let want_err = as_confab(expected["stderr"].as_str().expect("stderr"));
        let want_code = expected["code"].as_i64().expect("code") as i32;
        let label = format!("{name} [{format}]");
        if let Some(why) = known_difference(name) {
            let first = |s: &str| s.trim_start().lines().next().unwrap_or_default().to_owned();
            if got.code != want_code || first(&got.stderr) != first(&want_err) {
                failures.push(format!("{label} ({why}): got {} {:?}", got.code, got.stderr));
            }
            continue;
        }
        if got.stdout != want_out {
            failures
                .push(format!("{label}: stdout differs\n--- aws\n{want_out}\n--- confab\n{}", got.stdout));
        }
        if got.stderr != want_err {
            failures.push(format!(
                "{label}: stderr differs\n--- aws\n{want_err:?}\n--- confab\n{:?}",
                got.stderr
            ));
        }
        if got.code != want_code {
            failures.push(format!("{label}: exit code {} (aws: {want_code})", got.code));
        }
        if let (Some(stub), Some(request)) = (&stub, case["request"].as_object()) {
            check_request(&label, stub, request, &args, failures);
        }
    }
}

fn check_request(
    label: &str,
    stub: &Stub,
    request: &serde_json::Map<String, Value>,
    args: &[String],
    failures: &mut Vec<String>,
) {
    let seen = stub.seen.lock().expect("seen").clone();
    let Some(got) = seen.first() else {
        failures.push(format!("{label}: confab sent no request"));
        return;
    };
    let want_body = comparable_body(request["body"].as_str().unwrap_or_default(), args);
    let got_body = comparable_body(&got.body, args);
    if got.method != request["method"]
        || got.path != request["path"]
        || got.bearer.as_deref() != request["bearer"].as_str()
        || got_body != want_body
    {
        failures.push(format!("{label}: request differs\n--- aws\n{request:?}\n--- confab\n{got:?}"));
    }
}

/// Runs `check` on every item, a few at a time (each runs processes; the machine has 2 cores),
/// and collects the failures.
fn in_parallel<T: Sync>(items: &[T], check: impl Fn(&T, &mut Vec<String>) + Sync) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let mut found = Vec::new();
                check(item, &mut found);
                failures.lock().expect("failures").extend(found);
            });
        }
    });
    failures.into_inner().expect("failures")
}

#[test]
fn output_matches_the_aws_cli_for_every_case() {
    let cases = cases();
    assert!(cases.len() >= 50, "the goldens are missing: run crates/cli/tests/golden/capture.sh");
    let failures = in_parallel(&cases, run_case);
    assert!(failures.is_empty(), "{} differences:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn skeletons_match_the_aws_cli_for_every_operation() {
    let text = std::fs::read_to_string(golden_dir().join("skeletons.json")).expect("skeletons.json");
    let skeletons: Vec<(String, Value)> = serde_json::from_str::<serde_json::Map<String, Value>>(&text)
        .expect("skeletons JSON")
        .into_iter()
        .collect();
    for service in ["connectparticipant", "connect"] {
        let model = confab_cli::model::service(service).expect("model");
        for op in &model.operations {
            let command = format!("{service} {}", op.cli_name());
            assert!(
                skeletons.iter().any(|(c, _)| *c == command),
                "no golden skeleton for `{command}`: re-run crates/cli/tests/golden/capture.sh"
            );
        }
    }
    let dir = TempDir::new("skeleton");
    let failures = in_parallel(&skeletons, |(command, want), failures| {
        let mut argv: Vec<String> = command.split(' ').map(str::to_owned).collect();
        argv.push("--generate-cli-skeleton".into());
        let got = confab(&argv, &dir.0);
        let want = want.as_str().expect("skeleton");
        if got.stdout != want || got.code != 0 {
            failures.push(format!(
                "{command} (if the model changed, re-run crates/cli/tests/golden/capture.sh):\n--- aws\n{want}\n--- confab ({})\n{}{}",
                got.code, got.stdout, got.stderr
            ));
        }
    });
    assert!(failures.is_empty(), "{} differences:\n\n{}", failures.len(), failures.join("\n\n"));
}

//! Where a command's settings come from, end to end: a profile in `~/.aws/config` (endpoint,
//! output, region), `AWS_PROFILE`, `AWS_ENDPOINT_URL_CONNECTPARTICIPANT`, and options over
//! both; with no settings at all, the local confab's address.

use crate::harness::{confab_env, Stub, TempDir};

const SENT: &str = r#"{"Id":"m-1","AbsoluteTime":"2026-01-01T00:00:00.000Z"}"#;

fn send_event(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["connectparticipant", "send-event", "--connection-token", "t", "--content-type", "x"]
            .map(String::from)
            .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn profiles_variables_and_options() {
    let home = TempDir::new("profiles");
    let stub = Stub::start(200, vec![("content-type".into(), "application/json".into())], SENT.into());
    let other = Stub::start(200, vec![("content-type".into(), "application/json".into())], SENT.into());
    std::fs::create_dir_all(home.0.join(".aws")).expect(".aws");
    let config = format!(
        "[default]\nregion = eu-west-1\n\n[profile local]\noutput = text\nservices = here\n\n[services here]\nconnectparticipant =\n  endpoint_url = {}\n",
        stub.url
    );
    std::fs::write(home.0.join(".aws/config"), config).expect("config");

    // AWS_PROFILE picks the profile: its services section gives the endpoint, its output the format.
    let out = confab_env(&send_event(&[]), &home.0, &[("AWS_PROFILE", "local")]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "2026-01-01T00:00:00.000Z\tm-1\n"), "{}", out.stderr);
    assert_eq!(stub.seen.lock().expect("seen").len(), 1);

    // --profile does the same; --output and --endpoint-url win over the profile.
    let out = confab_env(
        &send_event(&["--profile", "local", "--output", "json", "--endpoint-url", &other.url]),
        &home.0,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("{\n    \"Id\": \"m-1\""), "{}", out.stdout);
    assert_eq!(other.seen.lock().expect("seen").len(), 1);

    // The service's variable wins over the profile's endpoint.
    let out = confab_env(
        &send_event(&["--query", "Id"]),
        &home.0,
        &[("AWS_PROFILE", "local"), ("AWS_ENDPOINT_URL_CONNECTPARTICIPANT", &other.url)],
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, "m-1\n"), "{}", out.stderr);
    assert_eq!(other.seen.lock().expect("seen").len(), 2);

    // A profile that does not exist is an error, as with the AWS CLI.
    let out = confab_env(&send_event(&["--profile", "nope"]), &home.0, &[]);
    assert_eq!((out.code, out.stderr.as_str()), (255, "\nThe config profile (nope) could not be found\n"));

    // Nothing configured: the default endpoint is the local confab (nothing listens on it in
    // this test, or if something does, it is not this stub).
    let empty = TempDir::new("profiles-empty");
    let out =
        confab_env(&send_event(&["--cli-connect-timeout", "2"]), &empty.0, &[("AWS_MAX_ATTEMPTS", "1")]);
    let refused = out
        .stderr
        .contains("Could not connect to the endpoint URL: \"http://127.0.0.1:8380/participant/event\"");
    let answered = out.stderr.contains("An error occurred (");
    assert!(refused || answered || out.code == 0, "{}", out.stderr);
}

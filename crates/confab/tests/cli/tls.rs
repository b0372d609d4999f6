//! https:// endpoints: trusted through `--ca-bundle`, refused without it (as the AWS CLI
//! refuses an unknown certificate), accepted with `--no-verify-ssl`; and the chat's wss://
//! socket with the same trust.

use crate::harness::{confab, Server, TempDir};

#[test]
fn https_with_a_ca_bundle_or_without_verification() {
    let dir = TempDir::new("tls");
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("certificate");
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("cert.pem");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("key.pem");
    let tls = ["--tls-cert", cert.to_str().expect("utf8"), "--tls-key", key.to_str().expect("utf8")];
    let server = Server::start_with(&dir.0.join("data"), "127.0.0.1:0", &tls);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);

    let start = |extra: &[&str]| {
        let mut args: Vec<String> =
            ["connect", "start-chat-contact", "--instance-id", "i", "--contact-flow-id", "f"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend([
            "--participant-details".into(),
            "DisplayName=Jane".into(),
            "--endpoint-url".into(),
            server.url.clone(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        confab(&args, &dir.0)
    };
    let trusted =
        start(&["--ca-bundle", cert.to_str().expect("utf8"), "--query", "ContactId", "--output", "text"]);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert_eq!(trusted.stdout.trim().len(), 36, "a contact id: {:?}", trusted.stdout);

    let refused = start(&[]);
    assert_eq!(refused.code, 255);
    let prefix = format!("\nSSL validation failed for {}/contact/chat ", server.url);
    assert!(refused.stderr.starts_with(&prefix), "{:?}", refused.stderr);

    let unverified = start(&["--no-verify-ssl"]);
    assert_eq!(unverified.code, 0, "{}", unverified.stderr);

    // The chat: HTTPS calls and a wss:// socket; standard input at its end quits at once.
    let args: Vec<String> =
        ["chat", "start", "--display-name", "Jane", "--endpoint-url", &server.url, "--ca-bundle"]
            .iter()
            .map(|s| s.to_string())
            .chain([cert.to_str().expect("utf8").to_owned()])
            .collect();
    let chat = confab(&args, &dir.0);
    assert_eq!(chat.code, 0, "{}", chat.stderr);
    assert!(chat.stdout.contains("* you joined"), "{}", chat.stdout);
    assert!(chat.stdout.contains("Resume with: confab chat --participant-token "), "{}", chat.stdout);
}

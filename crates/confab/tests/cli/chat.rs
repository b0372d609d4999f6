//! `confab chat` for two participants, each in its own pseudo-terminal: what each screen
//! shows while they talk, type and read; both reconnect (and catch up) when the server is
//! killed and comes back on the same address and data folder; the chat ends for both when
//! the customer leaves.

use crate::harness::{Server, TempDir, CONFAB};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `confab chat` in a pseudo-terminal, and everything it has shown.
struct Terminal {
    name: &'static str,
    child: Child,
    input: std::fs::File,
    screen: Arc<Mutex<String>>,
}

impl Terminal {
    fn open(name: &'static str, args: &[&str], home: &std::path::Path) -> Terminal {
        let size = nix::pty::Winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup pty"));
        let child = Command::new(CONFAB)
            .arg("chat")
            .args(args)
            .current_dir(home)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("AWS_CONFIG_FILE", home.join("none"))
            .env("TERM", "xterm")
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave))
            .spawn()
            .expect("spawn confab chat");
        drop(pty.slave);
        let input = std::fs::File::from(pty.master);
        let mut reader = input.try_clone().expect("dup master");
        let screen = Arc::new(Mutex::new(String::new()));
        let shown = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().expect("screen").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal { name, child, input, screen }
    }

    /// The lines shown, without the terminal's control sequences and prompt redraws.
    fn lines(&self) -> Vec<String> {
        let raw = self.screen.lock().expect("screen").clone();
        let plain = raw.replace("\x1b[2K", "").replace("\x1b[0m", "");
        plain
            .split('\n')
            .flat_map(|l| l.split('\r'))
            .map(|l| l.trim_start_matches("> ").trim_end().to_owned())
            .filter(|l| !l.is_empty() && l != ">")
            .collect()
    }

    /// Waits until a line containing `text` is shown; that line.
    fn wait_for(&self, text: &str) -> String {
        self.wait_for_beside(text, None)
    }

    /// Like `wait_for`; a failure also shows the `other` terminal's screen (for what one
    /// participant should see of what the other did).
    fn wait_for_beside(&self, text: &str, other: Option<&Terminal>) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(text)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "{} never showed {text:?}; screen:\n{}{}",
                self.name,
                self.lines().join("\n"),
                other.map(|o| format!("\n--- {} ---\n{}", o.name, o.lines().join("\n"))).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn count(&self, text: &str) -> usize {
        self.lines().iter().filter(|l| l.contains(text)).count()
    }

    /// Types `text` key by key, then Enter.
    fn type_line(&mut self, text: &str) {
        for c in text.chars() {
            write!(self.input, "{c}").expect("type");
            std::thread::sleep(Duration::from_millis(5));
        }
        self.input.write_all(b"\r").expect("enter");
    }

    fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit; screen:\n{}",
                self.name,
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_participants_chat_reconnect_and_leave() {
    let data = TempDir::new("chat-data");
    let home = TempDir::new("chat-home");
    let mut server = Server::start(&data.0, "127.0.0.1:0");
    let url = server.url.clone();

    let mut jane =
        Terminal::open("customer", &["start", "--display-name", "Jane", "--endpoint-url", &url], &home.0);
    let started = jane.wait_for("Chat started. Contact ID: ");
    let contact = started.rsplit(' ').next().expect("contact id").to_owned();
    jane.wait_for("* you joined");

    let mut ann = Terminal::open(
        "agent",
        &["join", &contact, "--as", "agent", "--display-name", "Ann", "--endpoint-url", &url],
        &home.0,
    );
    ann.wait_for(&format!("Joined contact {contact} as Ann."));
    ann.wait_for("* Jane (customer) joined");
    ann.wait_for("* you joined");
    jane.wait_for("* Ann (agent) joined");

    // Messages both ways, typing, and the read receipt the agent's client sends.
    jane.type_line("Hello, my order is late");
    jane.wait_for("you: Hello, my order is late");
    ann.wait_for("Jane (customer) is typing…");
    ann.wait_for("Jane (customer): Hello, my order is late");
    jane.wait_for("✓✓ Ann (agent) read “Hello, my order is late”");
    ann.type_line("Sorry to hear that, Jane");
    jane.wait_for("Ann (agent) is typing…");
    jane.wait_for("Ann (agent): Sorry to hear that, Jane");
    ann.wait_for("you: Sorry to hear that, Jane");

    // The customer closes the window (Ctrl-D): the chat goes on, and she comes back with the
    // participant token; her client shows the conversation so far.
    jane.input.write_all(b"\x04").expect("ctrl-d");
    assert_eq!(jane.wait_exit(), 0);
    let resume = jane.wait_for("Resume with: confab chat --participant-token ");
    let token = resume.rsplit(' ').next().expect("token").to_owned();
    let mut jane = Terminal::open(
        "customer, resumed",
        &["--participant-token", &token, "--endpoint-url", &url],
        &home.0,
    );
    jane.wait_for("Jane (customer): Hello, my order is late");
    jane.wait_for("Ann (agent): Sorry to hear that, Jane");

    // A file, sent with /attach.
    std::fs::write(home.0.join("notes.txt"), "order 1234\n").expect("notes.txt");
    jane.type_line("/attach notes.txt");
    jane.wait_for("* sent notes.txt");
    ann.wait_for("Jane (customer) sent an attachment: notes.txt");

    // The server dies; both notice. A message typed meanwhile waits; the server comes back
    // on the same address; both reconnect, and the customer catches up on what was said.
    server.kill();
    jane.wait_for("* connection lost; reconnecting…");
    ann.wait_for("* connection lost; reconnecting…");
    ann.type_line("Are you still there?");
    ann.wait_for("* not connected: will send when back");
    let _server = Server::start(&data.0, &server.addr);
    jane.wait_for("* reconnected");
    ann.wait_for("* reconnected");
    jane.wait_for_beside("Ann (agent): Are you still there?", Some(&ann));
    ann.wait_for("you: Are you still there?");

    // The whole conversation, once each, from the transcript.
    jane.type_line("/transcript");
    jane.wait_for("--- end ---");
    assert_eq!(jane.count("Ann (agent): Are you still there?"), 2, "live once and in /transcript once");

    // The customer leaves: the chat ends for both.
    jane.type_line("/quit");
    jane.wait_for("* you left the chat");
    ann.wait_for("* Jane (customer) left");
    ann.wait_for("* the chat has ended");
    assert_eq!(jane.wait_exit(), 0);
    assert_eq!(ann.wait_exit(), 0);
}

//! The terminal: lines printed above a `> ` prompt that keeps what is being typed. On a
//! terminal the keyboard is read key by key (raw mode), so typing can be announced; otherwise
//! standard input is read line by line.

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What the keyboard produced.
#[derive(Debug)]
pub enum Input {
    /// A key that changes the line being typed (for typing notifications); `command` when
    /// the line is a `/command`, which is not announced.
    Key {
        command: bool,
    },
    Line(String),
    Quit,
}

#[derive(Clone)]
pub struct Screen {
    raw: bool,
    /// The line being typed; shared with the keyboard thread.
    line: Arc<Mutex<String>>,
}

const PROMPT: &str = "> ";

impl Screen {
    /// Starts reading the keyboard; inputs arrive on the returned channel.
    pub fn start() -> (Screen, mpsc::UnboundedReceiver<Input>) {
        let raw = std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        let screen = Screen { raw, line: Arc::new(Mutex::new(String::new())) };
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = screen.clone();
        std::thread::spawn(move || if reader.raw { reader.read_keys(&tx) } else { read_lines(&tx) });
        screen.redraw();
        (screen, rx)
    }

    /// Prints a line above the prompt.
    pub fn print(&self, text: &str) {
        let line = self.line.lock().map(|l| l.clone()).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        if self.raw {
            let text = text.replace('\n', "\r\n");
            let _ = write!(out, "\r\x1b[2K{text}\r\n{PROMPT}{line}");
        } else {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }

    fn redraw(&self) {
        if self.raw {
            let line = self.line.lock().map(|l| l.clone()).unwrap_or_default();
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K{PROMPT}{line}");
            let _ = out.flush();
        }
    }

    /// Leaves raw mode (also on drop of the last use, but be explicit at exit).
    pub fn finish(&self) {
        if self.raw {
            let _ = crossterm::terminal::disable_raw_mode();
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
    }

    fn read_keys(&self, tx: &mpsc::UnboundedSender<Input>) {
        loop {
            let Ok(ev) = event::read() else {
                let _ = tx.send(Input::Quit);
                return;
            };
            let Event::Key(key) = ev else { continue };
            if key.kind == KeyEventKind::Release {
                continue;
            }
            if let Some(input) = self.key(key) {
                let quit = matches!(input, Input::Quit);
                if tx.send(input).is_err() || quit {
                    return;
                }
            }
        }
    }

    fn key(&self, key: KeyEvent) -> Option<Input> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let mut line = self.line.lock().ok()?;
        let input = match key.code {
            KeyCode::Char('c') | KeyCode::Char('d') if ctrl => return Some(Input::Quit),
            KeyCode::Enter => {
                let text = std::mem::take(&mut *line);
                Some(Input::Line(text))
            }
            KeyCode::Backspace => {
                line.pop();
                None
            }
            KeyCode::Char(c) if !ctrl => {
                line.push(c);
                Some(Input::Key { command: line.starts_with('/') })
            }
            _ => None,
        };
        drop(line);
        self.redraw();
        input
    }
}

fn read_lines(tx: &mpsc::UnboundedSender<Input>) {
    let stdin = std::io::stdin();
    let mut buf = String::new();
    loop {
        buf.clear();
        match stdin.read_line(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = tx.send(Input::Quit);
                return;
            }
            Ok(_) => {
                let line = buf.trim_end_matches(['\n', '\r']).to_owned();
                if tx.send(Input::Line(line)).is_err() {
                    return;
                }
            }
        }
    }
}

//! `confab chat`: a terminal chat client. Starts a chat (customer), joins one (agent,
//! supervisor, bot) or resumes with a participant token; shows messages, typing, receipts,
//! joins and leaves as they happen; reconnects and fills the gap from the transcript when the
//! socket drops; sends read receipts as chatjs does (newest only, at most one per 5 s).

mod api;
mod items;
mod screen;
mod socket;

use crate::args::Globals;
use crate::config::{self, Env};
use crate::errors::CliError;
use api::Api;
use clap::{Args, Subcommand, ValueEnum};
use items::Viewer;
use screen::{Input, Screen};
use serde_json::Value;
use socket::{Outcome, Socket};
use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ChatArgs {
    #[command(subcommand)]
    action: Option<Action>,
    /// Resume as the participant this token names.
    #[arg(long)]
    participant_token: Option<String>,
    /// The confab (or Amazon Connect) endpoint; default from the profile, else http://127.0.0.1:8380.
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
    #[arg(long, global = true)]
    region: Option<String>,
    #[arg(long, global = true)]
    profile: Option<String>,
    /// CA certificates (PEM) to trust for an https:// endpoint.
    #[arg(long, global = true)]
    ca_bundle: Option<String>,
    /// Do not verify the server's certificate.
    #[arg(long, global = true)]
    no_verify_ssl: bool,
    /// The instance the chat belongs to.
    #[arg(long, global = true, default_value = "confab")]
    instance_id: String,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Start a chat as the customer.
    Start {
        #[arg(long)]
        display_name: String,
        #[arg(long, default_value = "confab")]
        contact_flow_id: String,
    },
    /// Join a chat.
    Join {
        contact_id: String,
        #[arg(long = "as", value_enum, default_value = "agent")]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Role {
    Agent,
    Supervisor,
    Bot,
}

impl Role {
    fn api_name(self) -> &'static str {
        match self {
            Role::Agent => "AGENT",
            Role::Supervisor => "SUPERVISOR",
            Role::Bot => "CUSTOM_BOT",
        }
    }
}

/// Who we are in the chat.
struct Me {
    token: String,
    participant_id: Option<String>,
    /// Agents and supervisors mark themselves connected, as chatjs does.
    mark_connected: bool,
}

pub fn run(args: ChatArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(255);
        }
    };
    match runtime.block_on(chat(args)) {
        Ok(()) => ExitCode::SUCCESS,
        // Not the AWS CLI's usage text: chat is confab's own command.
        Err(CliError::Usage(msg)) => {
            eprintln!("confab chat: {msg}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprint!("{}", e.stderr());
            ExitCode::from(e.exit_code())
        }
    }
}

async fn chat(args: ChatArgs) -> Result<(), CliError> {
    let globals = Globals {
        endpoint_url: args.endpoint_url.clone(),
        region: args.region.clone(),
        profile: args.profile.clone(),
        ca_bundle: args.ca_bundle.clone(),
        no_verify_ssl: args.no_verify_ssl,
        ..Globals::default()
    };
    let settings = config::resolve(&globals, &Env::load(), "ConnectParticipant")?;
    let api = Arc::new(Api::new(settings)?);
    let me = begin(&api, &args).await?;
    let (screen, input) = Screen::start();
    let mut session = Session::new(api, me, screen.clone(), input);
    let left = session.run().await;
    screen.finish();
    if !left {
        println!("Resume with: confab chat --participant-token {}", session.me.token);
    }
    Ok(())
}

/// Starts, joins or resumes: the participant token to connect with.
async fn begin(api: &Api, args: &ChatArgs) -> Result<Me, CliError> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    match &args.action {
        Some(Action::Start { display_name, contact_flow_id }) => {
            let started = api.start_chat(&args.instance_id, contact_flow_id, display_name).await?;
            println!("Chat started. Contact ID: {}", text(&started, "ContactId"));
            Ok(Me { token: text(&started, "ParticipantToken"), participant_id: Some(text(&started, "ParticipantId")), mark_connected: false })
        }
        Some(Action::Join { contact_id, role, display_name }) => {
            let name = display_name.clone().unwrap_or_else(|| format!("{role:?}"));
            let joined = api.create_participant(&args.instance_id, contact_id, role.api_name(), &name).await?;
            println!("Joined contact {contact_id} as {name}.");
            Ok(Me {
                token: text(&joined["ParticipantCredentials"], "ParticipantToken"),
                participant_id: Some(text(&joined, "ParticipantId")),
                mark_connected: !matches!(role, Role::Bot),
            })
        }
        None => match &args.participant_token {
            Some(token) => Ok(Me { token: token.clone(), participant_id: None, mark_connected: false }),
            None => Err(CliError::Usage(
                "use `confab chat start --display-name NAME`, `confab chat join CONTACT_ID --as agent` or `confab chat --participant-token TOKEN`".into(),
            )),
        },
    }
}

const RECEIPT_WINDOW: Duration = Duration::from_secs(5);
const TYPING_WINDOW: Duration = Duration::from_secs(10);

struct Session {
    api: Arc<Api>,
    me: Me,
    screen: Screen,
    input: UnboundedReceiver<Input>,
    connection_token: String,
    /// Ids shown already (the socket and the transcript overlap).
    seen: HashSet<String>,
    /// Item id to participant id, to learn our own id on resume.
    authors: HashMap<String, String>,
    /// Participant id to name, message id to text (for receipt lines).
    names: HashMap<String, String>,
    texts: HashMap<String, String>,
    sent: HashSet<String>,
    last_id: Option<String>,
    /// Messages typed while disconnected, sent after reconnecting.
    pending: Vec<String>,
    receipted: HashSet<String>,
    pending_read: Option<String>,
    last_receipt: Option<Instant>,
    last_typing: Option<Instant>,
}

/// How the session ended.
enum End {
    /// The chat ended or we left: nothing to resume.
    Over,
    /// The user quit; the chat goes on.
    Quit,
}

impl Session {
    fn new(api: Arc<Api>, me: Me, screen: Screen, input: UnboundedReceiver<Input>) -> Session {
        Session {
            api,
            me,
            screen,
            input,
            connection_token: String::new(),
            seen: HashSet::new(),
            authors: HashMap::new(),
            names: HashMap::new(),
            texts: HashMap::new(),
            sent: HashSet::new(),
            last_id: None,
            pending: Vec::new(),
            receipted: HashSet::new(),
            pending_read: None,
            last_receipt: None,
            last_typing: None,
        }
    }

    /// Connects, and reconnects until the chat is over or the user quits; true when over.
    async fn run(&mut self) -> bool {
        let mut backoff = Duration::from_millis(250);
        let mut first = true;
        loop {
            match self.connect().await {
                Ok(socket) => {
                    backoff = Duration::from_millis(250);
                    if !first {
                        self.screen.print("* reconnected");
                    }
                    first = false;
                    match self.live(socket).await {
                        Ok(End::Over) => return true,
                        Ok(End::Quit) => return false,
                        Err(()) => self.screen.print("* connection lost; reconnecting…"),
                    }
                }
                Err(CliError::Service { code, .. }) if code == "AccessDeniedException" => {
                    self.screen.print("* the chat has ended (or you left it)");
                    return true;
                }
                Err(e) => {
                    if first {
                        self.screen.print(&format!("* cannot connect: {e}"));
                    }
                    if let Some(end) = self.wait(backoff).await {
                        return matches!(end, End::Over);
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(4));
                }
            }
        }
    }

    /// Sleeps between attempts, still taking keyboard input.
    async fn wait(&mut self, pause: Duration) -> Option<End> {
        let until = Instant::now() + pause;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return None,
                input = self.input.recv() => match input {
                    None | Some(Input::Quit) => return Some(End::Quit),
                    Some(Input::Line(l)) if l.trim() == "/quit" => return Some(End::Quit),
                    Some(Input::Line(l)) if !l.trim().is_empty() => {
                        self.screen.print("* not connected: will send when back");
                        self.pending.push(l);
                    }
                    Some(_) => {}
                },
            }
        }
    }

    /// A new connection: socket subscribed, then the gap filled from the transcript.
    async fn connect(&mut self) -> Result<Socket, CliError> {
        let conn = self.api.connect(&self.me.token, self.me.mark_connected).await?;
        self.connection_token =
            conn["ConnectionCredentials"]["ConnectionToken"].as_str().unwrap_or_default().to_owned();
        let url = conn["Websocket"]["Url"].as_str().unwrap_or_default().to_owned();
        let socket = Socket::open(&url, self.api.tls.clone()).await.map_err(CliError::Plain)?;
        let items = self.api.transcript(&self.connection_token, self.last_id.as_deref()).await?;
        for item in &items {
            self.show(item);
        }
        self.flush_pending().await;
        Ok(socket)
    }

    async fn flush_pending(&mut self) {
        for line in std::mem::take(&mut self.pending) {
            self.send_text(&line).await;
        }
    }

    /// The live part: socket frames, keyboard, heartbeats, receipts. Err when the socket drops.
    async fn live(&mut self, mut socket: Socket) -> Result<End, ()> {
        let mut heartbeat = tokio::time::interval(Duration::from_secs(10));
        heartbeat.tick().await;
        loop {
            let receipt_due = self.receipt_due();
            tokio::select! {
                frame = socket.next() => match frame {
                    Outcome::Item(item) => {
                        self.show(&item);
                        if items::is_chat_ended(&item) {
                            return Ok(End::Over);
                        }
                    }
                    Outcome::Closed(1000) => return Ok(End::Over),
                    Outcome::Closed(_) | Outcome::Lost => return Err(()),
                    Outcome::Other => {}
                },
                input = self.input.recv() => match input {
                    None | Some(Input::Quit) => return Ok(End::Quit),
                    Some(Input::Key { command }) => {
                        if !command {
                            self.typing();
                        }
                    }
                    Some(Input::Line(line)) => {
                        if let Some(end) = self.command(&line).await {
                            return Ok(end);
                        }
                    }
                },
                _ = heartbeat.tick() => {
                    if socket.heartbeat().await.is_err() {
                        return Err(());
                    }
                }
                _ = tokio::time::sleep_until(receipt_due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))), if receipt_due.is_some() => {
                    self.send_pending_receipt();
                }
            }
        }
    }

    fn viewer(&self) -> Viewer<'_> {
        Viewer {
            participant_id: self.me.participant_id.as_deref(),
            sent: &self.sent,
            names: &self.names,
            texts: &self.texts,
        }
    }

    /// Shows an item once, and acknowledges messages from others.
    fn show(&mut self, item: &Value) {
        let id = item["Id"].as_str().unwrap_or_default().to_owned();
        let is_typing = item["ContentType"].as_str() == Some(items::TYPING);
        if !id.is_empty() && !is_typing {
            if !self.seen.insert(id.clone()) {
                return;
            }
            if item["Type"].as_str() != Some("MESSAGEMETADATA") {
                self.last_id = Some(id.clone());
            }
            if let Some(pid) = item["ParticipantId"].as_str() {
                self.authors.insert(id.clone(), pid.to_owned());
                self.names.insert(pid.to_owned(), items::name_of(item));
            }
            if let Some(text) = item["Content"].as_str().filter(|_| item["Type"].as_str() == Some("MESSAGE"))
            {
                self.texts.insert(id.clone(), text.to_owned());
            }
        }
        if let Some(line) = items::render(item, &self.viewer()) {
            self.screen.print(&line);
        }
        if items::needs_receipt(item, &self.viewer()) && self.receipted.insert(id.clone()) {
            self.pending_read = Some(id);
            if self.receipt_due().is_some_and(|due| due <= Instant::now()) {
                self.send_pending_receipt();
            }
        }
    }

    fn receipt_due(&self) -> Option<Instant> {
        self.pending_read.as_ref()?;
        Some(self.last_receipt.map(|t| t + RECEIPT_WINDOW).unwrap_or_else(Instant::now))
    }

    /// Sends the newest pending read receipt (chatjs: one per window, newest wins).
    fn send_pending_receipt(&mut self) {
        let Some(id) = self.pending_read.take() else { return };
        self.last_receipt = Some(Instant::now());
        let api = self.api.clone();
        let token = self.connection_token.clone();
        tokio::spawn(async move {
            // Refused (409) when more than two are in the chat: receipts are best effort.
            let content = serde_json::json!({ "messageId": id }).to_string();
            let _ = api.send_event(&token, items::READ, Some(&content)).await;
        });
    }

    /// At most one typing event per 10 s, as chatjs.
    fn typing(&mut self) {
        if self.last_typing.is_some_and(|t| t.elapsed() < TYPING_WINDOW) {
            return;
        }
        self.last_typing = Some(Instant::now());
        let api = self.api.clone();
        let token = self.connection_token.clone();
        tokio::spawn(async move {
            let _ = api.send_event(&token, items::TYPING, None).await;
        });
    }

    /// A typed line: a command or a message. Some when the session should end.
    async fn command(&mut self, line: &str) -> Option<End> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return None;
        }
        match trimmed.split_once(' ').map(|(c, rest)| (c, rest.trim())).unwrap_or((trimmed, "")) {
            ("/quit", _) => {
                match self.api.disconnect(&self.connection_token).await {
                    Ok(_) => self.screen.print("* you left the chat"),
                    Err(e) => self.screen.print(&format!("* could not leave: {e}")),
                }
                return Some(End::Over);
            }
            ("/transcript", _) => self.transcript().await,
            ("/attach", "") => self.screen.print("* usage: /attach FILE"),
            ("/attach", path) => match self.api.attach(&self.connection_token, path).await {
                Ok(name) => self.screen.print(&format!("* sent {name}")),
                Err(e) => self.screen.print(&format!("* could not attach {path}: {e}")),
            },
            ("/help", _) => self.screen.print("* /attach FILE, /transcript, /quit; anything else is sent"),
            _ => self.send_text(trimmed).await,
        }
        None
    }

    async fn send_text(&mut self, text: &str) {
        self.last_typing = None;
        match self.api.send_message(&self.connection_token, text).await {
            Ok(sent) => {
                if let Some(id) = sent["Id"].as_str() {
                    self.sent.insert(id.to_owned());
                    // On resume our own id is unknown until a message of ours comes back.
                    if self.me.participant_id.is_none() {
                        self.me.participant_id = self.authors.get(id).cloned();
                    }
                }
            }
            Err(e) => {
                self.screen.print(&format!("* not sent ({e}); will retry when reconnected"));
                self.pending.push(text.to_owned());
            }
        }
    }

    async fn transcript(&mut self) {
        match self.api.transcript(&self.connection_token, None).await {
            Ok(list) => {
                self.screen.print("--- transcript ---");
                for item in &list {
                    if let Some(line) = items::render(item, &self.viewer()) {
                        self.screen.print(&line);
                    }
                }
                self.screen.print("--- end ---");
            }
            Err(e) => self.screen.print(&format!("* transcript failed: {e}")),
        }
    }
}

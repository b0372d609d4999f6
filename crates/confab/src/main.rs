//! `confab`: the server (`confab serve`) and its clients: `confab connectparticipant` and
//! `confab connect` (the AWS CLI's commands), and `confab chat`.

mod backends;
mod serve;
mod settings;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the request path allocates and frees small objects
/// across threads, where glibc spent ~9 % of the server's CPU at saturation (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "confab", version, about = "A self-hostable, wire-compatible Amazon Connect chat backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Amazon Connect Participant Service operations, as `aws connectparticipant` has them.
    #[command(disable_help_flag = true)]
    Connectparticipant {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Amazon Connect operations, as `aws connect` has them.
    #[command(disable_help_flag = true)]
    Connect {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A chat in the terminal: start, join or resume one.
    Chat(confab_cli::chat::ChatArgs),
}

/// The AWS CLI takes global options before the service too (`aws --output text connect ...`):
/// such a command line goes to the service command whole.
fn service_command(args: &[String]) -> Option<(String, Vec<String>)> {
    let (globals, rest) = confab_cli::args::split_globals(args).ok()?;
    let first = rest.first()?;
    if first != "connectparticipant" && first != "connect" || args.first() == Some(first) {
        return None;
    }
    let _ = globals;
    let pos = args.iter().position(|a| a == first)?;
    let mut others = args[..pos].to_vec();
    others.extend_from_slice(&args[pos + 1..]);
    Some((first.clone(), others))
}

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Some((service, args)) = service_command(&argv) {
        return confab_cli::commands::run(&service, &args);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::main(args),
        Command::Connectparticipant { args } => confab_cli::commands::run("connectparticipant", &args),
        Command::Connect { args } => confab_cli::commands::run("connect", &args),
        Command::Chat(args) => confab_cli::chat::run(args),
    }
}

//! `confab`: the server (`confab serve`) and, later, its client commands.

mod serve;
mod settings;

use clap::{Parser, Subcommand};

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::main(args),
    }
}

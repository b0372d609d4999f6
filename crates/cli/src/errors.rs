//! What goes wrong and how the AWS CLI v1 reports it: the stderr text and the exit code
//! (2 for usage errors found while parsing, 255 for everything after).

use std::fmt;

pub const USAGE: &str = "confab [options] <command> <subcommand> [<subcommand> ...] [parameters]\n\
To see help text, you can run:\n\n  confab help\n  confab <command> help\n  confab <command> <subcommand> help\n";

#[derive(Debug, Clone, PartialEq)]
pub enum CliError {
    /// An argparse error: usage, then `confab: error: ...`; exit 2.
    Usage(String),
    /// Options the operation does not have; exit 255.
    UnknownOptions(Vec<String>),
    /// Any other failure, printed as a blank line and the message; exit 255.
    Plain(String),
    /// An error answer from the service.
    Service { code: String, message: String, operation: String, retries: Option<u32> },
}

impl CliError {
    /// `Error parsing parameter '--x': ...`
    pub fn param(cli_name: &str, message: &str) -> CliError {
        CliError::Plain(format!("Error parsing parameter '{cli_name}': {message}"))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 255,
        }
    }

    /// Exactly what the CLI writes to stderr.
    pub fn stderr(&self) -> String {
        match self {
            CliError::Usage(msg) => format!("usage: {}confab: error: {msg}\n", USAGE),
            CliError::UnknownOptions(opts) => {
                format!("usage: {USAGE}\nUnknown options: {}\n", opts.join(", "))
            }
            CliError::Plain(msg) => format!("\n{msg}\n"),
            CliError::Service { .. } => format!("\n{self}\n"),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(msg) | CliError::Plain(msg) => f.write_str(msg),
            CliError::UnknownOptions(opts) => write!(f, "Unknown options: {}", opts.join(", ")),
            CliError::Service { code, message, operation, retries } => {
                let retry = retries.map(|n| format!(" (reached max retries: {n})")).unwrap_or_default();
                write!(
                    f,
                    "An error occurred ({code}) when calling the {operation} operation{retry}: {message}"
                )
            }
        }
    }
}

impl std::error::Error for CliError {}

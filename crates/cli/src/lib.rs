//! The confab client. Laid out by what the AWS CLI does, in order:
//!
//! - `model`: the botocore service models, the single source of the commands;
//! - `args`: the command line (global options, model-driven option tables, shorthand, JSON,
//!   `file://` values); `validate`: botocore's client-side checks; `skeleton`:
//!   `--generate-cli-skeleton`;
//! - `config`: profiles, region and endpoint from options, `AWS_*` variables and `~/.aws`;
//! - `http`: rest-json requests, SigV4, retries, responses parsed by the model;
//! - `output`: `--query` and the json/text/table formatters, byte-identical to AWS CLI v1;
//! - `errors`: stderr lines and exit codes;
//! - `chat`: `confab chat`, the terminal chat client.

pub mod args;
pub mod chat;
pub mod commands;
pub mod config;
pub mod errors;
pub mod help;
pub mod http;
pub mod model;
pub mod output;
pub mod skeleton;
pub mod validate;

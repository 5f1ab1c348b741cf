//! Command-line definitions only: what the user can type, parsed by clap.
//! Behaviour lives in the library modules that `main.rs` dispatches to.
//!
//! Exit codes: 0 success; 1 failure; 2 bad input (usage error or invalid stack file).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `cloudcomp`: build, ship and provision a load-balanced, auto-scaling API from one YAML file.
#[derive(Debug, Parser)]
#[command(name = "cloudcomp", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build and push the app image, provision the stack, print the URL to curl.
    ///
    /// Example: `cloudcomp up -f stacks/default.yaml`
    Up(UpArgs),
    /// Show what `up` would create, change or delete, without changing anything.
    ///
    /// Exit code 0: no changes; 2: there are changes (or the stack file is invalid); 1: error.
    ///
    /// Example: `cloudcomp plan -f stacks/default.yaml`
    Plan(PlanArgs),
    /// Show the live stack: resources, instances, target health, alarms, the URL.
    ///
    /// Example: `cloudcomp status -f stacks/default.yaml`
    Status(StatusArgs),
    /// Tear down everything the state file records.
    ///
    /// Example: `cloudcomp destroy -f stacks/default.yaml`
    Destroy(StackArgs),
    /// Check a stack file and print it with every default filled in.
    ///
    /// Example: `cloudcomp validate -f stacks/default.yaml`
    Validate(StackArgs),
    /// Print the JSON Schema of stack files (point your editor's YAML support at it).
    ///
    /// Example: `cloudcomp schema > stack.schema.json`
    Schema,
}

/// Options shared by every stack command.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// The stack file to read.
    #[arg(short = 'f', long = "file", default_value = "stacks/default.yaml")]
    pub file: PathBuf,
    /// The state file [default: .cloudcomp/<stack name>.state.json beside the stack file].
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// AWS endpoint, e.g. a moto_server URL (AWS_ENDPOINT_URL works too).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS profile from ~/.aws/config (otherwise the default credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region, overriding the stack file's.
    #[arg(long)]
    pub region: Option<String>,
}

/// Options of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Trust the state file instead of reading every resource from AWS first (faster; misses
    /// changes made outside cloudcomp).
    #[arg(long)]
    pub no_refresh: bool,
    /// After applying, print each step's time and the critical path through the graph.
    #[arg(long)]
    pub timings: bool,
}

/// Options of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Plan against the state file alone, without reading the live resources (no AWS call).
    #[arg(long)]
    pub no_refresh: bool,
}

/// Options of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

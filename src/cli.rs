//! Command-line definitions only: what the user can type, parsed by clap.
//! Behaviour lives in the library modules that `main.rs` dispatches to.
//!
//! Exit codes: 0 success; 1 failure; 2 bad input (usage error or invalid stack file).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  cloudcomp validate -f stacks/default.yaml     check a stack file, print it with defaults
  cloudcomp plan -f stacks/default.yaml         what up would change (exit 0: nothing, 2: changes)
  cloudcomp up --local                          the stack on this machine, print the URL to curl
  cloudcomp up -f stacks/default.yaml           provision on AWS, print the URL to curl
  cloudcomp status -f stacks/default.yaml       the live stack: instances, targets, alarms, deploys, URL
  cloudcomp rollback -f stacks/default.yaml     back to the previous deploy (--to N: to deploy N)
  cloudcomp destroy -f stacks/default.yaml      tear it all down
  cloudcomp destroy --stack demo --from-tags    tear down by tag, without a state file
  cloudcomp build --push 127.0.0.1:5000         build the app image and push it
  cloudcomp schema > stack.schema.json          JSON Schema for editors

Against moto: add --endpoint-url http://127.0.0.1:5000 (or set AWS_ENDPOINT_URL).
Exit codes: 0 success, 1 failure, 2 bad input (usage error, invalid stack file) or plan changes.";

/// `cloudcomp`: build, ship and provision a load-balanced, auto-scaling API from one YAML file.
#[derive(Debug, Parser)]
#[command(name = "cloudcomp", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build and push the app image, provision the stack, print the URL to curl (--local: on
    /// this machine).
    ///
    /// Example: `cloudcomp up -f stacks/default.yaml`, `cloudcomp up --local`
    Up(UpArgs),
    /// Roll the instances back to an earlier deploy (default: the one before the version they
    /// run) through the same health-gated rollout, and record it in the deploy history.
    ///
    /// Example: `cloudcomp rollback -f stacks/default.yaml`, `cloudcomp rollback --to 3`
    Rollback(RollbackArgs),
    /// Show what `up` would create, change or delete, without changing anything.
    ///
    /// Exit code 0: no changes; 2: there are changes (or the stack file is invalid); 1: error.
    ///
    /// Example: `cloudcomp plan -f stacks/default.yaml`
    Plan(PlanArgs),
    /// Show the live stack: resources, instances, target health, alarms, the URL (--local:
    /// replicas, health, request rate, scaling events).
    ///
    /// Example: `cloudcomp status -f stacks/default.yaml`, `cloudcomp status --local`
    Status(StatusArgs),
    /// Tear down everything the state file records (with --local: the local stack; with
    /// --from-tags: what carries the stack's tag at AWS, when the state file is lost).
    ///
    /// Example: `cloudcomp destroy -f stacks/default.yaml`, `cloudcomp destroy --stack demo --from-tags`
    Destroy(DestroyArgs),
    /// Build the app image (static binary, FROM scratch) and, with --push, push it.
    ///
    /// Example: `cloudcomp build --push 127.0.0.1:5000`
    Build(BuildArgs),
    /// Check a stack file and print it with every default filled in.
    ///
    /// Example: `cloudcomp validate -f stacks/default.yaml`
    Validate(StackArgs),
    /// Run a local stack's load balancer, replicas and scaling (started by `up --local`).
    #[command(hide = true)]
    LocalSupervisor(SupervisorArgs),
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
    /// How long a run that takes over a killed run's lock waits for the calls that run sent
    /// just before it died to land at AWS (tests against a local AWS shorten it).
    #[arg(long, hide = true, env = "CLOUDCOMP_LANDING_GRACE", default_value = "2s", value_parser = humantime::parse_duration)]
    pub landing_grace: Duration,
    /// How long, after a cut-off run, a look-up by tags that finds nothing keeps looking: EC2
    /// lists a new resource under its tags only seconds after creating it (tests against a
    /// local AWS, which lists at once, shorten it).
    #[arg(long, hide = true, env = "CLOUDCOMP_TAG_LAG", default_value = "5s", value_parser = humantime::parse_duration)]
    pub tag_lag: Duration,
}

/// Where the app image comes from and goes to.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Registry to push the app image to (overrides the stack's `app.registry`; default: the
    /// stack's ECR repository).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub registry: Option<String>,
    /// A statically linked cloudcomp-app to ship [default: built from this checkout].
    #[arg(long, env = "CLOUDCOMP_APP_BINARY", value_name = "PATH")]
    pub app_binary: Option<PathBuf>,
}

/// Options of `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A statically linked cloudcomp-app to ship [default: built from this checkout].
    #[arg(long, env = "CLOUDCOMP_APP_BINARY", value_name = "PATH")]
    pub app_binary: Option<PathBuf>,
    /// Push the image to this registry as `<registry>/cloudcomp-app:<tag>`.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub push: Option<String>,
}

/// Options of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// The app image.
    #[command(flatten)]
    pub image: ImageArgs,
    /// Trust the state file instead of reading every resource from AWS first (faster; misses
    /// changes made outside cloudcomp).
    #[arg(long)]
    pub no_refresh: bool,
    /// After applying, print each step's time and the critical path through the graph.
    #[arg(long)]
    pub timings: bool,
    /// Return once AWS has the resources, without waiting for the instances to boot and
    /// pass the load balancer's health checks.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the service to be up (instances in service, targets healthy).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub wait_timeout: std::time::Duration,
    /// Run the stack on this machine instead of AWS: replicas behind a load balancer on
    /// 127.0.0.1, scaled on request count like the cloud stack. On a local stack already
    /// running another release (app binary or image, `app.env`, `app.demo_user`), deploy it
    /// replica by replica; exit 1 if it is refused (the old release keeps serving). New
    /// scaling or health-check settings are applied without restarting a replica.
    #[arg(long)]
    pub local: bool,
    /// With --local: the load balancer's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// With --local: run replicas as containers of the built image (`docker`) or as plain
    /// processes (`process`) [default: docker when a Docker engine answers].
    #[arg(long, value_enum)]
    pub runtime: Option<LocalRuntime>,
}

/// Where `up --local` runs replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalRuntime {
    /// Containers of the app image on a private network (needs a Docker engine).
    Docker,
    /// Child processes of the app binary.
    Process,
}

/// Options of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Stop the local stack (`up --local`) and remove its data.
    #[arg(long)]
    pub local: bool,
    /// Lost the state file? Find the stack's resources at AWS by their tags (by name where
    /// AWS cannot search tags) and delete those; nothing without the stack's tag is touched.
    #[arg(long, conflicts_with = "local")]
    pub from_tags: bool,
    /// With --from-tags: the stack's name, instead of reading it from the stack file.
    #[arg(long = "stack", value_name = "NAME", requires = "from_tags")]
    pub stack_name: Option<String>,
}

/// Options of the hidden `local-supervisor`.
#[derive(Debug, Args)]
pub struct SupervisorArgs {
    /// The stack's name (its settings and release are the ones `<dir>/wanted.json` names).
    #[arg(long)]
    pub stack: String,
    /// The stack's local directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// The load balancer's port on 127.0.0.1.
    #[arg(long)]
    pub port: u16,
    /// Where replicas run (the release they run is the one `<dir>/wanted.json` names).
    #[arg(long, value_enum)]
    pub runtime: LocalRuntime,
}

/// Options of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// The app image.
    #[command(flatten)]
    pub image: ImageArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Plan against the state file alone, without reading the live resources (no AWS call).
    #[arg(long)]
    pub no_refresh: bool,
}

/// Options of `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// The deploy to go back to, by its number in `status` [default: the newest on another
    /// version than the instances run].
    #[arg(long, value_name = "N")]
    pub to: Option<u32>,
    /// How long to follow the rollout before leaving it to run on.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub wait_timeout: std::time::Duration,
    /// Roll back the local stack (`up --local`).
    #[arg(long)]
    pub local: bool,
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
    /// Show the local stack (`up --local`): replicas, health, request rate, scaling events.
    #[arg(long)]
    pub local: bool,
}

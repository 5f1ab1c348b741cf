//! What each stack command does, between the parsed arguments and the library: load the
//! stack and state, plan, apply, report.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::aws::{self, Cx};
use crate::cli::{PlanArgs, StackArgs};
use crate::plan::{self, Plan, Resource};
use crate::stack::{self, Stack};
use crate::state::{self, State, StateLock};
use crate::{engine, ui};

/// Exit code of `plan` when there are changes (and of any command on a bad stack file).
pub const EXIT_CHANGES: u8 = 2;

/// The tag of the app image this cloudcomp ships.
const APP_IMAGE_TAG: &str = env!("CARGO_PKG_VERSION");

/// A loaded stack with its state file location.
struct Loaded {
    stack: Stack,
    state_path: PathBuf,
}

fn load(args: &StackArgs) -> anyhow::Result<Loaded> {
    let mut stack = stack::load(&args.file)?;
    if let Some(region) = &args.region {
        stack.region = region.clone();
    }
    let state_path = args.state.clone().unwrap_or_else(|| state::default_path(&args.file, &stack.name));
    Ok(Loaded { stack, state_path })
}

fn desired(stack: &Stack) -> Vec<Resource> {
    plan::desired(stack, APP_IMAGE_TAG)
}

/// `cloudcomp validate`: the stack with defaults filled in.
pub fn validate(args: &StackArgs) -> anyhow::Result<ExitCode> {
    let loaded = load(args)?;
    print!("{}", serde_yaml::to_string(&loaded.stack).context("printing the stack")?);
    Ok(ExitCode::SUCCESS)
}

/// `cloudcomp plan`: 0 when up to date, [`EXIT_CHANGES`] when there are changes.
pub fn plan(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, state_path } = load(&args.stack)?;
    let recorded = state::load(&state_path, &stack.name, &stack.region)?;
    let plan = plan::diff(&desired(&stack), &recorded);
    let mut out = anstream::stdout().lock();
    if args.json {
        writeln!(out, "{:#}", ui::plan_json(&stack.name, &stack.region, &plan))
    } else {
        ui::print_plan(&mut out, &stack.name, &stack.region, &plan)
    }
    .context("writing the plan")?;
    Ok(if plan.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CHANGES) })
}

/// `cloudcomp up`: applies the plan, checkpointing the state after every step.
pub async fn up(args: &StackArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, state_path } = load(args)?;
    let desired = desired(&stack);
    let missing: Vec<&str> = desired.iter().map(|r| r.kind).filter(|k| aws::kind(k).is_none()).collect();
    anyhow::ensure!(missing.is_empty(), "this build cannot manage resource kinds yet: {}", dedup(missing).join(", "));
    let state = apply(args, &stack, &state_path, |state| plan::diff(&desired, state), &desired).await?;
    let dns = state
        .resources
        .get(&plan::Address::from("load_balancer.app"))
        .and_then(|lb| lb.outputs.get("dns_name"))
        .and_then(|v| v.as_str());
    if let Some(dns) = dns {
        println!("http://{dns}/api/v1/users");
    }
    Ok(ExitCode::SUCCESS)
}

/// `cloudcomp destroy`: deletes everything the state records, dependents first.
pub async fn destroy(args: &StackArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, state_path } = load(args)?;
    apply(args, &stack, &state_path, |state| plan::diff(&[], state), &[]).await?;
    Ok(ExitCode::SUCCESS)
}

async fn apply(
    args: &StackArgs,
    stack: &Stack,
    state_path: &std::path::Path,
    make_plan: impl FnOnce(&State) -> Plan,
    desired: &[Resource],
) -> anyhow::Result<State> {
    let started = Instant::now();
    let _lock = StateLock::acquire(state_path)?;
    let mut state = state::load(state_path, &stack.name, &stack.region)?;
    let plan = make_plan(&state);
    if plan.is_empty() {
        eprintln!("Stack {} ({}) is up to date: no changes.", stack.name, stack.region);
        return Ok(state);
    }
    eprintln!("Stack {} ({}): {}.", stack.name, stack.region, ui::summary(&plan));
    let cx =
        Arc::new(Cx::connect(&stack.name, &stack.region, args.endpoint_url.as_deref(), args.profile.as_deref()).await);
    let progress = ui::Progress::default();
    engine::apply(cx, aws::kind, &plan, desired, &mut state, state_path, &progress).await?;
    eprintln!("Done in {:.1}s.", started.elapsed().as_secs_f64());
    Ok(state)
}

fn dedup(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names.dedup();
    names
}

/// `cloudcomp status`, until it reads the live stack: checks the stack file and says so.
pub fn validate_only(args: &StackArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, .. } = load(args)?;
    anyhow::bail!("`status` of stack `{}` is not available yet in this build", stack.name)
}

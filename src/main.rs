//! The `cloudcomp` binary: parses arguments and hands over to the library.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use cloudcomp::cli::{Cli, Command, PlanArgs, StackArgs};
use cloudcomp::stack::{self, Stack};
use cloudcomp::{plan, state, ui};

/// Exit code for bad input (a usage error or an invalid stack file), and for `plan`: changes.
const EXIT_BAD_INPUT_OR_CHANGES: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Schema => {
            println!("{:#}", stack::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(args) => load(args).map(|stack| {
            print!("{}", serde_yaml::to_string(&stack).expect("a stack serializes"));
            ExitCode::SUCCESS
        }),
        Command::Plan(args) => load(&args.stack).and_then(|stack| run_plan(args, &stack)),
        Command::Up(args) | Command::Status(args) | Command::Destroy(args) => load(args)
            .and_then(|stack| anyhow::bail!("provisioning stack `{}` is not available yet in this build", stack.name)),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => match err.downcast_ref::<stack::StackError>() {
            Some(bad_stack) => {
                eprintln!("error: {bad_stack}");
                ExitCode::from(EXIT_BAD_INPUT_OR_CHANGES)
            }
            None => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn load(args: &StackArgs) -> anyhow::Result<Stack> {
    Ok(stack::load(&args.file)?)
}

/// The tag of the app image this cloudcomp ships.
const APP_IMAGE_TAG: &str = env!("CARGO_PKG_VERSION");

fn run_plan(args: &PlanArgs, stack: &Stack) -> anyhow::Result<ExitCode> {
    let state_path = args.stack.state.clone().unwrap_or_else(|| state::default_path(&args.stack.file, &stack.name));
    let recorded = state::load(&state_path, &stack.name, &stack.region)?;
    let desired = plan::desired(stack, APP_IMAGE_TAG);
    let plan = plan::diff(&desired, &recorded);
    let mut out = anstream::stdout().lock();
    if args.json {
        writeln!(out, "{:#}", ui::plan_json(&stack.name, &stack.region, &plan))
    } else {
        ui::print_plan(&mut out, &stack.name, &stack.region, &plan)
    }
    .context("writing the plan")?;
    Ok(if plan.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_BAD_INPUT_OR_CHANGES) })
}

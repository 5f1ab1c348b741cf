//! The `cloudcomp` binary: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use cloudcomp::cli::{Cli, Command};
use cloudcomp::stack::{self, Stack};

/// Exit code for bad input: a usage error (clap uses it too) or an invalid stack file.
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Schema => {
            println!("{:#}", stack::json_schema());
            ExitCode::SUCCESS
        }
        Command::Validate(args) => match load(&args.file) {
            Ok(stack) => {
                print!("{}", serde_yaml::to_string(&stack).expect("a stack serializes"));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Up(args) | Command::Plan(args) | Command::Status(args) | Command::Destroy(args) => {
            match load(&args.file) {
                Ok(stack) => {
                    eprintln!("error: provisioning stack `{}` is not available yet in this build", stack.name);
                    ExitCode::FAILURE
                }
                Err(code) => code,
            }
        }
    }
}

/// Loads the stack file, or prints why not and returns exit code 2.
fn load(file: &std::path::Path) -> Result<Stack, ExitCode> {
    stack::load(file).map_err(|err| {
        eprintln!("error: {err}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

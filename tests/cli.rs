//! The `cloudcomp` binary's command line.

use std::process::Command;

fn cloudcomp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cloudcomp")).args(args).output().expect("running cloudcomp")
}

#[test]
fn help_lists_every_command_with_an_example() {
    let output = cloudcomp(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["up", "plan", "status", "destroy"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(command)), "--help does not list `{command}`:\n{help}");
        let sub = cloudcomp(&[command, "--help"]);
        let text = String::from_utf8_lossy(&sub.stdout);
        assert!(
            text.contains(&format!("cloudcomp {command} -f stacks/default.yaml")),
            "no example in `{command} --help`:\n{text}"
        );
    }
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let output = cloudcomp(&["launch"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand"));
}

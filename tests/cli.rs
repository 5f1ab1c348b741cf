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
    for command in ["up", "plan", "status", "destroy", "validate"] {
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

#[test]
fn a_bad_stack_file_exits_2_naming_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("cloudcomp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(&file, "name: demo\nscaling:\n  min: 6\n  max: 5\n").unwrap();
    for command in ["up", "plan", "status", "destroy", "validate"] {
        let output = cloudcomp(&[command, "-f", file.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "`{command}` on a bad stack");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("{}:4:8: scaling.min (6) is greater than scaling.max (5)", file.display())),
            "{stderr}"
        );
        assert!(stderr.contains("fix: set max to at least min"), "{stderr}");
    }
    let missing = cloudcomp(&["plan", "-f", dir.join("nope.yaml").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.yaml: cannot read the stack file"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn validate_prints_the_stack_with_defaults_filled_in() {
    let output = cloudcomp(&["validate", "-f", "stacks/examples/single-sqlite.yaml"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("store: sqlite") && text.contains("path: /health"), "{text}");
}

#[test]
fn schema_is_json_schema_for_stack_files() {
    let output = cloudcomp(&["schema"]);
    assert!(output.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the schema is JSON");
    assert!(schema["$schema"].as_str().unwrap().contains("json-schema.org"));
    assert!(schema["properties"]["scaling"].is_object());
}

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

/// Writes a state file recording every resource of `plan_json`'s creates, as `up` would.
fn state_from_plan(plan_json: &serde_json::Value, path: &std::path::Path) {
    let mut resources = serde_json::Map::new();
    for change in plan_json["changes"].as_array().unwrap() {
        let attrs: serde_json::Map<String, serde_json::Value> = change["attrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["name"].as_str().unwrap().to_string(), a["after"].clone()))
            .collect();
        resources.insert(
            change["address"].as_str().unwrap().to_string(),
            serde_json::json!({"kind": change["kind"], "id": "x", "attrs": attrs, "outputs": {}, "depends_on": []}),
        );
    }
    let state = serde_json::json!({"version": 1, "stack": "demo", "region": "us-east-1", "resources": resources});
    std::fs::write(path, serde_json::to_vec(&state).unwrap()).unwrap();
}

#[test]
fn plan_shows_creates_on_an_empty_state_then_exactly_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack.yaml");
    let state = dir.path().join("state.json");
    let default = std::fs::read_to_string("stacks/default.yaml").unwrap();
    std::fs::write(&stack, &default).unwrap();
    let args = |json: bool| {
        // The state is made up: plan it without reading AWS, against an endpoint that would
        // refuse any call (and whose ECR, like moto's, ships no image).
        let mut a = vec![
            "plan",
            "--no-refresh",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "-f",
            stack.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ];
        if json {
            a.push("--json");
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |json: bool| {
        let a = args(json);
        cloudcomp(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let first = run(true);
    assert_eq!(first.status.code(), Some(2), "changes pending → exit 2");
    let plan: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(plan["summary"]["create"], plan["changes"].as_array().unwrap().len());
    assert!(plan["summary"]["create"].as_u64().unwrap() >= 20);
    assert_eq!(plan["summary"]["update"], 0);

    state_from_plan(&plan, &state);
    let unchanged = run(false);
    assert_eq!(unchanged.status.code(), Some(0), "{}", String::from_utf8_lossy(&unchanged.stdout));
    assert!(String::from_utf8_lossy(&unchanged.stdout).contains("no changes"));

    std::fs::write(
        &stack,
        default.replace("max: 5", "max: 4").replace("allow_from: [0.0.0.0/0]", "allow_from: [203.0.113.0/24]"),
    )
    .unwrap();
    let changed = run(true);
    assert_eq!(changed.status.code(), Some(2));
    let plan: serde_json::Value = serde_json::from_slice(&changed.stdout).unwrap();
    let summary: Vec<(String, String, Vec<String>)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let attrs =
                c["attrs"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect();
            (c["address"].as_str().unwrap().to_string(), c["action"].as_str().unwrap().to_string(), attrs)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("security_group.alb".to_string(), "update".to_string(), vec!["ingress".to_string()]),
            ("autoscaling_group.app".to_string(), "update".to_string(), vec!["max_size".to_string()]),
        ]
    );
    let text = String::from_utf8_lossy(&run(false).stdout).to_string();
    assert!(text.contains("max_size: 5 → 4"), "{text}");
}

/// Started under the name `cloudcomp-app` (as `up --local`'s process runtime starts it), the
/// CLI is the app: it serves `/health` on the address it is given.
#[test]
fn started_as_cloudcomp_app_the_cli_serves_the_app() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("cloudcomp-app");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_cloudcomp"), &link).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let db = dir.path().join("app.db");
    let mut app = Command::new(&link)
        .args(["--listen", &addr, "--db-path", db.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let answer = loop {
        let asked = std::net::TcpStream::connect(&addr).and_then(|mut stream| {
            stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        });
        match asked {
            Ok(answer) => break answer,
            Err(_) if std::time::Instant::now() < deadline && app.try_wait().unwrap().is_none() => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(err) => panic!("the linked app never answered on {addr}: {err}"),
        }
    };
    app.kill().unwrap();
    app.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

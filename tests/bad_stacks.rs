//! Bad stack files, fuzzed: the parser and validator never panic and name a line and column
//! inside the file for every problem; through the binary, every command refuses a bad file
//! with `file:line:column: …` on stderr and exit code 2, having made zero AWS calls
//! (counted by a recording proxy in front of moto_server).

mod support;

use std::time::Duration;

use aws_proxy::{Faults, Proxy};
use cloudcomp::stack;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use support::{moto_addr, run_with, stderr};

const DEFAULT: &str = include_str!("../stacks/default.yaml");

/// One edit to a stack text.
#[derive(Debug, Clone)]
enum Edit {
    /// Deletes up to `len` bytes at a position.
    Delete(Index, usize),
    /// Inserts text at a position.
    Insert(Index, String),
    /// Replaces the value after a line's first `:` with a token.
    Value(Index, String),
    /// Repeats a line.
    Repeat(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        "[ -~]{0,16}",
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("{".to_string()),
        Just("[a, {b: ]".to_string()),
        Just("*alias".to_string()),
        Just("&a [*a]".to_string()),
        Just("!!binary AAAA".to_string()),
        Just("\u{0}\u{7f}é漢".to_string()),
        Just("0.0.0.0/33".to_string()),
        Just("1e400".to_string()),
    ];
    prop_oneof![
        (any::<Index>(), 0..40usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<Index>(), "[ -~\n\t:{}\\[\\],#&*!|>'\"-]{1,12}").prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<Index>(), token).prop_map(|(i, t)| Edit::Value(i, t)),
        any::<Index>().prop_map(Edit::Repeat),
    ]
}

/// The nearest char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_string();
    for edit in edits {
        match edit {
            Edit::Delete(at, len) => {
                let start = boundary(&text, at.index(text.len() + 1));
                let end = boundary(&text, (start + len).min(text.len()));
                text.replace_range(start..end, "");
            }
            Edit::Insert(at, inserted) => {
                let at = boundary(&text, at.index(text.len() + 1));
                text.insert_str(at, inserted);
            }
            Edit::Value(line, token) => {
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                if lines.is_empty() {
                    continue;
                }
                let at = line.index(lines.len());
                let line = &mut lines[at];
                if let Some((key, _)) = line.split_once(':') {
                    *line = format!("{key}: {token}");
                }
                text = lines.join("\n");
            }
            Edit::Repeat(line) => {
                let mut lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let at = line.index(lines.len());
                    lines.insert(at, lines[at]);
                }
                text = lines.join("\n");
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Edited stacks: parsed or refused, never a panic; each problem inside the file.
    #[test]
    fn edited_stacks_never_panic_and_every_problem_has_a_position(edits in prop::collection::vec(edit(), 1..6)) {
        let text = apply(DEFAULT, &edits);
        if let Err(problems) = stack::parse(&text) {
            prop_assert!(!problems.is_empty());
            let lines = text.lines().count().max(1);
            for p in problems {
                prop_assert!(p.line >= 1 && p.line <= lines + 1, "line {} of {lines}: {}\n{text}", p.line, p.message);
                prop_assert!(p.column >= 1, "column 0: {}", p.message);
                prop_assert!(!p.message.is_empty());
            }
        }
    }

    /// Arbitrary text, YAML-ish or not.
    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
        if let Err(problems) = stack::parse(&text) {
            prop_assert!(problems.iter().all(|p| p.line >= 1 && p.column >= 1));
        }
    }
}

/// A sample of edited stacks that the parser refuses.
fn refused_samples(count: usize) -> Vec<String> {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(edit(), 1..4);
    let mut samples = vec![String::new(), "name: demo\nscaling: {min: 9}\n".into(), "a: &a [*a, *a]\n".into()];
    while samples.len() < count {
        let text = apply(DEFAULT, &strategy.new_tree(&mut runner).unwrap().current());
        if stack::parse(&text).is_err() {
            samples.push(text);
        }
    }
    samples
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_refuses_a_bad_file_with_its_position_exit_2_and_no_aws_call() {
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), moto_addr(), Duration::ZERO, Faults::NONE).await.unwrap();
    let endpoint = proxy.url();
    let dir = tempfile::tempdir().unwrap();
    let samples = refused_samples(40);
    for (i, text) in samples.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let file = file.to_str().unwrap();
        let command = ["up", "plan", "destroy", "status", "validate"][i % 5];
        let output = run_with(&[command, "-f", file, "--endpoint-url", &endpoint], &[]).await;
        assert_eq!(output.status.code(), Some(2), "{command} on {text:?}: {}", stderr(&output));
        let shown = stderr(&output);
        let position = shown.lines().find_map(|l| l.split_once(&format!("{file}:")).map(|(_, at)| at.to_string()));
        let position = position.unwrap_or_else(|| panic!("{command}: no {file}:line:column in {shown:?}"));
        let mut parts = position.splitn(3, ':');
        let (line, column) = (parts.next().unwrap(), parts.next().unwrap_or_default());
        assert!(line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok(), "{command}: {shown}");
        assert!(!shown.contains("panicked"), "{shown}");
    }
    assert!(proxy.calls().is_empty(), "bad stack files led to AWS calls: {:?}", proxy.calls());
    eprintln!(
        "REPORT bad-stacks: {} refused files through 5 commands: exit 2, file:line:column, 0 AWS calls",
        samples.len()
    );
}

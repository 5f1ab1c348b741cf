//! The stack file: YAML → typed [`Stack`] with defaults → validated. Pure: no AWS types, no
//! tokio. Every problem is reported with the file, line and column, and how to fix it.
//!
//! 1. [`serde_saphyr`] parses the text into the types of [`model`]; syntax errors, wrong
//!    types and unknown keys come back with their position.
//! 2. [`validate`] checks the rules between fields (subnets inside the VPC, min ≤ max, …),
//!    run by serde-saphyr as a `garde` validation, so that each broken rule's field path
//!    maps back to where the file writes it (or to the nearest section it writes).

mod model;
mod validate;
mod values;

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

pub use model::{App, HealthCheck, Instances, Network, ScaleIn, ScaleOut, Scaling, Stack, StoreKind};
pub use values::{Cidr, Seconds};

/// One problem in a stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub fix: Option<String>,
}

/// Why a stack file could not be used. Displayed as `file:line:column: message` lines.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The file could not be read.
    #[error("{}: cannot read the stack file: {source}", file.display())]
    Unreadable {
        /// The stack file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid stack.
    #[error("{}", Problems(file, problems))]
    Invalid {
        /// The stack file.
        file: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

struct Problems<'a>(&'a Path, &'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.1.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.0.display(), p.line, p.column, p.message)?;
            if let Some(fix) = &p.fix {
                write!(f, "\n  fix: {fix}")?;
            }
        }
        Ok(())
    }
}

/// Reads, parses and validates the stack file at `file`.
pub fn load(file: &Path) -> Result<Stack, StackError> {
    let text =
        std::fs::read_to_string(file).map_err(|source| StackError::Unreadable { file: file.to_path_buf(), source })?;
    parse(&text).map_err(|problems| StackError::Invalid { file: file.to_path_buf(), problems })
}

/// Parses and validates stack text; every problem found on failure.
pub fn parse(text: &str) -> Result<Stack, Vec<Problem>> {
    let broken = RefCell::new(Vec::new());
    let options = serde_saphyr::options! { with_snippet: false };
    let error = match serde_saphyr::from_str_with_options_context_valid::<Stack>(text, options, &broken) {
        Ok(stack) => return Ok(stack),
        Err(error) => error,
    };
    let serde_saphyr::Error::ValidationError { locations, .. } = error else {
        return Err(vec![from_yaml(&error)]);
    };
    let mut problems: Vec<Problem> = broken
        .into_inner()
        .into_iter()
        .map(|invalid| {
            let at = locations.locations_for(&validate::path_key(&invalid.path));
            let (line, column) = at.map_or((1, 1), |at| position(at.reference_location));
            Problem { line, column, message: invalid.message, fix: Some(invalid.fix) }
        })
        .collect();
    problems.sort_by_key(|p| (p.line, p.column));
    Err(problems)
}

/// A 1-based line and column (1:1 where the parser knows none).
fn position(location: serde_saphyr::Location) -> (usize, usize) {
    let known = |n: u64| usize::try_from(n).ok().filter(|n| *n > 0).unwrap_or(1);
    (known(location.line()), known(location.column()))
}

/// A syntax error, a wrong type or an unknown key.
fn from_yaml(error: &serde_saphyr::Error) -> Problem {
    use serde_saphyr::MessageFormatter;
    let (line, column) = error.location().map_or((1, 1), position);
    let message = serde_saphyr::DefaultMessageFormatter.format_message(error).escape_debug().to_string();
    let fix = if message.contains("unknown field") {
        Some("remove the key or correct its spelling; `cloudcomp schema` lists every key".to_string())
    } else if message.contains("missing field `name`") {
        Some("add `name: <stack name>` at the top".to_string())
    } else {
        None
    };
    Problem { line, column, message, fix }
}

/// The JSON Schema of the stack file, for editors and `cloudcomp schema`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Stack)).expect("a schema is plain JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../stacks/default.yaml");

    /// Parses `text` and returns its single problem.
    fn problem(text: &str) -> Problem {
        let problems = parse(text).expect_err("the stack should be refused");
        assert_eq!(problems.len(), 1, "expected one problem, got {problems:#?}");
        problems.into_iter().next().unwrap()
    }

    #[test]
    fn the_default_health_check_timeout_stays_below_a_short_interval() {
        let stack = parse("name: demo\nhealth_check: {interval: 5s}\n").unwrap();
        assert_eq!(stack.health_check.timeout(), values::Seconds(4));
        assert_eq!(parse("name: demo\n").unwrap().health_check.timeout(), values::Seconds(5));
    }

    #[test]
    fn the_shipped_stacks_are_valid() {
        let stack = parse(DEFAULT).unwrap();
        assert_eq!((stack.scaling.min, stack.scaling.max, stack.scaling.desired()), (2, 5, 2));
        assert_eq!(stack.scaling.scale_out.requests_above, 10);
        assert_eq!(stack.app.store, StoreKind::Dynamodb);
        let single = parse(include_str!("../../stacks/examples/single-sqlite.yaml")).unwrap();
        assert_eq!(single.network.allow_from.len(), 1);
    }

    #[test]
    fn a_minimal_stack_takes_every_default() {
        let stack = parse("name: tiny\n").unwrap();
        assert_eq!(stack.network, Network::default());
        assert_eq!(stack.health_check.path, "/health");
        assert_eq!(stack.region, "us-east-1");
    }

    #[test]
    fn each_rule_names_its_line_and_column() {
        let cases: &[(&str, usize, usize, &str)] = &[
            ("name: demo\nnetwrk: {}\n", 2, 1, "unknown field `netwrk`"),
            ("region: us-east-1\n", 1, 1, "missing field `name`"),
            ("name: demo\nscaling:\n  min: two\n", 3, 8, "invalid u32"),
            ("name: demo\nnetwork:\n  vpc_cidr: 10.0.0.5/16\n", 3, 13, "host bits"),
            ("name: Demo\n", 1, 7, "not usable"),
            ("name: demo\nregion: mars\n", 2, 9, "not an AWS region"),
            (
                "name: demo\nnetwork:\n  vpc_cidr: 10.0.0.0/8\n  public_subnets: [10.0.1.0/24, 10.0.2.0/24]\n",
                3,
                13,
                "/16 to /28",
            ),
            ("name: demo\nnetwork:\n  public_subnets: [10.0.1.0/24]\n", 3, 19, "at least 2 availability zones"),
            ("name: demo\nnetwork:\n  public_subnets: [10.0.1.0/24, 10.1.2.0/24]\n", 3, 33, "outside the VPC"),
            ("name: demo\nnetwork:\n  public_subnets: [10.0.0.0/23, 10.0.1.0/24]\n", 3, 33, "overlaps"),
            ("name: demo\nnetwork:\n  allow_from: []\n", 3, 15, "allow_from is empty"),
            ("name: demo\napp:\n  port: 80\n", 3, 9, "privileged"),
            ("name: demo\ninstances:\n  ami: ubuntu\n", 3, 8, "AMI id"),
            ("name: demo\nscaling:\n  min: 6\n", 3, 3, "greater than scaling.max"),
            ("name: demo\nscaling:\n  desired: 9\n", 3, 12, "outside min..max"),
            ("name: demo\napp:\n  store: sqlite\n", 1, 1, "instances would disagree"),
            ("name: demo\nscaling:\n  scale_out: { per: 45s }\n", 3, 21, "alarm period"),
            ("name: demo\nscaling:\n  scale_in: { periods: 0 }\n", 3, 24, "not a valid alarm window"),
            ("name: demo\nscaling:\n  scale_in: { requests_below: 50 }\n", 3, 31, "flap"),
            ("name: demo\nhealth_check:\n  path: health\n", 3, 9, "does not start with /"),
            ("name: demo\nhealth_check:\n  interval: 400s\n", 3, 13, "outside 5s..300s"),
            ("name: demo\nhealth_check:\n  timeout: 20s\n", 3, 12, "shorter than the interval"),
            ("name: demo\nhealth_check:\n  interval: 5s\n  timeout: 5s\n", 4, 12, "shorter than the interval"),
            ("name: demo\ninstances:\n  health_grace: 3h\n", 3, 17, "longer than AWS's 7200s"),
            ("name: demo\ntags:\n  cloudcomp:stack: other\n", 3, 3, "reserved"),
            ("name: demo\napp:\n  env:\n    CLOUDCOMP_DB_PATH: /tmp/x.db\n", 4, 24, "sets CLOUDCOMP_DB_PATH itself"),
            ("name: demo\napp:\n  env: { rate: \"1\" }\n", 3, 16, "not an environment variable name"),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .map(|(text, line, column, needle)| (text, (*line, *column), needle, problem(text)))
            .filter(|(_, at, needle, p)| !p.message.contains(**needle) || (p.line, p.column) != *at)
            .map(|(text, at, needle, p)| format!("{text:?}: want {needle:?} at {at:?}, got {p:?}"))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn app_env_takes_names_cloudcomp_leaves_to_the_app() {
        let stack = parse("name: demo\napp:\n  env: { CLOUDCOMP_RATE_LOGIN: \"10\", _X1: a b }\n").unwrap();
        assert_eq!(stack.app.env.get("CLOUDCOMP_RATE_LOGIN").map(String::as_str), Some("10"));
        assert_eq!(stack.app.env.len(), 2);
        assert!(parse("name: demo\napp:\n  env: { X: \"a\\nb\" }\n").is_err(), "a value on two lines");
    }

    #[test]
    fn every_problem_is_reported_at_once_in_file_order() {
        let problems = parse("name: Bad\nscaling:\n  min: 9\nhealth_check: { path: x }\n").unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines.len(), 3, "{problems:#?}");
        assert!(lines.is_sorted());
    }

    #[test]
    fn the_error_names_file_line_and_column() {
        let err = StackError::Invalid {
            file: "stacks/x.yaml".into(),
            problems: vec![Problem { line: 3, column: 7, message: "bad".into(), fix: Some("fix it".into()) }],
        };
        assert_eq!(err.to_string(), "stacks/x.yaml:3:7: bad\n  fix: fix it");
    }

    #[test]
    fn the_schema_describes_every_section() {
        let schema = json_schema();
        let properties = schema["properties"].as_object().unwrap();
        for key in ["name", "region", "app", "network", "instances", "scaling", "health_check", "tags"] {
            assert!(properties.contains_key(key), "schema lacks {key}");
        }
        assert_eq!(schema["required"], serde_json::json!(["name"]));
    }
}

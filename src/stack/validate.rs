//! The rules a parsed stack must follow beyond its types. Each broken rule names the field
//! (as a path into the file, so it can be located) and how to fix it.

use std::cell::RefCell;

use super::model::{Stack, StoreKind};
use super::values::Seconds;

/// One step of a path into the stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(&'static str),
    /// A sequence index.
    Index(usize),
    /// A key the file chooses (an entry of a map).
    Entry(String),
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The offending field.
    pub path: Vec<Seg>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// serde-saphyr runs the rules as a `garde` validation, and maps each broken rule's path
/// to where the file writes it. The rules land in `broken`, with their fixes.
impl garde::Validate for Stack {
    type Context = RefCell<Vec<Invalid>>;

    fn validate_into(
        &self,
        broken: &Self::Context,
        _parent: &mut dyn FnMut() -> garde::Path,
        report: &mut garde::Report,
    ) {
        for invalid in validate(self) {
            let mut path = garde::Path::empty();
            for seg in &invalid.path {
                path = match seg {
                    Seg::Key(key) => path.join(*key),
                    Seg::Index(index) => path.join(*index),
                    Seg::Entry(key) => path.join(key.clone()),
                };
            }
            report.append(path, garde::Error::new(invalid.message.clone()));
            broken.borrow_mut().push(invalid);
        }
    }
}

/// `path` as serde-saphyr's path key, to look up where the file writes it.
pub fn path_key(path: &[Seg]) -> serde_saphyr::path_map::PathKey {
    path.iter().fold(serde_saphyr::path_map::PathKey::new(), |key, seg| match seg {
        Seg::Key(name) => key.join_key(*name),
        Seg::Index(index) => key.join_index(*index),
        Seg::Entry(name) => key.join_key(name.clone()),
    })
}

/// The app's environment variables cloudcomp sets itself, on AWS or locally: `app.env` may
/// not name them.
pub const RESERVED_ENV: [&str; 10] = [
    "CLOUDCOMP_LISTEN",
    "CLOUDCOMP_PORT",
    "CLOUDCOMP_STORE",
    "CLOUDCOMP_DB_PATH",
    "CLOUDCOMP_TABLE",
    "CLOUDCOMP_REGION",
    "CLOUDCOMP_JWT_SECRET_PARAMETER",
    "CLOUDCOMP_DEMO_USER",
    "CLOUDCOMP_CALC_ACCOUNTS",
    "CLOUDCOMP_TRUST_FORWARDED_FOR",
];

/// Longest stack name: resource names such as `<name>-alb-xxxxxxx` must fit AWS's 32 characters.
pub const MAX_NAME_LEN: usize = 24;

/// Every broken rule of `stack`, in file order; empty when the stack is valid.
pub fn validate(stack: &Stack) -> Vec<Invalid> {
    let mut found = Vec::new();
    let mut check = |ok: bool, path: &[Seg], message: String, fix: &str| {
        if !ok {
            found.push(Invalid { path: path.to_vec(), message, fix: fix.to_string() });
        }
    };
    use Seg::{Index, Key};

    let name = &stack.name;
    check(
        !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.ends_with('-'),
        &[Key("name")],
        format!("stack name `{name}` is not usable in AWS resource names"),
        "use 1 to 24 lowercase letters, digits and hyphens, starting with a letter, e.g. `demo`",
    );
    check(
        is_region(&stack.region),
        &[Key("region")],
        format!("`{}` is not an AWS region name", stack.region),
        "use a region such as us-east-1 or eu-central-1",
    );

    let net = &stack.network;
    let vpc = net.vpc_cidr.0;
    check(
        (16..=28).contains(&vpc.prefix_len()),
        &[Key("network"), Key("vpc_cidr")],
        format!("VPC block {vpc} has a /{} prefix; AWS allows /16 to /28", vpc.prefix_len()),
        "use a block between /16 and /28, e.g. 10.0.0.0/16",
    );
    check(
        net.public_subnets.len() >= 2,
        &[Key("network"), Key("public_subnets")],
        format!(
            "{} public subnet(s) given; a load balancer needs subnets in at least 2 availability zones",
            net.public_subnets.len()
        ),
        "list two subnets inside the VPC, e.g. [10.0.1.0/24, 10.0.2.0/24]",
    );
    for (i, subnet) in net.public_subnets.iter().enumerate() {
        let path = [Key("network"), Key("public_subnets"), Index(i)];
        check(
            vpc.contains(&subnet.0),
            &path,
            format!("subnet {subnet} is outside the VPC block {vpc}"),
            "pick a subnet inside network.vpc_cidr",
        );
        check(
            (16..=28).contains(&subnet.0.prefix_len()),
            &path,
            format!("subnet {subnet} has a /{} prefix; AWS allows /16 to /28", subnet.0.prefix_len()),
            "use a block between /16 and /28, e.g. 10.0.1.0/24",
        );
        if let Some(other) = net.public_subnets[..i].iter().find(|o| o.0.contains(&subnet.0) || subnet.0.contains(&o.0))
        {
            check(false, &path, format!("subnet {subnet} overlaps subnet {other}"), "give each subnet its own block");
        }
    }
    check(
        !net.allow_from.is_empty(),
        &[Key("network"), Key("allow_from")],
        "allow_from is empty: nobody could reach the load balancer".into(),
        "list the address ranges allowed in, e.g. [203.0.113.7/32] or [0.0.0.0/0]",
    );

    check(
        stack.app.port >= 1024,
        &[Key("app"), Key("port")],
        format!("app port {} is privileged or zero; the app runs as a non-root user", stack.app.port),
        "use a port from 1024 to 65535, e.g. 8080",
    );

    for (name, value) in &stack.app.env {
        let path = [Key("app"), Key("env"), Seg::Entry(name.clone())];
        check(
            name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            &path,
            format!("`{name}` is not an environment variable name"),
            "use capital letters, digits and underscores, not starting with a digit, e.g. CLOUDCOMP_RATE_LOGIN",
        );
        check(
            !RESERVED_ENV.contains(&name.as_str()),
            &path,
            format!("cloudcomp sets {name} itself"),
            "remove it: the stack's other settings (app.port, app.store, app.demo_user, …) decide it",
        );
        check(
            !value.contains(['\n', '\r', '\0']),
            &path,
            format!("the value of {name} is not on one line"),
            "write the value on one line, without NUL characters",
        );
    }

    let ami = &stack.instances.ami;
    check(
        ami == "al2023"
            || (ami.starts_with("ami-") && ami.len() > 4 && ami[4..].chars().all(|c| c.is_ascii_hexdigit())),
        &[Key("instances"), Key("ami")],
        format!("`{ami}` is neither `al2023` nor an AMI id"),
        "use `al2023` or an id like ami-0abcdef1234567890",
    );
    check(
        stack.instances.instance_type.contains('.'),
        &[Key("instances"), Key("type")],
        format!("`{}` is not an EC2 instance type", stack.instances.instance_type),
        "use a type such as t3.micro",
    );

    let scaling = &stack.scaling;
    check(scaling.min >= 1, &[Key("scaling"), Key("min")], "scaling.min is 0".into(), "run at least one instance");
    check(
        scaling.min <= scaling.max,
        &[Key("scaling"), Key("max")],
        format!("scaling.min ({}) is greater than scaling.max ({})", scaling.min, scaling.max),
        "set max to at least min",
    );
    check(
        scaling.max <= 100,
        &[Key("scaling"), Key("max")],
        format!("scaling.max ({}) is above cloudcomp's limit of 100", scaling.max),
        "use at most 100 instances",
    );
    if let Some(desired) = scaling.desired {
        check(
            (scaling.min..=scaling.max).contains(&desired),
            &[Key("scaling"), Key("desired")],
            format!("scaling.desired ({desired}) is outside min..max ({}..{})", scaling.min, scaling.max),
            "set desired between min and max, or leave it out to start at min",
        );
    }
    check(
        !(stack.app.store == StoreKind::Sqlite && scaling.max > 1),
        &[Key("scaling"), Key("max")],
        format!(
            "store `sqlite` keeps data on one instance, but scaling.max is {}: instances would disagree",
            scaling.max
        ),
        "use `app.store: dynamodb` to share data, or set scaling.min and scaling.max to 1",
    );
    let out = &scaling.scale_out;
    let inn = &scaling.scale_in;
    for (section, per, periods, step) in
        [("scale_out", out.per, out.periods, out.add), ("scale_in", inn.per, inn.periods, inn.remove)]
    {
        check(
            is_alarm_period(per),
            &[Key("scaling"), Key(section), Key("per")],
            format!("a CloudWatch alarm period of {per} is not allowed"),
            "use 10s, 30s or a multiple of 60s",
        );
        check(
            periods >= 1 && u64::from(per.0) * u64::from(periods) <= 86_400,
            &[Key("scaling"), Key(section), Key("periods")],
            format!("{periods} periods of {per} is not a valid alarm window"),
            "use at least 1 period, and at most one day in all",
        );
        let step_key = if section == "scale_out" { "add" } else { "remove" };
        check(
            step >= 1,
            &[Key("scaling"), Key(section), Key(step_key)],
            format!("{step_key} is 0"),
            "change by at least 1 instance",
        );
    }
    check(
        inn.requests_below <= out.requests_above,
        &[Key("scaling"), Key("scale_in"), Key("requests_below")],
        format!(
            "scale_in.requests_below ({}) is above scale_out.requests_above ({}): the group would flap",
            inn.requests_below, out.requests_above
        ),
        "set requests_below at or under requests_above",
    );

    let health = &stack.health_check;
    check(
        health.path.starts_with('/'),
        &[Key("health_check"), Key("path")],
        format!("health check path `{}` does not start with /", health.path),
        "use a path such as /health",
    );
    check(
        (5..=300).contains(&health.interval.0),
        &[Key("health_check"), Key("interval")],
        format!("health check interval {} is outside 5s..300s", health.interval),
        "use an interval from 5s to 300s, e.g. 15s",
    );
    let timeout = health.timeout();
    check(
        (2..=120).contains(&timeout.0) && timeout.0 < health.interval.0,
        &[Key("health_check"), Key("timeout")],
        format!(
            "health check timeout {timeout} must be from 2s to 120s and shorter than the interval {}",
            health.interval
        ),
        "use a timeout below the interval, e.g. 5s for a 15s interval",
    );

    let instances = &stack.instances;
    check(
        instances.health_grace.0 <= 7200,
        &[Key("instances"), Key("health_grace")],
        format!("health grace {} is longer than AWS's 7200s", instances.health_grace),
        "use a grace that covers the boot, e.g. 300s",
    );
    check(
        instances.deregistration_delay.0 <= 3600,
        &[Key("instances"), Key("deregistration_delay")],
        format!("deregistration delay {} is longer than AWS's 3600s", instances.deregistration_delay),
        "use a delay from 0s to 3600s, e.g. 30s",
    );

    for (key, value) in &stack.tags {
        check(
            !key.starts_with("aws:")
                && !key.starts_with("cloudcomp:")
                && (1..=128).contains(&key.len())
                && value.len() <= 256,
            &[Key("tags")],
            format!("tag `{key}` is reserved or too long"),
            "tag keys are 1 to 128 characters and may not start with aws: or cloudcomp:; values at most 256",
        );
    }
    found
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn is_alarm_period(per: Seconds) -> bool {
    matches!(per.0, 10 | 30) || (per.0 >= 60 && per.0.is_multiple_of(60))
}

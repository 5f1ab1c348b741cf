//! The judge: every rule of strict mode sees each call before it goes to moto (and may refuse
//! it), learns from moto's successful answers, and may rewrite moto's answer.

use std::sync::Mutex;
use std::time::Instant;

use hyper::StatusCode;

use super::{Rule, Strict, boot, consistency, iam, interfaces, listener, provisioning, tables};
use crate::request::AwsRequest;

/// A call refused the way AWS refuses it (HTTP 400 with AWS's code and message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The rule that refused it.
    pub(crate) rule: Rule,
    /// AWS's error code.
    pub(crate) code: String,
    /// AWS's message.
    pub(crate) message: String,
}

/// moto's answer, rewritten to what AWS would answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rewrite {
    /// The rule that rewrote it.
    pub(crate) rule: Rule,
    /// The status to answer with.
    pub(crate) status: StatusCode,
    /// The body to answer with.
    pub(crate) body: String,
}

/// One rule's state and behaviour. Every method is told the time, so that tests can set it.
pub(super) trait Behaviour: Send {
    /// The refusal of `call` before it reaches moto, if AWS would refuse it now.
    fn refuse(&self, _call: &AwsRequest, _now: Instant) -> Option<Refusal> {
        None
    }

    /// Learns from moto's successful `answer` to `call`.
    fn answered(&mut self, _call: &AwsRequest, _answer: &str, _now: Instant) {}

    /// moto's `answer` (with `status`) to `call` as AWS would answer now, if it differs.
    fn rewrite(&self, _call: &AwsRequest, _status: StatusCode, _answer: &str, _now: Instant) -> Option<Rewrite> {
        None
    }
}

/// All the rules of strict mode, with their state, shared by every connection of a proxy.
pub(crate) struct Judge {
    rules: Mutex<Vec<Box<dyn Behaviour>>>,
}

impl Judge {
    /// The rules, with the delays of `strict`.
    pub(crate) fn new(strict: Strict) -> Judge {
        let rules: Vec<Box<dyn Behaviour>> = vec![
            Box::new(consistency::Consistency::new(strict.consistency)),
            Box::new(iam::IamPropagation::new(strict.iam_propagation)),
            Box::new(interfaces::LingeringInterfaces::new(strict.interfaces_linger)),
            Box::new(listener::ListenerRelease::new(strict.listener_release)),
            Box::new(tables::TableDeletion::new(strict.table_deletion)),
            Box::new(provisioning::Provisioning::new(strict.load_balancer_provisioning)),
            Box::new(boot::Boot::new(strict.instance_boot)),
        ];
        Judge { rules: Mutex::new(rules) }
    }

    /// The refusal of `call` at `now`, if a rule refuses it.
    pub(crate) fn refusal(&self, call: &AwsRequest, now: Instant) -> Option<Refusal> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).iter().find_map(|rule| rule.refuse(call, now))
    }

    /// Learns from moto's answer (`status`, `body`) to `call`, received at `now`, and rewrites
    /// it if a rule says AWS would answer otherwise.
    pub(crate) fn answered(&self, call: &AwsRequest, status: StatusCode, body: &[u8], now: Instant) -> Option<Rewrite> {
        let answer = std::str::from_utf8(body).ok()?;
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if status.is_success() {
            for rule in rules.iter_mut() {
                rule.answered(call, answer, now);
            }
        }
        let mut rewritten: Option<Rewrite> = None;
        for rule in rules.iter() {
            let (status, answer) = rewritten.as_ref().map_or((status, answer), |r| (r.status, r.body.as_str()));
            if let Some(rewrite) = rule.rewrite(call, status, answer, now) {
                rewritten = Some(rewrite);
            }
        }
        rewritten
    }
}

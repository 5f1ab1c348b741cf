//! Progress of `up` and `destroy` on stderr: one line per resource with its state, what it
//! waits for and its elapsed time (live spinners on a terminal, plain lines otherwise).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::engine::{Report, Verb};
use crate::plan::Address;
use crate::timings::Durations;

/// Shows the engine's steps as they go and remembers how long each took.
pub struct Progress {
    bars: Option<MultiProgress>,
    lines: Mutex<HashMap<Address, ProgressBar>>,
    durations: Mutex<Durations>,
}

impl Default for Progress {
    fn default() -> Self {
        let bars = std::io::stderr().is_terminal().then(MultiProgress::new);
        Progress { bars, lines: Mutex::default(), durations: Mutex::default() }
    }
}

impl Progress {
    /// How long each finished step took.
    pub fn durations(&self) -> Durations {
        self.durations.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn take_line(&self, address: &Address) -> Option<ProgressBar> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).remove(address)
    }
}

/// The sign, the present and the past of a verb: `+`, `creating`, `created`.
pub(super) fn verb_words(verb: Verb) -> (&'static str, &'static str, &'static str) {
    match verb {
        Verb::Create => ("+", "creating", "created"),
        Verb::Update => ("~", "updating", "updated"),
        Verb::Delete => ("-", "deleting", "deleted"),
    }
}

impl Report for Progress {
    fn started(&self, address: &Address, verb: Verb) {
        let (sign, doing, _) = verb_words(verb);
        let Some(bars) = &self.bars else { return };
        let bar = bars.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}").expect("a valid template"));
        bar.set_message(format!("{sign} {address:<34} {doing}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).insert(address.clone(), bar);
    }

    fn waiting(&self, address: &Address, verb: Verb, what: &str) {
        let (sign, doing, _) = verb_words(verb);
        let line = format!("{sign} {address:<34} {doing}: waiting for {what}");
        match self.lines.lock().unwrap_or_else(|e| e.into_inner()).get(address) {
            Some(bar) => bar.set_message(line),
            None => eprintln!("{line}"),
        }
    }

    fn finished(&self, address: &Address, verb: Verb, id: &str, took: Duration) {
        self.durations.lock().unwrap_or_else(|e| e.into_inner()).insert((address.clone(), verb), took);
        let (sign, _, done) = verb_words(verb);
        let line = format!("{sign} {address:<34} {done} {id} in {:.2}s", took.as_secs_f64());
        match self.take_line(address) {
            Some(bar) => bar.finish_with_message(line),
            None => eprintln!("{line}"),
        }
    }

    fn failed(&self, address: &Address, verb: Verb, error: &anyhow::Error) {
        let (sign, doing, _) = verb_words(verb);
        let line = format!("{sign} {address:<34} {doing} FAILED: {error:#}");
        match self.take_line(address) {
            Some(bar) => bar.abandon_with_message(line),
            None => eprintln!("{line}"),
        }
    }
}

/// One line saying what a wait outside the graph waits for (a spinner on a terminal,
/// a plain line per change otherwise).
pub struct Waiting {
    bar: Option<ProgressBar>,
    prefix: &'static str,
}

impl Waiting {
    /// A line starting with `prefix` ("waiting for the service").
    pub fn new(prefix: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}").expect("a valid template"));
            bar.set_message(prefix);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Waiting { bar, prefix }
    }

    /// Says what it waits for now.
    pub fn say(&self, what: &str) {
        let line = format!("{}: {what}", self.prefix);
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None => eprintln!("{line}"),
        }
    }

    /// Ends the line with `outcome`.
    pub fn done(&self, outcome: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(outcome.to_string()),
            None => eprintln!("{outcome}"),
        }
    }
}

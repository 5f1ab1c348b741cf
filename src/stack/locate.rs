//! Finds where a field sits in the YAML text, so that a rule broken by a parsed value can be
//! reported at its line and column. serde_yaml keeps no positions; yaml-rust2's event parser
//! does.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::validate::Seg;

/// A 1-based line and column.
pub type Position = (usize, usize);

enum Frame {
    Map { key: Option<String>, expecting_key: bool },
    Seq { next: usize },
}

/// Every node's path and position, collected from the parser's events.
#[derive(Default)]
struct Collector {
    frames: Vec<Frame>,
    /// Each scalar's path (keys and indexes as text) and where it is written.
    nodes: Vec<(Vec<String>, Position)>,
    /// Each mapping entry's path and where its key is written.
    keys: Vec<(Vec<String>, Position)>,
}

impl Collector {
    fn path(&self) -> Vec<String> {
        self.frames
            .iter()
            .filter_map(|f| match f {
                Frame::Map { key, .. } => key.clone(),
                Frame::Seq { next } => Some(next.saturating_sub(1).to_string()),
            })
            .collect()
    }

    /// Called at the start of every node: a key, or a value (scalar or collection).
    /// Returns true if the node is a mapping key (recorded when its value arrives).
    fn enter(&mut self, scalar: Option<&str>) -> bool {
        match self.frames.last_mut() {
            Some(Frame::Map { key, expecting_key }) if *expecting_key => {
                *key = scalar.map(str::to_string);
                *expecting_key = false;
                true
            }
            Some(Frame::Map { expecting_key, .. }) => {
                *expecting_key = true;
                false
            }
            Some(Frame::Seq { next }) => {
                *next += 1;
                false
            }
            None => false,
        }
    }
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, event: Event, mark: Marker) {
        // yaml-rust2 counts lines from 1 and columns from 0.
        let at = (mark.line(), mark.col() + 1);
        match event {
            Event::Scalar(value, ..) => {
                if self.enter(Some(&value)) {
                    let path = self.path();
                    self.keys.push((path, at));
                } else {
                    let path = self.path();
                    self.nodes.push((path, at));
                }
            }
            Event::Alias(_) if !self.enter(None) => {
                let path = self.path();
                self.nodes.push((path, at));
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A collection is reported at its key, or at its first item.
                self.enter(None);
                self.frames.push(match event {
                    Event::MappingStart(..) => Frame::Map { key: None, expecting_key: true },
                    _ => Frame::Seq { next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
            }
            _ => {}
        }
    }
}

/// Where the scalar at `path` is written; for a collection, or a field left to its default,
/// where the key of the nearest written ancestor (or the path itself) is.
pub fn locate(text: &str, path: &[Seg]) -> Position {
    let mut collector = Collector::default();
    if Parser::new_from_str(text).load(&mut collector, false).is_err() {
        return (1, 1);
    }
    let wanted: Vec<String> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => (*k).to_string(),
            Seg::Index(i) => i.to_string(),
        })
        .collect();
    if let Some((_, at)) = collector.nodes.iter().find(|(p, _)| p[..] == wanted[..]) {
        return *at;
    }
    (1..=wanted.len())
        .rev()
        .find_map(|len| collector.keys.iter().find(|(p, _)| p[..] == wanted[..len]).map(|(_, at)| *at))
        .unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Seg::{Index, Key};

    const TEXT: &str = "name: demo\nnetwork:\n  vpc_cidr: 10.0.0.0/16\n  public_subnets: [10.0.1.0/24, 10.9.2.0/24]\nscaling:\n  min: 3\n";

    #[test]
    fn finds_keys_and_sequence_items() {
        assert_eq!(locate(TEXT, &[Key("name")]), (1, 7));
        assert_eq!(locate(TEXT, &[Key("network"), Key("vpc_cidr")]), (3, 13));
        assert_eq!(locate(TEXT, &[Key("network"), Key("public_subnets"), Index(1)]), (4, 33));
        assert_eq!(locate(TEXT, &[Key("scaling"), Key("min")]), (6, 8));
    }

    #[test]
    fn a_defaulted_field_points_at_its_section() {
        assert_eq!(locate(TEXT, &[Key("scaling"), Key("max")]), (5, 1));
        assert_eq!(locate(TEXT, &[Key("health_check"), Key("path")]), (1, 1));
    }
}

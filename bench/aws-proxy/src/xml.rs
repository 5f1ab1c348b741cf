//! Reading AWS's XML answers (with roxmltree) and rewriting them in place: an edit replaces
//! the bytes of one element, so everything the proxy does not touch stays byte for byte what
//! moto sent.

use std::ops::Range;

use roxmltree::Node;

/// The first child element of `node` named `name`.
pub(crate) fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|child| child.has_tag_name(name))
}

/// The text of the first child element of `node` named `name`.
pub(crate) fn child_text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).and_then(|child| child.text())
}

/// `<name>text</name>`, with `text` escaped.
pub(crate) fn element(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", escape(text))
}

/// `text` with the characters XML reserves escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Edits to one document: elements cut out or replaced, applied together at the end.
#[derive(Debug, Default)]
pub(crate) struct Edits {
    edits: Vec<(Range<usize>, String)>,
}

impl Edits {
    /// Removes `node` (an element of the document being edited) with everything in it.
    pub(crate) fn cut(&mut self, node: Node) {
        self.edits.push((node.range(), String::new()));
    }

    /// Replaces `node` (an element of the document being edited) with the XML `with`.
    pub(crate) fn replace(&mut self, node: Node, with: String) {
        self.edits.push((node.range(), with));
    }

    /// The document `text` with the edits made, or `None` when there are none. The edited
    /// elements must not overlap.
    pub(crate) fn apply(mut self, text: &str) -> Option<String> {
        if self.edits.is_empty() {
            return None;
        }
        self.edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        let mut edited = text.to_string();
        for (range, with) in self.edits {
            edited.replace_range(range, &with);
        }
        Some(edited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roxmltree::Document;

    #[test]
    fn edits_cut_and_replace_elements_and_leave_the_rest_alone() {
        let text = r#"<?xml version="1.0"?><R xmlns="urn:x"><set><item><id>a</id></item><item><id>b</id></item></set><state>active</state></R>"#;
        let document = Document::parse(text).unwrap();
        let mut edits = Edits::default();
        let items: Vec<_> = document.descendants().filter(|n| n.has_tag_name("item")).collect();
        assert_eq!(child_text(items[0], "id"), Some("a"));
        edits.cut(items[0]);
        edits.replace(child(document.root_element(), "state").unwrap(), element("state", "a<b"));
        let edited = edits.apply(text).unwrap();
        assert_eq!(
            edited,
            r#"<?xml version="1.0"?><R xmlns="urn:x"><set><item><id>b</id></item></set><state>a&lt;b</state></R>"#
        );
        let reparsed = Document::parse(&edited).unwrap();
        assert_eq!(child_text(reparsed.root_element(), "state"), Some("a<b"));
        assert_eq!(child(reparsed.root_element(), "state").unwrap().tag_name().namespace(), Some("urn:x"));
    }

    #[test]
    fn no_edits_means_no_new_document() {
        assert_eq!(Edits::default().apply("<a/>"), None);
    }

    #[test]
    fn escaping_covers_the_reserved_characters() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
    }
}

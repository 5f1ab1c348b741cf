//! String schemas whose `pattern` is made of the character classes of the very predicates the
//! handlers validate with (`char::is_control`, `char::is_whitespace`),
//! listed by `build.rs`, so that the document accepts exactly what the server accepts.
//!
//! Patterns are written in the common ground of ECMA-262 (what JSON Schema names), Python's
//! `re` (what schemathesis generates with) and Rust's `regex`: character classes whose
//! items are letters and digits as themselves and every other character as `\uXXXX`.

use std::ops::RangeInclusive;

use utoipa::openapi::schema::{ObjectBuilder, Type};

include!(concat!(env!("OUT_DIR"), "/char_classes.rs"));

/// The class item of `/`.
pub const SLASH: &str = "\\u002f";

/// A string schema of `min..=max` characters matching `pattern`.
pub fn string(description: &str, chars: RangeInclusive<usize>, pattern: String) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(*chars.start()))
        .max_length(Some(*chars.end()))
        .pattern(Some(pattern))
}

/// `[^...]`: a class of every character of none of `classes`.
pub fn class_without(classes: &[&str]) -> String {
    format!("[^{}]", classes.concat())
}

/// Asserts that `schema` documents exactly the strings `accepted` takes: the handler's own
/// check against the `minLength`, `maxLength` and `pattern` a JSON Schema validator reads, on
/// `edges` and on many generated strings of up to `max_chars` characters.
#[cfg(test)]
pub fn assert_documents(
    schema: utoipa::openapi::schema::Object,
    edges: &[&str],
    max_chars: usize,
    accepted: impl Fn(&str) -> bool,
) {
    let schema = serde_json::to_value(schema).expect("a schema serializes");
    let pattern = regex::Regex::new(schema["pattern"].as_str().expect("a pattern")).expect("the pattern compiles");
    let (min, max) = (schema["minLength"].as_u64(), schema["maxLength"].as_u64());
    let documented = |text: &str| {
        let chars = text.chars().count() as u64;
        min.is_none_or(|min| chars >= min) && max.is_none_or(|max| chars <= max) && pattern.is_match(text)
    };
    for text in edges {
        assert_eq!(documented(text), accepted(text), "{text:?}");
    }
    let mut runner = proptest::test_runner::TestRunner::default();
    let result = runner.run(&tricky_text(max_chars), |text| {
        proptest::prop_assert_eq!(documented(&text), accepted(&text), "{:?}", text);
        Ok(())
    });
    result.unwrap();
}

/// Strings of up to `max_chars` characters, many of them ones that validation treats apart:
/// letters of several scripts, digits, blanks of every kind, controls, `/`, combining marks.
#[cfg(test)]
fn tricky_text(max_chars: usize) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let tricky = proptest::sample::select(vec![
        'a', 'Z', 'é', 'ß', 'ǅ', 'Ж', '中', '𝒜', '1', '٣', ' ', '\t', '\n', '\r', '\u{0}', '\u{1f}', '\u{7f}',
        '\u{85}', '\u{9f}', '\u{a0}', '\u{1680}', '\u{180e}', '\u{2007}', '\u{200b}', '\u{2028}', '\u{3000}',
        '\u{301}', '\u{345}', '/', '-', '_', '.', '@',
    ]);
    let char = prop_oneof![3 => tricky, 1 => any::<char>()];
    proptest::collection::vec(char, 0..=max_chars).prop_map(String::from_iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_holds_exactly_its_predicates_characters() {
        type Member = fn(char) -> bool;
        let classes: [(&str, Member); 3] =
            [(CONTROL, char::is_control), (WHITESPACE, char::is_whitespace), (SLASH, |c| c == '/')];
        for (items, member) in classes {
            let class = regex::Regex::new(&format!("^[{items}]$")).unwrap();
            for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
                assert_eq!(class.is_match(&c.to_string()), member(c), "U+{:04X} in [{items:.40}...]", c as u32);
            }
        }
    }

    #[test]
    fn classes_combine_and_negate() {
        assert_eq!(class_without(&[SLASH, WHITESPACE]), format!("[^\\u002f{WHITESPACE}]"));
        assert_eq!(class_without(&[SLASH]), "[^\\u002f]");
        assert!(CONTROL.starts_with("\\u0000-\\u001f"), "{CONTROL}");
    }
}
